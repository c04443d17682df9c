"""Stride-1 convolutions of narrow layers as one GEMM against banded weights.

One GEMM row computes u neighbouring outputs of an image row. It reads the window above them,
kh rows by u + kw - 1 columns by C channels (kh contiguous runs, copied), and the banded
weights B[i, q + j, c, q, k] = w[i, j, c, k] map that window to the u outputs' K channels:

    y[n, p, b*u : b*u + u, :] = window[n, p, b] @ B,   K_gemm = kh (u + kw - 1) C,  N = u K

B's zeros cost (u + kw - 1) / kw times the convolution's flops, but the GEMM's sides are u
times longer than im2col's (K = kh kw C, N = K: LeNet's second conv, 150 by 16), where a
narrow layer starves the BLAS, and the copy is that much smaller. u = 1 is im2col's patch
matrix. The input gradient is the adjoint, g's rows @ B^T, its windows folded back onto the
image (one add per block and kernel row); the filters' gradient, window^T @ g's rows,
summed along B's diagonals. (LeNet-5's second conv, forward and both gradients, 1.4x faster
than the formulations it replaced there: im2col's forward and filters' gradient and an input
gradient on shifted kernel rows; VGG's first conv 1.3x.)

u divides the output's width, so that no output is computed and dropped; it is the smallest
divisor that gives the GEMM N = u K >= 64 (32 on OpenBLAS's AVX-512 kernels) and copies runs
of 12 values or more: a larger u only multiplies more of B's zeros (outputs_per_row). (VGG's
first conv, 3 channels: u = 2 against the 4 that runs of 16 asked: forward 1.15-1.3x,
filters' gradient 1.3-1.5x faster.)
"""
import numpy as np

from .. import backend

_COLUMNS = 64  # the GEMM's N, u * K, reached where a divisor of the width allows
# ... on OpenBLAS's AVX-512 kernels (an AVX-512 AMD EPYC), where an N of 32 runs at 85% of
# the speed of 80 and 64: the forward and the filters' gradient take the u that reaches 32,
# fewer of B's zeros (LeNet's second conv: u = 2 against 5, forward 0.64 -> 0.55 ms, with
# the filters' gradient 1.31 -> 1.07 ms; its first, valid: u = 8 against 12, forward with
# the filters' gradient 1.04 -> 0.88 ms; one BLAS thread)
_COLUMNS_AVX512 = 32
_RUN_VALUES = 12  # the shortest runs of a window copied, (u + kw - 1) C values
# ... and of a window's gradient added back: the input gradient builds no windows and keeps
# none, so its u is its own, and on OpenBLAS's AVX2 kernels a fold of longer runs paid for
# more of B's zeros (VGG's first conv: u = 8, runs of 30, against the forward's 2: its input
# gradient 1.14-1.3x faster in three runs; LeNet's first, same, u = 28 against 14: 0.98-1.14x,
# about even); on the AVX-512 ones, runs of 12 as the forward's (VGG's first: u = 2, 6.4 ->
# 4.8 ms; LeNet's first, same: u = 14, 1.31 -> 1.10 ms; the other layers' u the same)
_FOLD_RUN_VALUES = 24


def outputs_per_row(wo, w_shape):
    """u of the forward and the filters' gradient: the smallest divisor of the output width
    ``wo`` that makes the GEMM's N = u K at least _COLUMNS (_COLUMNS_AVX512 there) and
    copies runs of _RUN_VALUES values or more; or wo."""
    columns = _COLUMNS_AVX512 if backend.avx512_blas() else _COLUMNS
    return _smallest_u(wo, w_shape, columns, _RUN_VALUES, spans=False)


def fold_outputs_per_row(wo, w_shape):
    """u of the input gradient: N = u K at least _COLUMNS, runs of _FOLD_RUN_VALUES added
    back (_RUN_VALUES on AVX-512 kernels), and u >= kw - 1 (a window overlaps only the next
    one: fewer adds of the fold)."""
    runs = _RUN_VALUES if backend.avx512_blas() else _FOLD_RUN_VALUES
    return _smallest_u(wo, w_shape, _COLUMNS, runs, spans=True)


def _smallest_u(wo, w_shape, columns, run_values, spans):
    _, kw, c_in, c_out = w_shape
    return next((u for u in range(1, wo) if wo % u == 0 and u * c_out >= columns
                 and (u >= kw - 1 or not spans) and (u + kw - 1) * c_in >= run_values),
                max(wo, 1))


def forward(x, w, pads, bias=None, relu=False, keep=True):
    """(relu if ``relu``)(conv(x, w) of stride 1 on pads ((top, bottom), (left, right)), plus
    ``bias`` if given), and x's windows if ``keep``, else None. With a bias, each window ends
    in a 1 and B in a row of the bias: the GEMM adds it, one more term in its sums instead of
    a pass of its own over the output (VGG's first conv: forward 1.2x faster). Not kept (on
    numpy), the windows are built and multiplied a block of images at a time, each block in
    the cache from its copy to its ReLU (VGG's first conv, with ReLU: 3.0 -> 2.7 ms;
    LeNet-5's second: 0.65 -> 0.60 ms; the filters' gradient reads them all when kept)."""
    n, h, width, _ = x.shape
    kh, kw, _, c_out = w.shape
    ((top, bottom), (left, right)) = pads
    ho, wo = h + top + bottom - kh + 1, width + left + right - kw + 1
    u = outputs_per_row(wo, w.shape)
    banded = _banded(w, u, bias)
    xp, rows = backend.array_module(x), ho * (wo // u)  # an image's windows
    whole = keep or type(x) is not np.ndarray  # kept for the filters' gradient; a GPU: one GEMM
    images = n if whole else max(1, _BLOCK_BYTES // (rows * banded.shape[0] * x.itemsize))
    y = xp.empty((n * rows, u * c_out), x.dtype)
    for start in range(0, n, images):
        block = y[start * rows:(start + images) * rows]
        windows = _windows(x[start:start + images], (kh, kw), pads, u, ones=bias is not None)
        xp.matmul(windows, banded, out=block)
        if relu:
            backend.max_with_zero(block, out=block)
    return y.reshape(n, ho, wo, c_out), (windows if keep else None)


_BLOCK_BYTES = 1 << 20  # the windows of a block of images, not kept: about a core's L2


def input_grad(g, w, x_shape, pads):
    """dL/dx from dL/dy = g: g's rows against B^T give each window's gradient, folded back."""
    n, ho, wo, c_out = g.shape
    kh, kw, c_in, _ = w.shape
    u = fold_outputs_per_row(wo, w.shape)
    d_windows = g.reshape(-1, u * c_out) @ _banded(w, u).T
    return _fold(d_windows.reshape(n, ho, wo // u, kh, u + kw - 1, c_in), x_shape, pads, u)


def filter_grad(x, g, w_shape, pads, windows=None):
    """dL/dw from dL/dy = g: windows^T @ g's rows, B's gradient, summed along its diagonals;
    ``windows``: the forward's, if kept (their 1s, if any, give the bias's sums: dropped)."""
    kh, kw, c_in, c_out = w_shape
    u = outputs_per_row(g.shape[2], w_shape)
    if windows is None:
        windows = _windows(x, (kh, kw), pads, u)
    d_banded = backend.transposed_matmul(windows, g.reshape(-1, u * c_out))
    return _diagonal_sums(d_banded[:kh * (u + kw - 1) * c_in], w_shape, u)


def _banded(w, u, bias=None):
    """The (kh (u + kw - 1) C, u K) banded weights: B[i, q + j, c, q, k] = w[i, j, c, k];
    with a ``bias``, a last row of it, once for each of the u outputs."""
    xp, (kh, kw, c_in, c_out) = backend.array_module(w), w.shape
    rows = kh * (u + kw - 1) * c_in
    banded = xp.zeros((rows + (bias is not None), u * c_out), w.dtype)
    _diagonals(banded[:rows].reshape(kh, u + kw - 1, c_in, u, c_out), kw)[...] = (
        w[:, :, :, None, :])
    if bias is not None:
        banded[rows].reshape(u, c_out)[...] = bias
    return banded


def _diagonal_sums(d_banded, w_shape, u):
    """The adjoint of _banded: dw[i, j, c, k] = the sum over q of dB[i, q + j, c, q, k]."""
    kh, kw, c_in, c_out = w_shape
    xp = backend.array_module(d_banded)
    d_banded = xp.ascontiguousarray(d_banded).reshape(kh, u + kw - 1, c_in, u, c_out)
    return _diagonals(d_banded, kw).sum(axis=3)


def _diagonals(banded, kw):
    """The (kh, kw, C, u, K) view of a (kh, u + kw - 1, C, u, K) array at [i, q + j, c, q, k]:
    stepping q steps both the window's column and the output."""
    s, shape = banded.strides, (banded.shape[0], kw) + banded.shape[2:]
    return backend.as_strided(banded, shape, (s[0], s[1], s[2], s[1] + s[3], s[4]))


def _windows(x, window, pads, u, ones=False):
    """The (N Ho Wo / u, kh (u + kw - 1) C) windows of x padded by ``pads``, one per u
    outputs: kh runs of (u + kw - 1) C values each, copied; then a 1 each, if ``ones``."""
    xp, (kh, kw) = backend.array_module(x), window
    padded = _padded(x, pads)
    n, hp, wp, c = padded.shape
    ho, blocks = hp - kh + 1, (wp - kw + 1) // u
    s = padded.strides
    view = backend.as_strided(
        padded, (n, ho, blocks, kh, (u + kw - 1) * c), (s[0], s[1], u * s[2], s[1], s[3]))
    run = kh * view.shape[-1]
    windows = xp.empty((n * ho * blocks, run + ones), x.dtype)
    backend.copy_runs(windows[:, :run].reshape(view.shape), view)
    if ones:
        windows[:, run] = 1
    return windows


def _padded(x, pads):
    ((top, bottom), (left, right)) = pads
    if not (top or bottom or left or right):
        return x
    n, h, w, c = x.shape
    padded = backend.array_module(x).zeros((n, h + top + bottom, w + left + right, c), x.dtype)
    padded[:, top:top + h, left:left + w] = x
    return padded


def _fold(d_windows, x_shape, pads, u):
    """The adjoint of _windows: each window's gradient, (N, Ho, blocks, kh, u + kw - 1, C),
    added back onto the pixels it copied: one add per block of u outputs and kernel row, over
    every image and output row at once, each a run of (u + kw - 1) C values in both arrays.
    (Adding chunks of u columns instead, one per kernel row and chunk, runs loops of u C
    values: 1.2-1.3x slower.)"""
    xp = backend.array_module(d_windows)
    n, ho, blocks, kh, width, c = d_windows.shape
    ((top, _), (left, _)) = pads
    image = xp.zeros((n, ho + kh - 1, (blocks - 1) * u + width, c), d_windows.dtype)
    for b in range(blocks):
        for i in range(kh):
            image[:, i:i + ho, b * u:b * u + width] += d_windows[:, :, b, i]
    h, w = x_shape[1:3]
    return xp.ascontiguousarray(image[:, top:top + h, left:left + w])
