"""mt.linalg (inverse, solve, determinants, Cholesky, diagonals): gradient tables, float64.

The matrices are well conditioned, a random one plus n * I, so that finite differences stay far
from a singular matrix. Cholesky's rows build their symmetric positive definite input from the
row's input, as a a^T + n I: every perturbation of ``a`` keeps it valid (and symmetric).
"""
import numpy as np
import pytest
from gradcases import Inputs, case, table_tests

import minitrain as mt
from minitrain import linalg

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")

rng = Inputs(seed=5)
u = rng.uniform


def conditioned(*shape):
    """Random square matrices plus n * I: far from singular, with a positive determinant."""
    return rng.uniform(*shape, low=-1.0, high=1.0) + shape[-1] * np.eye(shape[-1])


def negative_det(*shape):
    """As ``conditioned``, with the first row negated: the determinant is negative."""
    return conditioned(*shape) * np.array([-1.0] + [1.0] * (shape[-1] - 1))[:, None]


def spd(a):
    """a a^T + n I: symmetric positive definite for any a."""
    return mt.matmul(a, a, transpose_b=True) + a.shape[-1] * np.eye(a.shape[-1])


def log_abs_det(x):
    return linalg.slogdet(x).log_abs_determinant


def signed_log_abs_det(x):
    sign, log_abs = linalg.slogdet(x)
    return sign * log_abs


def sign_only(x):
    """The sign alone: slogdet's gradient sees no log_abs_determinant gradient (zeros)."""
    return linalg.slogdet(x).sign * mt.reduce_sum(x * x)


SQUARE_CASES = [
    case("inv", linalg.inv, conditioned(3, 3)),
    case("inv 1x1", linalg.inv, conditioned(1, 1)),
    case("inv batch", linalg.inv, conditioned(2, 3, 3)),
    case("inv adjoint", lambda x: linalg.inv(x, adjoint=True), conditioned(3, 3)),
    case("det", linalg.det, conditioned(3, 3)),
    case("det negative", linalg.det, negative_det(3, 3)),
    case("det batch", linalg.det, conditioned(2, 2, 3, 3)),
    case("slogdet log_abs", log_abs_det, conditioned(3, 3)),
    case("slogdet negative", signed_log_abs_det, negative_det(3, 3)),
    case("slogdet batch", log_abs_det, conditioned(2, 4, 4)),
    case("slogdet sign only", sign_only, negative_det(2, 2)),
    case("solve", linalg.solve, conditioned(3, 3), u(3, 2)),
    case("solve one rhs", linalg.solve, conditioned(3, 3), u(3, 1)),
    case("solve batch", linalg.solve, conditioned(2, 3, 3), u(2, 3, 2)),
    case("solve adjoint", lambda a, b: linalg.solve(a, b, adjoint=True), conditioned(3, 3),
         u(3, 2)),
    case("cholesky", lambda a: linalg.cholesky(spd(a)), u(3, 3)),
    case("cholesky batch", lambda a: linalg.cholesky(spd(a)), u(2, 3, 3)),
    case("cholesky 1x1", lambda a: linalg.cholesky(spd(a)), u(1, 1)),
]

DIAGONAL_CASES = [
    case("diag", linalg.diag, u(3)),
    case("diag batch", linalg.diag, u(2, 3)),
    case("diag padding", lambda v: linalg.diag(v, padding_value=0.5), u(3)),
    case("diag_part", linalg.diag_part, u(3, 3)),
    case("diag_part wide", linalg.diag_part, u(2, 3, 4)),
    case("diag_part tall", linalg.diag_part, u(4, 3)),
    case("trace", linalg.trace, u(3, 3)),
    case("trace batch wide", linalg.trace, u(2, 2, 3)),
]


# diagonals are linear; cubing makes their first derivative depend on the input again
def _cubed(f):
    return lambda *xs: f(*xs) ** 3


SECOND_CASES = [
    case("inv", linalg.inv, conditioned(3, 3)),
    case("inv batch adjoint", lambda x: linalg.inv(x, adjoint=True), conditioned(2, 2, 2)),
    case("det", linalg.det, conditioned(3, 3)),
    case("det batch negative", linalg.det, negative_det(2, 3, 3)),
    case("slogdet", signed_log_abs_det, negative_det(3, 3)),
    case("slogdet sign only", sign_only, negative_det(2, 2)),
    case("solve", linalg.solve, conditioned(3, 3), u(3, 2)),
    case("solve batch adjoint", lambda a, b: linalg.solve(a, b, adjoint=True),
         conditioned(2, 2, 2), u(2, 2, 1)),
    case("cholesky", lambda a: linalg.cholesky(spd(a)), u(3, 3)),
    case("cholesky batch", lambda a: linalg.cholesky(spd(a)), u(2, 2, 2)),
    case("diag", _cubed(linalg.diag), u(2, 3)),
    case("diag_part", _cubed(linalg.diag_part), u(3, 4)),
    case("trace", _cubed(linalg.trace), u(2, 3, 3)),
]

FIRST_ORDER = SQUARE_CASES + DIAGONAL_CASES
SECOND_ORDER = SECOND_CASES


test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)
