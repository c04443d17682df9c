"""A 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, 2015).

Each 2x2 tile of the output comes from a 4x4 tile of the padded input (tiles overlap by 2):

    Y = A^T [ (G w G^T) * (B^T d B) ] A,   summed over the input channels,

so the products over channels become 16 GEMMs, one per position of the 4x4 transformed tile,
of (tiles, C) @ (C, K): 16 multiplies per 4 outputs instead of 36, 2.25x fewer flops than the
GEMMs of a direct convolution. The filters' gradient is this map's adjoint,
G^T [ (A g A^T) * (B^T d B) ] G summed over tiles; the input's gradient is the forward with the
kernel flipped and its channels swapped.

The image is first laid out as rows of pixels, each pixel the batch's channels: (H, W, N, C).
A tile's 4 rows are then 4 consecutive rows of that array, and its 4 columns 4 consecutive
blocks of N * C values, so each transform is small matrix products (B^T, 4x4, or A^T, 2x4)
against strided views of whole tiles: BLAS calls of (4, 4) @ (4, N * C), 2.5x faster than the
four numpy passes of additions they replace. The tiles go through in blocks of tile rows
small enough that the transformed blocks stay in the cache. The forward returns the laid-out
image beside its output: the filters' gradient reads the same one. The transforms' matrices
hold 0 and +-1 only, so the rounding is the additions' (a few ulps from a direct convolution's,
tests/test_conv_kernels.py).
"""
from .. import backend

_G = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]]
_B_T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
_A_T = [[1, 1, 1, 0], [0, 1, -1, -1]]
_BLOCK_VALUES = 1 << 19  # transformed input values per block: 2 MB in float32


def forward(x, w, pads):
    """(conv(x, w) of stride 1 on pads ((top, bottom), (left, right)), w of shape (3, 3, C, K);
    x laid out as padded rows of pixels)"""
    xp = backend.array_module(x)
    n, c, k = x.shape[0], x.shape[3], w.shape[3]
    ho, wo, th, tw = _tiling(x.shape, pads)
    image, u = _input_image(x, pads, th, tw), _transform_filters(w)
    b_t, a_t = (xp.asarray(m, dtype=x.dtype) for m in (_B_T, _A_T))
    y = xp.empty((n, th, 2, tw, 2, k), x.dtype)  # (n, 2 * th, 2 * tw, k), tile by tile
    block = _block(x, tw * n * max(c, k), th)
    v, rows = _scratch(xp, block, tw, n, c, x.dtype)
    m = xp.empty((16, block * tw * n, k), x.dtype)
    s = xp.empty((4, block, tw, 2, n * k), x.dtype)
    y_block = xp.empty((block, 2, tw, 2, n, k), x.dtype)
    for start in range(0, th, block):
        b = min(start + block, th) - start
        _transform_input(image, start, b_t, v[:, :b], rows[:b])
        mb = m[:, :b * tw * n]
        xp.matmul(v[:, :b].reshape(16, -1, c), u, out=mb)
        _transform_output(mb.reshape(4, 4, b, tw, n * k), a_t, s[:, :b], y_block[:b])
        # into the image while the block is in the cache (a copy of the whole: 5x slower)
        y[:, start:start + b] = y_block[:b].transpose(4, 0, 1, 2, 3, 5)
    # odd sizes: the last tiles overhang; the crop in memory of its own, as the others
    return xp.ascontiguousarray(y.reshape(n, 2 * th, 2 * tw, k)[:, :ho, :wo]), image


def input_grad(g, w, x_shape, pads):
    """The forward of g with the kernel flipped and transposed, padded to give x's size."""
    ((top, bottom), (left, right)) = pads
    flipped = w[::-1, ::-1].transpose(0, 1, 3, 2)
    full = ((2 - top, 2 - bottom), (2 - left, 2 - right))
    return forward(g, backend.array_module(w).ascontiguousarray(flipped), full)[0]


def filter_grad(x, g, w_shape, pads, image=None):
    """dL/dw from dL/dy = g: the forward's adjoint in w, summed over every tile; ``image``:
    the forward's laid-out x, if kept."""
    xp = backend.array_module(x)
    n, c, k = x.shape[0], x.shape[3], w_shape[3]
    _, _, th, tw = _tiling(x.shape, pads)
    if image is None:
        image = _input_image(x, pads, th, tw)
    g_image = _image_of(g, 0, 0, 2 * th, 2 * tw)  # zero past the cropped outputs
    b_t, a = xp.asarray(_B_T, dtype=x.dtype), xp.asarray(_A_T, dtype=x.dtype).T.copy()
    block = _block(x, tw * n * max(c, k), th)
    v, rows = _scratch(xp, block, tw, n, c, x.dtype)
    gt = xp.empty((16, block, tw, n, k), x.dtype)
    g_rows = xp.empty((block, 4, 2 * tw, n * k), x.dtype)
    d_u = xp.zeros((16, c, k), x.dtype)
    for start in range(0, th, block):
        b = min(start + block, th) - start
        _transform_input(image, start, b_t, v[:, :b], rows[:b])
        _transform_gradient(g_image[2 * start:2 * (start + b)], a, gt[:, :b], g_rows[:b])
        d_u += backend.transposed_matmul(v[:, :b].reshape(16, -1, c), gt[:, :b].reshape(16, -1, k))
    g_matrix = xp.asarray(_G, dtype=x.dtype)
    return xp.einsum("ai,abck,bj->ijck", g_matrix, d_u.reshape(4, 4, c, k), g_matrix)


# --- geometry, the image's layout, buffers --------------------------------------------------
def _tiling(x_shape, pads):
    """The output's size and the number of 2x2 output tiles down and across."""
    ((top, bottom), (left, right)) = pads
    ho, wo = x_shape[1] + top + bottom - 2, x_shape[2] + left + right - 2
    return ho, wo, -(-ho // 2), -(-wo // 2)


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


def _input_image(x, pads, th, tw):
    """The padded input: (2 * th + 2, 2 * tw + 2) pixels, whole tiles."""
    ((top, _), (left, _)) = pads
    return _image_of(x, top, left, 2 * th + 2, 2 * tw + 2)


def _block(x, values_per_tile_row, tile_rows):
    """Tile rows per block: all of them on a GPU, a cache's worth on the CPU."""
    if backend.is_device_array(x):
        return tile_rows
    return max(1, min(tile_rows, _BLOCK_VALUES // (16 * values_per_tile_row)))


def _scratch(xp, block, tw, n, c, dtype):
    """The transformed input tiles (16, block, tw, n, C) and the row pass's (block, 4, ...)."""
    return (xp.empty((16, block, tw, n, c), dtype),
            xp.empty((block, 4, 2 * tw + 2, n * c), dtype))


def _windows(a, axis, count, size):
    """``count`` windows of ``size`` along ``axis`` of a, 2 apart, as two axes (count, size)
    in its place: the tiles' overlapping rows or columns, a view."""
    strides = a.strides[:axis] + (2 * a.strides[axis], a.strides[axis]) + a.strides[axis + 1:]
    shape = a.shape[:axis] + (count, size) + a.shape[axis + 1:]
    return backend.array_module(a).lib.stride_tricks.as_strided(a, shape, strides)


def _matmul_into(a, b, out):
    """a @ b written into the view ``out`` (CuPy's matmul writes only whole arrays)."""
    xp = backend.array_module(b)
    if backend.is_device_array(b):
        out[...] = xp.matmul(a, b)
    else:
        xp.matmul(a, b, out=out)


# --- the transforms: small products against views of whole tiles ---------------------------
def _transform_filters(w):
    """G w G^T per (input, output) channel pair, as (16, C, K)."""
    xp = backend.array_module(w)
    g_matrix = xp.asarray(_G, dtype=w.dtype)
    return xp.einsum("ai,ijck,bj->abck", g_matrix, w, g_matrix).reshape(16, *w.shape[2:])


def _transform_input(image, start, b_t, v, rows):
    """v[4a + b] = (B^T d B)[a, b] for every 4x4 tile d in tile rows start:start + b: B^T along
    each tile's 4 image rows, then along its 4 columns."""
    b, tw = v.shape[1:3]
    height, width = image.shape[:2]
    pixels = image.reshape(height, width, -1)[2 * start:2 * start + 2 * b + 2]
    # per pixel column: one product of (4, N * C) (one of (4, width * N * C): 2.5x slower)
    down = _windows(pixels, 0, b, 4).transpose(0, 2, 1, 3)  # (b, width, 4, N * C)
    _matmul_into(b_t, down, rows.transpose(0, 2, 1, 3))  # rows: (b, 4: a, width, N * C)
    columns = _windows(rows, 2, tw, 4)  # (b, 4: a, tw, 4, N * C)
    by_tile = v.reshape(4, 4, b, tw, rows.shape[3]).transpose(2, 0, 3, 1, 4)
    _matmul_into(b_t, columns, by_tile)


def _transform_output(m, a_t, s, y_block):
    """y_block[r, a, s, b] = (A^T M A)[a, b] of each tile, m of shape (4, 4, b, tw, N * K):
    A^T down the 4 positions' rows (into s), then across."""
    by_column = m.transpose(1, 2, 3, 0, 4)  # (4: b, b, tw, 4: a, N * K)
    _matmul_into(a_t, by_column, s)  # (4: b, b, tw, 2: a, N * K)
    across = s.transpose(1, 3, 2, 0, 4)  # (b, 2: a, tw, 4: b, N * K)
    n_k = y_block.shape[4] * y_block.shape[5]
    _matmul_into(a_t, across, y_block.reshape(*y_block.shape[:4], n_k))


def _transform_gradient(g_rows_in, a, gt, g_rows):
    """gt[4a + b] = (A g A^T)[a, b] for every 2x2 tile g of the output gradient (its image
    rows 2 * start: 2 * stop, as (rows, 2 * tw, N, K))."""
    b, tw = gt.shape[1:3]
    pairs = g_rows_in.reshape(b, 2, 2 * tw, -1).transpose(0, 2, 1, 3)  # (b, 2 * tw, 2, N * K)
    _matmul_into(a, pairs, g_rows.transpose(0, 2, 1, 3))
    columns = g_rows.reshape(b, 4, tw, 2, -1)
    by_tile = gt.reshape(4, 4, b, tw, g_rows.shape[3]).transpose(2, 0, 3, 1, 4)
    _matmul_into(a, columns, by_tile)
