"""Array kernels of a 2-D convolution (NHWC) and of its two gradients, in four formulations.

    y[n, p, q, k] = sum over (i, j, c) of xpad[n, p*sh + i, q*sw + j, c] * w[i, j, c, k]

- "im2col" (any stride; patches.py): every window copied into a patch matrix, one GEMM.
- "taps" (stride 1; shifted_rows.py): one GEMM per tap on shifted slices of the padded
  image's rows, no copy (wide layers, 1x1 filters).
- "bands" (stride 1; bands.py): one GEMM of windows of u outputs against banded weights
  (narrow layers).
- "winograd" (3x3, stride 1; winograd.py): Winograd's F(4x4, 3x3) or F(2x2, 3x3), 2.25-4x
  fewer products.

``formulation`` picks one per shape, the winners in benchmarks/conv_formulations.py, for the
forward and both gradients. All give the same numbers up to float rounding
(tests/test_conv_kernels.py), so a test may force any of them on any op.

What the forward builds from x (a patch matrix, windows, transformed tiles, padded rows) is
what the filters' gradient of the same kind reads: ``forward_keeping`` returns it as
``Kept``, for ``filter_grad(..., kept=...)``, which then skips building it again.
"""
import contextlib
from collections import namedtuple

from .. import backend
from ..kernels.bias_act import bias_relu
from . import bands, patches, shifted_rows, winograd

KINDS = ("im2col", "taps", "bands", "winograd")
_forced = []  # the kinds named by enclosing formulated(...) blocks, innermost last


def formulation(w_shape, strides, x_shape):
    """The kind for the convolution (forward and gradients) of filters of ``w_shape`` on an
    input of ``x_shape``."""
    kh, kw, c_in, _ = w_shape
    if strides != (1, 1):
        return "im2col"
    if kh * kw == 1:  # the input's own rows against w: one GEMM
        return "taps"
    # at 16 channels Winograd is 1.2-2x faster than im2col on 8x8 and 16x16 images, on a par
    # at 8 channels; on a 4x4 image its many small products cost more than the flops it saves
    if (kh, kw) == (3, 3) and c_in >= 16 and min(x_shape[1:3]) >= 8:
        return "winograd"
    # narrow layers: the banded GEMM, whose sides im2col's patch matrix would starve (LeNet-5's
    # convs, VGG's first: forward and gradients 1.2-1.6x faster than im2col there)
    return "bands" if c_in < 32 else "taps"


def _chosen(kind, w_shape, strides, x_shape, dtype, pads):
    """The kind a test forced, where it can run, or the formulation's choice."""
    if kind is None or kind == "winograd" and not _winograd_runs(dtype, pads):
        kind = formulation(w_shape, strides, x_shape)
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
    """Winograd's tiles are for 3x3 filters; the other kinds take any."""
    return kind != "winograd" or tuple(w_shape[:2]) == (3, 3)


@contextlib.contextmanager
def formulated(kind):
    """Every stride-1 convolution begun in the block uses ``kind`` where it applies
    ("winograd": 3x3 filters), for tests and benchmarks: each formulation must give the
    others' numbers and derivatives."""
    if kind not in KINDS:
        raise ValueError(f"formulated: kind must be one of {KINDS}, got {kind!r}")
    _forced.append(kind)
    try:
        yield
    finally:
        _forced.pop()


Kept = namedtuple("Kept", "kind data")
_KEPT_BYTES = 1 << 26  # larger ones are built again: keeping them would raise a step's peak


def forward(x, w, strides, pads, kind=None, bias=None, relu=True):
    """conv(x, w); with a ``bias``, relu(conv(x, w) + bias) (or conv(x, w) + bias, relu
    False), the bias and ReLU applied to the output where the kernel writes it (Winograd:
    block by block, in the cache; bands: the bias inside its GEMM) or in place."""
    return _forward(x, w, strides, pads, kind, bias, relu, 0)[0]


def forward_keeping(x, w, strides, pads, kind=None, bias=None, relu=True):
    """(forward(...), Kept or None): x as the filters' gradient of the forward's kind reads
    it, where it is no larger than _KEPT_BYTES."""
    return _forward(x, w, strides, pads, kind, bias, relu, _KEPT_BYTES)


def _epilogue(bias, relu):
    """What goes onto the output in place, block by block or whole: the bias (and ReLU)."""
    if bias is None:
        return None
    if relu:
        return lambda y: bias_relu(y, bias, out=y)
    return lambda y: backend.along_channels(backend.array_module(y).add, y, bias, out=y)


def _forward(x, w, strides, pads, kind, bias, relu, keep_bytes):
    epilogue = _epilogue(bias, relu)
    if not (x.size and w.size):  # no images, channels or filters: sums of nothing
        y = backend.array_module(x).zeros(_output_shape(x.shape, w.shape, strides, pads),
                                          x.dtype)
        return (y if epilogue is None else epilogue(y)), None
    kind = _chosen(kind, w.shape, strides, x.shape, x.dtype, pads)
    if kind == "winograd":  # its transformed tiles, built for keeping only
        y, data = winograd.forward(x, w, pads, keep_bytes, epilogue)
    elif kind == "bands":  # the bias added by its GEMM; the ReLU after it
        y, data = bands.forward(x, w, pads, bias, relu=bias is not None and relu,
                                keep=keep_bytes > 0)
    else:
        if kind == "im2col":
            y, data = patches.forward(x, w, strides, pads)
        else:
            y, data = shifted_rows.forward(x, w, pads)
        if epilogue is not None:  # the kernels' outputs are arrays of their own
            epilogue(y)
    keeps = data is not None and data.nbytes <= keep_bytes
    return y, (Kept(kind, data) if keeps else None)


def input_grad(g, w, x_shape, strides, pads, kind=None):
    """dL/dx from dL/dy = g: the transposed convolution of g with w."""
    if not (g.size and w.size):
        return backend.array_module(g).zeros(x_shape, g.dtype)
    kind = _chosen(kind, w.shape, strides, x_shape, g.dtype, pads)
    if kind == "winograd":
        return winograd.input_grad(g, w, x_shape, pads)
    if kind == "im2col":
        return patches.input_grad(g, w, x_shape, strides, pads)
    if kind == "bands":
        return bands.input_grad(g, w, x_shape, pads)
    return shifted_rows.input_grad(g, w, x_shape, pads)


def filter_grad(x, g, w_shape, strides, pads, kind=None, kept=None):
    """dL/dw from dL/dy = g: each window of x against g. ``kept``: the forward's Kept (or
    None), used where the filters' gradient is of the forward's kind."""
    if not (x.size and g.size):
        return backend.array_module(x).zeros(w_shape, x.dtype)
    kind = _chosen(kind, w_shape, strides, x.shape, x.dtype, pads)
    data = kept.data if kept is not None and kept.kind == kind else None
    if kind == "winograd":
        return winograd.filter_grad(x, g, w_shape, pads, data)
    if kind == "im2col":
        return patches.filter_grad(x, g, w_shape, strides, pads, data)
    if kind == "bands":
        return bands.filter_grad(x, g, w_shape, pads, data)
    return shifted_rows.filter_grad(x, g, w_shape, pads, data)
