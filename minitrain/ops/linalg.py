"""Matrix products, and the linear algebra of square matrices under tf.linalg's names."""
import collections

import numpy as np

from .. import backend
from .core import as_pair, as_tensor, register_gradient, run, run2, run_outputs, xp_of
from .reduce import reduce_sum
from .selection import where
from .shape import expand_dims, matrix_transpose, squeeze, zeros_like


def _swap(a):
    """The matrix transpose of an array (a view): its last two axes swapped."""
    return a.swapaxes(-1, -2)


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """The matrix product over the last two axes; leading (batch) axes broadcast.

    The transposes are attributes of the one op, as in TensorFlow: no separate transpose is
    recorded, and the gradient picks the products that need none either.
    """
    a, b = as_pair(a, b, "matmul")
    shape_a, shape_b = a._data.shape, b._data.shape
    if len(shape_a) < 2 or len(shape_b) < 2:
        return _matmul_vectors(a, b, transpose_a, transpose_b)
    inner_a = shape_a[-2] if transpose_a else shape_a[-1]
    inner_b = shape_b[-1] if transpose_b else shape_b[-2]
    if inner_a != inner_b:
        raise ValueError(f"matmul: the inner dimensions of shapes {a.shape} and {b.shape} differ "
                         f"({inner_a} != {inner_b}; transpose_a={transpose_a}, "
                         f"transpose_b={transpose_b})")
    transposes = (bool(transpose_a), bool(transpose_b))
    return run2("matmul", _PRODUCTS[transposes], a, b, _ATTRS[transposes])


def _matmul_vectors(a, b, transpose_a, transpose_b):
    """matmul where an operand has rank 1 (numpy's convention) or, an error, rank 0."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: needs tensors of rank >= 1, got shapes {a.shape} and {b.shape}")
    if a.ndim == 1:  # a row on the left...
        y = matmul(expand_dims(a, 0), b, transpose_b=transpose_b)
        return squeeze(y, -2 if b.ndim > 1 else -1)  # vector @ vector: y has shape (1,)
    # ...and a column on the right
    return squeeze(matmul(a, expand_dims(b, -1), transpose_a=transpose_a), -1)


# one forward and one (shared, never changed) attrs dict per pair of transposes
_PRODUCTS = {
    (False, False): lambda x, y: x @ y,
    (True, False): lambda x, y: _swap(x) @ y,
    (False, True): lambda x, y: x @ _swap(y),
    (True, True): lambda x, y: _swap(x) @ _swap(y),
}
_ATTRS = {pair: {"transpose_a": pair[0], "transpose_b": pair[1]} for pair in _PRODUCTS}


@register_gradient("matmul")
def _matmul_grad(op, grad):
    """For c = a @ b: (grad @ b^T, a^T @ grad), each transposed back where the op transposed
    an input; the sweep sums broadcast batch axes."""
    a, b = op.inputs
    ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
    need_a, need_b = op.needs_grad
    if ta:
        grad_a = matmul(b, grad, transpose_a=tb, transpose_b=True) if need_a else None
    else:
        grad_a = matmul(grad, b, transpose_b=not tb) if need_a else None
    if tb:
        grad_b = matmul(grad, a, transpose_a=True, transpose_b=ta) if need_b else None
    else:
        grad_b = matmul(a, grad, transpose_a=not ta) if need_b else None
    return grad_a, grad_b


# --- square matrices: tf.linalg's solve, inv, det, slogdet, cholesky -----------------------
# Shapes are checked with TensorFlow's kernel messages (the text after the op's name), raised
# as ValueError as everywhere in minitrain. A singular matrix raises LinAlgError (numpy's, a
# ValueError) where TensorFlow raises InvalidArgumentError with the same text.

LinAlgError = np.linalg.LinAlgError
LogMatrixDeterminant = collections.namedtuple("LogMatrixDeterminant",
                                              ["sign", "log_abs_determinant"])


def _matrices(x, name, square=True, which="Input matrix must be square."):
    """``x`` as a floating tensor of rank >= 2, its last two axes square where asked."""
    x = as_tensor(x)
    if x._data.dtype.kind != "f":
        raise TypeError(f"{name}: needs a floating tensor (float16, float32 or float64), got "
                        f"{x.dtype.name}; convert it first, e.g. mt.cast(x, mt.float32)")
    if x.ndim < 2:
        raise ValueError(f"{name}: Input tensor must have rank >= 2, got {x.ndim} (shape "
                         f"{x.shape}): the last two axes hold the matrices")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name}: {which} Got shape {x.shape}, whose last two axes hold "
                         f"{x.shape[-2]}x{x.shape[-1]} matrices")
    return x


def _lapack(f):
    """``f`` on arrays, float16 computed in float32 (LAPACK has no half precision; TensorFlow's
    half-precision inverse does the same)."""

    def forward(*arrays):
        if arrays[0].dtype != np.float16:
            return f(*arrays)
        out = f(*[a.astype(np.float32) for a in arrays])
        if isinstance(out, tuple):
            return tuple(o.astype(np.float16) for o in out)
        return out.astype(np.float16)

    return forward


def _all_finite(a):
    return bool(backend.array_module(a).isfinite(a).all())


def _run_invertible(name, text, f, inputs):
    """Run ``f`` as op ``name``; raise TensorFlow's ``text`` where a matrix is singular.

    numpy raises for an exact zero pivot (TensorFlow's test as well); CuPy returns non-finite
    values instead. The check runs before ``run``, which would turn it into a shape error.
    """
    arrays = [x._data for x in inputs]
    try:
        y = _lapack(f)(*arrays)
    except LinAlgError:
        y = None
    if y is None or (not _all_finite(y) and _all_finite(arrays[0])):
        raise LinAlgError(f"{name}: {text} The input of shape {inputs[0].shape} holds a singular "
                          "matrix (a zero pivot in its LU factorisation); if it is meant to be "
                          "invertible, regularise it, e.g. a + 1e-6 * I")
    return run(name, lambda *_: y, inputs)


def inv(input, adjoint=False, name=None):
    """The inverse of each square matrix in the last two axes (of its transpose if ``adjoint``)."""
    x = _matrices(input, "inv")
    if adjoint:  # a transpose the tape records, so inv's gradient needs no case for it
        x = matrix_transpose(x)
    return _run_invertible("inv", "Input is not invertible.", xp_of(x).linalg.inv, (x,))


@register_gradient("inv")
def _inv_grad(op, grad):
    """-y^T grad y^T, y = a^-1"""
    (y,) = op.outputs
    return (-matmul(y, matmul(grad, y, transpose_b=True), transpose_a=True),)


def solve(matrix, rhs, adjoint=False, name=None):
    """x with matrix @ x = rhs (adjoint(matrix) @ x = rhs if ``adjoint``), per matrix; shapes
    [..., M, M] and [..., M, K] with the same leading axes (TensorFlow does not broadcast them)."""
    a, b = as_pair(matrix, rhs, "solve")
    a = _matrices(a, "solve", which="First input (lhs) must be a square matrix.")
    _check_rhs(a, b)
    if adjoint:
        a = matrix_transpose(a)
    return _run_invertible("solve", "Input matrix is not invertible.", xp_of(a).linalg.solve,
                           (a, b))


def _check_rhs(a, b):
    if b.ndim != a.ndim:
        problem = "All input tensors must have the same rank."
    elif b.shape[:-2] != a.shape[:-2]:
        problem = "All input tensors must have the same outer dimensions."
    elif b.shape[-2] != a.shape[-1]:
        problem = "Input matrix and rhs are incompatible."
    else:
        return
    raise ValueError(f"solve: {problem} Got matrix of shape {a.shape} and rhs of shape "
                     f"{b.shape}; rhs needs shape [..., M, K] with matrix's [..., M, M]")


@register_gradient("solve")
def _solve_grad(op, grad):
    """For x = a^-1 b: grad_b = a^-T grad, grad_a = -grad_b x^T"""
    a, _ = op.inputs
    (x,) = op.outputs
    grad_b = solve(a, grad, adjoint=True)
    return -matmul(grad_b, x, transpose_b=True), grad_b


def _per_matrix(s):
    """A tensor of one value per matrix ([...]) broadcast against the matrices ([..., M, M])."""
    return expand_dims(expand_dims(s, -1), -1)


def det(input, name=None):
    """The determinant of each square matrix; 0 for a singular one, 1 for an empty one."""
    x = _matrices(input, "det")
    return run("det", _lapack(xp_of(x).linalg.det), (x,))


@register_gradient("det")
def _det_grad(op, grad):
    """grad det(a) a^-T"""
    (a,), (d,) = op.inputs, op.outputs
    return (_per_matrix(grad * d) * inv(a, adjoint=True),)


def slogdet(input, name=None):
    """(sign, log_abs_determinant) of each square matrix, as TensorFlow's named tuple; a
    singular matrix gives (0, -inf)."""
    x = _matrices(input, "slogdet")
    slogdet_array = xp_of(x).linalg.slogdet
    outputs = run_outputs("slogdet", _lapack(lambda a: tuple(slogdet_array(a))), (x,))
    return LogMatrixDeterminant(*outputs)


@register_gradient("slogdet")
def _slogdet_grad(op, grad_sign, grad_log):
    """grad_log a^-T; the sign is piecewise constant, so its gradient is zero"""
    (a,) = op.inputs
    if grad_log is None:  # only the sign was used: zeros, as in TensorFlow
        return (zeros_like(a),)
    return (_per_matrix(grad_log) * inv(a, adjoint=True),)


def cholesky(input, name=None):
    """The lower-triangular L with L L^T = input, per matrix, read from the lower triangle only.

    As TensorFlow's kernel, a matrix that is not positive definite raises nothing: its L has
    NaN in the lower triangle (and zeros above it).
    """
    x = _matrices(input, "cholesky")
    return run("cholesky", _lapack(_cholesky_array), (x,))


def _cholesky_array(a):
    xp = backend.array_module(a)
    try:
        lower = xp.linalg.cholesky(a)
    except LinAlgError:  # numpy: one failure fails the batch, so factor matrix by matrix
        return _cholesky_each(a)
    # CuPy returns instead of raising, leaving a non-positive pivot on the diagonal
    factored = (xp.diagonal(lower, axis1=-2, axis2=-1) > 0).all(-1)
    return xp.where(factored[..., None, None], lower, _nan_lower(a))


def _cholesky_each(a):
    flat = a.reshape((-1,) + a.shape[-2:])
    out = np.empty_like(flat)
    for k, matrix in enumerate(flat):
        try:
            out[k] = np.linalg.cholesky(matrix)
        except LinAlgError:
            out[k] = _nan_lower(matrix)
    return out.reshape(a.shape)


def _nan_lower(a):
    xp, n = backend.array_module(a), a.shape[-1]
    return xp.tril(xp.full((n, n), np.nan, dtype=a.dtype))


@register_gradient("cholesky")
def _cholesky_grad(op, grad):
    """sym(L^-T phi(L^T grad) L^-1), phi taking the lower triangle with its diagonal halved and
    sym(m) = (m + m^T) / 2 (TensorFlow's _CholeskyGrad)"""
    (lower,) = op.outputs
    n = lower.shape[-1]
    phi = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)  # a constant mask: phi is a product
    lower_inv = inv(lower)
    middle = matmul(lower, grad, transpose_a=True) * phi
    grad_a = matmul(matmul(lower_inv, middle, transpose_a=True), lower_inv)
    return (0.5 * (grad_a + matrix_transpose(grad_a)),)


# --- diagonals: a selection and an indexing, whose gradients are where's and getitem's -------

def _main_diagonal_only(name, k, num_rows=-1, num_cols=-1):
    if k != 0 or num_rows != -1 or num_cols != -1:
        raise NotImplementedError(f"{name}: only the main diagonal with the default shape is "
                                  f"supported (k=0, num_rows=num_cols=-1); got k={k}, "
                                  f"num_rows={num_rows}, num_cols={num_cols}")


def diag(diagonal, name=None, k=0, num_rows=-1, num_cols=-1, padding_value=0,
         align="RIGHT_LEFT"):
    """Square matrices [..., N, N] with ``diagonal`` [..., N] on their main diagonal and
    ``padding_value`` elsewhere (``align`` only matters for several diagonals: unsupported)."""
    _main_diagonal_only("diag", k, num_rows, num_cols)
    v = as_tensor(diagonal)
    if v.ndim < 1:
        raise ValueError(f"diag: diagonal must be at least 1-D, got shape {v.shape}")
    return where(np.eye(v.shape[-1], dtype=bool), expand_dims(v, -2), padding_value)


def diag_part(input, name=None, k=0, padding_value=0, align="RIGHT_LEFT"):
    """The main diagonal [..., min(M, N)] of each matrix [..., M, N]."""
    _main_diagonal_only("diag_part", k)
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"diag_part: input must be at least 2-D, got shape {x.shape}")
    index = np.arange(min(x.shape[-2:]))
    return x[..., index, index]


def trace(x, name=None):
    """The sum of each matrix's main diagonal: [..., M, N] -> [...]."""
    return reduce_sum(diag_part(x), -1)
