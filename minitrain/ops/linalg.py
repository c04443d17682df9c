"""Matrix products."""
from .core import as_pair, register_gradient, run2
from .shape import expand_dims, squeeze


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
