"""mt.metrics accumulated over batches, against numpy on the whole data."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import metrics

rng = np.random.default_rng(0)
LABELS = rng.integers(0, 4, size=30)
SCORES = rng.normal(size=(30, 4))
SCORES[:12, :] = 0.0
SCORES[np.arange(12), LABELS[:12]] = 1.0  # at least 12 right, the rest by chance
BINARY = rng.integers(0, 2, size=(30, 2)).astype(np.float64)
PROBS = rng.uniform(size=(30, 2))
WEIGHTS = rng.uniform(0.0, 2.0, size=30)


def _in_batches(metric, y_true, y_pred, sample_weight=None, size=8):
    for start in range(0, len(y_true), size):
        batch = slice(start, start + size)
        weight = None if sample_weight is None else sample_weight[batch]
        metric.update_state(y_true[batch], mt.constant(y_pred[batch]), sample_weight=weight)
    return float(metric.result())


def _weighted_mean(values, weights):
    return np.sum(values * weights) / np.sum(weights)


# (metric, y_true, y_pred, per-sample values from the definition)
CASES = {
    "sparse_categorical": (metrics.SparseCategoricalAccuracy, LABELS, SCORES,
                           SCORES.argmax(-1) == LABELS),
    "sparse_categorical_column_labels": (metrics.SparseCategoricalAccuracy, LABELS[:, None],
                                         SCORES, SCORES.argmax(-1) == LABELS),
    "categorical": (metrics.CategoricalAccuracy, np.eye(4)[LABELS], SCORES,
                    SCORES.argmax(-1) == LABELS),
    "binary": (metrics.BinaryAccuracy, BINARY, PROBS, np.mean(BINARY == (PROBS > 0.5), -1)),
    "accuracy": (metrics.Accuracy, LABELS, SCORES.argmax(-1), SCORES.argmax(-1) == LABELS),
    "mse": (metrics.MeanSquaredError, BINARY, PROBS, np.mean((BINARY - PROBS) ** 2, -1)),
}


@pytest.mark.parametrize("case", CASES)
def test_streamed_result_equals_numpy_on_all_data(case):
    make, y_true, y_pred, per_sample = CASES[case]
    per_sample = per_sample.astype(np.float64)
    assert _in_batches(make(), y_true, y_pred) == pytest.approx(per_sample.mean(), rel=1e-6)
    weighted = _in_batches(make(), y_true, y_pred, WEIGHTS)
    assert weighted == pytest.approx(_weighted_mean(per_sample, WEIGHTS), rel=1e-6)


def test_results_are_not_trivial():
    accuracy = metrics.SparseCategoricalAccuracy()
    accuracy.update_state(LABELS, SCORES)
    assert 0.4 < float(accuracy.result()) < 1.0


def test_binary_accuracy_threshold():
    metric = metrics.BinaryAccuracy(threshold=0.8)
    metric.update_state([[1.0], [0.0], [0.0]], [[0.9], [0.7], [0.6]])
    assert float(metric.result()) == 1.0  # at the default 0.5 only one of three is right


def test_mean_of_values_weights_and_reset():
    mean = metrics.Mean()
    mean.update_state([1.0, 2.0, 3.0])
    mean.update_state(10.0)
    assert float(mean.result()) == pytest.approx(16 / 4)
    mean.update_state([[1.0, 3.0], [5.0, 7.0]], sample_weight=[0.0, 1.0])  # rows averaged first
    assert float(mean.result()) == pytest.approx((16 + 6) / 5)
    mean.reset_state()
    assert float(mean.result()) == 0.0
    assert mean.result().dtype == mt.float32
    assert float(mean([4.0, 8.0])) == 6.0  # calling adds the batch and returns the result


def test_sparse_accuracy_reports_mismatched_labels():
    with pytest.raises(ValueError, match=r"labels of shape \(3,\)"):
        metrics.SparseCategoricalAccuracy().update_state(LABELS[:3], SCORES[:4])


@pytest.mark.parametrize("name, cls", [
    ("accuracy", metrics.Accuracy), ("acc", metrics.Accuracy), ("mean", metrics.Mean),
    ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
    ("CategoricalAccuracy", metrics.CategoricalAccuracy),
    ("binary_accuracy", metrics.BinaryAccuracy), ("mse", metrics.MeanSquaredError),
])
def test_get_by_name(name, cls):
    assert type(metrics.get(name)) is cls


def test_get_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid names: .*sparse_categorical_accuracy"):
        metrics.get("top_k")
    metric = metrics.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.9}})
    assert metrics.get(metric) is metric
