"""Array kernels of a 2-D convolution (NHWC) and of its two gradients, in five formulations.

    y[n, p, q, k] = sum over (i, j, c) of xpad[n, p*sh + i, q*sw + j, c] * w[i, j, c, k]

- "im2col" (any stride): copy every window into a patch matrix, then one GEMM. The copy is
  kh * kw times the input, written and read again, and the input gradient scatters a patch
  gradient of that size back (col2im).
- "taps" (stride 1): flatten the padded image to rows of C channels. The output at row r of
  the padded grid is the sum over taps (i, j) of rows[r + i*Wp + j] @ w[i, j]: one GEMM per
  tap on a contiguous slice of the same rows, no copy. Outputs whose window runs off the
  grid's right or bottom edge are computed and dropped. Its gradients are the same sums with
  the taps' offsets negated (input) or the GEMMs' roles swapped (filters).
- "kernel rows" (stride 1, narrow inputs): the kw taps of a kernel row side by side, so each
  of the kh GEMMs has K = kw * C; with C = 3, per-tap GEMMs of K = 3 would starve the BLAS.
- "planes" (stride 1, one channel): im2col's patch matrix transposed, a plane of shifted
  rows per tap, each one contiguous copy (im2col's copy gathers single values there), and one
  GEMM with K = kh * kw.
- "winograd" (3x3, stride 1, 16 channels or more, images of 8x8 or more): Winograd's
  F(2x2, 3x3), 2.25x fewer flops (winograd.py).

``formulation`` picks one per shape and per op (forward, input gradient, filter gradient), the
winners in benchmarks/conv_formulations.py. All give the same numbers up to float rounding
(tests/test_conv_kernels.py), so the three ops of one convolution may each take another.
"""
import contextlib
from collections import namedtuple

from .. import backend
from . import winograd

KINDS = ("im2col", "taps", "kernel rows", "planes", "winograd")
_forced = []  # the kinds named by enclosing formulated(...) blocks, innermost last

# a row block's accumulator and product stay in the L2 cache: 128k floats of each
_BLOCK_VALUES = 1 << 17


def formulation(op, w_shape, strides, x_shape):
    """The kind for ``op`` ("forward", "input" or "filter") of filters of ``w_shape`` on an
    input of ``x_shape``."""
    kh, kw, c_in, _ = w_shape
    if strides != (1, 1):
        return "im2col"
    if c_in == 1 and kh * kw > 1:  # a kernel row of 5 (LeNet's 5x5 on one channel) would
        return "planes"            # starve a GEMM
    small = min(x_shape[1:3]) < 8
    # at 16 channels Winograd is on a par on 16x16 images, 1.3x faster on 32x32; on a 4x4
    # image its many small passes cost more than the flops it saves
    if (kh, kw) == (3, 3) and c_in >= 16 and not small:
        return "winograd"
    if kh * kw == 1 or c_in >= 32:
        return "taps"
    # narrow layers: im2col, whose copy is small beside its GEMM; but its input gradient's
    # scatter (col2im) is slow, so kernel rows there, except on images as small as 4x4,
    # whose padded grid is twice the output
    return "kernel rows" if op == "input" and kw * c_in >= 8 and not small else "im2col"


def _chosen(kind, op, w_shape, strides, x_shape, dtype, pads):
    """The kind a test forced, where it can run, or the formulation's choice. Winograd's
    transforms have halves in them (no integers), and its input gradient pads by 2 - pad."""
    if kind is None or kind == "winograd" and (dtype.kind not in "fc" or _pads_over(pads, 2)):
        kind = formulation(op, w_shape, strides, x_shape)
    if kind == "winograd" and (dtype.kind not in "fc" or _pads_over(pads, 2)):
        return "taps"
    return kind


def _pads_over(pads, limit):
    return any(p > limit for pair in pads for p in pair)


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


def forward(x, w, strides, pads, kind=None):
    if not (x.size and w.size):  # no images, channels or filters: sums of nothing
        return backend.array_module(x).zeros(_output_shape(x.shape, w.shape, strides, pads),
                                              x.dtype)
    kind = _chosen(kind, "forward", w.shape, strides, x.shape, x.dtype, pads)
    if kind == "winograd":
        return winograd.forward(x, w, pads)
    if kind == "im2col":
        kh, kw, c_in, c_out = w.shape
        cols = im2col_array(x, (kh, kw), strides, pads)
        y = cols.reshape(-1, kh * kw * c_in) @ w.reshape(-1, c_out)
        return y.reshape(cols.shape[:3] + (c_out,))
    xp, grid = backend.array_module(x), _grid(x.shape, w.shape, pads)
    y = xp.empty((grid.m, w.shape[3]), x.dtype)
    if kind == "planes":
        planes = _planes(_padded_rows(x, grid), w.shape, grid)
        xp.matmul(planes.T, w.reshape(-1, w.shape[3]), out=y[:grid.count])
    else:
        fused, rows = kind == "kernel rows", _padded_rows(x, grid)
        base = _kernel_row_base(rows, w.shape[1]) if fused else rows
        _tap_sum(base, _tap_weights(w, grid, fused), y[:grid.count])
    return _crop(y, grid, 0, 0, grid.ho, grid.wo)


def input_grad(g, w, x_shape, strides, pads, kind=None):
    """dL/dx from dL/dy = g: the transposed convolution of g with w."""
    if not (g.size and w.size):
        return backend.array_module(g).zeros(x_shape, g.dtype)
    kind = _chosen(kind, "input", w.shape, strides, x_shape, g.dtype, pads)
    if kind == "winograd":
        return winograd.input_grad(g, w, x_shape, pads)
    if kind == "im2col":
        kh, kw, c_in, c_out = w.shape
        cols = g.reshape(-1, c_out) @ w.reshape(-1, c_out).T
        return col2im_array(cols.reshape(g.shape[:3] + (kh, kw, c_in)), x_shape, (kh, kw),
                            strides, pads)
    xp, grid = backend.array_module(g), _grid(x_shape, w.shape, pads)
    if kind == "planes":
        return _planes_input_grad(g, w, x_shape, grid)
    # g on the padded grid, behind span zero rows: dL/dbase[s] = sum over taps of
    # g[s - offset] @ w_tap^T, every index inside the array
    padded = xp.zeros((grid.span + grid.m, w.shape[3]), g.dtype)
    _crop(padded[grid.span:], grid, 0, 0, grid.ho, grid.wo)[...] = g
    fused = kind == "kernel rows"
    offsets, matrices = zip(*_tap_weights(w, grid, fused))
    d_base = xp.empty((grid.m, matrices[0].shape[0]), g.dtype)
    _tap_sum(padded, [(grid.span - o, m.T) for o, m in zip(offsets, matrices)], d_base)
    d_rows = _fold_kernel_rows(d_base, w.shape[1], x_shape[3]) if fused else d_base
    return _crop(d_rows, grid, grid.top, grid.left, x_shape[1], x_shape[2])


def filter_grad(x, g, w_shape, strides, pads, kind=None):
    """dL/dw from dL/dy = g: each tap's rows of x against g."""
    if not (x.size and g.size):
        return backend.array_module(x).zeros(w_shape, x.dtype)
    kind = _chosen(kind, "filter", w_shape, strides, x.shape, x.dtype, pads)
    kh, kw, c_in, c_out = w_shape
    if kind == "winograd":
        return winograd.filter_grad(x, g, w_shape, pads)
    if kind == "im2col":
        cols = im2col_array(x, (kh, kw), strides, pads)
        return (cols.reshape(-1, kh * kw * c_in).T @ g.reshape(-1, c_out)).reshape(w_shape)
    xp, grid = backend.array_module(x), _grid(x.shape, w_shape, pads)
    g_rows = _rows_on_grid(g, grid)
    if kind == "planes":
        return (_planes(_padded_rows(x, grid), w_shape, grid) @ g_rows).reshape(w_shape)
    fused = kind == "kernel rows"
    base = _kernel_row_base(_padded_rows(x, grid), kw) if fused else _padded_rows(x, grid)
    offsets = _offsets(kh, 1, grid) if fused else _offsets(kh, kw, grid)
    dw = xp.empty((len(offsets), base.shape[1], c_out), x.dtype)
    for t, offset in enumerate(offsets):
        xp.matmul(base[offset:offset + grid.count].T, g_rows, out=dw[t])
    return dw.reshape(w_shape)


# --- the shifted-rows machinery --------------------------------------------------------------
Grid = namedtuple("Grid", "n hp wp ho wo m span count top left")


def _grid(x_shape, w_shape, pads):
    """The padded grid: its size, the outputs' size, and the rows computed (count: those
    whose last tap stays inside the array, dropped outputs among them)."""
    n, h, w, _ = x_shape
    kh, kw = w_shape[:2]
    ((top, bottom), (left, right)) = pads
    hp, wp = h + top + bottom, w + left + right
    m, span = n * hp * wp, (kh - 1) * wp + kw - 1  # span: the last tap's offset
    return Grid(n, hp, wp, hp - kh + 1, wp - kw + 1, m, span, m - span, top, left)


def _rows_on_grid(g, grid):
    """The (count, K) rows of an output gradient on the padded grid: zero where the output
    was dropped."""
    on_grid = backend.array_module(g).zeros((grid.m, g.shape[3]), g.dtype)
    _crop(on_grid, grid, 0, 0, grid.ho, grid.wo)[...] = g
    return on_grid[:grid.count]


def _planes(rows, w_shape, grid):
    """planes[i * kw + j] = rows[i * Wp + j:][:count] of a one-channel image: (taps, count)."""
    kh, kw = w_shape[:2]
    flat = rows.reshape(grid.m)
    planes = backend.array_module(rows).empty((kh * kw, grid.count), rows.dtype)
    for t, offset in enumerate(_offsets(kh, kw, grid)):
        planes[t] = flat[offset:offset + grid.count]
    return planes


def _planes_input_grad(g, w, x_shape, grid):
    """The adjoint of _planes after the GEMM: each tap's plane of w @ g^T added back at its
    offset."""
    xp, c_out = backend.array_module(g), w.shape[3]
    d_planes = w.reshape(-1, c_out) @ _rows_on_grid(g, grid).T
    d_rows = xp.zeros((grid.m, 1), g.dtype)
    flat = d_rows.reshape(grid.m)
    for t, offset in enumerate(_offsets(*w.shape[:2], grid)):
        flat[offset:offset + grid.count] += d_planes[t]
    return _crop(d_rows, grid, grid.top, grid.left, x_shape[1], x_shape[2])


def _offsets(kh, kw, grid):
    return [i * grid.wp + j for i in range(kh) for j in range(kw)]


def _padded_rows(x, grid):
    """x padded with zeros, as (n * hp * wp, C) rows."""
    xp, c = backend.array_module(x), x.shape[3]
    if grid.hp * grid.wp == x.shape[1] * x.shape[2]:
        return xp.ascontiguousarray(x).reshape(grid.m, c)
    padded = xp.zeros((grid.m, c), x.dtype)
    _crop(padded, grid, grid.top, grid.left, x.shape[1], x.shape[2])[...] = x
    return padded


def _crop(rows, grid, top, left, h, w):
    """The (n, h, w, C) view of grid rows that starts at (top, left) of each image."""
    image = rows.reshape(grid.n, grid.hp, grid.wp, rows.shape[1])
    return image[:, top:top + h, left:left + w]


def _kernel_row_base(rows, kw):
    """base[r] = rows[r], rows[r + 1], ..., rows[r + kw - 1] side by side; past the last row,
    zeros (which only outputs that are dropped read)."""
    m, c = rows.shape
    base = backend.array_module(rows).empty((m, kw * c), rows.dtype)
    for j in range(kw):
        base[:m - j, j * c:(j + 1) * c] = rows[j:]
        base[m - j:, j * c:(j + 1) * c] = 0
    return base


def _fold_kernel_rows(d_base, kw, c):
    """The adjoint of _kernel_row_base: each block's gradient back onto the row it copied."""
    m = d_base.shape[0]
    d_rows = d_base[:, :c].copy()
    for j in range(1, kw):
        d_rows[j:] += d_base[:m - j, j * c:(j + 1) * c]
    return d_rows


def _tap_weights(w, grid, fused):
    """(row offset, weight matrix) per GEMM: per tap (C, K), or per kernel row (kw * C, K)."""
    kh, kw, c_in, c_out = w.shape
    if fused:
        return list(zip(_offsets(kh, 1, grid), w.reshape(kh, kw * c_in, c_out)))
    return list(zip(_offsets(kh, kw, grid), w.reshape(kh * kw, c_in, c_out)))


def _tap_sum(base, taps, out):
    """out[r] = sum over taps (offset, matrix) of base[r + offset] @ matrix.

    On the CPU in row blocks, so that a block of out and of one product stay in the cache
    (numpy's matmul cannot add into its output, so each product is added in a second pass).
    """
    xp, (rows, width) = backend.array_module(out), out.shape
    on_gpu = backend.is_device_array(out)  # where one launch per block would cost more
    block = rows if on_gpu else min(max(256, _BLOCK_VALUES // width), rows)
    product = xp.empty((block, width), out.dtype)
    (first, first_matrix), rest = taps[0], taps[1:]
    for start in range(0, rows, block):
        stop = min(start + block, rows)
        acc, part = out[start:stop], product[:stop - start]
        xp.matmul(base[start + first:stop + first], first_matrix, out=acc)
        for offset, matrix in rest:
            xp.matmul(base[start + offset:stop + offset], matrix, out=part)
            acc += part


# --- im2col and col2im ----------------------------------------------------------------------
def im2col_array(a, window, strides, pads, pad_value=0):
    """The (N, Ho, Wo, kh, kw, C) windows of an NHWC array padded by ``pads``, copied."""
    xp = backend.array_module(a)
    (kh, kw), (sh, sw) = window, strides
    if any(p for pair in pads for p in pair):  # xp.pad costs tens of microseconds of Python
        ((top, bottom), (left, right)), (n, h, w, c) = pads, a.shape
        padded = xp.full((n, h + top + bottom, w + left + right, c), pad_value, a.dtype)
        padded[:, top:top + h, left:left + w] = a
        a = padded
    n, h, w, c = a.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    s_n, s_h, s_w, s_c = a.strides
    view = xp.lib.stride_tricks.as_strided(
        a, (n, ho, wo, kh, kw, c), (s_n, s_h * sh, s_w * sw, s_h, s_w, s_c))
    return xp.ascontiguousarray(view)


def col2im_array(cols, shape, window, strides, pads):
    """The NHWC array of ``shape`` whose pixels sum the window entries copied from them."""
    xp = backend.array_module(cols)
    (kh, kw), (sh, sw), ((top, bottom), (left, right)) = window, strides, pads
    n, h, w, c = shape
    ho, wo = cols.shape[1:3]
    out = xp.zeros((n, h + top + bottom, w + left + right, c), dtype=cols.dtype)
    # one strided add per kernel offset (kh * kw of them): the windows overlap, so each pixel
    # collects the gradients of every patch that copied it
    for i in range(kh):
        for j in range(kw):
            out[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += cols[:, :, :, i, j]
    return xp.ascontiguousarray(out[:, top:top + h, left:left + w])
