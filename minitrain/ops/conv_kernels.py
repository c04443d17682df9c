"""Array kernels of a 2-D convolution (NHWC) and of its two gradients, in five formulations.

    y[n, p, q, k] = sum over (i, j, c) of xpad[n, p*sh + i, q*sw + j, c] * w[i, j, c, k]

- "im2col" (any stride; patches.py): every window copied into a patch matrix, one GEMM.
- "taps", "kernel rows", "planes" (stride 1; shifted_rows.py): GEMMs on shifted slices of the
  padded image's rows, per tap, per kernel row, or per tap plane of a one-channel image.
- "winograd" (3x3, stride 1; winograd.py): Winograd's F(2x2, 3x3), 2.25x fewer flops.

``formulation`` picks one per shape and per op (forward, input gradient, filter gradient), the
winners in benchmarks/conv_formulations.py. All give the same numbers up to float rounding
(tests/test_conv_kernels.py), so the three ops of one convolution may each take another.

What the forward builds from x (a patch matrix, planes, transformed tiles, padded rows) is
what the filters' gradient of the same kind reads: ``forward_keeping`` returns it as
``Kept``, for ``filter_grad(..., kept=...)``, which then skips building it again.
"""
import contextlib
from collections import namedtuple

from .. import backend
from ..kernels.bias_act import bias_relu
from . import patches, shifted_rows, winograd

KINDS = ("im2col", "taps", "kernel rows", "planes", "winograd")
_forced = []  # the kinds named by enclosing formulated(...) blocks, innermost last


def formulation(op, w_shape, strides, x_shape):
    """The kind for ``op`` ("forward", "input" or "filter") of filters of ``w_shape`` on an
    input of ``x_shape``."""
    kh, kw, c_in, _ = w_shape
    if strides != (1, 1):
        return "im2col"
    if c_in == 1 and kh * kw > 1:  # a kernel row of 5 (LeNet's 5x5 on one channel) would
        return "planes"            # starve a GEMM
    small = min(x_shape[1:3]) < 8
    # at 16 channels Winograd is 1.2-2x faster than im2col on 8x8 and 16x16 images, on a par
    # at 8 channels; on a 4x4 image its many small products cost more than the flops it saves
    if (kh, kw) == (3, 3) and c_in >= 16 and not small:
        return "winograd"
    if kh * kw == 1 or c_in >= 32:
        return "taps"
    # narrow layers: im2col, whose copy is small beside its GEMM; but its input gradient's
    # scatter (col2im) is slow, so kernel rows there, except on images as small as 4x4,
    # whose padded grid is twice the output
    return "kernel rows" if op == "input" and kw * c_in >= 8 and not small else "im2col"


def _chosen(kind, op, w_shape, strides, x_shape, dtype, pads):
    """The kind a test forced, where it can run, or the formulation's choice."""
    if kind is None or kind == "winograd" and not _winograd_runs(dtype, pads):
        kind = formulation(op, w_shape, strides, x_shape)
    return "taps" if kind == "winograd" and not _winograd_runs(dtype, pads) else kind


def _winograd_runs(dtype, pads):
    """Its transforms hold halves (no integers); its input gradient pads by 2 - pad."""
    return dtype.kind in "fc" and not any(p > 2 for pair in pads for p in pair)


def _output_shape(x_shape, w_shape, strides, pads):
    sizes = [(n + sum(pad) - k) // s + 1
             for n, pad, k, s in zip(x_shape[1:3], pads, w_shape[:2], strides)]
    return (x_shape[0], *sizes, w_shape[3])


def forced(w_shape, strides):
    """The kind named by the innermost formulated(...) block, where it applies, or None: a
    conv2d records it, and its gradients of every order then use it too."""
    if strides == (1, 1) and _forced and _applies(_forced[-1], w_shape):
        return _forced[-1]
    return None


def _applies(kind, w_shape):
    """Planes hold one channel; Winograd's tiles are for 3x3 filters."""
    return {"planes": w_shape[2] == 1, "winograd": tuple(w_shape[:2]) == (3, 3)}.get(kind, True)


@contextlib.contextmanager
def formulated(kind):
    """Every stride-1 convolution begun in the block uses ``kind`` where it applies ("planes":
    one input channel, "winograd": 3x3), for tests and benchmarks: each formulation must give
    the others' numbers and derivatives."""
    if kind not in KINDS:
        raise ValueError(f"formulated: kind must be one of {KINDS}, got {kind!r}")
    _forced.append(kind)
    try:
        yield
    finally:
        _forced.pop()


Kept = namedtuple("Kept", "kind data")
_KEPT_BYTES = 1 << 26  # larger ones are built again: keeping them would raise a step's peak


def forward(x, w, strides, pads, kind=None, bias=None):
    """conv(x, w); with a ``bias``, relu(conv(x, w) + bias), the bias and ReLU applied to the
    output where the kernel writes it (Winograd: block by block, in the cache) or in place."""
    return _forward(x, w, strides, pads, kind, bias, 0)[0]


def forward_keeping(x, w, strides, pads, kind=None, bias=None):
    """(forward(...), Kept or None): x as the filters' gradient of the forward's kind reads
    it, where it is no larger than _KEPT_BYTES."""
    return _forward(x, w, strides, pads, kind, bias, _KEPT_BYTES)


def _forward(x, w, strides, pads, kind, bias, keep_bytes):
    if not (x.size and w.size):  # no images, channels or filters: sums of nothing
        y = backend.array_module(x).zeros(_output_shape(x.shape, w.shape, strides, pads),
                                          x.dtype)
        return (y if bias is None else bias_relu(y, bias, out=y)), None
    kind = _chosen(kind, "forward", w.shape, strides, x.shape, x.dtype, pads)
    if kind == "winograd":  # its transformed tiles, built for keeping only
        y, data = winograd.forward(x, w, pads, keep_bytes, bias)
    else:
        if kind == "im2col":
            y, data = patches.forward(x, w, strides, pads)
        else:
            y, data = shifted_rows.forward(x, w, pads, kind)
        if bias is not None:  # the kernels' outputs are arrays of their own
            bias_relu(y, bias, out=y)
    keeps = data is not None and data.nbytes <= keep_bytes
    return y, (Kept(kind, data) if keeps else None)



def input_grad(g, w, x_shape, strides, pads, kind=None):
    """dL/dx from dL/dy = g: the transposed convolution of g with w."""
    if not (g.size and w.size):
        return backend.array_module(g).zeros(x_shape, g.dtype)
    kind = _chosen(kind, "input", w.shape, strides, x_shape, g.dtype, pads)
    if kind == "winograd":
        return winograd.input_grad(g, w, x_shape, pads)
    if kind == "im2col":
        return patches.input_grad(g, w, x_shape, strides, pads)
    return shifted_rows.input_grad(g, w, x_shape, pads, kind)


def filter_grad(x, g, w_shape, strides, pads, kind=None, kept=None):
    """dL/dw from dL/dy = g: each window of x against g. ``kept``: the forward's Kept (or
    None), used where the filters' gradient is of the forward's kind."""
    if not (x.size and g.size):
        return backend.array_module(x).zeros(w_shape, x.dtype)
    kind = _chosen(kind, "filter", w_shape, strides, x.shape, x.dtype, pads)
    data = kept.data if kept is not None and kept.kind == kind else None
    if kind == "winograd":
        return winograd.filter_grad(x, g, w_shape, pads, data)
    if kind == "im2col":
        return patches.filter_grad(x, g, w_shape, strides, pads, data)
    return shifted_rows.filter_grad(x, g, w_shape, pads, kind, data)
