"""Tensor operators and indexing: values as numpy computes them, gradients, dtype/shape errors."""
import operator

import numpy as np
import pytest

import minitrain as mt
from minitrain.gradcheck import check_gradients

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")

A = np.array([[7.0, -3.0, 2.5], [0.5, -1.25, 4.0]])
B = np.array([[2.0, 2.0, -1.5], [3.0, 0.75, -2.5]])
POSITIVE = np.abs(A) + 0.5

BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow,
}
COMPARISONS = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}


def _operands(symbol):
    return (POSITIVE, B) if symbol == "**" else (A, B)


@pytest.mark.parametrize("symbol", BINARY)
def test_binary_operators_match_numpy(symbol):
    f = BINARY[symbol]
    a, b = _operands(symbol)
    got = f(mt.constant(a), mt.constant(b))
    assert isinstance(got, mt.Tensor) and got.dtype == np.float64
    np.testing.assert_allclose(got.numpy(), f(a, b), rtol=1e-12)


@pytest.mark.parametrize("symbol", BINARY)
@pytest.mark.parametrize("side", ["python scalar on the right", "python scalar on the left"])
def test_operators_with_python_scalars_keep_the_tensor_dtype(symbol, side):
    f = BINARY[symbol]
    a = _operands(symbol)[0].astype(np.float32)
    x = mt.constant(a)
    got, want = (f(x, 1.5), f(a, np.float32(1.5))) if side.endswith("right") \
        else (f(1.5, x), f(np.float32(1.5), a))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_operators_with_numpy_arrays_on_either_side():
    x = mt.constant(A)
    np.testing.assert_allclose((B - x).numpy(), B - A)
    np.testing.assert_allclose((x - B).numpy(), A - B)
    np.testing.assert_allclose((B.T @ x).numpy(), B.T @ A)


@pytest.mark.parametrize("name, f, want", [
    ("neg", lambda x: -x, lambda a: -a),
    ("abs", abs, np.abs),
    ("matmul", lambda x: x @ mt.constant(B.T), lambda a: a @ B.T),
    ("rmatmul", lambda x: mt.constant(B.T) @ x, lambda a: B.T @ a),
])
def test_unary_operators_and_matmul_match_numpy(name, f, want):
    np.testing.assert_allclose(f(mt.constant(A)).numpy(), want(A))


@pytest.mark.parametrize("symbol", ["+", "-", "*", "/", "%", "**"])
def test_differentiable_binary_operators_match_finite_differences(symbol):
    f = BINARY[symbol]
    check_gradients(lambda x, y: f(x, y), list(_operands(symbol)))


@pytest.mark.parametrize("f", [operator.neg, abs, lambda x: x @ mt.constant(B.T)],
                         ids=["neg", "abs", "matmul"])
def test_differentiable_unary_operators_match_finite_differences(f):
    check_gradients(f, [A])


def test_floordiv_has_no_gradient():
    x = mt.constant(A)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x // 2.0
    assert tape.gradient(y, x) is None


@pytest.mark.parametrize("symbol", COMPARISONS)
def test_comparisons_are_boolean_and_not_differentiable(symbol):
    f = COMPARISONS[symbol]
    x, y = mt.constant(A), mt.constant(np.where(A > 1, A, B))
    with mt.GradientTape() as tape:
        tape.watch([x, y])
        result = f(x, y)
        as_float = mt.cast(result, mt.float64)
    assert result.dtype == np.bool_
    np.testing.assert_array_equal(result.numpy(), f(A, np.where(A > 1, A, B)))
    assert tape.gradient(as_float, [x, y]) == [None, None]


# --- indexing ----------------------------------------------------------------------------------
X = np.arange(24.0).reshape(2, 3, 4)
INDICES = {
    "int": 1,
    "negative int": (-1, 2),
    "slice": (slice(None), slice(1, 3)),
    "step": (slice(None), slice(None, None, 2), slice(3, 0, -2)),
    "None": (None, 0, slice(None), None),
    "Ellipsis": (Ellipsis, 1),
    "Ellipsis and None": (0, Ellipsis, None),
    "int array": (slice(None), np.array([2, 0])),
    "repeated int array": (np.array([1, 1, 0]),),
    "list": ([0, 1, 1], [2, 2, 0]),
    "mixed arrays and slices": (np.array([[0], [1]]), slice(None), np.array([3, 3, 1])),
    "int tensor": (slice(None), mt.constant([2, 2, 1])),
    "boolean mask": (X[..., 0] > 5,),
}


def _reference_index(index):
    return tuple(np.asarray(p) if isinstance(p, mt.Tensor) else p for p in
                 (index if isinstance(index, tuple) else (index,)))


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_indexing_matches_numpy(index):
    got = mt.constant(X)[index]
    np.testing.assert_array_equal(got.numpy(), X[_reference_index(index)])


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_indexing_is_differentiable(index):
    """d sum(w * x[index]) / dx: each element of x collects the weights of its copies."""
    x = mt.constant(X)
    positions = np.arange(X.size).reshape(X.shape)[_reference_index(index)]
    weights = np.random.default_rng(0).uniform(1, 2, size=positions.shape)
    want = np.bincount(positions.ravel(), weights.ravel(), minlength=X.size).reshape(X.shape)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x[index]
    got = tape.gradient(y, x, output_gradients=mt.constant(weights))
    np.testing.assert_allclose(got.numpy(), want)


def test_out_of_range_index_names_the_shape():
    with pytest.raises(IndexError, match=r"\(2, 3, 4\)"):
        mt.constant(X)[5]


def test_iteration_and_len_follow_the_first_axis():
    rows = list(mt.constant(X))
    assert len(mt.constant(X)) == 2 and len(rows) == 2
    np.testing.assert_array_equal(rows[1].numpy(), X[1])


# --- errors ------------------------------------------------------------------------------------
DTYPE_MISMATCH = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
    "divide": operator.truediv, "pow": operator.pow, "matmul": operator.matmul,
    "less": operator.lt, "floordiv": operator.floordiv,
}


@pytest.mark.parametrize("name", DTYPE_MISMATCH)
def test_dtype_mismatch_names_the_op_and_both_dtypes(name):
    a = mt.constant(np.ones((2, 2), np.float32))
    b = mt.constant(np.ones((2, 2), np.float64))
    with pytest.raises(TypeError) as error:
        DTYPE_MISMATCH[name](a, b)
    message = str(error.value)
    assert name in message and "float32" in message and "float64" in message


SHAPE_MISMATCH = [
    ("add", operator.add), ("subtract", operator.sub), ("multiply", operator.mul),
    ("divide", operator.truediv), ("mod", operator.mod), ("pow", operator.pow),
    ("maximum", mt.maximum),
    ("floordiv", operator.floordiv), ("less", operator.lt), ("equal", operator.eq),
]


@pytest.mark.parametrize("name, f", SHAPE_MISMATCH)
def test_shape_mismatch_names_the_op_and_both_shapes(name, f):
    with pytest.raises(ValueError) as error:
        f(mt.constant(np.ones((2, 3))), mt.constant(np.ones(4)))
    message = str(error.value)
    assert name in message and "(2, 3)" in message and "(4,)" in message


def test_matmul_shape_mismatch_names_the_op_and_both_shapes():
    with pytest.raises(ValueError) as error:
        mt.constant(np.ones((2, 3))) @ mt.constant(np.ones((2, 3)))
    message = str(error.value)
    assert "matmul" in message and message.count("(2, 3)") == 2


@pytest.mark.parametrize("op", [mt.exp, mt.math.log, mt.sin, mt.tanh, mt.sigmoid, mt.sqrt,
                                mt.math.erf, mt.math.rsqrt])
def test_floating_only_functions_refuse_integers_naming_the_op(op):
    with pytest.raises(TypeError, match=f"{op.__name__}: needs a floating tensor, got int32"):
        op(mt.constant([1, 2]))


@pytest.mark.parametrize("join", [mt.concat, mt.stack])
def test_joining_nothing_is_an_error_naming_the_op(join):
    with pytest.raises(ValueError, match=f"{join.__name__}: needs at least one tensor"):
        join([], 0)


def test_comparing_with_none_is_false_as_in_tensorflow():
    x = mt.constant([1.0])
    assert (x == None) is False and (x != None) is True  # noqa: E711
