"""``mt.linalg``: matrix ops under TensorFlow's ``tf.linalg`` names.

A singular matrix raises ``LinAlgError`` (numpy's, a ValueError) where TensorFlow raises
InvalidArgumentError, with TensorFlow's message.
"""
from .ops.linalg import (
    LinAlgError,
    cholesky,
    det,
    diag,
    diag_part,
    inv,
    matmul,
    slogdet,
    solve,
    trace,
)
from .ops.shape import matrix_transpose

__all__ = ["LinAlgError", "cholesky", "det", "diag", "diag_part", "inv", "matmul",
           "matrix_transpose", "slogdet", "solve", "trace"]
