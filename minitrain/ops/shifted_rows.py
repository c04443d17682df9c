"""Stride-1 convolutions as GEMMs on shifted rows of the padded image: no patch copy.

Flatten the padded image to rows of C channels. The output at row r of the padded grid is
the sum over taps (i, j) of rows[r + i*Wp + j] @ w[i, j]: one GEMM per tap on a contiguous
slice of the same rows. Outputs whose window runs off the grid's right or bottom edge are
computed and dropped. The gradients are the same sums with the taps' offsets negated (input)
or the GEMMs' roles swapped (filters). Three kinds:

- "taps": one GEMM per tap, K = C (wide layers, and 1x1 filters: the input's own rows);
- "kernel rows": the kw taps of a kernel row side by side, so each of the kh GEMMs has
  K = kw * C (narrow layers, where per-tap GEMMs of K = 3 would starve the BLAS);
- "planes": one input channel: im2col's patch matrix transposed, a plane of shifted rows per
  tap, each one contiguous copy (im2col's copy gathers single values there), and one GEMM
  with K = kh * kw. With few filters each GEMM row computes u neighbouring outputs (see
  _unrolled), so that the GEMM's N is u * c_out, not a starving 6.

The forward returns, beside its output, what the filters' gradient reads of x: the padded rows,
or the planes.
"""
from collections import namedtuple

from .. import backend

# a row block's accumulator and product stay in the L2 cache: 128k floats of each
_BLOCK_VALUES = 1 << 17


def forward(x, w, pads, kind):
    """(conv(x, w) of stride 1 on pads ((top, bottom), (left, right)), x's padded rows or
    planes)"""
    xp, grid = backend.array_module(x), _grid(x.shape, w.shape, pads)
    if kind == "planes":
        planes = _planes(x, w.shape, grid, _unrolled(w.shape[3]))
        return _planes_forward(planes, w, grid), planes
    y = xp.empty((grid.m, w.shape[3]), x.dtype)
    fused, rows = kind == "kernel rows", _padded_rows(x, grid)
    base = _kernel_row_base(rows, w.shape[1]) if fused else rows
    _tap_sum(base, _tap_weights(w, grid, fused), y[:grid.count])
    return _compact(_crop(y, grid, 0, 0, grid.ho, grid.wo)), rows


def input_grad(g, w, x_shape, pads, kind):
    """dL/dx from dL/dy = g: the same taps, their offsets negated, against w^T."""
    xp, grid = backend.array_module(g), _grid(x_shape, w.shape, pads)
    if kind == "planes":
        return _planes_input_grad(g, w, x_shape, grid)
    kh, kw, c_in, _ = w.shape
    if kind == "kernel rows" and kw * c_in >= 16:
        return _channel_major_input_grad(g, w, x_shape, grid)
    # g on the padded grid, behind span zero rows: dL/dbase[s] = sum over taps of
    # g[s - offset] @ w_tap^T, every index inside the array
    padded = xp.zeros((grid.span + grid.m, w.shape[3]), g.dtype)
    _crop(padded[grid.span:], grid, 0, 0, grid.ho, grid.wo)[...] = g
    fused = kind == "kernel rows"
    offsets, matrices = zip(*_tap_weights(w, grid, fused))
    d_base = xp.empty((grid.m, matrices[0].shape[0]), g.dtype)
    _tap_sum(padded, [(grid.span - o, m.T) for o, m in zip(offsets, matrices)], d_base)
    d_rows = _fold_kernel_rows(d_base, w.shape[1], x_shape[3]) if fused else d_base
    return _compact(_crop(d_rows, grid, grid.top, grid.left, x_shape[1], x_shape[2]))


def filter_grad(x, g, w_shape, pads, kind, kept=None):
    """dL/dw from dL/dy = g: each tap's (or kernel row's) rows of x against g; ``kept``: the
    forward's padded rows or planes of x, if kept."""
    kh, kw, _, c_out = w_shape
    xp, grid = backend.array_module(x), _grid(x.shape, w_shape, pads)
    if kind == "planes":
        planes = _planes(x, w_shape, grid, _unrolled(c_out)) if kept is None else kept
        return _planes_filter_grad(planes, g, w_shape, grid)
    g_rows = _rows_on_grid(g, grid)
    fused = kind == "kernel rows"
    rows = _padded_rows(x, grid) if kept is None else kept
    base = _kernel_row_base(rows, kw) if fused else rows
    offsets = _offsets(kh, 1, grid) if fused else _offsets(kh, kw, grid)
    dw = [backend.transposed_matmul(base[offset:offset + grid.count], g_rows)
          for offset in offsets]
    return xp.stack(dw).reshape(w_shape)


# --- the grid and its rows ------------------------------------------------------------------
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


def _rows_on_grid(g, grid, rows=None):
    """The first ``rows`` (default: count) rows, of K values, of an output gradient on the
    padded grid: zero where the output was dropped, and past the grid's end."""
    rows = grid.count if rows is None else rows
    on_grid = backend.array_module(g).zeros((max(grid.m, rows), g.shape[3]), g.dtype)
    _crop(on_grid[:grid.m], grid, 0, 0, grid.ho, grid.wo)[...] = g
    return on_grid[:rows]


# --- planes: one input channel -----------------------------------------------------------
def _unrolled(c_out):
    """How many neighbouring outputs one GEMM row computes: u, so that N = u * c_out reaches
    24 or more (LeNet's 6 filters: u = 4, the forward 2.3 -> 1.6 ms; the flops grow by
    (kw + u - 1) / kw, which wider layers would pay for nothing)."""
    return max(1, min(4, 24 // max(c_out, 1)))


def _planes(x, w_shape, grid, u):
    """The (kh * (kw + u - 1), ceil(count / u)) planes of a one-channel image:
    planes[i * (kw + u - 1) + j, s] = rows[s * u + i * Wp + j], zero past the last row (only
    outputs that are dropped read those)."""
    kh, kw = w_shape[:2]
    flat, width = _padded_rows(x, grid).reshape(grid.m), kw + u - 1
    columns = -(-grid.count // u)
    planes = backend.array_module(x).empty((kh * width, columns), x.dtype)
    for t, offset in enumerate(_offsets(kh, width, grid)):
        taken = flat[offset:offset + columns * u:u]
        if len(taken) == columns:
            planes[t] = taken
        else:
            planes[t, :len(taken)], planes[t, len(taken):] = taken, 0
    return planes


def _toeplitz(w, u):
    """The (kh * (kw + u - 1), u * c_out) weights of u neighbouring outputs: output q of a
    GEMM row reads columns q .. q + kw - 1 of each kernel row of its planes."""
    kh, kw, _, c_out = w.shape
    if u == 1:
        return w.reshape(kh * kw, c_out)
    banded = backend.array_module(w).zeros((kh, kw + u - 1, u, c_out), w.dtype)
    for q in range(u):
        banded[:, q:q + kw, q] = w[:, :, 0]
    return banded.reshape(kh * (kw + u - 1), u * c_out)


def _planes_forward(planes, w, grid):
    """One GEMM, planes^T @ the banded weights; its (columns, u * c_out) result is the
    output's rows in order, u to a GEMM row."""
    xp, c_out = backend.array_module(planes), w.shape[3]
    u = _unrolled(c_out)
    y = xp.empty((-(-grid.m // u), u * c_out), planes.dtype)
    xp.matmul(planes.T, _toeplitz(w, u), out=y[:planes.shape[1]])
    return _compact(_crop(y.reshape(-1, c_out)[:grid.m], grid, 0, 0, grid.ho, grid.wo))


def _planes_filter_grad(planes, g, w_shape, grid):
    """The forward's planes (u outputs to a column) against g's rows taken u at a time: one
    GEMM gives d[i, j', q] = sum over s of plane (i, j')[s] * g[s * u + q], and the filters'
    gradient at tap (i, j) sums d[i, j + q, q] over q (the banded weights' adjoint). With the
    forward's planes kept, LeNet's first conv: 1.7 -> 1.1 ms."""
    kh, kw, _, c_out = w_shape
    u = _unrolled(c_out)
    columns = planes.shape[1]
    g_rows = _rows_on_grid(g, grid, columns * u).reshape(columns, u * c_out)
    d = backend.transposed_matmul(planes.T, g_rows).reshape(kh, kw + u - 1, u, c_out)
    dw = d[:, :kw, 0].copy()
    for q in range(1, u):
        dw += d[:, q:q + kw, q]
    return dw.reshape(w_shape)


def _planes_input_grad(g, w, x_shape, grid):
    """The adjoint of the planes (one output to a GEMM row) after the GEMM: each tap's plane
    of w @ g^T added back at its offset."""
    xp, c_out = backend.array_module(g), w.shape[3]
    d_planes = w.reshape(-1, c_out) @ _rows_on_grid(g, grid).T
    d_rows = xp.zeros((grid.m, 1), g.dtype)
    flat = d_rows.reshape(grid.m)
    for t, offset in enumerate(_offsets(*w.shape[:2], grid)):
        flat[offset:offset + grid.count] += d_planes[t]
    return _compact(_crop(d_rows, grid, grid.top, grid.left, x_shape[1], x_shape[2]))


def _channel_major_input_grad(g, w, x_shape, grid):
    """The kernel rows' input gradient transposed, (kw * C, rows), as GEMMs with K = kh * K:
    the kh kernel rows' weights side by side, (kw * C, kh * K), against g^T shifted by each
    kernel row's offset and stacked, (kh * K, rows), in blocks of columns that stay in the
    cache. The fold of the kw column blocks then adds whole rows of the result, not runs of C
    values. (LeNet's second conv, in a training step: 3.8 -> 2.8 ms, against one GEMM per
    kernel row and their partial sums added.) With kw * C < 16 the GEMM's M starves."""
    xp = backend.array_module(g)
    kh, kw, c, k = w.shape
    g_t = xp.zeros((k, grid.span + grid.m), g.dtype)  # behind span zeros, as input_grad's
    g_t[:, grid.span:].reshape(k, grid.n, grid.hp, grid.wp)[:, :, :grid.ho, :grid.wo] = \
        g.transpose(3, 0, 1, 2)
    side_by_side = w.reshape(kh, kw * c, k).transpose(1, 0, 2).reshape(kw * c, kh * k)
    d_base = xp.empty((kw * c, grid.m), g.dtype)
    block = grid.m if backend.is_device_array(g) else _COLUMN_BLOCK
    stacked = xp.empty((kh, k, min(block, grid.m)), g.dtype)
    for start in range(0, grid.m, block):
        stop = min(start + block, grid.m)
        part = stacked[:, :, :stop - start]
        for i in range(kh):
            offset = grid.span - i * grid.wp
            part[i] = g_t[:, offset + start:offset + stop]
        xp.matmul(side_by_side, part.reshape(kh * k, -1), out=d_base[:, start:stop])
    d_t = d_base[:c].copy()  # (C, rows): each kernel column's block back on its row
    for j in range(1, kw):
        d_t[:, j:] += d_base[j * c:(j + 1) * c, :grid.m - j]
    image = d_t.reshape(c, grid.n, grid.hp, grid.wp)
    crop = image[:, :, grid.top:grid.top + x_shape[1], grid.left:grid.left + x_shape[2]]
    return xp.ascontiguousarray(crop.transpose(1, 2, 3, 0))


_COLUMN_BLOCK = 1024  # columns of the stacked g^T per GEMM: 80 x 1024 floats for LeNet


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


def _compact(view):
    """A result in memory of its own: the next op's loops run 1.5x faster on a contiguous
    array than on a crop of the grid (a bias and ReLU after LeNet's first conv: 0.31 ms with
    the copy, 0.48 without), and the grid's larger buffer is freed."""
    return backend.array_module(view).ascontiguousarray(view)


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

    On the CPU in blocks of rows, so that a block of out and of one product stay in the cache
    (numpy's matmul cannot add into its output, so each product is added in a second pass).
    """
    xp = backend.array_module(out)
    rows, width = out.shape
    on_gpu = backend.is_device_array(out)  # where one launch per block would cost more
    block = rows if on_gpu else min(max(256, _BLOCK_VALUES // width), rows)
    product = xp.empty((block, width), out.dtype)
    for start in range(0, rows, block):
        stop = min(start + block, rows)
        acc, part = out[start:stop], product[:stop - start]
        for k, (offset, matrix) in enumerate(taps):
            xp.matmul(base[start + offset:stop + offset], matrix, out=part if k else acc)
            if k:
                acc += part
