"""Preprocessing layers: Rescaling, Normalization (with ``adapt``) and CategoryEncoding."""
import numpy as np

from .. import ops
from ..tensor import Tensor
from .base import Layer

EPSILON = 1e-7  # keras.backend.epsilon(): the least standard deviation Normalization divides by


def _plain(value):
    """A config value: numbers stay, arrays become nested lists."""
    return np.asarray(value).tolist() if isinstance(value, (np.ndarray, Tensor, list)) else value


class Rescaling(Layer):
    """inputs * scale + offset, in the layer's dtype (integer images become float32)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, inputs):
        scale, offset = (ops.as_tensor(np.asarray(_plain(v), dtype=self.dtype))
                         for v in (self.scale, self.offset))
        return ops.cast(inputs, self.dtype) * scale + offset

    def get_config(self):
        return {**super().get_config(), "scale": _plain(self.scale),
                "offset": _plain(self.offset)}


def _batches(data):
    """The arrays ``adapt`` reads: one array or tensor, or an iterable of batches (of the
    first element of each, for (x, y) batches)."""
    if isinstance(data, (np.ndarray, Tensor)):
        return [np.asarray(data)]
    batches = [b[0] if isinstance(b, (tuple, list)) else b for b in data]
    if not batches:
        raise ValueError("Normalization.adapt: the data holds no batches; pass an array or a "
                         "non-empty iterable of arrays")
    return [np.asarray(b) for b in batches]


class Normalization(Layer):
    """(inputs - mean) / max(sqrt(variance), 1e-7), mean and variance per index of ``axis``.

    The statistics are given (``mean``, ``variance``) or learnt by ``adapt(data)`` over every
    axis but ``axis``; learnt ones are the non-trainable weights mean, variance and count, in
    Keras's order. ``invert=True`` maps normalized values back: mean + x * sqrt(variance).
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        self.input_mean, self.input_variance, self.invert = mean, variance, invert
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: when setting values directly, both mean and "
                             f"variance must be set; got mean={mean} and variance={variance}")
        if mean is not None and np.shape(mean) != np.shape(variance):
            raise ValueError(f"Normalization: mean and variance must have the same shape, got "
                             f"{np.shape(mean)} and {np.shape(variance)}")

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"Normalization: every axis must be in [-{ndim}, {ndim}) for "
                             f"inputs of rank {ndim}, got axis={self.axis}")
        self._input_shape = tuple(input_shape)
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        self._reduce = tuple(d for d in range(ndim) if d not in self._keep)
        self._broadcast = [input_shape[d] if d in self._keep else 1 for d in range(ndim)]
        if self.input_mean is None:
            shape = tuple(input_shape[d] for d in self._keep)
            self.adapt_mean = self.add_weight("mean", shape, "zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", shape, "ones", trainable=False)
            self.count = self.add_weight("count", (), "zeros", trainable=False, dtype="int64")
        self.built = True

    def _given(self, value):
        """A given statistic, its axes aligned from the right with the kept axes."""
        value = np.asarray(value, dtype=self.dtype)
        expanded = [1] * len(self._broadcast)
        for i in range(1, value.ndim + 1):
            expanded[self._keep[-i]] = value.shape[-i]
        return ops.as_tensor(np.broadcast_to(value.reshape(expanded), self._broadcast))

    @property
    def mean(self):
        if self.input_mean is not None:
            return self._given(self.input_mean)
        return ops.reshape(self.adapt_mean, self._broadcast)

    @property
    def variance(self):
        if self.input_variance is not None:
            return self._given(self.input_variance)
        return ops.reshape(self.adapt_variance, self._broadcast)

    def adapt(self, data):
        """Learn the mean and (biased) variance of ``data``: an array, a tensor or batches."""
        batches = _batches(data)
        if not self.built:
            self.build(batches[0].shape)
        for batch in batches:
            if batch.ndim != len(self._input_shape) or any(
                    batch.shape[d] != self._input_shape[d] for d in self._keep):
                raise ValueError(f"Normalization.adapt: the layer was built for inputs of shape "
                                 f"{self._input_shape}, but the data has shape {batch.shape}")
        mean = variance = count = 0
        for batch in batches:
            n = int(np.prod([batch.shape[d] for d in self._reduce]))
            b_mean, b_var = batch.mean(axis=self._reduce), batch.var(axis=self._reduce)
            total = count + n
            # pooled moments about the new mean (the lack-of-fit sum of squares, as Keras)
            new_mean = (mean * count + b_mean * n) / total
            variance = ((variance + (mean - new_mean) ** 2) * count
                        + (b_var + (b_mean - new_mean) ** 2) * n) / total
            mean, count = new_mean, total
        self.adapt_mean.assign(np.asarray(mean, dtype=self.dtype))
        self.adapt_variance.assign(np.asarray(variance, dtype=self.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, inputs):
        x = ops.cast(inputs, self.dtype)
        scale = ops.maximum(ops.sqrt(self.variance), EPSILON)
        return self.mean + x * scale if self.invert else (x - self.mean) / scale

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": _plain(self.input_mean), "variance": _plain(self.input_variance)}


class CategoryEncoding(Layer):
    """Integer categories in [0, num_tokens) as multi-hot, one-hot or count vectors."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        output_mode = "multi_hot" if output_mode == "binary" else output_mode
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"CategoryEncoding: unknown output_mode {output_mode!r}; valid "
                             "ones are 'count', 'one_hot' and 'multi_hot'")
        if num_tokens is None or num_tokens < 1:
            raise ValueError(f"CategoryEncoding: num_tokens must be set, 1 or more, got "
                             f"{num_tokens!r}")
        if sparse:
            raise NotImplementedError("CategoryEncoding: sparse outputs are not supported")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, sparse
        self.autocast = False  # its inputs are categories, not values: left as they come

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if not shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
            return shape + (self.num_tokens,)
        return shape[:-1] + (self.num_tokens,)

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("CategoryEncoding: count_weights is used only when output_mode "
                             f"is 'count', not {self.output_mode!r}")
        x = ops.cast(inputs, "int64")
        self._check_range(x)
        x = ops.reshape(x, self.compute_output_shape(x.shape)[:-1]) \
            if self.output_mode == "one_hot" else x if x.ndim else ops.reshape(x, (1,))
        hot = ops.one_hot(x, self.num_tokens, dtype=self.dtype)
        if self.output_mode == "one_hot":
            return hot
        if count_weights is not None:
            hot = hot * ops.expand_dims(ops.cast(count_weights, self.dtype), -1)
        reduce = ops.reduce_max if self.output_mode == "multi_hot" else ops.reduce_sum
        return reduce(hot, axis=-2)  # over the last input axis (Keras: axis 1 of rank 2)

    def _check_range(self, x):
        if np.prod(x.shape):
            low, high = int(ops.reduce_min(x)), int(ops.reduce_max(x))
            if low < 0 or high >= self.num_tokens:
                raise ValueError(f"CategoryEncoding '{self.name}': values must be in [0, "
                                 f"{self.num_tokens}), got values {low}..{high}")

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": self.sparse}
