"""mt.linalg: values against numpy.linalg, TensorFlow's shapes, dtypes, edge cases and errors.

Error texts are TensorFlow's kernel messages (tensorflow/core/kernels/linalg/): shape errors
raise ValueError, a singular matrix LinAlgError (numpy's, a ValueError subclass) where
TensorFlow raises InvalidArgumentError.
"""
import numpy as np
import pytest

import minitrain as mt
from minitrain import linalg

rng = np.random.default_rng(11)


def conditioned(*shape):
    return rng.uniform(-1, 1, size=shape) + shape[-1] * np.eye(shape[-1])


def spd(*shape):
    a = rng.uniform(-1, 1, size=shape)
    return a @ a.swapaxes(-1, -2) + shape[-1] * np.eye(shape[-1])


SINGULAR = np.array([[1.0, 0.0, -1.0], [-1.0, 1.0, 0.0], [0.0, -1.0, 1.0]])  # TF's own test


def test_the_namespace_reexports_one_implementation():
    assert linalg.matmul is mt.matmul
    assert linalg.matrix_transpose is mt.matrix_transpose
    assert mt.linalg is linalg
    assert issubclass(linalg.LinAlgError, ValueError)


@pytest.mark.parametrize("shape", [(3, 3), (1, 1), (2, 4, 4), (2, 1, 3, 3)])
@pytest.mark.parametrize("op, reference", [
    (linalg.inv, np.linalg.inv),
    (linalg.det, np.linalg.det),
    (lambda x: linalg.slogdet(x).log_abs_determinant, lambda a: np.linalg.slogdet(a)[1]),
    (lambda x: linalg.slogdet(x).sign, lambda a: np.linalg.slogdet(a)[0]),
], ids=["inv", "det", "slogdet log", "slogdet sign"])
def test_values_match_numpy_per_matrix(op, reference, shape):
    a = conditioned(*shape) * rng.choice([-1.0, 1.0], size=shape[:-1] + (1,))  # signs vary
    y = op(a)
    assert y.shape == reference(a).shape and y.dtype == mt.float64
    np.testing.assert_allclose(y.numpy(), reference(a), rtol=1e-12)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_cholesky_matches_numpy(shape):
    a = spd(*shape)
    lower = linalg.cholesky(a).numpy()
    np.testing.assert_allclose(lower, np.linalg.cholesky(a), rtol=1e-12)
    np.testing.assert_array_equal(lower, np.tril(lower))


@pytest.mark.parametrize("adjoint", [False, True])
@pytest.mark.parametrize("shapes", [((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1)), ((4, 4), (4, 0))])
def test_solve_matches_numpy(shapes, adjoint):
    a, b = conditioned(*shapes[0]), rng.uniform(-1, 1, size=shapes[1])
    x = linalg.solve(a, b, adjoint=adjoint)
    matrix = a.swapaxes(-1, -2) if adjoint else a
    assert x.shape == b.shape
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(matrix, b), rtol=1e-12)


def test_inv_adjoint_inverts_the_transpose():
    a = conditioned(2, 3, 3)
    np.testing.assert_allclose(linalg.inv(a, adjoint=True).numpy(),
                               np.linalg.inv(a).swapaxes(-1, -2), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_dtypes_are_kept(dtype):
    """float16 is computed in float32 (LAPACK has no half precision) and returned as float16."""
    a, b = conditioned(3, 3).astype(dtype), np.ones((3, 1), dtype)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    tol = 1e-2 if dtype == np.float16 else 1e-5
    for got, want in [(linalg.inv(a), np.linalg.inv(a64)),
                      (linalg.det(a), np.linalg.det(a64)),
                      (linalg.solve(a, b), np.linalg.solve(a64, b64)),
                      (linalg.slogdet(a)[1], np.linalg.slogdet(a64)[1]),
                      (linalg.cholesky(a @ a.T), np.linalg.cholesky(a64 @ a64.T))]:
        assert got.dtype == dtype
        np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol)


def test_slogdet_is_tensorflows_named_tuple():
    result = linalg.slogdet(-np.eye(3))
    assert type(result).__name__ == "LogMatrixDeterminant"
    sign, log_abs = result
    assert sign is result.sign and log_abs is result.log_abs_determinant
    assert float(sign) == -1.0 and float(log_abs) == 0.0


def test_a_singular_matrix_has_determinant_zero_and_log_minus_inf():
    """As TensorFlow's kernel: no error; slogdet gives sign 0 and log |det| = -inf."""
    assert float(linalg.det(SINGULAR)) == 0.0
    sign, log_abs = linalg.slogdet(np.stack([SINGULAR, np.eye(3)]))
    np.testing.assert_array_equal(sign.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(log_abs.numpy(), [-np.inf, 0.0])


@pytest.mark.parametrize("call, text", [
    (lambda: linalg.inv(SINGULAR), "inv: Input is not invertible."),
    (lambda: linalg.inv(np.stack([np.eye(3), SINGULAR])), "inv: Input is not invertible."),
    (lambda: linalg.solve(SINGULAR, np.ones((3, 1))), "solve: Input matrix is not invertible."),
], ids=["inv", "inv in a batch", "solve"])
def test_a_singular_matrix_cannot_be_inverted(call, text):
    with pytest.raises(linalg.LinAlgError, match=text):
        call()


def test_empty_matrices_follow_tensorflow():
    """An empty matrix's inverse is empty and its determinant 1 (TensorFlow's kernels)."""
    assert linalg.inv(np.zeros((0, 0))).shape == (0, 0)
    assert float(linalg.det(np.zeros((0, 0)))) == 1.0
    assert linalg.det(np.zeros((0, 3, 3))).shape == (0,)
    assert linalg.cholesky(np.zeros((0, 0))).shape == (0, 0)


def test_cholesky_reads_only_the_lower_triangle():
    a = spd(3, 3)
    garbage_above = a + np.triu(rng.uniform(5, 9, size=(3, 3)), 1)
    np.testing.assert_array_equal(linalg.cholesky(garbage_above).numpy(),
                                  linalg.cholesky(a).numpy())


def test_cholesky_of_a_matrix_not_positive_definite_is_nan():
    """TensorFlow's kernel logs a warning and fills the lower triangle with NaN; the other
    matrices of the batch are factored as usual."""
    good = spd(3, 3)
    lower = linalg.cholesky(np.stack([good, -np.eye(3)])).numpy()
    np.testing.assert_allclose(lower[0], np.linalg.cholesky(good), rtol=1e-12)
    assert np.isnan(lower[1][np.tril_indices(3)]).all()
    np.testing.assert_array_equal(lower[1][np.triu_indices(3, 1)], 0.0)


def test_cholesky_gradient_is_symmetric():
    """TensorFlow's _CholeskyGrad symmetrises: the input is taken as symmetric."""
    a = mt.constant(spd(4, 4))
    with mt.GradientTape() as tape:
        tape.watch(a)
        y = linalg.cholesky(a) * rng.uniform(size=(4, 4))
    grad = tape.gradient(y, a).numpy()
    np.testing.assert_allclose(grad, grad.T, rtol=1e-12)


def test_diagonals_match_numpy():
    v = rng.uniform(size=(2, 3))
    np.testing.assert_array_equal(linalg.diag(v).numpy(), [np.diag(r) for r in v])
    padded = linalg.diag([1.0, 2.0], padding_value=9.0).numpy()
    np.testing.assert_array_equal(padded, [[1.0, 9.0], [9.0, 2.0]])
    x = rng.uniform(size=(2, 3, 4))
    np.testing.assert_array_equal(linalg.diag_part(x).numpy(),
                                  np.diagonal(x, axis1=-2, axis2=-1))
    np.testing.assert_allclose(linalg.trace(x).numpy(), np.trace(x, axis1=-2, axis2=-1))
    assert linalg.diag(np.array([1, 2], np.int32)).dtype == mt.int32


def test_diagonals_select_rather_than_multiply():
    """inf * 0 would be NaN: an infinity off the diagonal stays out of it, and back."""
    np.testing.assert_array_equal(linalg.diag_part([[1.0, np.inf], [0.0, 2.0]]).numpy(), [1, 2])
    np.testing.assert_array_equal(linalg.diag([np.inf, 1.0]).numpy(), [[np.inf, 0], [0, 1]])


def test_other_diagonals_are_not_supported():
    with pytest.raises(NotImplementedError, match="diag: only the main diagonal"):
        linalg.diag([1.0, 2.0], k=1)
    with pytest.raises(NotImplementedError, match="diag_part: only the main diagonal"):
        linalg.diag_part(np.eye(3), k=-1)


@pytest.mark.parametrize("op", [linalg.inv, linalg.det, linalg.slogdet, linalg.cholesky])
def test_square_ops_check_their_input(op):
    with pytest.raises(ValueError, match=r"Input tensor must have rank >= 2, got 1"):
        op(np.ones(3))
    with pytest.raises(ValueError, match=r"Input matrix must be square\. Got shape \(2, 3\)"):
        op(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"needs a floating tensor .* got int32"):
        op(np.eye(2, dtype=np.int32))


@pytest.mark.parametrize("matrix, rhs, text", [
    ((2, 3), (2, 1), r"First input \(lhs\) must be a square matrix\."),
    ((3, 3), (3,), r"All input tensors must have the same rank\."),
    ((2, 3, 3), (3, 3, 1), r"All input tensors must have the same outer dimensions\."),
    ((3, 3), (1, 3, 1), r"All input tensors must have the same rank\."),
    ((3, 3), (2, 1), r"Input matrix and rhs are incompatible\."),
])
def test_solve_checks_its_shapes(matrix, rhs, text):
    """No broadcasting of the leading axes, as in TensorFlow's MatrixSolve."""
    with pytest.raises(ValueError, match="solve: " + text):
        linalg.solve(np.ones(matrix), np.ones(rhs))


def test_solve_needs_one_dtype():
    with pytest.raises(TypeError, match="solve: operands have different dtypes"):
        linalg.solve(mt.constant(np.eye(2)), mt.constant(np.ones((2, 1), np.float32)))
