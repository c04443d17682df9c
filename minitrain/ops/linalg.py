"""Matrix products."""
from .core import as_pair, register_gradient, run
from .shape import expand_dims, matrix_transpose, squeeze


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """The matrix product over the last two axes; leading (batch) axes broadcast."""
    a, b = as_pair(a, b, "matmul")
    if transpose_a:
        a = matrix_transpose(a)
    if transpose_b:
        b = matrix_transpose(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: needs tensors of rank >= 1, got shapes {a.shape} and {b.shape}")
    if a.ndim == 1:  # numpy's convention for vectors: a row on the left...
        return squeeze(matmul(expand_dims(a, 0), b), -2)
    if b.ndim == 1:  # ...and a column on the right
        return squeeze(matmul(a, expand_dims(b, -1)), -1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: the inner dimensions of shapes {a.shape} and {b.shape} differ "
                         f"({a.shape[-1]} != {b.shape[-2]})")
    return run("matmul", lambda x, y: x @ y, (a, b))


@register_gradient("matmul")
def _matmul_grad(op, grad):
    """d(a @ b) = (grad @ b^T, a^T @ grad); the sweep sums broadcast batch axes"""
    a, b = op.inputs
    need_a, need_b = op.needs_grad
    grad_a = matmul(grad, b, transpose_b=True) if need_a else None
    grad_b = matmul(a, grad, transpose_a=True) if need_b else None
    return grad_a, grad_b
