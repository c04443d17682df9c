"""2-D convolution and pooling (NHWC).

A convolution is three ops, as in TensorFlow: conv2d and its two gradients,
conv2d_backprop_input and conv2d_backprop_filter. Each is linear in each of its two inputs, so
each one's gradients are the other two (and conv2d itself): derivatives of any order work
through nested tapes. Their array kernels (conv_kernels.py) pick a formulation per shape; a
recorded conv2d keeps what its kernel built from x (a patch matrix, windows, Winograd's
transformed tiles) for the filters' gradient, which takes it the first time it runs.
conv2d_bias_relu is a Conv2D layer's conv2d, bias and ReLU as one op, conv2d_bias its conv2d
and bias (no activation).

Pooling is built on a pair of adjoint ops, im2col and col2im: im2col copies every kh x kw
window of the (padded) input into a patch array of shape (N, Ho, Wo, kh, kw, C) through a
strided view, col2im scatter-adds patch gradients back to their pixels; each is the other's
gradient. A max-pool whose windows tile the image needs no patches at all.
"""
import math

import numpy as np

from .. import backend, tape
from ..tensor import Tensor
from . import conv_kernels
from .core import as_pair, as_tensor, register_gradient, run, run2
from .nn import bias_add_activation, relu_bias_grads
from .patches import col2im_array, im2col_array
from .reduce import reduce_sum
from .selection import where
from .shape import expand_dims, reshape, zeros_like


# --- geometry --------------------------------------------------------------------------------
def spatial_pair(value, name):
    """An int or a sequence of 2 (or TensorFlow's 4, [1, h, w, 1]) as (h, w)."""
    values = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) == 4:
        values = values[1:3]
    if len(values) != 2 or min(values) < 1:
        raise ValueError(f"{name} must be a positive int or a list of 2 (or 4, NHWC) positive "
                         f"ints, got {value!r}")
    return values


def padding_mode(padding, name):
    mode = str(padding).upper()
    if mode not in ("VALID", "SAME"):
        raise ValueError(f"{name}: padding must be 'VALID' or 'SAME' (any case), got {padding!r}")
    return mode


def _same_pads(size, k, s):
    """TensorFlow's SAME: ceil(size / s) outputs, the extra padding going after."""
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _pads(shape, window, strides, padding, name):
    """((top, bottom), (left, right)) for an NHWC input of ``shape``."""
    if len(shape) != 4:
        raise ValueError(f"{name}: the input must be NHWC (rank 4), got shape {shape}")
    if padding_mode(padding, name) == "VALID":
        pads = ((0, 0), (0, 0))
    else:
        pads = tuple(_same_pads(n, k, s) for n, k, s in zip(shape[1:3], window, strides))
    for n, k, (before, after) in zip(shape[1:3], window, pads):
        if n + before + after < k:
            raise ValueError(f"{name}: window {window} is larger than the input's spatial "
                             f"size {shape[1:3]} with padding 'VALID'")
    return pads


# --- the differentiable pair -----------------------------------------------------------------
def im2col(input, window, strides, pads, pad_value=0):
    """The (N, Ho, Wo, kh, kw, C) patches of an NHWC input padded by ``pads`` with pad_value."""
    x = as_tensor(input)
    attrs = {"window": window, "strides": strides, "pads": pads}
    return run("im2col", lambda a: im2col_array(a, window, strides, pads, pad_value), (x,),
               attrs)


@register_gradient("im2col")
def _im2col_grad(op, grad):
    """col2im(grad): each pixel receives the gradients of the patch entries copied from it"""
    a = op.attrs
    return (col2im(grad, op.inputs[0].shape, a["window"], a["strides"], a["pads"]),)


def col2im(cols, shape, window, strides, pads):
    """The NHWC array of ``shape`` whose pixels sum the patch entries copied from them."""
    c = as_tensor(cols)
    attrs = {"window": window, "strides": strides, "pads": pads}
    return run("col2im", lambda a: col2im_array(a, shape, window, strides, pads), (c,), attrs)


@register_gradient("col2im")
def _col2im_grad(op, grad):
    """im2col(grad): the adjoint of a scatter-add is the gather it undoes"""
    a = op.attrs
    return (im2col(grad, a["window"], a["strides"], a["pads"]),)


# --- convolution and pooling -----------------------------------------------------------------
def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):
    """sum over (i, j, c) of x[n, h*sh + i, w*sw + j, c] * filters[i, j, c, k] (a correlation)."""
    x, w = as_pair(input, filters, "conv2d")
    _check_conv_args(x.shape, w.shape, data_format, dilations)
    strides = spatial_pair(strides, "conv2d: strides")
    pads = _pads(x.shape, w.shape[:2], strides, padding, "conv2d")
    return _conv(x, w, _geometry(w.shape, strides, pads))


def conv2d_bias_relu(input, filters, bias, strides, padding, name=None):
    """relu(conv2d(input, filters) + bias) as one op, the bias and ReLU applied where the
    convolution writes its output (a Conv2D layer with activation 'relu': the VGG step 0.96x
    of conv2d and bias_relu as two ops). Its gradient: relu's mask, then conv2d's."""
    return _conv_with_bias(input, filters, bias, strides, padding, "conv2d_bias_relu")


def conv2d_bias(input, filters, bias, strides, padding, name=None):
    """conv2d(input, filters) + bias as one op, the bias added where the convolution writes
    its output (a Conv2D layer with no activation), instead of a pass of its own."""
    return _conv_with_bias(input, filters, bias, strides, padding, "conv2d_bias")


def _conv_with_bias(input, filters, bias, strides, padding, name):
    x, w = as_pair(input, filters, "conv2d")
    _, b = as_pair(x, bias, name)
    _check_conv_args(x.shape, w.shape, "NHWC", None)
    if b.shape != (w.shape[3],):
        raise ValueError(f"{name}: the bias must have shape ({w.shape[3]},), one value per "
                         f"filter, got {b.shape}")
    strides = spatial_pair(strides, "conv2d: strides")
    pads = _pads(x.shape, w.shape[:2], strides, padding, "conv2d")
    return _conv(x, w, _geometry(w.shape, strides, pads), b, name)


# the activations a Conv2D layer fuses with its convolution and bias, by Keras name: the
# convolution's table, as ops.nn.BIAS_ACTIVATIONS is a bias's
CONV_BIAS_ACTIVATIONS = {"relu": conv2d_bias_relu, "linear": conv2d_bias}


def conv2d_bias_activation(input, filters, bias, strides, padding, activation,
                           activation_name=None):
    """activation(conv2d(input, filters) + bias) (a bias of None for none): one op where
    CONV_BIAS_ACTIVATIONS has one for ``activation_name``, else conv2d and then the bias and
    activation as ops.nn.bias_add_activation applies them."""
    fused = CONV_BIAS_ACTIVATIONS.get(activation_name) if bias is not None else None
    if fused is not None:
        return fused(input, filters, bias, strides, padding)
    y = conv2d(input, filters, strides, padding)
    return bias_add_activation(y, bias, activation, activation_name)


def _geometry(filter_shape, strides, pads):
    """The attributes the three ops of one convolution share: the kind is a formulation that
    a test or benchmark forces on all of them, or None: each op's own choice."""
    return {"strides": strides, "pads": pads, "kind": conv_kernels.forced(filter_shape, strides)}


def _conv(x, w, geometry, bias=None, name="conv2d"):
    """conv2d, or with a bias conv2d_bias_relu or conv2d_bias (``name``); recorded, each
    keeps what its kernel built from x, in its attrs."""
    inputs, relu = ((x, w) if bias is None else (x, w, bias)), name == "conv2d_bias_relu"
    if not tape.active():
        return run(name, lambda a, f, b=None: conv_kernels.forward(a, f, bias=b, relu=relu,
                                                                   **geometry),
                   inputs, geometry)
    attrs = dict(geometry)  # "kept" joins them, for the filters' gradient

    def forward(a, f, b=None):
        y, attrs["kept"] = conv_kernels.forward_keeping(a, f, bias=b, relu=relu, **geometry)
        return y
    return run(name, forward, inputs, attrs)


def conv2d_backprop_input(grad, filters, input_shape, strides, pads):
    """The gradient of conv2d with respect to an input of ``input_shape`` (the transposed
    convolution of ``grad``); ``pads`` are the forward's ((top, bottom), (left, right))."""
    g, w = as_pair(grad, filters, "conv2d_backprop_input")
    return _input_grad(g, w, input_shape, _geometry(w.shape, strides, pads))


def conv2d_backprop_filter(input, grad, filter_shape, strides, pads):
    """The gradient of conv2d with respect to filters of ``filter_shape``."""
    x, g = as_pair(input, grad, "conv2d_backprop_filter")
    return _filter_grad(x, g, filter_shape, _geometry(tuple(filter_shape), strides, pads))


def _input_grad(g, w, input_shape, geometry):
    shape = tuple(input_shape)
    return run2("conv2d_backprop_input", lambda a, b: conv_kernels.input_grad(
        a, b, shape, **geometry), g, w, {**geometry, "input_shape": shape})


def _filter_grad(x, g, filter_shape, geometry, kept=None):
    shape = tuple(filter_shape)
    return run2("conv2d_backprop_filter", lambda a, b: conv_kernels.filter_grad(
        a, b, shape, kept=kept, **geometry), x, g, {**geometry, "filter_shape": shape})


def _shared(op):
    return {key: op.attrs[key] for key in ("strides", "pads", "kind")}


def _pair_grads(op, first, second):
    """The gradients the sweep needs, each computed only then (a model's input needs none)."""
    need_first, need_second = op.needs_grad
    return (first() if need_first else None), (second() if need_second else None)


@register_gradient("conv2d")
def _conv2d_grad(op, grad):
    """the transposed convolution of grad; each window of x against grad (the forward's
    kept form of x taken, so that it is freed as the sweep goes on; a later sweep of a
    persistent tape builds it again)"""
    (x, w), geometry = op.inputs, _shared(op)
    kept = op.attrs.pop("kept", None)
    return _pair_grads(op, lambda: _input_grad(grad, w, x.shape, geometry),
                       lambda: _filter_grad(x, grad, w.shape, geometry, kept))


@register_gradient("conv2d_bias_relu")
def _conv2d_bias_relu_grad(op, grad):
    """relu's gradient (grad where y > 0) and the bias's, then conv2d's; both as a max-pool
    of y left them (_relu_masked_spread), if grad is that pool's gradient alone"""
    folded = op.attrs.pop("relu_grads", None)
    if folded is None or folded[0] is not grad:
        folded = relu_bias_grads(grad, op.outputs[0], op.inputs[2]._data.shape)
    return _biased_conv_grads(op, *folded)


@register_gradient("conv2d_bias")
def _conv2d_bias_grad(op, grad):
    """conv2d's gradients, and grad itself to the bias (the sweep sums it over the rows)"""
    return _biased_conv_grads(op, grad, grad)


def _biased_conv_grads(op, g, bias_grad):
    """conv2d's gradients from g, the gradient of the convolution's own output, and the
    bias's, for the inputs that need them; the filters' reads what the forward kept."""
    (x, w, _), geometry = op.inputs, _shared(op)
    kept = op.attrs.pop("kept", None)
    need_x, need_w, need_bias = op.needs_grad
    return ((_input_grad(g, w, x.shape, geometry) if need_x else None),
            (_filter_grad(x, g, w.shape, geometry, kept) if need_w else None),
            bias_grad if need_bias else None)


@register_gradient("conv2d_backprop_input")
def _backprop_input_grad(op, grad):
    """linear in g and in w: conv2d(grad, w), and grad's windows against g"""
    (g, w), geometry = op.inputs, _shared(op)
    return _pair_grads(op, lambda: _conv(grad, w, geometry),
                       lambda: _filter_grad(grad, g, w.shape, geometry))


@register_gradient("conv2d_backprop_filter")
def _backprop_filter_grad(op, grad):
    """linear in x and in g: the transposed convolution of g with grad, and conv2d(x, grad)"""
    (x, g), geometry = op.inputs, _shared(op)
    return _pair_grads(op, lambda: _input_grad(g, grad, x.shape, geometry),
                       lambda: _conv(x, grad, geometry))


def _check_nhwc(data_format, name):
    if data_format != "NHWC":
        raise ValueError(f"{name}: only data_format 'NHWC' is supported, got {data_format!r}")


def _check_conv_args(x_shape, w_shape, data_format, dilations):
    _check_nhwc(data_format, "conv2d")
    if dilations not in (None, 1) and spatial_pair(dilations, "conv2d: dilations") != (1, 1):
        raise ValueError(f"conv2d: dilations are not supported, got {dilations!r}")
    if len(w_shape) != 4:
        raise ValueError(f"conv2d: filters must have shape (kh, kw, c_in, c_out), "
                         f"got {w_shape}")
    if len(x_shape) != 4 or x_shape[3] != w_shape[2]:
        raise ValueError(f"conv2d: the input of shape {x_shape} must be NHWC (rank 4) with "
                         f"{w_shape[2]} channels, as the filters of shape {w_shape} expect")


def _pool_patches(x, ksize, strides, padding, data_format, name, pad_value):
    """The windows as (N, Ho, Wo, kh * kw, C), and the geometry (window, strides, pads)."""
    _check_nhwc(data_format, name)
    window = spatial_pair(ksize, f"{name}: ksize")
    strides = spatial_pair(strides, f"{name}: strides")
    pads = _pads(x.shape, window, strides, padding, name)
    cols = im2col(x, window, strides, pads, pad_value)
    return reshape(cols, cols.shape[:3] + (window[0] * window[1], x.shape[3])), \
        (window, strides, pads)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """The maximum of each window; its gradient goes to the first maximum, as in TensorFlow."""
    x = as_tensor(input)
    window = _tiling_window(x.shape, ksize, strides, padding, data_format)
    if window is not None:
        return _tile_max_op(x, window)
    cols, _ = _pool_patches(x, ksize, strides, padding, data_format, "max_pool2d", -math.inf)
    return run("window_max", lambda a: a.max(axis=3), (cols,))


def _tiling_window(shape, ksize, strides, padding, data_format):
    """The window, where windows of stride = size tile the image with no padding (a 2x2
    stride-2 pool of an even image, the common case): then no patch copy is needed."""
    _check_nhwc(data_format, "max_pool2d")
    window = spatial_pair(ksize, "max_pool2d: ksize")
    if len(shape) != 4 or spatial_pair(strides, "max_pool2d: strides") != window:
        return None
    tiles = all(n % k == 0 and n >= k for n, k in zip(shape[1:3], window))
    # SAME pads nothing when the windows tile the image; VALID never pads
    return window if tiles and padding_mode(padding, "max_pool2d") in ("SAME", "VALID") else None


def _window_views(a, window):
    """The strided views a[:, i::kh, j::kw], one per window offset, in row-major order."""
    kh, kw = window
    return [a[:, i::kh, j::kw] for i in range(kh) for j in range(kw)]


def _offsets_apart(a, window):
    """The window offsets' pixels, a[:, i::kh, j::kw] for each offset in row-major order, as
    contiguous arrays: on numpy, one copy of a with each pixel's C values moved as one item
    (a void scalar). A ufunc on a strided view of fewer than 32 channels loops over runs of C
    values and costs about 10x its pass over a contiguous array (LeNet-5's first pool's
    maxima and first maxima: 0.99 -> 0.58 ms). Strided views elsewhere."""
    if type(a) is not np.ndarray or not (a.flags.c_contiguous and a.size):
        return _window_views(a, window)
    (kh, kw), (n, h, w, c) = window, a.shape
    pixels = backend.runs_as_items(a)
    apart = pixels.reshape(n, h // kh, kh, w // kw, kw).transpose(2, 4, 0, 1, 3)
    return list(np.ascontiguousarray(apart).view(a.dtype).reshape(kh * kw, n, h // kh,
                                                                   w // kw, c))


def _tile_max_op(x, window):
    """The tiling max-pool. Recorded with fewer than _WIDE_POOL channels, it finds each
    window's first maximum too, while x is in the cache, and keeps it (a byte per output) for
    the gradient, which pops it (LeNet-5's first pool, forward + gradient: 2.9 -> 2.3 ms;
    finding them again in the gradient reads x once more, out of the cache by then).
    Recorded right after the conv2d_bias_relu that output x, it notes that op, into whose
    gradient its own may fold (_relu_masked_spread)."""
    attrs, recorded = {"window": window}, tape.active()
    relu = tape.producer(x) if recorded else None
    if relu is not None and relu.name == "conv2d_bias_relu":  # a Conv2D layer's, with "relu"
        attrs["relu"] = relu
    if not (recorded and x.shape[3] < _WIDE_POOL):
        return run("tile_max", lambda a: _tile_max(a, window), (x,), attrs)

    def forward(a):
        y, attrs["first"] = _tile_max_and_first(a, window)
        return y
    return run("tile_max", forward, (x,), attrs)


def _tile_max(a, window):
    xp = backend.array_module(a)
    views = _window_views(a, window)
    y = views[0].copy()
    for view in views[1:]:
        xp.maximum(y, view, out=y)  # NaN propagates, as a max over the window does
    return y


def _tile_max_and_first(a, window):
    """(the maxima, each window's first maximum as its offset in row-major order; kh * kw,
    no offset, where the window holds a NaN, whose maximum no entry equals). Its dozen
    passes read the window offsets' copies (_offsets_apart), not strided views of x."""
    xp, views = backend.array_module(a), _offsets_apart(a, window)
    y = views[0].copy()
    first = xp.zeros(y.shape, xp.uint8 if len(views) < 256 else xp.int32)
    for k, view in enumerate(views[1:], 1):
        above = view > y  # strictly: a tie keeps the earlier offset
        xp.maximum(y, view, out=y)
        first += above * (k - first)
    xp.putmask(first, xp.isnan(y), len(views))
    return y, first


@register_gradient("tile_max")
def _tile_max_grad(op, grad):
    (x,), (y,) = op.inputs, op.outputs
    window, first, relu = op.attrs["window"], op.attrs.pop("first", None), op.attrs.get("relu")
    if relu is not None and tape.may_fold():
        return (_relu_masked_spread(relu, x, y, grad, window, first),)
    return (tile_max_grad(x, y, grad, window, first),)


def _relu_masked_spread(relu, x, y, grad, window, first):
    """The pool's gradient with the mask of the ReLU that output x applied already, on the
    pooled grid: a window's first maximum, the only entry its gradient reaches, has the value
    y there, so the mask is y > 0, on a quarter of x's values; the bias's sums are taken on
    that grid too. Both are left in the ReLU's op for its gradient, which then makes no pass
    over x's size of its own (LeNet-5's step 0.93x, the small VGG's 0.96x). Only where
    tape.may_fold: the pool's true gradient differs where a window's maximum is 0."""
    masked, sums = relu_bias_grads(grad, y, relu.inputs[2]._data.shape)  # no tape: one kernel
    dx = Tensor(_spread_to_first_maxima(x._data, y._data, masked._data, window, first))
    relu.attrs["relu_grads"] = (dx, sums)
    return dx


def tile_max_grad(x, y, grad, window, first=None):
    """grad at the first maximum of each window, 0 elsewhere, as one op (TensorFlow's
    MaxPoolGrad): its mask and product in two passes, instead of ops for the mask, the
    product and the copy back into x's layout. ``first``: the forward's offsets of the
    first maxima, if kept."""
    return run("tile_max_grad", lambda a, b, g: _spread_to_first_maxima(a, b, g, window, first),
               (x, y, grad), {"window": window})


@register_gradient("tile_max_grad")
def _tile_max_grad_grad(op, upstream):
    """Linear in grad: its adjoint gathers upstream at the same first maxima (TensorFlow's
    MaxPoolGradGrad); flat in x and y almost everywhere: zeros, as TensorFlow gives."""
    x, y, _ = op.inputs
    return _zeros_for(op, x, y) + (tile_max_gather(x, y, upstream, op.attrs["window"]),)


def tile_max_gather(x, y, upstream, window):
    """upstream (of x's shape) summed over each window's first maximum: tile_max_grad's
    adjoint in its grad, as one op (TensorFlow's MaxPoolGradGrad)."""
    return run("tile_max_gather", lambda a, b, u: _gather_first_maxima(a, b, u, window),
               (x, y, upstream), {"window": window})


@register_gradient("tile_max_gather")
def _tile_max_gather_grad(op, upstream):
    x, y, _ = op.inputs
    return _zeros_for(op, x, y) + (tile_max_grad(x, y, upstream, op.attrs["window"]),)


def _zeros_for(op, x, y):
    return tuple(zeros_like(t) if needed else None for t, needed in zip((x, y), op.needs_grad))


def _first_maxima(a, y, window, first=None):
    """(i, j, mask) per window offset in row-major order, the mask (N, Ho, Wo, C) true where
    the offset holds its window's first maximum: from the kept offsets ``first``, or found."""
    xp, (kh, kw), (n, h, w, c) = backend.array_module(a), window, a.shape
    if first is not None:
        for k in range(kh * kw):
            yield k // kw, k % kw, first == k
        return
    tiles = a.reshape(n, h // kh, kh, w // kw, kw, c)
    taken = xp.zeros(y.shape, dtype=bool)
    for i in range(kh):
        for j in range(kw):
            mask = tiles[:, :, i, :, j] == y
            mask &= ~taken
            taken |= mask
            yield i, j, mask


def _spread_to_first_maxima(a, y, g, window, first=None):
    """dx: g at each window's first maximum, 0 elsewhere."""
    (kh, kw), (n, h, w, c) = window, a.shape
    if c >= _WIDE_POOL:
        dx = _first_maximum_in_place(a, y, window)
        dx *= g.reshape(n, h // kh, 1, w // kw, 1, c)
        return dx.reshape(a.shape)
    xp = backend.array_module(a)
    dx = xp.empty(a.shape, g.dtype)  # each entry is some offset's
    offsets = dx.reshape(n, h // kh, kh, w // kw, kw, c)
    for i, j, mask in _first_maxima(a, y, window, first):
        xp.multiply(g, mask, out=offsets[:, :, i, :, j], dtype=g.dtype)
    return dx


def _gather_first_maxima(a, y, u, window):
    """The adjoint of _spread_to_first_maxima in g: u summed over each window's first
    maximum (the only entry of the window that its mask holds)."""
    (kh, kw), (n, h, w, c) = window, a.shape
    offsets = u.reshape(n, h // kh, kh, w // kw, kw, c)
    gathered = backend.array_module(a).zeros(y.shape, u.dtype)
    for i, j, mask in _first_maxima(a, y, window):
        gathered += offsets[:, :, i, :, j] * mask
    return gathered


# From 32 channels on, the mask is built as a float array laid out as x and the product runs
# in place over it, along runs of C values (VGG's first pool's gradient: 11.6 against 14.2 ms
# offset by offset); with fewer channels those runs are too short, and each offset's product
# is written into its strided view of dx (LeNet's first pool's: 2.0 against 3.8 ms).
_WIDE_POOL = 32


def _first_maximum_in_place(a, y, window):
    """As (N, Ho, kh, Wo, kw, C), x's own layout: 1 at the first entry of each window that
    equals its max."""
    (kh, kw), (n, h, w, c) = window, a.shape
    first = a.reshape(n, h // kh, kh, w // kw, kw, c) == y[:, :, None, :, None, :]
    taken = first[:, :, 0, :, 0].copy()
    for k in range(1, kh * kw):
        at = first[:, :, k // kw, :, k % kw]
        at &= ~taken
        taken |= at
    return first.astype(a.dtype)


@register_gradient("window_max")
def _window_max_grad(op, grad):
    """grad at the first maximum of each window, 0 at the other entries"""
    (cols,), (y,) = op.inputs, op.outputs
    return (where(Tensor(_first_maximum(cols._data, y._data)), expand_dims(grad, 3), 0),)


def _first_maximum(cols, y):
    """A mask of the first entry along axis 3 that equals the window's maximum y."""
    xp = backend.array_module(cols)
    first = cols == xp.expand_dims(y, 3)
    taken = first[:, :, :, 0].copy()
    # one pass per window offset (kh * kw of them), cheaper than an argmax across the axis
    for k in range(1, cols.shape[3]):
        first[:, :, :, k] &= ~taken
        taken |= first[:, :, :, k]
    return first


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """The mean of each window over its real pixels (padding is not counted, as in TensorFlow)."""
    x = as_tensor(input)
    cols, geometry = _pool_patches(x, ksize, strides, padding, data_format, "avg_pool2d", 0)
    xp = backend.array_module(x._data)
    ones = xp.ones((1,) + x.shape[1:3] + (1,), dtype=x.dtype)
    counts = im2col_array(ones, *geometry).sum(axis=(3, 4))  # real pixels per window
    return reduce_sum(cols, axis=3) / Tensor(counts)
