"""A 3x3 stride-1 convolution by Winograd's minimal filtering F(m x m, 3 x 3), m = 4 or 2
(Lavin and Gray, 2015).

Each m x m tile of the output comes from a t x t tile of the padded input, t = m + 2 (tiles
overlap by 2):

    Y = A^T [ (G w G^T) * (B^T d B) ] A,   summed over the input channels,

so the products over channels become t * t GEMMs, one per position of the transformed tile,
of (tiles, C) @ (C, K): 36 multiplies per 16 outputs (m = 4) or 16 per 4 (m = 2), instead of
9 per output: 4x or 2.25x fewer flops than the GEMMs of a direct convolution. The filters'
gradient is this map's adjoint, G^T [ (A g A^T) * (B^T d B) ] G summed over tiles; the
input's gradient is the forward with the kernel flipped and its channels swapped.

The image is first laid out as rows of pixels, each pixel the batch's channels: (H, W, N, C).
A tile's t rows are then t consecutive rows of that array, and its t columns t consecutive
blocks of N * C values, so each transform is small matrix products (B^T, t x t, or A^T,
m x t) against strided views of whole tiles: BLAS calls of (t, t) @ (t, N * C), 2.5x faster
than numpy passes of additions (m = 2, whose matrices hold only 0 and +-1). The tiles go
through in blocks of tile rows small enough that the transformed blocks stay in the cache.
The forward can keep its transformed tiles of x (2.25x x's size for 4x4 tiles), which the
filters' gradient then reads instead of transforming x again.

Rounding: F(2x2, 3x3) is a few ulps from a direct convolution; F(4x4, 3x3), whose matrices
hold 4, 5, 8 and 1/24, about 10 ulps on one tile in float32 (tests/test_conv_kernels.py
checks both against im2col).
"""
from collections import namedtuple

from .. import backend

# F(m x m, 3 x 3) for output tiles of m = 2 and m = 4, the input tiles t = m + 2 pixels square:
# (B^T (t, t), G (t, 3), A^T (m, t)), from the points 0, +-1 (and +-2), as in Lavin and Gray
_MATRICES = {
    2: ([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]],
        [[1, 1, 1, 0], [0, 1, -1, -1]]),
    4: ([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
         [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
        [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
         [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]),
}
_BLOCK_VALUES = 1 << 19  # transformed input values per block: 2 MB in float32


def forward(x, w, pads, keep_bytes=0, epilogue=None):
    """(conv(x, w) of stride 1 on pads ((top, bottom), (left, right)), w of shape (3, 3, C, K),
    ``epilogue`` (a bias and ReLU, in place) applied to each block of tiles in the cache; x's
    transformed tiles, (t * t, th, tw, N, C), where they take no more than ``keep_bytes``,
    else None: the filters' gradient reads the same ones)"""
    xp = backend.array_module(x)
    n, c, k = x.shape[0], x.shape[3], w.shape[3]
    tiles = _tiling(x.shape, pads)
    m, t, th, tw = tiles.m, tiles.m + 2, tiles.th, tiles.tw
    b_t, g_matrix, a_t = _matrices(xp, m, x.dtype)
    image, u = _input_image(x, pads, tiles), _transform_filters(w, g_matrix)
    y = xp.empty((n, th, m, tw, m, k), x.dtype)  # (n, m * th, m * tw, k), tile by tile
    block = _block(x, t * t * tw * n * max(c, k), th)
    keeps = t * t * th * tw * n * c * x.dtype.itemsize <= keep_bytes
    # the transformed tiles: all of them when kept (written block by block, then read by the
    # filters' gradient), else one block's, rewritten block after block
    v = xp.empty((t * t, th if keeps else block, tw, n, c), x.dtype)
    rows = _rows_scratch(xp, tiles, block, n, c, x.dtype)
    products = xp.empty((t * t, block * tw * n, k), x.dtype)
    down = xp.empty((t, block, tw, m, n * k), x.dtype)
    y_block = xp.empty((block, m, tw, m, n, k), x.dtype)
    for start in range(0, th, block):
        b = min(start + block, th) - start
        vb = v[:, start:start + b] if keeps else v[:, :b]
        _transform_input(image, start, b_t, vb, rows[:b])
        pb = products[:, :b * tw * n]
        xp.matmul(vb.reshape(t * t, -1, c), u, out=pb)
        _transform_output(pb.reshape(t, t, b, tw, n * k), a_t, down[:, :b], y_block[:b])
        if epilogue is not None:
            epilogue(y_block[:b])
        # into the image while the block is in the cache (a copy of the whole: 5x slower)
        y[:, start:start + b] = y_block[:b].transpose(4, 0, 1, 2, 3, 5)
    # odd sizes: the last tiles overhang; the crop in memory of its own, as the others
    whole = y.reshape(n, m * th, m * tw, k)
    return xp.ascontiguousarray(whole[:, :tiles.ho, :tiles.wo]), (v if keeps else None)


def input_grad(g, w, x_shape, pads):
    """The forward of g with the kernel flipped and transposed, padded to give x's size."""
    ((top, bottom), (left, right)) = pads
    flipped = w[::-1, ::-1].transpose(0, 1, 3, 2)
    full = ((2 - top, 2 - bottom), (2 - left, 2 - right))
    return forward(g, backend.array_module(w).ascontiguousarray(flipped), full)[0]


def filter_grad(x, g, w_shape, pads, transformed=None):
    """dL/dw from dL/dy = g: the forward's adjoint in w, summed over every tile;
    ``transformed``: the forward's transformed tiles of x, if kept (then no transform of x
    here: VGG conv 2's filters' gradient 27 -> 18 ms)."""
    xp = backend.array_module(x)
    n, c, k = x.shape[0], x.shape[3], w_shape[3]
    tiles = _tiling(x.shape, pads)
    m, t, th, tw = tiles.m, tiles.m + 2, tiles.th, tiles.tw
    b_t, g_matrix, a_t = _matrices(xp, m, x.dtype)
    image = _input_image(x, pads, tiles) if transformed is None else None
    g_image = _image_of(g, 0, 0, m * th, m * tw)  # zero past the cropped outputs
    a = xp.ascontiguousarray(a_t.T)
    block = _block(x, t * t * tw * n * max(c, k), th)
    if transformed is None:  # x's tiles transformed here, one block at a time
        v = xp.empty((t * t, block, tw, n, c), x.dtype)
        rows = _rows_scratch(xp, tiles, block, n, c, x.dtype)
    gt = xp.empty((t * t, block, tw, n, k), x.dtype)
    g_rows = xp.empty((block, t, m * tw, n * k), x.dtype)
    d_u = xp.zeros((t * t, c, k), x.dtype)
    for start in range(0, th, block):
        b = min(start + block, th) - start
        if transformed is None:
            vb = v[:, :b]
            _transform_input(image, start, b_t, vb, rows[:b])
        else:
            vb = transformed[:, start:start + b]
        _transform_gradient(g_image[m * start:m * (start + b)], a, gt[:, :b], g_rows[:b])
        d_u += backend.transposed_matmul(vb.reshape(t * t, -1, c),
                                         gt[:, :b].reshape(t * t, -1, k))
    return _sandwich(g_matrix.T, d_u.reshape(t, t, c, k))  # G^T d_u G


# --- geometry, the image's layout, buffers --------------------------------------------------
Tiling = namedtuple("Tiling", "ho wo m th tw")


def _tiling(x_shape, pads):
    """The output's size, its tiles' size m and how many there are down and across."""
    ((top, bottom), (left, right)) = pads
    ho, wo = x_shape[1] + top + bottom - 2, x_shape[2] + left + right - 2
    m = _output_tile(ho, wo)
    return Tiling(ho, wo, m, -(-ho // m), -(-wo // m))


def _output_tile(ho, wo):
    """4x4 output tiles (F(4x4, 3x3): 2.25 products per output, against 4 for 2x2 tiles and
    9 for a direct convolution), but 2x2 on images whose 4x4 tiles would overhang by more
    than a quarter."""
    return 4 if all(-size % 4 <= size // 4 for size in (ho, wo)) else 2


def _matrices(xp, m, dtype):
    return tuple(xp.asarray(matrix, dtype=dtype) for matrix in _MATRICES[m])


def _image_of(a, top, left, rows, cols):
    """a placed at (top, left) of a zero image of (rows, cols) pixels, as (rows, cols, N, C).

    The copy reads _IMAGES_PER_COPY images at a time: images lie a power of two of bytes apart
    (128 KB for 32x32x32), and reading from all of them at once thrashes the cache sets they
    share (1.8x slower there)."""
    xp, (n, h, w, c) = backend.array_module(a), a.shape
    image = xp.empty((rows, cols, n, c), a.dtype)
    image[:top], image[top + h:] = 0, 0  # the border only: zeroing the whole costs a pass
    image[top:top + h, :left], image[top:top + h, left + w:] = 0, 0
    into, part = image[top:top + h, left:left + w], a.transpose(1, 2, 0, 3)
    step = max(n, 1) if backend.is_device_array(a) else _IMAGES_PER_COPY  # a GPU: one copy
    for i in range(0, n, step):
        into[:, :, i:i + step] = part[:, :, i:i + step]
    return image


_IMAGES_PER_COPY = 16


def _input_image(x, pads, tiles):
    """The padded input: (m * th + 2, m * tw + 2) pixels, whole tiles."""
    ((top, _), (left, _)) = pads
    return _image_of(x, top, left, tiles.m * tiles.th + 2, tiles.m * tiles.tw + 2)


def _block(x, values_per_tile_row, tile_rows):
    """Tile rows per block: all of them on a GPU, a cache's worth on the CPU."""
    if backend.is_device_array(x):
        return tile_rows
    return max(1, min(tile_rows, _BLOCK_VALUES // values_per_tile_row))


def _rows_scratch(xp, tiles, block, n, c, dtype):
    """The input transform's row pass, (block, t, m * tw + 2, n * C)."""
    return xp.empty((block, tiles.m + 2, tiles.m * tiles.tw + 2, n * c), dtype)


def _windows(a, axis, count, size, step):
    """``count`` windows of ``size`` along ``axis`` of a, ``step`` apart, as two axes (count,
    size) in its place: the tiles' overlapping rows or columns, a view."""
    stride = a.strides[axis]
    strides = a.strides[:axis] + (step * stride, stride) + a.strides[axis + 1:]
    shape = a.shape[:axis] + (count, size) + a.shape[axis + 1:]
    return backend.as_strided(a, shape, strides)


def _matmul_into(a, b, out):
    """a @ b written into the view ``out`` (CuPy's matmul writes only whole arrays)."""
    xp = backend.array_module(b)
    if backend.is_device_array(b):
        out[...] = xp.matmul(a, b)
    else:
        xp.matmul(a, b, out=out)


# --- the transforms: small products against views of whole tiles ---------------------------
def _transform_filters(w, g_matrix):
    """G w G^T per (input, output) channel pair, as (t * t, C, K)."""
    t = g_matrix.shape[0]
    return _sandwich(g_matrix, w).reshape(t * t, *w.shape[2:])


def _sandwich(a, w):
    """a w a^T per (input, output) channel pair, w of shape (p, p, C, K): two GEMMs (numpy's
    three-operand einsum loops over every product: 1.6 ms on 64 x 64 channels)."""
    xp, (p, q) = backend.array_module(w), a.shape[::-1]
    rows = (a @ w.reshape(p, -1)).reshape(q, p, -1)  # a along the first axis
    return xp.matmul(a, rows).reshape(q, q, *w.shape[2:])  # then along the second


def _transform_input(image, start, b_t, v, rows):
    """v[t * a + b] = (B^T d B)[a, b] for every t x t tile d in tile rows start:start + b (m
    apart): B^T along each tile's t image rows, then along its t columns."""
    (b, tw), t = v.shape[1:3], b_t.shape[0]
    m, (height, width) = t - 2, image.shape[:2]
    pixels = image.reshape(height, width, -1)[m * start:m * (start + b) + 2]
    # per pixel column: one product of (t, N * C) (one of (t, width * N * C): 2.5x slower)
    down = _windows(pixels, 0, b, t, m).transpose(0, 2, 1, 3)  # (b, width, t, N * C)
    _matmul_into(b_t, down, rows.transpose(0, 2, 1, 3))  # rows: (b, t: a, width, N * C)
    columns = _windows(rows, 2, tw, t, m)  # (b, t: a, tw, t, N * C)
    by_tile = v.reshape(t, t, b, tw, rows.shape[3]).transpose(2, 0, 3, 1, 4)
    _matmul_into(b_t, columns, by_tile)


def _transform_output(products, a_t, down, y_block):
    """y_block[r, a, s, b] = (A^T M A)[a, b] of each tile M, the products of shape (t, t, b,
    tw, N * K): A^T down the t positions' rows (into ``down``), then across."""
    by_column = products.transpose(1, 2, 3, 0, 4)  # (t: b, b, tw, t: a, N * K)
    _matmul_into(a_t, by_column, down)  # (t: b, b, tw, m: a, N * K)
    across = down.transpose(1, 3, 2, 0, 4)  # (b, m: a, tw, t: b, N * K)
    n_k = y_block.shape[4] * y_block.shape[5]
    _matmul_into(a_t, across, y_block.reshape(*y_block.shape[:4], n_k))


def _transform_gradient(g_rows_in, a, gt, g_rows):
    """gt[t * a + b] = (A g A^T)[a, b] for every m x m tile g of the output gradient (its image
    rows m * start:m * stop, as (rows, m * tw, N, K))."""
    (b, tw), (t, m) = gt.shape[1:3], a.shape
    pairs = g_rows_in.reshape(b, m, m * tw, -1).transpose(0, 2, 1, 3)  # (b, m * tw, m, N * K)
    _matmul_into(a, pairs, g_rows.transpose(0, 2, 1, 3))
    columns = g_rows.reshape(b, t, tw, m, -1)
    by_tile = gt.reshape(t, t, b, tw, g_rows.shape[3]).transpose(2, 0, 3, 1, 4)
    _matmul_into(a, columns, by_tile)
