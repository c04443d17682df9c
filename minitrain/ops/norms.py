"""Vector and matrix norms, l2_normalize, and clipping by norm (TensorFlow's formulas).

Every square root of a sum of squares goes through ``_safe_sqrt``: its gradient at 0 is 0,
where TensorFlow's sqrt gives NaN (clip_by_norm's own guard, used everywhere).
"""
import math
import numbers
import operator

from ..tensor import Tensor
from .arithmetic import abs, pow, rsqrt, sqrt
from .contraction import einsum
from .core import as_tensor, normalize_axes, normalize_axis, register_gradient, run, run_cut, xp_of
from .linalg import matmul
from .reduce import reduce_max, reduce_sum
from .selection import greater, is_finite, maximum, where
from .shape import reshape, squeeze, transpose

_MATRIX_ORDS = ("euclidean", "fro", 1, 2, math.inf)


def _safe_sqrt(s):
    """sqrt(s) for s >= 0, with gradient 0 (not inf * 0) where s == 0."""
    positive = greater(s, 0)
    return where(positive, sqrt(where(positive, s, 1)), 0)


def _safe_root(s, p):
    """s ** (1 / p) for s >= 0, with gradient 0 where s == 0."""
    positive = greater(s, 0)
    return where(positive, pow(where(positive, s, 1), 1 / p), 0)


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """sqrt(sum(x**2)) over ``axis``; an integer tensor gives the root rounded down, in its
    dtype, as TensorFlow's does."""
    x = as_tensor(input_tensor)
    if x.dtype.kind in "iu":
        axes = normalize_axes(axis, x.ndim, "reduce_euclidean_norm")
        xp = xp_of(x)

        def forward(a):
            total = (a.astype("float64") ** 2).sum(axis=axes, keepdims=keepdims)
            return xp.floor(xp.sqrt(total)).astype(a.dtype)

        return run_cut("reduce_euclidean_norm", forward, (x,))
    return _safe_sqrt(reduce_sum(x * x, axis, keepdims))


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """x / sqrt(max(sum(x**2, axis), epsilon))."""
    x = as_tensor(x)
    axis = dim if axis is None else axis
    return x * rsqrt(maximum(reduce_sum(x * x, axis, keepdims=True), epsilon))


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):
    """The ``ord`` norm of vectors (``axis`` None: the whole tensor, or one axis) or of
    matrices (``axis`` a pair of axes): TensorFlow's orders and restrictions."""
    x = as_tensor(tensor)
    if x.dtype.kind != "f":
        raise TypeError(f"norm: needs a floating tensor, got {x.dtype.name}; convert it with "
                        "mt.cast first")
    axes, matrix = _norm_axes(axis, x.ndim, ord)
    if ord in ("euclidean", "fro") or (ord == 2 and not matrix):
        result = _safe_sqrt(reduce_sum(x * x, axes, keepdims=True))
    elif ord == 2:
        result = _spectral_norm(x, axes)
    elif ord == 1:
        result = reduce_sum(abs(x), None if axes is None else axes[0], keepdims=True)
        result = reduce_max(result, axes[1], keepdims=True) if matrix else result
    elif ord == math.inf:
        result = reduce_sum(abs(x), axes[1], keepdims=True) if matrix else abs(x)
        result = reduce_max(result, None if axes is None else axes[0], keepdims=True)
    else:
        result = _safe_root(reduce_sum(pow(abs(x), ord), axes, keepdims=True), ord)
    return result if keepdims else squeeze(result, axes)


def _norm_axes(axis, ndim, ord):
    """(the axes of the norm, None for all; whether it is a matrix norm), ``ord`` checked."""
    if isinstance(axis, (list, tuple)) and len(axis) == 2:
        axes = tuple(normalize_axis(a, ndim, "norm") for a in axis)
        if axes[0] == axes[1]:
            raise ValueError(f"norm: 'axis' must be None, an integer, or a tuple of 2 unique "
                             f"integers, got {axis}")
        if ord not in _MATRIX_ORDS:
            raise ValueError(f"norm: 'ord' must be a supported matrix norm in "
                             f"['euclidean', 'fro', 1, 2, inf], got {ord!r}")
        return axes, True
    try:
        axes = None if axis is None else (normalize_axis(operator.index(axis), ndim, "norm"),)
    except TypeError:
        raise ValueError(f"norm: 'axis' must be None, an integer, or a tuple of 2 unique "
                         f"integers, got {axis!r}") from None
    if ord == "fro":
        raise ValueError("norm: the Frobenius norm 'fro' is not defined for vectors; use "
                         "'euclidean', or give axis a pair of axes for a matrix norm")
    if ord != "euclidean" and not (isinstance(ord, numbers.Real) and ord > 0):
        raise ValueError(f"norm: 'ord' must be a supported vector norm ('euclidean', or a "
                         f"positive number such as 1, 2 or np.inf), got {ord!r}")
    return axes, False


# --- the matrix 2-norm: the largest singular value --------------------------------------------
def _spectral_norm(x, axes):
    """The largest singular value of the matrices in ``axes`` (rows, columns), kept as 1s."""
    others = [i for i in range(x.ndim) if i not in axes]
    perm = others + list(axes)
    moved = transpose(x, perm)
    xp = xp_of(x)
    s = run("spectral_norm", lambda a: xp.linalg.svd(a, compute_uv=False)[..., 0], (moved,))
    kept = reshape(s, tuple(s.shape) + (1, 1))
    return transpose(kept, sorted(range(x.ndim), key=perm.__getitem__))


@register_gradient("spectral_norm")
def _spectral_norm_grad(op, grad):
    """grad * u1 v1^T, the top singular vectors' outer product"""
    return (reshape(grad, tuple(grad.shape) + (1, 1)) * top_singular_direction(op.inputs[0]),)


def top_singular_direction(a):
    """u1 v1^T, the top singular vectors' outer product, of each matrix in the last two axes
    (the singular vectors' signs cancel): the matrix 2-norm's gradient."""
    xp = xp_of(a)

    def forward(m):
        u, _, vh = xp.linalg.svd(m, full_matrices=False)
        return u[..., :, :1] @ vh[..., :1, :]

    return run("spectral_norm_direction", forward, (a,))


@register_gradient("spectral_norm_direction")
def _top_singular_direction_grad(op, grad):
    """U G V^T, with H = U^T grad V and, for j > 0, G[j, 0] = (s1 H[j, 0] + s_j H[0, j]) / d_j,
    G[0, j] = (s_j H[j, 0] + s1 H[0, j]) / d_j, d_j = s1**2 - s_j**2, G zero elsewhere: the
    adjoint of d(u1 v1^T) = du1 v1^T + u1 dv1^T (s_j = 0 past the smaller side). U, s, V are
    those of the input, held constant: second derivatives of the norm are exact, higher ones
    omit how the other singular vectors move. Where s1 is repeated, no derivative exists."""
    (a,) = op.inputs
    xp = xp_of(a)
    u, s, vh = xp.linalg.svd(a._data, full_matrices=True)
    m, n = a.shape[-2:]
    h = matmul(matmul(Tensor(u), grad, transpose_a=True), Tensor(vh), transpose_b=True)
    col, row = h[..., :, 0], h[..., 0, :]
    s_m, inv_m = _spread(s, m, xp)
    s_n, inv_n = _spread(s, n, xp)
    s1 = Tensor(s[..., :1])
    g_col = (s1 * col + s_m * einsum("...j,jk->...k", row, _eye(xp, n, m, s.dtype))) * inv_m
    g_row = (s_n * einsum("...j,jk->...k", col, _eye(xp, m, n, s.dtype)) + s1 * row) * inv_n
    e_m, e_n = _eye(xp, 1, m, s.dtype)[0], _eye(xp, 1, n, s.dtype)[0]
    g = einsum("...i,j->...ij", g_col, e_n) + einsum("i,...j->...ij", e_m, g_row)
    return (matmul(matmul(Tensor(u), g), Tensor(vh)),)


def _eye(xp, rows, columns, dtype):
    return Tensor(xp.eye(rows, columns, dtype=dtype))


def _spread(s, k, xp):
    """The singular values padded with zeros to length k, and 1 / (s1**2 - s_j**2), with 0
    for j = 0 (which the formula leaves out)."""
    padded = xp.zeros(s.shape[:-1] + (k,), dtype=s.dtype)
    padded[..., :s.shape[-1]] = s
    gap = s[..., :1] ** 2 - padded ** 2
    gap[..., 0] = 1
    inverse = 1 / gap
    inverse[..., 0] = 0
    return Tensor(padded), Tensor(inverse)


# --- clipping ---------------------------------------------------------------------------------
def clip_by_norm(t, clip_norm, axes=None, name=None):
    """t * clip_norm / max(l2norm(t, axes), clip_norm): t itself when its norm is within."""
    t = as_tensor(t)
    return t * clip_norm / maximum(_safe_sqrt(reduce_sum(t * t, axes, keepdims=True)), clip_norm)


def global_norm(t_list, name=None):
    """sqrt(sum of every tensor's squared l2 norm); None entries are skipped."""
    if not isinstance(t_list, (list, tuple)):
        raise TypeError(f"global_norm: t_list should be a sequence of tensors, got "
                        f"{type(t_list).__name__}")
    squares = [reduce_sum(t * t) for t in map(_tensor_or_none, t_list) if t is not None]
    if not squares:
        raise ValueError("global_norm: t_list has no tensors (all are None or it is empty)")
    total = squares[0]
    for square in squares[1:]:
        total = total + square
    return _safe_sqrt(total)


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """(each t * clip_norm / max(global_norm, clip_norm), global_norm): all scaled together;
    NaN everywhere if the norm is infinite or NaN, as in TensorFlow."""
    if not isinstance(t_list, (list, tuple)):
        raise TypeError(f"clip_by_global_norm: t_list should be a sequence of tensors, got "
                        f"{type(t_list).__name__}")
    ts = [_tensor_or_none(t) for t in t_list]
    norm_ = global_norm(ts) if use_norm is None else as_tensor(use_norm)
    # clip_norm * min(1 / norm, 1 / clip_norm), without dividing by a zero norm; NaN for an
    # infinite norm, as TensorFlow's adds norm - norm (here without numpy's warning)
    scale = where(is_finite(norm_), clip_norm / maximum(norm_, clip_norm), math.nan)
    return [None if t is None else t * scale for t in ts], norm_


def _tensor_or_none(t):
    return None if t is None else as_tensor(t)

