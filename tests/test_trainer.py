"""Trainer: resume equal to an uninterrupted run (bit for bit), determinism, the nan stop,
early stopping, and checkpoints that survive a crash mid-write."""
import io
import math
import re

import numpy as np
import pytest
from clirun import SMALL_RUN

import minitrain as mt
from minitrain.config import build, load_config
from minitrain.training import (
    Callback,
    ProgressBar,
    RunDirectory,
    Trainer,
    TrainingError,
    run_experiment,
)
from minitrain.training import checkpoint as ckpt

# clirun's small run (dropout and Adam: a resume must restore both the random generator and
# the optimizer's slots), with a learning-rate schedule and checkpoints every 4 steps
CONFIG = {
    **SMALL_RUN,
    "optimizer": {"name": "adam", "learning_rate": 0.01,
                  "schedule": {"name": "exponential_decay", "decay_steps": 20,
                               "decay_rate": 0.5}},
    "training": {"epochs": 5, "checkpoint": {"every": 4, "unit": "step"},
                 "early_stopping": {"monitor": "val_accuracy", "patience": 10,
                                    "restore_best": False}},
}


def experiment(optimizer=None, **training):
    config = load_config(data={**CONFIG, "training": {**CONFIG["training"], **training},
                               "optimizer": optimizer or CONFIG["optimizer"]})
    return build(config)


class Kill(Callback):
    """Stands in for a kill: stops the process's work at a given step."""

    def __init__(self, step):
        self.step = step

    def on_batch_end(self, trainer):
        if trainer.step == self.step:
            raise KeyboardInterrupt


def _run(run_dir, resume=False, kill_at=None, optimizer=None, **training):
    exp = experiment(optimizer, **training)
    if kill_at is not None:
        exp.callbacks.append(Kill(kill_at))
    run_dir.console = False
    summary = run_experiment(exp, run_dir, resume=resume)
    return exp.model.get_weights(), summary


def _without_time(history):
    return [{k: v for k, v in row.items() if k != "time"} for row in history]


def _assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and np.array_equal(x, y)  # bit for bit, not allclose


SGD = {"name": "sgd", "learning_rate": 0.5}


@pytest.mark.parametrize("kill_at, training, optimizer", [
    # killed mid-epoch, two steps after a mid-epoch checkpoint
    (14, {"checkpoint": {"every": 4, "unit": "step"}}, None),
    # resumed from a checkpoint taken at an epoch's last step (an epoch is 11 steps)
    (13, {"checkpoint": {"every": 11, "unit": "step"}}, None),
    # killed in epoch 3, resumed from the end of epoch 2
    (30, {"checkpoint": {"every": 1, "unit": "epoch"}}, None),
    # early stopping's best value, patience count and best weights must survive too: the
    # best epoch is 10 of 12, and the kill comes in epoch 12
    (124, {"epochs": 12, "checkpoint": {"every": 1, "unit": "epoch"}, "early_stopping": {
        "monitor": "val_loss", "patience": 2, "restore_best": True}}, SGD),
], ids=["mid-epoch", "epoch-end-step", "epoch", "early-stopping"])
def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, kill_at, training,
                                                                   optimizer):
    whole, summary = _run(RunDirectory(tmp_path / "whole"), optimizer=optimizer, **training)
    killed = RunDirectory(tmp_path / "killed")
    with pytest.raises(KeyboardInterrupt):
        _run(killed, kill_at=kill_at, optimizer=optimizer, **training)
    assert killed.checkpoint.is_file() and not killed.weights.exists()
    resumed, resumed_summary = _run(killed, resume=True, optimizer=optimizer, **training)
    _assert_same_weights(whole, resumed)
    assert resumed_summary["test_loss"] == summary["test_loss"]
    assert _csv_without_time(killed.metrics_csv) == _csv_without_time(
        tmp_path / "whole" / "metrics.csv")


def _csv_without_time(path):
    rows = [line.split(",") for line in path.read_text().splitlines()]
    column = rows[0].index("time")
    return [row[:column] + row[column + 1:] for row in rows]


def test_same_config_and_seed_give_identical_metrics_and_weights():
    runs = []
    for _ in range(2):
        exp = experiment()
        trainer = Trainer(exp.model, exp.optimizer, exp.loss, exp.metrics)
        history = trainer.fit(exp.train, 3, exp.validation)
        runs.append((_without_time(history), exp.model.get_weights(), trainer.evaluate(exp.test)))
    assert runs[0][0] == runs[1][0] and runs[0][2] == runs[1][2]
    _assert_same_weights(runs[0][1], runs[1][1])
    assert runs[0][0][0]["loss"] != runs[0][0][-1]["loss"]  # it did train


def test_a_different_seed_gives_different_numbers():
    a, b = (load_config(data={**CONFIG, "seed": seed}) for seed in (1, 2))
    wa, wb = build(a).model.get_weights(), build(b).model.get_weights()
    assert not np.array_equal(wa[0], wb[0])


def test_a_nan_loss_stops_the_run_naming_the_step_and_the_last_checkpoint(tmp_path):
    config = load_config(data={**CONFIG, "optimizer": {"name": "sgd", "learning_rate": 1e4}})
    exp = build(config)
    trainer = Trainer(exp.model, exp.optimizer, exp.loss, exp.metrics,
                      checkpoint=tmp_path / "ckpt.npz", checkpoint_every=1,
                      checkpoint_unit="step")
    with pytest.raises(TrainingError) as err:
        trainer.fit(exp.train, 50)
    message = str(err.value)
    step = trainer.step
    assert f"at step {step} " in message and ("nan" in message or "inf" in message
                                              or "finite" in message)
    assert str(tmp_path / "ckpt.npz") in message
    saved = ckpt.load(tmp_path / "ckpt.npz")
    assert saved["loop"]["step"] < step
    assert all(np.isfinite(w).all() for w in saved["weights"])


def test_early_stopping_stops_and_restores_the_best_weights():
    # a rate this large soon stops improving the validation loss
    exp = experiment(optimizer={"name": "sgd", "learning_rate": 0.5},
                     early_stopping={"monitor": "val_loss", "patience": 1})
    stopper = exp.callbacks[0]
    trainer = Trainer(exp.model, exp.optimizer, exp.loss, exp.metrics, exp.callbacks)
    best = {}

    class Record(Callback):
        def on_epoch_end(self, trainer, logs):
            best[trainer.epoch] = [w.copy() for w in trainer.model.get_weights()]

    trainer.callbacks.append(Record())
    history = trainer.fit(exp.train, 40, exp.validation)
    assert len(history) < 40 and stopper.stopped_epoch == len(history)
    val = [row["val_loss"] for row in history]
    assert stopper.best_epoch == 1 + int(np.argmin(val))
    _assert_same_weights(exp.model.get_weights(), best[stopper.best_epoch])


def test_checkpoint_round_trip_keeps_types_and_exact_values(tmp_path):
    state = {"weights": [np.arange(6, dtype=np.float32).reshape(2, 3)], "rng": 2**100 + 7,
             "f": 0.1 + 0.2, "t": (1, "a"), "none": None, 3: np.int64(5), "nan": float("nan")}
    ckpt.save(tmp_path / "c.npz", state)
    loaded = ckpt.load(tmp_path / "c.npz")
    assert loaded["rng"] == 2**100 + 7 and loaded["f"] == 0.1 + 0.2 and loaded["t"] == (1, "a")
    assert loaded[3] == 5 and loaded[3].dtype == np.int64 and loaded["none"] is None
    assert loaded["weights"][0].dtype == np.float32 and np.isnan(loaded["nan"])
    assert np.array_equal(loaded["weights"][0], state["weights"][0])


def test_a_crash_mid_write_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    exp = experiment()
    path = tmp_path / "checkpoint.npz"
    trainer = Trainer(exp.model, exp.optimizer, exp.loss, exp.metrics, checkpoint=path)
    trainer.fit(exp.train, 1)
    before = [w.copy() for w in exp.model.get_weights()]

    def crash(file, arrays):
        file.write(b"PK\x03\x04 half of a zip archive")  # some bytes reach the disk
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "_write_npz", crash)
    with pytest.raises(OSError, match="disk full"):
        trainer.fit(exp.train, 2)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]  # no temporary left
    fresh = experiment()
    again = Trainer(fresh.model, fresh.optimizer, fresh.loss, fresh.metrics)
    again.restore(path, fresh.train)
    assert again.epoch == 1
    _assert_same_weights(fresh.model.get_weights(), before)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ckpt.CheckpointError, match="not a readable checkpoint"):
        ckpt.load(bad)
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ckpt.CheckpointError, match="not a minitrain checkpoint"):
        ckpt.load(tmp_path / "other.npz")
    np.savez(tmp_path / "pickled.npz", __state__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ckpt.CheckpointError):
        ckpt.load(tmp_path / "pickled.npz")  # object arrays would need pickle: refused


def test_the_progress_bar_shows_the_running_loss_and_accuracy():
    exp = experiment()
    shown, lines = io.StringIO(), []
    bar = ProgressBar(lines.append, file=shown, refresh=0)
    Trainer(exp.model, exp.optimizer, exp.loss, exp.metrics, [bar]).fit(exp.train, 2)
    output = shown.getvalue()
    assert "epoch 2/2" in output and "11/11" in output
    assert re.search(r"loss \d\.\d+  accuracy \d\.\d+", output)
    assert [line.split()[:3] for line in lines] == [["epoch", "1/2", "loss"],
                                                     ["epoch", "2/2", "loss"]]


# --- tf.data-style pipelines -------------------------------------------------------------------
def _digits_pipelines():
    """(train, test) pipelines as a TF program builds them: shuffled batches, and test batches."""
    train, test = mt.data.load_source("digits").split((0.8, 0.2), seed=0)

    def pipeline(part):
        return mt.data.Dataset.from_tensor_slices((part.features.astype(np.float32) / 16,
                                                   part.labels))
    return pipeline(train).shuffle(buffer_size=1024).batch(64), pipeline(test).batch(256)


def _pipeline_run(seed, epochs=3):
    mt.random.set_seed(seed)  # fixes the initial weights and the shuffle (which has no seed)
    train, test = _digits_pipelines()
    model = mt.Sequential([mt.layers.Dense(32, activation="relu"), mt.layers.Dense(10)])
    trainer = Trainer(model, mt.optimizers.Adam(0.01),
                      mt.losses.SparseCategoricalCrossentropy(from_logits=True),
                      {"accuracy": mt.metrics.SparseCategoricalAccuracy()})
    return trainer, trainer.fit(train, epochs, validation=test), train, test


def test_the_trainer_fits_and_evaluates_a_tf_data_pipeline():
    trainer, history, train, test = _pipeline_run(seed=0)
    assert trainer.steps_per_epoch == len(train) == math.ceil(1438 / 64)
    assert trainer.step == 3 * len(train) and len(history) == 3
    assert history[-1]["val_loss"] < history[0]["val_loss"] / 2
    assert history[-1]["val_accuracy"] > 0.9
    assert trainer.evaluate(test)["accuracy"] == history[-1]["val_accuracy"]
    again, same, _, _ = _pipeline_run(seed=0)
    assert _without_time(same) == _without_time(history)
    _assert_same_weights(again.model.get_weights(), trainer.model.get_weights())


def test_the_trainer_takes_a_pipeline_of_unknown_length_and_refuses_an_endless_one():
    trainer, _, train, test = _pipeline_run(seed=1, epochs=1)
    small = train.unbatch().filter(lambda x, y: y < 5).batch(64)
    trainer.fit(small, epochs=2)
    assert trainer.steps_per_epoch is None and trainer.epoch == 2
    with pytest.raises(ValueError, match=r"repeats forever.*\.take\(steps\)"):
        trainer.fit(train.repeat(), epochs=3)
    with pytest.raises(ValueError, match="repeats forever"):
        trainer.evaluate(test.repeat())


def test_a_callback_that_stops_on_a_nan_ends_the_run_without_the_error():
    exp = experiment(optimizer={"name": "sgd", "learning_rate": 1e6})
    hooks = []

    class StopOnNaN(Callback):
        def on_batch_begin(self, trainer):
            hooks.append(trainer.batch)

        def on_batch_end(self, trainer):
            if not math.isfinite(trainer.running_logs()["loss"]):
                trainer.stop_training = True

    trainer = Trainer(exp.model, exp.optimizer, exp.loss, callbacks=[StopOnNaN()])
    history = trainer.fit(exp.train, 5)
    assert trainer.stop_training and len(history) == 1  # stopped in the epoch it diverged
    assert hooks == list(range(trainer.batch))  # before each step, from batch 0


def _digits_loader(n=256):
    digits = mt.data.load_source("digits")
    part = mt.data.Dataset(digits.features[:n] / 16.0, digits.labels[:n])
    return mt.data.DataLoader(part, batch_size=32, shuffle=True, seed=0)


def test_fit_builds_an_unbuilt_model_on_its_first_batch_and_trains_it():
    """As in Keras: a Sequential without an input shape gets its weights from the first batch
    (the README's Trainer example), and the optimizer is built on them."""
    mt.random.set_seed(0)
    model = mt.Sequential([mt.layers.Dense(16, activation="relu"), mt.layers.Dense(10)])
    optimizer = mt.optimizers.Adam(1e-2)
    assert not model.built and model.trainable_variables == []
    trainer = Trainer(model, optimizer, mt.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = trainer.fit(_digits_loader(), epochs=3)
    assert model.built and [tuple(v.shape) for v in model.trainable_variables] == [
        (64, 16), (16,), (16, 10), (10,)]
    assert int(optimizer.iterations) == trainer.step == 24
    assert history[-1]["loss"] < history[0]["loss"]


def test_a_model_without_trainable_variables_warns_and_is_left_unchanged():
    """Keras 3's train_step warns, and its optimizer's apply of no gradients does nothing."""
    loader = _digits_loader(64)
    model = mt.Sequential([mt.layers.Dense(10)])
    model(next(iter(loader))[0])
    model.trainable = False
    before, optimizer = model.get_weights(), mt.optimizers.SGD(0.1)
    trainer = Trainer(model, optimizer, mt.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.warns(UserWarning, match="no trainable variables"):
        trainer.fit(loader, epochs=1)
    _assert_same_weights(model.get_weights(), before)
    assert trainer.step == 2 and int(optimizer.iterations) == 0 and not optimizer.built


@pytest.mark.parametrize("call", [lambda opt: opt.apply_gradients([]),
                                  lambda opt: opt.apply_gradients(zip([], [])),
                                  lambda opt: opt.apply([], []), lambda opt: opt.apply([])],
                         ids=["apply_gradients([])", "apply_gradients(zip([], []))",
                              "apply([], [])", "apply([])"])
def test_applying_no_gradients_is_a_no_op_as_in_keras(call):
    """Keras 3's apply: 'It is possible that the grad is empty. In this case, apply_gradients
    is a no-op': no step is counted and the optimizer stays unbuilt, free to be built on the
    model's variables later."""
    optimizer = mt.optimizers.Adam(1e-3)
    call(optimizer)
    assert int(optimizer.iterations) == 0 and not optimizer.built
    x = mt.Variable(np.ones(2, np.float32))
    optimizer.apply_gradients([(np.ones(2, np.float32), x)])
    assert int(optimizer.iterations) == 1 and optimizer.built
