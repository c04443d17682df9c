"""Reshaping layers: Reshape, Permute, RepeatVector, UpSampling2D, ZeroPadding2D, Cropping2D.

Each is written with differentiable ops (reshape, transpose, broadcast_to, pad, slicing), so
its gradients of every order come from the tape. The 2-D layers take Keras's ``data_format``
("channels_last", the default, or "channels_first").
"""
import math

import numpy as np

from .. import ops
from .base import Layer


def data_format_of(value, caller):
    value = "channels_last" if value is None else str(value).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{caller}: data_format must be 'channels_last' or 'channels_first', "
                         f"got {value!r}")
    return value


def _pairs(value, caller, what):
    """An int, (a, b) or ((top, bottom), (left, right)) as ((top, bottom), (left, right))."""
    if isinstance(value, int):
        value = (value, value)
    if not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{caller}: {what} must be an int, a tuple of 2 ints or a tuple of 2 "
                         f"tuples of 2 ints, got {value!r}")
    pairs = tuple((v, v) if isinstance(v, int) else tuple(v) for v in value)
    if any(len(p) != 2 or min(p) < 0 for p in pairs):
        raise ValueError(f"{caller}: {what} must hold numbers >= 0, got {value!r}")
    return pairs


def _reshaped(shape, target, caller):
    """``target`` with its one -1 resolved so that it holds as many elements as ``shape``."""
    size, known = math.prod(shape), math.prod(n for n in target if n != -1)
    if list(target).count(-1) > 1 or any(n < -1 or n == 0 for n in target):
        raise ValueError(f"{caller}: target_shape may hold positive sizes and one -1, "
                         f"got {tuple(target)}")
    if -1 in target:
        if size % known:
            raise ValueError(f"{caller}: cannot reshape {tuple(shape)} into {tuple(target)}")
        return tuple(size // known if n == -1 else n for n in target)
    if known != size:
        raise ValueError(f"{caller}: cannot reshape {tuple(shape)} ({size} elements per "
                         f"example) into {tuple(target)} ({known})")
    return tuple(target)


class Reshape(Layer):
    """(batch, ...) -> (batch, *target_shape); one entry of target_shape may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def compute_output_shape(self, input_shape):
        if None in input_shape[1:]:
            return (input_shape[0], *(None if n == -1 else n for n in self.target_shape))
        return (input_shape[0], *_reshaped(input_shape[1:], self.target_shape, "Reshape"))

    def call(self, inputs):
        return ops.reshape(inputs, self.compute_output_shape(inputs.shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the axes after the batch axis: ``dims`` counts from 1, as in Keras."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, "
                             f"got {self.dims}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def call(self, inputs):
        return ops.transpose(inputs, (0, *self.dims))

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): each example repeated n times."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"RepeatVector: expected an integer value for n, got {type(n)}")
        if n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive integer, got {n}")
        self.n = n

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs):
        if inputs.ndim != 2:
            raise ValueError(f"RepeatVector expects inputs of rank 2, got shape {inputs.shape}")
        return ops.broadcast_to(ops.expand_dims(inputs, 1), self.compute_output_shape(
            inputs.shape))

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class _Spatial2D(Layer):
    """A layer of 4-D images whose rows and columns are axes 1, 2 (or 2, 3 channels first)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_of(data_format, type(self).__name__)

    @property
    def _spatial_axes(self):
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def _check_rank(self, inputs):
        if inputs.ndim != 4:
            raise ValueError(f"{type(self).__name__} expects 4-D inputs (batch, rows, columns, "
                             f"channels or channels first), got shape {inputs.shape}")

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


def _bilinear_matrix(n, factor, dtype):
    """(n * factor, n): row i interpolates the input at (i + 0.5) / factor - 0.5 (half-pixel
    centres, clamped to the edges), as TensorFlow's and JAX's bilinear resize."""
    source = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, n - 1)
    low = np.floor(source).astype(int)
    high, weight = np.minimum(low + 1, n - 1), source - low
    matrix = np.zeros((n * factor, n))
    np.add.at(matrix, (np.arange(n * factor), low), 1 - weight)
    np.add.at(matrix, (np.arange(n * factor), high), weight)
    return matrix.astype(dtype)


class UpSampling2D(_Spatial2D):
    """Repeats each row ``size[0]`` times and each column ``size[1]`` times ("nearest"), or
    interpolates between them ("bilinear")."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.interpolation = interpolation.lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"UpSampling2D: interpolation {interpolation!r} is not "
                                      "supported yet; use 'nearest' or 'bilinear'")

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, factor in zip(self._spatial_axes, self.size):
            shape[axis] = None if shape[axis] is None else shape[axis] * factor
        return tuple(shape)

    def call(self, inputs):
        """x viewed with a new axis of size 1 after each spatial one, broadcast, merged back:
        nearest-neighbour repetition from reshape and broadcast_to alone."""
        self._check_rank(inputs)
        if self.interpolation == "bilinear":
            return self._bilinear(inputs)
        (h, w), shape = self._spatial_axes, list(inputs.shape)
        spread = shape[:h + 1] + [1] + shape[w:w + 1] + [1] + shape[w + 1:]
        repeated = shape[:h + 1] + [self.size[0]] + shape[w:w + 1] + [self.size[1]] + \
            shape[w + 1:]
        x = ops.broadcast_to(ops.reshape(inputs, spread), repeated)
        return ops.reshape(x, self.compute_output_shape(inputs.shape))

    def _bilinear(self, inputs):
        """Interpolation along each spatial axis is a fixed matrix: rows @ x @ columns^T."""
        (h, w), dtype = self._spatial_axes, inputs.dtype
        rows = _bilinear_matrix(inputs.shape[h], self.size[0], dtype)
        columns = _bilinear_matrix(inputs.shape[w], self.size[1], dtype)
        spec = "ih,nhwc,jw->nijc" if self.data_format == "channels_last" else "ih,nchw,jw->ncij"
        return ops.einsum(spec, rows, inputs, columns)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "interpolation": self.interpolation}


class ZeroPadding2D(_Spatial2D):
    """Zeros around the rows and columns: ``padding`` as ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, "ZeroPadding2D", "padding")

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (before, after) in zip(self._spatial_axes, self.padding):
            shape[axis] = None if shape[axis] is None else shape[axis] + before + after
        return tuple(shape)

    def call(self, inputs):
        self._check_rank(inputs)
        pads = [[0, 0]] * 4
        for axis, pair in zip(self._spatial_axes, self.padding):
            pads[axis] = list(pair)
        return ops.pad(inputs, pads)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


class Cropping2D(_Spatial2D):
    """Drops rows and columns at the edges: ``cropping`` as ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, "Cropping2D", "cropping")

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (before, after) in zip(self._spatial_axes, self.cropping):
            if shape[axis] is not None and before + after >= shape[axis]:
                raise ValueError("Cropping2D: values in cropping must be smaller than the "
                                 f"spatial dimension they crop; got input_shape "
                                 f"{tuple(input_shape)}, cropping {self.cropping}")
            shape[axis] = None if shape[axis] is None else shape[axis] - before - after
        return tuple(shape)

    def call(self, inputs):
        self._check_rank(inputs)
        self.compute_output_shape(inputs.shape)  # the check
        index = [slice(None)] * 4
        for axis, (before, after) in zip(self._spatial_axes, self.cropping):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}
