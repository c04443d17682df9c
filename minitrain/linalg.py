"""``mt.linalg``: matrix ops under TensorFlow's ``tf.linalg`` names.

A singular matrix raises ``LinAlgError`` (numpy's, a ValueError) where TensorFlow raises
InvalidArgumentError, with TensorFlow's message.
"""
from .ops.contraction import einsum, tensordot
from .ops.grids import eye
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
from .ops.norms import global_norm, l2_normalize, norm
from .ops.shape import matrix_transpose

__all__ = ["LinAlgError", "cholesky", "det", "diag", "diag_part", "einsum", "eye", "global_norm",
           "inv", "l2_normalize", "matmul", "matrix_transpose", "norm", "slogdet", "solve",
           "tensordot", "trace"]
