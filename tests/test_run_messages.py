"""What a run says: the header before the first epoch, early stopping announcing itself, the
best epoch, fixed decimals, a progress bar over the whole run, and a clean Ctrl-C."""
import io
import math
import re
from types import SimpleNamespace

import pytest
from clirun import SMALL_RUN
from test_trainer import Kill  # Ctrl-C at a given step

from minitrain.config import build, load_config
from minitrain.training import Callback, EarlyStopping, EpochLog, ProgressBar, Trainer
from minitrain.training.callbacks import best_epoch, format_value
from minitrain.training.header import describe
from minitrain.training.progress import interruption

CONFIG = {**SMALL_RUN, "training": {"epochs": 4, "early_stopping": {"monitor": "val_loss",
                                                                     "patience": 3}}}


def experiment(**training):
    return build(load_config(data={**CONFIG, "training": {**CONFIG["training"], **training}}))


def trainer_of(exp, *callbacks):
    return Trainer(exp.model, exp.optimizer, exp.loss, exp.metrics,
                   [*exp.callbacks, *callbacks])


# --- the header --------------------------------------------------------------------------------
def test_the_header_names_the_data_model_device_threads_and_run_directory(tmp_path):
    exp = experiment()
    lines = describe(exp, tmp_path / "run", threads=4)
    text = "\n".join(lines)
    assert lines[0] == f"run directory {tmp_path / 'run'}"
    assert "data spirals: input (2,) float32, 2 classes" in lines
    for name, loader in [("train", exp.train), ("val", exp.validation), ("test", exp.test)]:
        line = next(line for line in lines if line.split()[0] == name)
        assert f"{len(loader.dataset)} samples, {len(loader)} batch" in line
        assert f"of {loader.batch_size}" in line
    for layer in exp.model.layers:
        assert re.search(rf"^  {layer.name} \({type(layer).__name__}\) +\(None, \d+\) +"
                         rf"{layer.count_params():,}$", text, re.M), layer.name
    assert f"{exp.model.count_params():,} parameters" in text
    assert f"training 4 epochs x {len(exp.train)} steps ({4 * len(exp.train)})" in text
    assert "early stopping on val_loss, patience 3" in text
    assert "optimizer adam, learning rate 0.01; loss sparse_categorical_crossentropy" in text
    assert lines[-1] == "device cpu, 4 BLAS threads"
    assert len(lines) <= 15 and all(len(line) <= 100 for line in lines)


def test_the_header_of_a_resumed_run_says_from_where_and_threads_are_optional():
    lines = describe(experiment(early_stopping=None), "runs/x",
                     resumed_from="runs/x/checkpoint.npz at epoch 2, step 24")
    assert lines[1] == "resumed from runs/x/checkpoint.npz at epoch 2, step 24"
    assert lines[-1] == "device cpu"
    assert not any("early stopping" in line for line in lines)


# --- early stopping and the best epoch ---------------------------------------------------------
@pytest.mark.parametrize("restore_best, kept", [(True, "weights restored"),
                                                (False, "weights of the last epoch kept")])
def test_early_stopping_announces_itself_once_after_the_last_epoch(restore_best, kept):
    exp = experiment(early_stopping=None, epochs=10)
    # the training loss falls, so a stop that wants it to rise comes after epoch 1 + patience
    stop = EarlyStopping("loss", mode="max", patience=2, restore_best=restore_best)
    lines = []
    history = trainer_of(exp, stop, EpochLog(lines.append)).fit(exp.train, 10)
    assert len(history) == 3
    assert [line.split()[1] for line in lines[:3]] == ["1/10", "2/10", "3/10"]
    expected = (f"epoch 3: early stopping; best epoch 1 "
                f"(loss {format_value(history[0]['loss'])}), {kept}")
    assert lines[3:] == [expected]


def test_no_message_when_the_run_is_not_stopped():
    exp = experiment(epochs=2)
    lines = []
    trainer_of(exp, EpochLog(lines.append)).fit(exp.train, 2, exp.validation)
    assert len(lines) == 2 and exp.callbacks[0].message is None


BEST_CASES = [  # (history, monitor, expected (epoch, value, monitor))
    ([{"epoch": 1, "loss": 0.5, "val_loss": 0.4}, {"epoch": 2, "loss": 0.3, "val_loss": 0.2},
      {"epoch": 3, "loss": 0.1, "val_loss": 0.3}], "val_loss", (2, 0.2, "val_loss")),
    ([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.3}], "val_loss", (2, 0.3, "loss")),
    ([{"epoch": 1, "loss": 0.2}, {"epoch": 2, "loss": 0.2}], "loss", (1, 0.2, "loss")),
    ([{"epoch": 1, "loss": math.nan}, {"epoch": 2, "loss": 0.9}], "loss", (2, 0.9, "loss")),
    ([{"epoch": 1, "val_accuracy": 0.8}, {"epoch": 2, "val_accuracy": 0.9},
      {"epoch": 3, "val_accuracy": 0.85}], "val_accuracy", (2, 0.9, "val_accuracy")),
    ([{"epoch": 1, "loss": math.nan}], "loss", (None, None, "loss")),
    ([], "val_loss", (None, None, "val_loss")),
]


@pytest.mark.parametrize("history, monitor, expected", BEST_CASES)
def test_best_epoch(history, monitor, expected):
    assert best_epoch(history, monitor) == expected


def test_best_epoch_agrees_with_early_stopping():
    exp = experiment(epochs=5)
    history = trainer_of(exp).fit(exp.train, 5, exp.validation)
    stop = exp.callbacks[0]
    assert best_epoch(history) == (stop.best_epoch, stop.best, "val_loss")


# --- fixed decimals ----------------------------------------------------------------------------
@pytest.mark.parametrize("value, text", [(1.0, "1.0000"), (0.94444, "0.9444"), (0.0, "0.0000"),
                                         (12.3456789, "12.3457"), (2e-05, "2.0000e-05"),
                                         (-3e-4, "-3.0000e-04"), (math.nan, "nan")])
def test_format_value(value, text):
    assert format_value(value) == text


def test_an_epoch_line_shows_every_value_with_the_same_decimals():
    lines = []
    logs = {"loss": 0.123456, "accuracy": 1.0, "val_loss": 2e-05, "val_accuracy": 0.94444,
            "epoch": 3, "step": 30, "lr": 0.00125, "time": 1.234}
    EpochLog(lines.append).on_epoch_end(SimpleNamespace(epoch=3, epochs=10), logs)
    assert lines == ["epoch  3/10  loss 0.1235  accuracy 1.0000  val_loss 2.0000e-05  "
                     "val_accuracy 0.9444  lr 0.00125  1.2s"]


# --- the progress bar --------------------------------------------------------------------------
class Watch(Callback):
    """Records what the bar (the callback before it) shows after every batch."""

    def __init__(self, bar):
        self.bar, self.seen = bar, []

    def on_batch_end(self, trainer):
        self.seen.append((self.bar.bar.n, self.bar.bar.total, self.bar.bar.desc))


def test_the_bar_counts_every_step_of_the_run():
    exp = experiment(early_stopping=None)
    shown, lines = io.StringIO(), []
    bar = ProgressBar(lines.append, file=shown, refresh=0)
    watch = Watch(bar)
    trainer_of(exp, bar, watch).fit(exp.train, 3)
    steps = len(exp.train)
    assert [n for n, _, _ in watch.seen] == list(range(1, 3 * steps + 1))
    assert {total for _, total, _ in watch.seen} == {3 * steps}
    assert watch.seen[steps] == (steps + 1, 3 * steps, f"epoch 2/3 batch 1/{steps}")
    assert f"{3 * steps}/{3 * steps}" in shown.getvalue()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert bar.bar is None


def fake_trainer(**values):
    return SimpleNamespace(**{"steps_per_epoch": 10, "epochs": 5, "step": 23, "epoch": 2,
                              "batch": 3, "callbacks": [], "last_checkpoint": None,
                              "running_logs": lambda: {"loss": 0.5}, **values})


def test_the_bar_of_a_resumed_run_starts_at_the_steps_done():
    shown = io.StringIO()
    bar = ProgressBar([].append, file=shown, refresh=0)
    bar.on_train_begin(fake_trainer())
    assert (bar.bar.n, bar.bar.total) == (23, 50)
    assert "epoch 3/5:" in shown.getvalue() and "23/50" in shown.getvalue()
    bar.on_batch_end(fake_trainer(step=24, batch=4))
    assert (bar.bar.n, bar.bar.desc) == (24, "epoch 3/5 batch 4/10")
    bar.close()


def test_epochs_of_unknown_length_are_measured_by_the_first():
    bar = ProgressBar([].append, file=io.StringIO(), refresh=0)
    trainer = fake_trainer(steps_per_epoch=None, step=0, epoch=0, batch=0)
    bar.on_train_begin(trainer)
    assert bar.bar.total is None
    for _ in range(7):
        trainer.step, trainer.batch = trainer.step + 1, trainer.batch + 1
        bar.on_batch_end(trainer)
    trainer.epoch = 1
    bar.on_epoch_end(trainer, {"loss": 0.5, "lr": 0.01, "time": 0.1})
    assert bar.bar.total == 35
    bar.close()


def test_ctrl_c_takes_the_bar_off_the_terminal_and_says_where_the_run_stood():
    exp = experiment(early_stopping=None)
    shown, lines = io.StringIO(), []
    bar = ProgressBar(lines.append, file=shown, refresh=0)
    trainer = trainer_of(exp, bar, Kill(5))
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(exp.train, 3)
    bar.on_interrupt(trainer)  # what the Trainer calls on KeyboardInterrupt (idempotent close)
    assert bar.bar is None
    assert re.search(r"\r +\r$", shown.getvalue())  # the bar's line is blanked, not left half
    assert lines[-1] == "interrupted at step 5 (epoch 1/3); no checkpoint was written yet"
    bar.on_train_end(trainer)  # closing again does nothing


def test_the_interruption_names_the_latest_checkpoint():
    trainer = fake_trainer(last_checkpoint=("run/checkpoint.npz", 20))
    assert interruption(trainer) == ("interrupted at step 23 (epoch 3/5); the latest "
                                     "checkpoint holds step 20")
