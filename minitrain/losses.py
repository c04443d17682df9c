"""Losses under Keras's names, defaults and numerics (``keras.losses``).

A loss object, ``loss(y_true, y_pred, sample_weight=None)``, returns the mean of the per-sample
losses over the batch (Keras's reduction "sum_over_batch_size"); the function of the same name
(``mean_squared_error``, ...) returns the per-sample losses. Probabilities are clipped to
[1e-7, 1 - 1e-7] as Keras does; ``from_logits=True`` goes through ``mt.nn``'s stable
cross-entropies. Every loss is a composition of differentiable ops: the tape gives its gradient.
"""
from . import backend, identifiers, ops
from .ops import nn as nn_ops
from .tensor import Tensor, to_array

EPSILON = 1e-7  # Keras's backend.epsilon()
REDUCTIONS = ("sum_over_batch_size", "sum", "none")


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's alignment of two tensors whose ranks differ by a trailing axis of size 1.

    Labels of shape (batch,) against predictions of shape (batch, 1) become (batch, 1) both,
    so that ``y_true - y_pred`` cannot silently broadcast to (batch, batch).
    """
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            return x1, ops.expand_dims(x2, -1)
        return ops.squeeze(x1, -1), x2
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            return ops.expand_dims(x1, -1), x2
        return x1, ops.squeeze(x2, -1)
    return x1, x2


def _tensor_like(value, like, dtype=None):
    """A tensor as it is; a Python or numpy value as a tensor on ``like``'s device (converted
    straight to ``dtype``, so that float64 labels never pass through float32)."""
    if isinstance(value, Tensor):
        return ops.as_tensor(value)
    return Tensor(backend.to_device(to_array(value, dtype), like.device))


def _labels_and_predictions(y_true, y_pred):
    """Predictions as a tensor; labels as a tensor of their dtype on their device."""
    y_pred = ops.as_tensor(y_pred)
    y_true = ops.cast(_tensor_like(y_true, y_pred, y_pred.dtype), y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _log_clipped(p):
    return ops.log(ops.clip_by_value(p, EPSILON, 1.0 - EPSILON))


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis."""
    y_true, y_pred = _labels_and_predictions(y_true, y_pred)
    return ops.reduce_mean(ops.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_true, y_pred = _labels_and_predictions(y_true, y_pred)
    return ops.reduce_mean(ops.abs(y_true - y_pred), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of e^2 / 2 where |e| <= delta, else delta (|e| - delta / 2)."""
    y_true, y_pred = _labels_and_predictions(y_true, y_pred)
    error = y_pred - y_true
    abs_error = ops.abs(error)
    quadratic = 0.5 * ops.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return ops.reduce_mean(ops.where(abs_error <= delta, quadratic, linear), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over ``axis`` of -(z log p + (1 - z) log(1 - p)), p = y_pred or sigmoid(y_pred)."""
    y_true, y_pred = _labels_and_predictions(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = nn_ops.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)
    else:
        p = ops.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
        bce = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.reduce_mean(bce, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(z log p) over ``axis``; p = y_pred renormalised to sum 1 (as Keras), or softmax."""
    y_true, y_pred = _labels_and_predictions(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"categorical_crossentropy: labels of shape {y_true.shape} do not match "
                         f"predictions of shape {y_pred.shape}; for integer class labels use "
                         "sparse_categorical_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        return nn_ops.softmax_cross_entropy_with_logits(y_true, y_pred, axis=axis)
    p = y_pred / ops.reduce_sum(y_pred, axis, keepdims=True)
    return -ops.reduce_sum(y_true * _log_clipped(p), axis=axis)


def _class_indices(y_true, y_pred, check_range=True):
    """Integer labels of shape y_pred.shape[:-1] (a trailing axis of size 1 is dropped); the
    range is left to the caller that says ``check_range=False`` (the logits ops check it)."""
    labels = _tensor_like(y_true, y_pred)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, -1)
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse_categorical_crossentropy: labels of shape {labels.shape} do "
                         f"not match predictions of shape {y_pred.shape} (expected labels of "
                         f"shape {y_pred.shape[:-1]}); for one-hot labels use "
                         "categorical_crossentropy")
    if labels.dtype.kind not in "iu":  # float (or bool) labels become class indices
        labels = ops.cast(labels, "int64")
    if not check_range:
        return labels
    values, n_classes = labels.numpy(), y_pred.shape[-1]
    if values.size and (values.min() < 0 or values.max() >= n_classes):
        raise ValueError(f"sparse_categorical_crossentropy: a label is outside the valid range "
                         f"[0, {n_classes}): got values {values.min()}..{values.max()}")
    return labels


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """-log p[label] per sample; p = y_pred renormalised to sum 1 (as Keras), or softmax."""
    y_pred = ops.as_tensor(y_pred)
    labels = _class_indices(y_true, y_pred, check_range=not from_logits)
    if from_logits:
        return nn_ops.sparse_softmax_cross_entropy(labels, y_pred, _SPARSE)
    p = y_pred / ops.reduce_sum(y_pred, -1, keepdims=True)
    z = ops.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
    return -ops.reduce_sum(z * _log_clipped(p), axis=-1)


class Loss:
    """A loss: ``call`` gives per-sample losses, ``__call__`` weights and reduces them."""

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        reduction = "none" if reduction is None else reduction
        if reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction '{reduction}'; valid: {', '.join(REDUCTIONS)}")
        self.name = name or type(self).__name__
        self.reduction = reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def __call__(self, y_true, y_pred, sample_weight=None):
        losses = self.call(y_true, y_pred)
        if sample_weight is not None:
            weight = ops.cast(_tensor_like(sample_weight, losses, losses.dtype), losses.dtype)
            losses, weight = squeeze_or_expand_to_same_rank(losses, weight)
            losses = losses * weight
        if self.reduction == "sum":
            return ops.reduce_sum(losses)
        if self.reduction == "sum_over_batch_size":
            return ops.reduce_mean(losses)  # sum / number of per-sample losses, as Keras
        return losses


class LossFunctionWrapper(Loss):
    """A Loss made of a per-sample loss function and its keyword arguments."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name or fn.__name__, reduction=reduction)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self._fn_kwargs}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(mean_squared_error, name, reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(mean_absolute_error, name, reduction)


class Huber(LossFunctionWrapper):
    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        super().__init__(huber, name, reduction, delta=delta)


class BinaryCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy"):
        super().__init__(binary_crossentropy, name, reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy"):
        super().__init__(categorical_crossentropy, name, reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy"):
        super().__init__(sparse_categorical_crossentropy, name, reduction,
                         from_logits=from_logits)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if (self._fn_kwargs["from_logits"] and self.reduction == "sum_over_batch_size"
                and sample_weight is None):  # a classifier's loss: one fused op
            y_pred = ops.as_tensor(y_pred)
            labels = _class_indices(y_true, y_pred, check_range=False)
            if 0 not in labels.shape:  # (the mean of no rows is left to reduce_mean)
                return nn_ops.sparse_softmax_cross_entropy_mean(labels, y_pred, _SPARSE)
        return super().__call__(y_true, y_pred, sample_weight)


_SPARSE = "sparse_categorical_crossentropy"


_BY_NAME = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier):
    """A Loss object from its name ("mse", "SparseCategoricalCrossentropy", ...), a
    ``{"class_name", "config"}`` dict, or a loss/callable (returned as is).

    Unlike ``keras.losses.get``, a name always gives a reducing Loss object (as ``compile``
    would use it), never the per-sample function.
    """
    return identifiers.resolve(identifier, _BY_NAME, "loss")
