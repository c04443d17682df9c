"""Stride-1 convolutions as GEMMs on shifted rows of the padded image: no patch copy.

Flatten the padded image to rows of C channels. The output at row r of the padded grid is
the sum over taps (i, j) of rows[r + i*Wp + j] @ w[i, j]: one GEMM per tap, K = C, on a
contiguous slice of the same rows (wide layers, and 1x1 filters: the input's own rows).
Outputs whose window runs off the grid's right or bottom edge are computed and dropped. The
gradients are the same sums with the taps' offsets negated (input) or the GEMMs' roles swapped
(filters).

The forward returns, beside its output, what the filters' gradient reads of x: the padded rows.
"""
from collections import namedtuple

from .. import backend

# a row block's accumulator and product stay in the L2 cache: 128k floats of each
_BLOCK_VALUES = 1 << 17


def forward(x, w, pads):
    """(conv(x, w) of stride 1 on pads ((top, bottom), (left, right)), x's padded rows)"""
    xp, grid = backend.array_module(x), _grid(x.shape, w.shape, pads)
    y = xp.empty((grid.m, w.shape[3]), x.dtype)
    rows = _padded_rows(x, grid)
    _tap_sum(rows, _tap_weights(w, grid), y[:grid.count])
    return _compact(_crop(y, grid, 0, 0, grid.ho, grid.wo)), rows


def input_grad(g, w, x_shape, pads):
    """dL/dx from dL/dy = g: the same taps, their offsets negated, against w^T."""
    xp, grid = backend.array_module(g), _grid(x_shape, w.shape, pads)
    # g on the padded grid, behind span zero rows: dL/drows[s] = sum over taps of
    # g[s - offset] @ w_tap^T, every index inside the array
    padded = xp.zeros((grid.span + grid.m, w.shape[3]), g.dtype)
    _crop(padded[grid.span:], grid, 0, 0, grid.ho, grid.wo)[...] = g
    d_rows = xp.empty((grid.m, x_shape[3]), g.dtype)
    _tap_sum(padded, [(grid.span - o, m.T) for o, m in _tap_weights(w, grid)], d_rows)
    return _compact(_crop(d_rows, grid, grid.top, grid.left, x_shape[1], x_shape[2]))


def filter_grad(x, g, w_shape, pads, kept=None):
    """dL/dw from dL/dy = g: each tap's rows of x against g; ``kept``: the forward's padded
    rows of x, if kept."""
    kh, kw = w_shape[:2]
    xp, grid = backend.array_module(x), _grid(x.shape, w_shape, pads)
    g_rows = _rows_on_grid(g, grid)
    rows = _padded_rows(x, grid) if kept is None else kept
    dw = [backend.transposed_matmul(rows[offset:offset + grid.count], g_rows)
          for offset in _offsets(kh, kw, grid)]
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


def _rows_on_grid(g, grid):
    """The first count rows, of K values, of an output gradient on the padded grid: zero
    where the output was dropped."""
    on_grid = backend.array_module(g).zeros((grid.m, g.shape[3]), g.dtype)
    _crop(on_grid, grid, 0, 0, grid.ho, grid.wo)[...] = g
    return on_grid[:grid.count]


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
    """A result in memory of its own: the next op's loops run about 1.5x faster on a
    contiguous array than on a crop of the grid, and the grid's larger buffer is freed."""
    return backend.array_module(view).ascontiguousarray(view)


def _crop(rows, grid, top, left, h, w):
    """The (n, h, w, C) view of grid rows that starts at (top, left) of each image."""
    image = rows.reshape(grid.n, grid.hp, grid.wp, rows.shape[1])
    return image[:, top:top + h, left:left + w]


def _tap_weights(w, grid):
    """(row offset, the tap's (C, K) weight matrix) per tap."""
    kh, kw, c_in, c_out = w.shape
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
