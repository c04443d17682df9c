"""A 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, 2015).

Each 2x2 tile of the output comes from a 4x4 tile of the padded input (tiles overlap by 2):

    Y = A^T [ (G w G^T) * (B^T d B) ] A,   summed over the input channels,

so the products over channels become 16 GEMMs, one per position of the 4x4 transformed tile,
of (tiles, C) @ (C, K): 16 multiplies per 4 outputs instead of 36, 2.25x fewer flops than the
GEMMs of a direct convolution. The transforms are additions only. The filters' gradient is
this map's adjoint, G^T [ (A g A^T) * (B^T d B) ] G summed over tiles; the input's gradient is
the forward with the kernel flipped and its channels swapped.

The tiles go through in blocks of images small enough that the transformed blocks stay in the
cache. Rounding differs from a direct convolution's by a few ulps (tests/test_conv_kernels.py).
"""
from .. import backend

_G = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]]
_BLOCK_VALUES = 1 << 19  # transformed input values per block: 2 MB in float32


def forward(x, w, pads):
    xp = backend.array_module(x)
    n, c, k = x.shape[0], x.shape[3], w.shape[3]
    (ho, wo, th, tw), padded = _tiling(x.shape, pads), _padded(x, pads)
    u = _transform_filters(w)
    y = xp.empty((n, 2 * th, 2 * tw, k), x.dtype)
    block = _block(x, th * tw * c)
    v, rows = _scratch(xp, block, th, tw, c, x.dtype)
    m = xp.empty((16, block * th * tw, k), x.dtype)
    s = xp.empty((2, 4, block, th, tw, k), x.dtype)
    for start in range(0, n, block):
        stop = min(start + block, n)
        b = stop - start
        _transform_input(padded[start:stop], v[:, :b], rows[:, :b])
        mb = m[:, :b * th * tw]
        xp.matmul(v[:, :b].reshape(16, -1, c), u, out=mb)
        _transform_output(mb.reshape(4, 4, b, th, tw, k), s[:, :, :b],
                          y[start:stop].reshape(b, th, 2, tw, 2, k))
    return y[:, :ho, :wo]


def input_grad(g, w, x_shape, pads):
    """The forward of g with the kernel flipped and transposed, padded to give x's size."""
    ((top, bottom), (left, right)) = pads
    flipped = w[::-1, ::-1].transpose(0, 1, 3, 2)
    full = ((2 - top, 2 - bottom), (2 - left, 2 - right))
    return forward(g, backend.array_module(w).ascontiguousarray(flipped), full)


def filter_grad(x, g, w_shape, pads):
    xp = backend.array_module(x)
    n, c, k = x.shape[0], x.shape[3], w_shape[3]
    (ho, wo, th, tw), padded = _tiling(x.shape, pads), _padded(x, pads)
    g_tiles = xp.zeros((n, 2 * th, 2 * tw, k), g.dtype)  # zero past the cropped outputs
    g_tiles[:, :ho, :wo] = g
    block = _block(x, th * tw * max(c, k))
    v, rows = _scratch(xp, block, th, tw, c, x.dtype)
    gt = xp.empty((16, block, th, tw, k), x.dtype)
    d_u = xp.zeros((16, c, k), x.dtype)
    for start in range(0, n, block):
        stop = min(start + block, n)
        b = stop - start
        _transform_input(padded[start:stop], v[:, :b], rows[:, :b])
        _transform_gradient(g_tiles[start:stop], gt[:, :b])
        d_u += xp.matmul(v[:, :b].reshape(16, -1, c).transpose(0, 2, 1),
                         gt[:, :b].reshape(16, -1, k))
    g_matrix = xp.asarray(_G, dtype=x.dtype)
    return xp.einsum("ai,abck,bj->ijck", g_matrix, d_u.reshape(4, 4, c, k), g_matrix)


# --- geometry and buffers --------------------------------------------------------------------
def _tiling(x_shape, pads):
    """The output's size and the number of 2x2 output tiles down and across."""
    ((top, bottom), (left, right)) = pads
    ho, wo = x_shape[1] + top + bottom - 2, x_shape[2] + left + right - 2
    return ho, wo, -(-ho // 2), -(-wo // 2)


def _padded(x, pads):
    """x in zeros sized to whole tiles: (2 * th + 2, 2 * tw + 2) per image."""
    xp, (n, h, w, c) = backend.array_module(x), x.shape
    _, _, th, tw = _tiling(x.shape, pads)
    ((top, _), (left, _)) = pads
    padded = xp.zeros((n, 2 * th + 2, 2 * tw + 2, c), x.dtype)
    padded[:, top:top + h, left:left + w] = x
    return padded


def _block(x, values_per_image):
    """Images per block: all of them on a GPU, a cache's worth on the CPU."""
    if backend.is_device_array(x):
        return x.shape[0]
    return max(1, min(x.shape[0], _BLOCK_VALUES // (16 * values_per_image)))


def _scratch(xp, block, th, tw, c, dtype):
    """The transformed input tiles (16, block, th, tw, C) and the row pass's (4, ...)."""
    return (xp.empty((16, block, th, tw, c), dtype),
            xp.empty((4, block, th, 2 * tw + 2, c), dtype))


# --- the transforms (additions only) ---------------------------------------------------------
def _transform_filters(w):
    """G w G^T per (input, output) channel pair, as (16, C, K)."""
    xp = backend.array_module(w)
    g_matrix = xp.asarray(_G, dtype=w.dtype)
    return xp.einsum("ai,ijck,bj->abck", g_matrix, w, g_matrix).reshape(16, *w.shape[2:])


def _b_transpose(d, out):
    """B^T d along one axis: (d0 - d2, d1 + d2, d2 - d1, d1 - d3)."""
    xp = backend.array_module(out)
    xp.subtract(d[0], d[2], out=out[0])
    xp.add(d[1], d[2], out=out[1])
    xp.subtract(d[2], d[1], out=out[2])
    xp.subtract(d[1], d[3], out=out[3])


def _transform_input(padded, v, rows):
    """v[4a + b] = (B^T d B)[a, b] for every 4x4 tile d of the padded block (stride 2)."""
    th, tw = v.shape[2:4]
    _b_transpose([padded[:, i:i + 2 * th:2] for i in range(4)], rows)
    for a in range(4):
        _b_transpose([rows[a][:, :, j:j + 2 * tw:2] for j in range(4)], v[4 * a:4 * a + 4])


def _a_transpose(m, out):
    """A^T m along one axis: (m0 + m1 + m2, m1 - m2 - m3)."""
    xp = backend.array_module(m[0])
    xp.add(m[0], m[1], out=out[0])
    out[0] += m[2]
    xp.subtract(m[1], m[2], out=out[1])
    out[1] -= m[3]


def _transform_output(m, s, y_tiles):
    """y_tiles[:, :, a, :, b] = (A^T M A)[a, b], m of shape (4, 4, block, th, tw, K)."""
    _a_transpose(m, s)
    for a in range(2):
        _a_transpose(s[a], [y_tiles[:, :, a, :, 0], y_tiles[:, :, a, :, 1]])


def _a_times(g0, g1, out):
    """A g along one axis, A = [[1, 0], [1, 1], [1, -1], [0, -1]]: (g0, g0 + g1, g0 - g1, -g1)."""
    xp = backend.array_module(out)
    out[0] = g0
    xp.add(g0, g1, out=out[1])
    xp.subtract(g0, g1, out=out[2])
    xp.negative(g1, out=out[3])


def _transform_gradient(g_tiles, gt):
    """gt[4a + b] = (A g A^T)[a, b] for every 2x2 tile g of the output gradient."""
    xp = backend.array_module(g_tiles)
    b, th, tw, k = gt.shape[1:]
    rows = xp.empty((4, b, th, 2 * tw, k), g_tiles.dtype)
    _a_times(g_tiles[:, 0::2], g_tiles[:, 1::2], rows)
    for a in range(4):
        _a_times(rows[a][:, :, 0::2], rows[a][:, :, 1::2], gt[4 * a:4 * a + 4])
