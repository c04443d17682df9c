"""Streaming metrics under Keras's names and semantics (``keras.metrics``).

``update_state(y_true, y_pred, sample_weight=None)`` adds a batch, ``result()`` gives the value
over every batch since ``reset_state()``. As in Keras, a metric is the (weighted) mean of
per-sample values: each sample's values are averaged first, then weighted by its
``sample_weight``. Metrics need no gradient: they work on host copies of the arrays, off the
tape, and accumulate in float64 so that long epochs lose no counts.
"""
import numpy as np

from . import backend, identifiers
from .losses import squeeze_or_expand_to_same_rank
from .tensor import Variable, constant, float32, to_array


def _host(value, dtype=None):
    """``value`` (a tensor, an array on any device, Python numbers) as a host numpy array."""
    return backend.to_numpy(to_array(value, dtype))


def _aligned(y_true, y_pred, dtype=None):
    """Host arrays, their ranks aligned as Keras does ((batch,) against (batch, 1))."""
    pair = squeeze_or_expand_to_same_rank(_host(y_true, dtype), _host(y_pred, dtype))
    return (to_array(t) for t in pair)


def _mean_beyond(values, ndim):
    """The mean over every axis from ``ndim`` on."""
    return values.mean(axis=tuple(range(ndim, values.ndim))) if values.ndim > ndim else values


class Metric:
    """Base class: subclasses implement ``update_state``, ``result`` and ``reset_state``."""

    def __init__(self, name=None, dtype=float32):
        self.name = name or type(self).__name__.lower()
        self.dtype = np.dtype(dtype)
        self._variables = []

    def add_variable(self, name, initial_value=0.0):
        variable = Variable(np.float64(initial_value), trainable=False,
                            name=f"{self.name}/{name}", device=backend.CPU)
        self._variables.append(variable)
        return variable

    @property
    def variables(self):
        return list(self._variables)

    def reset_state(self):
        for variable in self._variables:
            variable.assign(np.zeros_like(variable.numpy()))

    def __call__(self, *args, **kwargs):
        """Add a batch and return the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} result={float(self.result()):.6g}>"


class Mean(Metric):
    """The weighted mean of the values given: sum(w x) / sum(w)."""

    def __init__(self, name="mean", dtype=float32):
        super().__init__(name, dtype)
        self.total = self.add_variable("total")
        self.count = self.add_variable("count")

    def update_state(self, values, sample_weight=None):
        if sample_weight is None:
            values = _host(values, np.float64)
            count = values.shape[0] if values.ndim else 1
        else:
            values, weight = _aligned(values, sample_weight, np.float64)
            values = _mean_beyond(values, weight.ndim)
            weight = np.broadcast_to(weight, values.shape)
            values = values * weight
            count = _mean_beyond(weight, 1).sum()
        self.total.assign_add(_mean_beyond(values, 1).sum())
        self.count.assign_add(np.float64(count))

    def result(self):
        count = float(self.count)
        return constant(float(self.total) / count if count else 0.0, dtype=self.dtype)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)``, a function of arrays giving per-sample
    values."""

    def __init__(self, fn, name=None, dtype=float32, **kwargs):
        super().__init__(name or fn.__name__.strip("_"), dtype)
        self._fn, self._fn_kwargs = fn, kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)


def _accuracy(y_true, y_pred):
    """1.0 where y_true == y_pred, elementwise."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return (y_true == y_pred).astype(np.float64)


def _binary_accuracy(y_true, y_pred, threshold=0.5):
    """mean over the last axis of [y_true == (y_pred > threshold)]."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return (y_true == (y_pred > threshold).astype(y_true.dtype)).astype(np.float64).mean(axis=-1)


def _categorical_accuracy(y_true, y_pred):
    """[argmax y_true == argmax y_pred] per sample (one-hot labels)."""
    y_true, y_pred = _host(y_true), _host(y_pred)
    return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(np.float64)


def _sparse_categorical_accuracy(y_true, y_pred):
    """[y_true == argmax y_pred] per sample (integer labels; a trailing axis of 1 is dropped)."""
    y_true, y_pred = _host(y_true), _host(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse_categorical_accuracy: labels of shape {y_true.shape} do not "
                         f"match predictions of shape {y_pred.shape} (expected labels of shape "
                         f"{y_pred.shape[:-1]})")
    return (y_true == y_pred.argmax(axis=-1)).astype(np.float64)


def _mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis."""
    y_true, y_pred = _aligned(y_true, y_pred, np.float64)
    return ((y_true - y_pred) ** 2).mean(axis=-1)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels, elementwise."""

    def __init__(self, name="accuracy", dtype=float32):
        super().__init__(_accuracy, name, dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` equals the 0/1 label."""

    def __init__(self, name="binary_accuracy", dtype=float32, threshold=0.5):
        super().__init__(_binary_accuracy, name, dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the largest prediction is at the one-hot label's 1."""

    def __init__(self, name="categorical_accuracy", dtype=float32):
        super().__init__(_categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the largest prediction is at the integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=float32):
        super().__init__(_sparse_categorical_accuracy, name, dtype)


class MeanSquaredError(MeanMetricWrapper):
    """The mean over samples of mean((y_true - y_pred)^2) over the last axis."""

    def __init__(self, name="mean_squared_error", dtype=float32):
        super().__init__(_mean_squared_error, name, dtype)


_BY_NAME = {
    "mean": Mean, "accuracy": Accuracy, "acc": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
}


def get(identifier):
    """A Metric from its name ("accuracy", "sparse_categorical_accuracy", "mse", ...), a
    ``{"class_name", "config"}`` dict, or a metric (returned as is)."""
    if isinstance(identifier, Metric):
        return identifier
    return identifiers.resolve(identifier, _BY_NAME, "metric")
