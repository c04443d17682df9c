"""A 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, 2015).

Each 2x2 tile of the output comes from a 4x4 tile of the padded input (tiles overlap by 2):

    Y = A^T [ (G w G^T) * (B^T d B) ] A,   summed over the input channels,

so the products over channels become 16 GEMMs, one per position of the 4x4 transformed tile,
of (tiles, C) @ (C, K): 16 multiplies per 4 outputs instead of 36, 2.25x fewer flops than the
GEMMs of a direct convolution. The transforms are additions only. The filters' gradient is
this map's adjoint, G^T [ (A g A^T) * (B^T d B) ] G summed over tiles; the input's gradient is
the forward with the kernel flipped and its channels swapped.

The image is first split into its four quads (every other row and column), laid out tile row
and column outermost, so that every transform pass runs on contiguous slices; the tiles then
go through in blocks of tile rows small enough that the transformed blocks stay in the cache.
The forward returns the quads beside its output: the filters' gradient reads the same ones.
Rounding differs from a direct convolution's by a few ulps (tests/test_conv_kernels.py).
"""
from .. import backend

_G = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]]
_BLOCK_VALUES = 1 << 19  # transformed input values per block: 2 MB in float32


def forward(x, w, pads):
    """(conv(x, w) of stride 1 on pads ((top, bottom), (left, right)), w of shape (3, 3, C, K);
    x's quads)"""
    xp = backend.array_module(x)
    n, c, k = x.shape[0], x.shape[3], w.shape[3]
    ho, wo, th, tw = _tiling(x.shape, pads)
    quads, u = _input_quads(x, pads, th, tw), _transform_filters(w)
    y = xp.empty((n, th, 2, tw, 2, k), x.dtype)  # (n, 2 * th, 2 * tw, k), tile by tile
    block = _block(x, tw * n * max(c, k), th)
    v, rows = _scratch(xp, block, tw, n, c, x.dtype)
    m = xp.empty((16, block * tw * n, k), x.dtype)
    s = xp.empty((2, 4, block, tw, n, k), x.dtype)
    y_quads = xp.empty((2, 2, block, tw, n, k), x.dtype)
    for start in range(0, th, block):
        stop = min(start + block, th)
        b = stop - start
        _transform_input(quads, start, stop, v[:, :b], rows[:, :, :b])
        mb = m[:, :b * tw * n]
        xp.matmul(v[:, :b].reshape(16, -1, c), u, out=mb)
        _transform_output(mb.reshape(4, 4, b, tw, n, k), s[:, :, :b], y_quads[:, :, :b])
        # into the image while the block is in the cache (a copy of the whole: 5x slower)
        y[:, start:stop] = y_quads[:, :, :b].transpose(4, 2, 0, 3, 1, 5)
    # odd sizes: the last tiles overhang; the crop in memory of its own, as the others
    return xp.ascontiguousarray(y.reshape(n, 2 * th, 2 * tw, k)[:, :ho, :wo]), quads


def input_grad(g, w, x_shape, pads):
    """The forward of g with the kernel flipped and transposed, padded to give x's size."""
    ((top, bottom), (left, right)) = pads
    flipped = w[::-1, ::-1].transpose(0, 1, 3, 2)
    full = ((2 - top, 2 - bottom), (2 - left, 2 - right))
    return forward(g, backend.array_module(w).ascontiguousarray(flipped), full)[0]


def filter_grad(x, g, w_shape, pads, quads=None):
    """dL/dw from dL/dy = g: the forward's adjoint in w, summed over every tile; ``quads``:
    the forward's quads of x, if kept."""
    xp = backend.array_module(x)
    n, c, k = x.shape[0], x.shape[3], w_shape[3]
    _, _, th, tw = _tiling(x.shape, pads)
    if quads is None:
        quads = _input_quads(x, pads, th, tw)
    g_quads = _quads_of(g, 0, 0, th, tw)  # zero past the cropped outputs
    block = _block(x, tw * n * max(c, k), th)
    v, rows = _scratch(xp, block, tw, n, c, x.dtype)
    gt = xp.empty((16, block, tw, n, k), x.dtype)
    g_rows = xp.empty((4, 2, block, tw, n, k), x.dtype)
    d_u = xp.zeros((16, c, k), x.dtype)
    for start in range(0, th, block):
        stop = min(start + block, th)
        b = stop - start
        _transform_input(quads, start, stop, v[:, :b], rows[:, :, :b])
        _transform_gradient(g_quads[:, :, start:stop], gt[:, :b], g_rows[:, :, :b])
        d_u += backend.transposed_matmul(v[:, :b].reshape(16, -1, c), gt[:, :b].reshape(16, -1, k))
    g_matrix = xp.asarray(_G, dtype=x.dtype)
    return xp.einsum("ai,abck,bj->ijck", g_matrix, d_u.reshape(4, 4, c, k), g_matrix)


# --- geometry, the quad layout, buffers ------------------------------------------------------
def _tiling(x_shape, pads):
    """The output's size and the number of 2x2 output tiles down and across."""
    ((top, bottom), (left, right)) = pads
    ho, wo = x_shape[1] + top + bottom - 2, x_shape[2] + left + right - 2
    return ho, wo, -(-ho // 2), -(-wo // 2)


def _quads_of(a, top, left, rows, cols):
    """a placed at (top, left) of a zero image of (2 * rows, 2 * cols) pixels, as its four
    quads, row and column outermost: q[py, px][r, s] = image[:, 2r + py, 2s + px, :].

    A tile's rows and columns are then slices of whole rows of quads, each one contiguous
    block of (images, channels): numpy's loops run 3x slower on strided operands, even on
    runs of hundreds of values. The copy reads _IMAGES_PER_COPY images at a time: images
    lie a power of two of bytes apart (128 KB for 32x32x32), and reading from all of them at
    once thrashes the cache sets they share (1.8x slower there)."""
    xp, n, c = backend.array_module(a), a.shape[0], a.shape[3]
    quads = xp.zeros((2, 2, rows, cols, n, c), a.dtype)
    step = max(n, 1) if backend.is_device_array(a) else _IMAGES_PER_COPY  # a GPU: one copy
    for py in range(2):
        i0 = (py - top) % 2  # the first row of a that lands on a row of parity py
        r0 = (i0 + top) // 2
        for px in range(2):
            j0 = (px - left) % 2
            part = a[:, i0::2, j0::2].transpose(1, 2, 0, 3)
            s0 = (j0 + left) // 2
            into = quads[py, px, r0:r0 + part.shape[0], s0:s0 + part.shape[1]]
            for i in range(0, n, step):
                into[:, :, i:i + step] = part[:, :, i:i + step]
    return quads


_IMAGES_PER_COPY = 16


def _input_quads(x, pads, th, tw):
    """The padded input as quads: (2 * th + 2, 2 * tw + 2) pixels, whole tiles."""
    ((top, _), (left, _)) = pads
    return _quads_of(x, top, left, th + 1, tw + 1)


def _block(x, values_per_tile_row, tile_rows):
    """Tile rows per block: all of them on a GPU, a cache's worth on the CPU."""
    if backend.is_device_array(x):
        return tile_rows
    return max(1, min(tile_rows, _BLOCK_VALUES // (16 * values_per_tile_row)))


def _scratch(xp, block, tw, n, c, dtype):
    """The transformed input tiles (16, block, tw, n, C) and the row pass's (4, 2, ...)."""
    return (xp.empty((16, block, tw, n, c), dtype),
            xp.empty((4, 2, block, tw + 1, n, c), dtype))


# --- the transforms (additions only) ---------------------------------------------------------
def _transform_filters(w):
    """G w G^T per (input, output) channel pair, as (16, C, K)."""
    xp = backend.array_module(w)
    g_matrix = xp.asarray(_G, dtype=w.dtype)
    return xp.einsum("ai,ijck,bj->abck", g_matrix, w, g_matrix).reshape(16, *w.shape[2:])


def _b_transpose(d, out):
    """B^T d along one axis: (d0 - d2, d1 + d2, d2 - d1, d1 - d3)."""
    xp = backend.array_module(out[0])
    xp.subtract(d[0], d[2], out=out[0])
    xp.add(d[1], d[2], out=out[1])
    xp.subtract(d[2], d[1], out=out[2])
    xp.subtract(d[1], d[3], out=out[3])


def _transform_input(quads, start, stop, v, rows):
    """v[4a + b] = (B^T d B)[a, b] for every 4x4 tile d in tile rows start:stop (stride 2).

    Row i of a tile is quad row i % 2, one further down if i >= 2; so is column j."""
    tw = v.shape[2]
    for px in range(2):
        _b_transpose([quads[i % 2, px, start + i // 2:stop + i // 2] for i in range(4)],
                     rows[:, px])
    for a in range(4):
        _b_transpose([rows[a, j % 2, :, j // 2:j // 2 + tw] for j in range(4)],
                     v[4 * a:4 * a + 4])


def _a_transpose(m, out):
    """A^T m along one axis: (m0 + m1 + m2, m1 - m2 - m3)."""
    xp = backend.array_module(m[0])
    xp.add(m[0], m[1], out=out[0])
    out[0] += m[2]
    xp.subtract(m[1], m[2], out=out[1])
    out[1] -= m[3]


def _transform_output(m, s, y_quads):
    """y_quads[a, b] = (A^T M A)[a, b], m of shape (4, 4, block, tw, n, K)."""
    _a_transpose(m, s)
    for a in range(2):
        _a_transpose(s[a], y_quads[a])


def _a_times(g0, g1, out):
    """A g along one axis, A = [[1, 0], [1, 1], [1, -1], [0, -1]]: (g0, g0 + g1, g0 - g1, -g1)."""
    xp = backend.array_module(out[0])
    out[0][...] = g0
    xp.add(g0, g1, out=out[1])
    xp.subtract(g0, g1, out=out[2])
    xp.negative(g1, out=out[3])


def _transform_gradient(g_quads, gt, rows):
    """gt[4a + b] = (A g A^T)[a, b] for every 2x2 tile g of the output gradient (its quads)."""
    for px in range(2):
        _a_times(g_quads[0, px], g_quads[1, px], rows[:, px])
    for a in range(4):
        _a_times(rows[a, 0], rows[a, 1], gt[4 * a:4 * a + 4])
