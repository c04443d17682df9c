"""More convolutions, all from conv.py's ops: transposed, depthwise, separable and 1-D.

None registers a gradient of its own. conv2d_transpose is conv2d's gradient with respect to
its input, conv2d_backprop_input; depthwise_conv2d is one batched matmul of im2col's patches,
a matmul per channel; the 1-D ops are the 2-D ones on an added axis of size 1. Their
derivatives, of every order, come from im2col, col2im, matmul and the shape ops.
"""
import math

from ..tensor import Tensor
from .conv import (
    _check_nhwc,
    _pads,
    avg_pool2d,
    conv2d,
    conv2d_backprop_input,
    im2col,
    max_pool2d,
    padding_mode,
    spatial_pair,
)
from .core import as_pair, as_tensor
from .linalg import matmul
from .shape import expand_dims, reshape, squeeze, transpose


# --- arguments -------------------------------------------------------------------------------
def _pair(value, name):
    """spatial_pair, also taking TensorFlow's list of one value for both axes."""
    if not isinstance(value, int) and len(value) == 1:
        value = value[0]
    return spatial_pair(value, name)


def _no_dilations(dilations, name):
    if dilations not in (None, 1) and _pair(dilations, f"{name}: dilations") != (1, 1):
        raise ValueError(f"{name}: dilations are not supported, got {dilations!r}")


def _width(value, name):
    """A 1-D size: an int, or TensorFlow's list of 1 or 3 (NWC: [1, w, 1])."""
    values = [value] if isinstance(value, int) else [int(v) for v in value]
    if len(values) == 3:
        values = values[1:2]
    if len(values) != 1 or values[0] < 1:
        raise ValueError(f"{name} must be a positive int or a list of 1 (or 3, NWC) positive "
                         f"ints, got {value!r}")
    return values[0]


def _check_rank(shape, rank, layout, name):
    if len(shape) != rank:
        raise ValueError(f"{name}: the input must be {layout} (rank {rank}), got shape {shape}")


def conv_output_size(size, window, stride, padding):
    """A convolution's output length: ceil(size / stride) with SAME, else the full windows."""
    if padding_mode(padding, "conv") == "SAME":
        return math.ceil(size / stride)
    return (size - window) // stride + 1


def conv_transpose_output_size(size, window, stride, padding, output_padding=None):
    """Keras's output length of a transposed convolution (the TensorFlow backend's rule):
    valid: (size - 1) * stride + max(window, stride), or + window + output_padding;
    same: size * stride, or (size - 1) * stride + window % 2 + output_padding."""
    if padding_mode(padding, "conv_transpose") == "VALID":
        extra = max(window, stride) if output_padding is None else window + output_padding
    else:
        extra = stride if output_padding is None else window % 2 + output_padding
    return (size - 1) * stride + extra


# --- 2-D -------------------------------------------------------------------------------------
def conv2d_transpose(input, filters, output_shape, strides, padding="SAME", data_format="NHWC",
                     dilations=None, name=None):
    """The gradient of conv2d(y, filters) with respect to y of ``output_shape``, at ``input``,
    filters of shape (kh, kw, output_channels, in_channels)."""
    x, w = as_pair(input, filters, "conv2d_transpose")
    _check_nhwc(data_format, "conv2d_transpose")
    _no_dilations(dilations, "conv2d_transpose")
    strides = _pair(strides, "conv2d_transpose: strides")
    shape = _check_transpose_shapes(x.shape, w.shape, output_shape, strides, padding)
    pads = _pads(shape, w.shape[:2], strides, padding, "conv2d_transpose")
    return conv2d_backprop_input(x, w, shape, strides, pads)


def _check_transpose_shapes(x_shape, w_shape, output_shape, strides, padding):
    """output_shape as a tuple, once conv2d of that shape is seen to give x's shape."""
    name = "conv2d_transpose"
    _check_rank(x_shape, 4, "NHWC", name)
    if len(w_shape) != 4 or w_shape[3] != x_shape[3]:
        raise ValueError(f"{name}: filters must have shape (kh, kw, output_channels, "
                         f"{x_shape[3]}) for an input of shape {x_shape}, got {w_shape}")
    values = output_shape.numpy() if isinstance(output_shape, Tensor) else output_shape
    shape = tuple(int(n) for n in values)
    expected = [conv_output_size(n, k, s, padding)
                for n, k, s in zip(shape[1:3], w_shape[:2], strides)] if len(shape) == 4 else []
    if len(shape) != 4 or (shape[0], shape[3]) != (x_shape[0], w_shape[2]) or \
            tuple(expected) != tuple(x_shape[1:3]):
        raise ValueError(f"{name}: output_shape {shape} does not fit: conv2d of an "
                         f"(N, H, W, {w_shape[2]}) input with window {w_shape[:2]}, strides "
                         f"{strides} and padding {padding!r} must give the input's shape "
                         f"{x_shape}")
    return shape


def depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None,
                     name=None):
    """y[n, i, j, k * m + q] = sum over (di, dj) of x[n, s*i + di, s*j + dj, k] *
    filter[di, dj, k, q], filter of shape (kh, kw, in_channels, m = channel_multiplier)."""
    x, w = as_pair(input, filter, "depthwise_conv2d")
    _check_nhwc(data_format or "NHWC", "depthwise_conv2d")
    _no_dilations(dilations, "depthwise_conv2d")
    _check_rank(x.shape, 4, "NHWC", "depthwise_conv2d")
    if len(w.shape) != 4 or w.shape[2] != x.shape[3]:
        raise ValueError(f"depthwise_conv2d: filter must have shape (kh, kw, {x.shape[3]}, "
                         f"channel_multiplier) for an input of shape {x.shape}, got {w.shape}")
    kh, kw, c, m = w.shape
    strides = _pair(strides, "depthwise_conv2d: strides")
    cols = im2col(x, (kh, kw), strides, _pads(x.shape, (kh, kw), strides, padding,
                                              "depthwise_conv2d"))
    n, ho, wo = cols.shape[:3]
    # the channels are the batch of one matmul: (c, n*ho*wo, kh*kw) @ (c, kh*kw, m)
    patches = transpose(reshape(cols, (n * ho * wo, kh * kw, c)), (2, 0, 1))
    y = matmul(patches, transpose(reshape(w, (kh * kw, c, m)), (1, 0, 2)))
    return reshape(transpose(y, (1, 0, 2)), (n, ho, wo, c * m))


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding,
                     data_format=None, dilations=None, name=None):
    """depthwise_conv2d, then a 1 x 1 conv2d with pointwise_filter (1, 1, c * m, filters)."""
    y = depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations)
    return conv2d(y, pointwise_filter, 1, "VALID")


# --- 1-D: the 2-D ops on an added height of 1 ------------------------------------------------
def _check_nwc(x, data_format, name):
    if data_format not in (None, "NWC"):
        raise ValueError(f"{name}: only data_format 'NWC' is supported, got {data_format!r}")
    _check_rank(x.shape, 3, "NWC", name)


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None, name=None):
    """sum over (i, c) of x[n, w*s + i, c] * filters[i, c, k]: conv2d with a height of 1."""
    x, f = as_pair(input, filters, "conv1d")
    _check_nwc(x, data_format, "conv1d")
    _no_dilations(dilations, "conv1d")
    if len(f.shape) != 3:
        raise ValueError(f"conv1d: filters must have shape (width, c_in, c_out), got {f.shape}")
    stride = _width(stride, "conv1d: stride")
    y = conv2d(expand_dims(x, 1), expand_dims(f, 0), (1, stride), padding)
    return squeeze(y, 1)


def _pool1d(pool, x, ksize, strides, padding, data_format, name):
    x = as_tensor(x)
    _check_nwc(x, data_format, name)
    window, stride = _width(ksize, f"{name}: ksize"), _width(strides, f"{name}: strides")
    return squeeze(pool(expand_dims(x, 1), (1, window), (1, stride), padding), 1)


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    """The maximum of each window along the width (the gradient goes to the first maximum)."""
    return _pool1d(max_pool2d, input, ksize, strides, padding, data_format, "max_pool1d")


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    """The mean of each window along the width, over real entries only (SAME's padding is
    not counted)."""
    return _pool1d(avg_pool2d, input, ksize, strides, padding, data_format, "avg_pool1d")
