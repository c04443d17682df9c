"""The im2col formulation of a convolution, for any stride: every window copied into a patch
matrix, then one GEMM. The copy is kh * kw times the input, written and read again; the input
gradient scatters a patch gradient of that size back (col2im). Pooling uses the same pair.

The forward returns its patch matrix beside the output: the filters' gradient reads the same
one (conv_kernels keeps it between the two).
"""
from .. import backend


def forward(x, w, strides, pads):
    """(conv(x, w), the patch matrix)"""
    kh, kw, c_in, c_out = w.shape
    cols = im2col_array(x, (kh, kw), strides, pads)
    y = cols.reshape(-1, kh * kw * c_in) @ w.reshape(-1, c_out)
    return y.reshape(cols.shape[:3] + (c_out,)), cols


def input_grad(g, w, x_shape, strides, pads):
    kh, kw, c_in, c_out = w.shape
    cols = g.reshape(-1, c_out) @ w.reshape(-1, c_out).T
    return col2im_array(cols.reshape(g.shape[:3] + (kh, kw, c_in)), x_shape, (kh, kw),
                        strides, pads)


def filter_grad(x, g, w_shape, strides, pads, cols=None):
    """dL/dw from dL/dy = g; ``cols``: the forward's patch matrix of x, if kept."""
    kh, kw, c_in, c_out = w_shape
    if cols is None:
        cols = im2col_array(x, (kh, kw), strides, pads)
    return backend.transposed_matmul(cols.reshape(-1, kh * kw * c_in),
                                     g.reshape(-1, c_out)).reshape(w_shape)


# --- the adjoint pair -----------------------------------------------------------------------
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
    view = backend.as_strided(
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
