"""Gradient accumulation (training.micro_batches): a split step is the unsplit step up to the
order of the float sums (weights, loss and metrics), unequal parts weighted exactly, the key
validated through the CLI, and a killed run with micro_batches resumed bit for bit."""
import numpy as np
import pytest
import yaml
from clirun import SMALL_RUN, TINY, refused, train

import minitrain as mt
from minitrain.config import build, load_config
from minitrain.training import Callback, RunDirectory, Trainer, run_experiment
from minitrain.training.accumulate import accumulate, split

# float32 sums in another order differ in the last bits; float64 ones far below 1e-12
RTOL = {"float32": 1e-6, "float64": 1e-12}


def batch(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (mt.constant(rng.normal(size=(n, 5)).astype(dtype)),
            mt.constant(rng.integers(0, 3, size=n).astype("int32")))


def logits_squared(y_true, y_pred):
    """A per-sample float for a Mean metric, whose running sum depends on the split (positive:
    no cancellation, so a relative tolerance fits it)."""
    return np.square(np.asarray(y_pred)).sum(axis=-1)


def trainer(dtype, micro_batches=1, weights=None):
    """A Trainer of a small Dense model (no dropout: no randomness in its step), SGD."""
    mt.random.set_seed(1)
    model = mt.Sequential([mt.layers.Dense(8, activation="tanh"), mt.layers.Dense(3)])
    model(batch(2, dtype)[0])
    if weights is not None:
        model.set_weights(weights)
    metrics = {"accuracy": mt.metrics.SparseCategoricalAccuracy(),
               "logits": mt.metrics.MeanMetricWrapper(logits_squared, dtype=dtype)}
    return Trainer(model, mt.optimizers.SGD(0.5),
                   mt.losses.SparseCategoricalCrossentropy(from_logits=True), metrics,
                   micro_batches=micro_batches)


def one_step(dtype, n, micro_batches):
    """(weights, loss, metric results) after one step on a batch of ``n``."""
    t = trainer(dtype, micro_batches)
    loss = t.train_step(*batch(n, dtype))
    return t.model.get_weights(), loss, t._metric_results()


def assert_close(a, b, dtype):
    """Each array equal to RTOL relative to its largest value: a weight near 0 differs by an
    ulp of its own, far above RTOL of itself, when the sums run in another order."""
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype == np.dtype(dtype)
        np.testing.assert_allclose(x, y, rtol=RTOL[dtype], atol=RTOL[dtype] * np.abs(y).max())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n, micro_batches", [(16, 2), (16, 4), (7, 3), (3, 4), (8, 8)],
                         ids=["2-of-16", "4-of-16", "unequal-3-of-7", "more-parts-than-3",
                              "one-per-sample"])
def test_a_split_step_is_the_unsplit_step(dtype, n, micro_batches):
    whole, whole_loss, whole_metrics = one_step(dtype, n, 1)
    start = trainer(dtype).model.get_weights()
    assert not any(np.array_equal(w, s) for w, s in zip(whole, start))  # the step moved all
    parts, loss, metrics = one_step(dtype, n, micro_batches)
    assert_close(parts, whole, dtype)
    assert loss == pytest.approx(whole_loss, rel=RTOL[dtype], abs=0)
    assert metrics["accuracy"] == whole_metrics["accuracy"]  # counts: exact
    assert metrics["logits"] == pytest.approx(whole_metrics["logits"], rel=RTOL[dtype], abs=0)


def test_unequal_parts_are_weighted_by_their_size_not_equally():
    """Parts of 3, 2 and 2 of a batch of 7: equal weights (1/3 each) would give another step,
    so the equality above proves the weighting and not a coincidence of the data."""
    t = trainer("float64", micro_batches=3)
    x, y = batch(7, "float64")
    assert split(7, 3) == [(0, 3), (3, 5), (5, 7)]
    assert [len(p) for p in np.array_split(np.arange(7), 3)] == [3, 2, 2]
    parts = [t.part_gradients(x[a:b], y[a:b])[1] for a, b in split(7, 3)]
    exact = accumulate(zip([3 / 7, 2 / 7, 2 / 7], parts))
    equal = accumulate(zip([1 / 3] * 3, parts))
    with mt.GradientTape() as tape:
        loss = t.loss(y, t.model(x, training=True))
    whole = tape.gradient(loss, t.model.trainable_variables)
    for e, w in zip(exact, whole, strict=True):
        np.testing.assert_allclose(e.numpy(), w.numpy(), rtol=1e-12, atol=1e-15)
    assert not all(np.allclose(q.numpy(), w.numpy(), rtol=1e-6) for q, w in zip(equal, whole))


@pytest.mark.parametrize("n, parts", [(10, 3), (10, 1), (4, 4), (3, 8), (1, 2), (0, 3)])
def test_the_parts_are_numpy_array_splits_and_never_empty(n, parts):
    expected = [(p[0], p[-1] + 1) for p in np.array_split(np.arange(n), max(1, min(parts, n)))
                if len(p)]
    assert split(n, parts) == (expected or [(0, 0)])


def test_an_unconnected_variable_keeps_a_none_gradient():
    one = mt.constant(np.ones(2))
    assert accumulate([(0.5, [one, None]), (0.5, [one, None])])[1] is None
    assert accumulate([(0.5, [one, None]), (0.5, [one, None])])[0].numpy().tolist() == [1, 1]


@pytest.mark.parametrize("value", [0, -1, 1.5, 2.0, True, "2", None])
def test_micro_batches_must_be_a_whole_number_of_one_or_more(value):
    with pytest.raises(ValueError, match="micro_batches must be a whole number"):
        trainer("float32", micro_batches=value)


def test_a_frozen_model_warns_when_split_too():
    t = trainer("float32", micro_batches=2)
    t.model.trainable = False
    before = t.model.get_weights()
    with pytest.warns(UserWarning, match="no trainable variables"):
        t.train_step(*batch(4, "float32"))
    assert all(np.array_equal(a, b) for a, b in zip(before, t.model.get_weights()))


# --- through the CLI -------------------------------------------------------------------------

def test_the_cli_trains_with_micro_batches_and_saves_the_key(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    result = train("--config", config, "--set", "training.micro_batches=2",
                   "--output", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["training"]["micro_batches"] == 2


@pytest.mark.parametrize("value, named", [("0", ()), ("1.5", ()), ("33", ("data.batch_size",))],
                         ids=["zero", "fraction", "above-batch-size"])
def test_a_bad_micro_batches_exits_2_naming_the_key(tmp_path, value, named):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)  # batch_size: 32, the default
    result = train("--config", config, "--set", f"training.micro_batches={value}",
                   "--output", tmp_path / "run")
    assert refused(result), result.stderr
    for name in ("training.micro_batches", *named):
        assert name in result.stderr
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


# --- resume ----------------------------------------------------------------------------------

# dropout draws each part's masks from the global generator: a resume must restore it
CONFIG = {**SMALL_RUN, "training": {"epochs": 3, "micro_batches": 2,
                                    "checkpoint": {"every": 4, "unit": "step"}}}


class Kill(Callback):
    def on_batch_end(self, trainer):
        if trainer.step == 14:  # mid-epoch, two steps after a checkpoint
            raise KeyboardInterrupt


def _run(run_dir, resume=False, kill=False):
    exp = build(load_config(data=CONFIG))
    assert exp.micro_batches == 2
    if kill:
        exp.callbacks.append(Kill())
    run_dir.console = False
    summary = run_experiment(exp, run_dir, resume=resume)
    return exp.model.get_weights(), summary


def test_a_resumed_run_with_micro_batches_ends_as_an_uninterrupted_one(tmp_path):
    whole, summary = _run(RunDirectory(tmp_path / "whole"))
    killed = RunDirectory(tmp_path / "killed")
    with pytest.raises(KeyboardInterrupt):
        _run(killed, kill=True)
    assert killed.checkpoint.is_file() and not killed.weights.exists()
    resumed, resumed_summary = _run(killed, resume=True)
    for a, b in zip(whole, resumed, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)  # bit for bit
    assert resumed_summary["test_loss"] == summary["test_loss"]
