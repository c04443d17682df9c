"""Elementwise ops: gradients and second derivatives against finite differences (float64)."""
import math

import numpy as np
import pytest
from gradcases import Inputs, case, table_tests

import minitrain as mt
from minitrain.ops import elementwise

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")

rng = Inputs(seed=0)

UNARY = [  # (name, op, input maker): each input stays where its op is smooth
    ("negative", mt.negative, rng.uniform),
    ("square", mt.square, rng.uniform),
    ("sqrt", mt.sqrt, rng.positive),
    ("rsqrt", mt.rsqrt, rng.positive),
    ("reciprocal", mt.reciprocal, rng.signed),
    ("abs", mt.abs, rng.signed),
    ("sign", mt.sign, rng.signed),
    ("exp", mt.exp, rng.uniform),
    ("expm1", mt.expm1, rng.uniform),
    ("log", mt.log, rng.positive),
    ("log1p", mt.log1p, lambda *s: rng.uniform(*s, low=-0.5, high=2.0)),
    ("sin", mt.sin, rng.uniform),
    ("cos", mt.cos, rng.uniform),
    ("tan", mt.tan, lambda *s: rng.uniform(*s, low=-1.2, high=1.2)),
    ("tanh", mt.tanh, rng.uniform),
    ("sigmoid", mt.sigmoid, lambda *s: rng.uniform(*s, low=-4.0, high=4.0)),
    # beyond |x| = 2 erf switches from its series to a continued fraction: cover both
    ("erf", mt.erf, lambda *s: rng.uniform(*s, low=-3.0, high=3.0)),
    ("identity", mt.identity, rng.uniform),
    # flat between integers: finite differences give 0 and the tape gives no gradient
    ("floor", mt.floor, lambda *s: rng.uniform(*s, low=0.1, high=0.9) + 2),
    ("round", mt.round, lambda *s: rng.uniform(*s, low=-0.4, high=0.4) - 1),
]
UNARY_SHAPES = [(), (5,), (2, 3)]
UNARY_CASES = [case(f"{name}{shape}", op, make(*shape))
               for name, op, make in UNARY for shape in UNARY_SHAPES]

BROADCAST_SHAPES = [((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,)), ((2, 3), ()),
                    ((2, 3), (2, 3)), ((1, 3), (2, 1))]
BINARY = [  # (name, op, maker of x, maker of y)
    ("add", mt.add, rng.uniform, rng.uniform),
    ("subtract", mt.subtract, rng.uniform, rng.uniform),
    ("multiply", mt.multiply, rng.uniform, rng.uniform),
    ("divide", mt.divide, rng.uniform, rng.signed),
    ("pow", mt.pow, rng.positive, rng.uniform),
    # random values are almost surely untied: the seed is fixed, so "almost" is "never"
    ("maximum", mt.maximum, rng.uniform, rng.uniform),
    ("minimum", mt.minimum, rng.uniform, rng.uniform),
    ("mod", mt.mod, lambda *s: rng.uniform(*s, low=0.1, high=5.0),
     lambda *s: rng.uniform(*s, low=0.7, high=1.5)),
]
BINARY_CASES = [case(f"{name}{sx}&{sy}", op, make_x(*sx), make_y(*sy))
                for name, op, make_x, make_y in BINARY for sx, sy in BROADCAST_SHAPES]

OPERATOR_CASES = [
    case("x+y", lambda x, y: x + y, rng.uniform(3, 4), rng.uniform(4)),
    case("x-y", lambda x, y: x - y, rng.uniform(3, 4), rng.uniform(3, 1)),
    case("x*y", lambda x, y: x * y, rng.uniform(2, 3), rng.uniform(3)),
    case("x/y", lambda x, y: x / y, rng.uniform(2, 3), rng.signed(2, 1)),
    case("x**y", lambda x, y: x**y, rng.positive(3), rng.uniform(2, 3)),
    case("-x", lambda x: -x, rng.uniform(4)),
    case("abs(x)", lambda x: abs(x), rng.signed(4)),
    case("2.5-x", lambda x: 2.5 - x, rng.uniform(4)),
    case("1.5/x", lambda x: 1.5 / x, rng.signed(4)),
    case("2**x", lambda x: 2.0**x, rng.uniform(4)),
    case("x**3", lambda x: x**3, rng.uniform(4)),
    case("x**0.5", lambda x: x**0.5, rng.positive(4)),
    case("x%1.5", lambda x: x % 1.5, rng.uniform(4, low=0.1, high=1.4)),
    case("4%x", lambda x: 4.0 % x, rng.uniform(4, low=1.1, high=1.9)),
]

SECOND_CASES = (
    [case(f"{name}(2,3)", op, make(2, 3)) for name, op, make in UNARY]
    + [case(f"{name}{sx}&{sy}", op, make_x(*sx), make_y(*sy))
       for name, op, make_x, make_y in BINARY if name in ("multiply", "divide", "pow")
       for sx, sy in BROADCAST_SHAPES]
    + [case("x**3", lambda x: x**3, rng.uniform(4)),
       case("2**x", lambda x: 2.0**x, rng.uniform(4)),
       case("1.5/x", lambda x: 1.5 / x, rng.signed(4))])

# The rows below draw their inputs after every row above, whose inputs stay as they were.
# The ops a first-order gradient runs as one op (TensorFlow's TanhGrad, SigmoidGrad; SinGrad and
# CosGrad in the same way): a second
# derivative records them, and here they are rows of their own, polynomials in y and dy.
GRADIENT_OP_CASES = [
    case("tanh_grad", elementwise.tanh_grad, rng.uniform(2, 3, low=-1, high=1), rng.uniform(2, 3)),
    case("tanh_grad broadcast dy", elementwise.tanh_grad, rng.uniform(2, 3), rng.uniform(3)),
    case("sigmoid_grad", elementwise.sigmoid_grad, rng.uniform(2, 3, low=0, high=1),
         rng.uniform(2, 3)),
    case("sigmoid_grad broadcast y", elementwise.sigmoid_grad, rng.uniform(3), rng.uniform(2, 3)),
    case("sin_grad", elementwise.sin_grad, rng.uniform(2, 3), rng.uniform(2, 3)),
    case("sin_grad broadcast dy", elementwise.sin_grad, rng.uniform(2, 3), rng.uniform(3)),
    case("cos_grad", elementwise.cos_grad, rng.uniform(2, 3), rng.uniform(2, 3)),
    case("cos_grad broadcast x", elementwise.cos_grad, rng.uniform(3), rng.uniform(2, 3)),
]
SECOND_SELECTION_CASES = [
    case(f"{name}{sx}&{sy}", op, make_x(*sx), make_y(*sy))
    for name, op, make_x, make_y in BINARY if name in ("maximum", "minimum", "mod")
    for sx, sy in BROADCAST_SHAPES]

FIRST_ORDER = UNARY_CASES + BINARY_CASES + OPERATOR_CASES + GRADIENT_OP_CASES
SECOND_ORDER = SECOND_CASES + GRADIENT_OP_CASES + SECOND_SELECTION_CASES


test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)


_erf = np.vectorize(math.erf)
FORWARD = [  # (op, numpy twin, input)
    (mt.erf, _erf, np.linspace(-6.0, 6.0, 41)),
    (mt.sigmoid, lambda x: 1 / (1 + np.exp(-x)), np.linspace(-30.0, 30.0, 13)),
    (mt.rsqrt, lambda x: 1 / np.sqrt(x), np.linspace(0.1, 9.0, 7)),
    (lambda x: mt.mod(x, 1.5), lambda x: np.mod(x, 1.5), np.linspace(-4.0, 4.0, 9)),
    (lambda x: mt.pow(x, x[:, None]), lambda x: x ** x[:, None], np.linspace(0.5, 3.0, 4)),
]


@pytest.mark.parametrize("op, twin, x", FORWARD, ids=["erf", "sigmoid", "rsqrt", "mod", "pow"])
def test_forward_matches_numpy(op, twin, x):
    np.testing.assert_allclose(op(mt.constant(x)).numpy(), twin(x), rtol=1e-13, atol=1e-15)


def test_sigmoid_saturates_without_overflow():
    with np.errstate(over="raise"):
        y = mt.sigmoid(mt.constant([-800.0, 800.0])).numpy()
    np.testing.assert_array_equal(y, [0.0, 1.0])


DTYPE_OPS = [(name, op, make) for name, op, make in UNARY if name not in ("floor", "round")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, op, make", DTYPE_OPS, ids=[row[0] for row in DTYPE_OPS])
def test_unary_gradient_keeps_dtype(name, op, make, dtype):
    x = mt.constant(make(3).astype(dtype))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = op(x)
    assert y.dtype == dtype
    assert tape.gradient(y, x).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, op, make_x, make_y", BINARY, ids=[row[0] for row in BINARY])
def test_binary_gradient_keeps_dtype(name, op, make_x, make_y, dtype):
    x, y = mt.constant(make_x(2, 3).astype(dtype)), mt.constant(make_y(3).astype(dtype))
    with mt.GradientTape() as tape:
        tape.watch([x, y])
        z = op(x, 2 * y)  # a Python scalar operand takes the tensor's dtype
    assert [g.dtype for g in tape.gradient(z, [x, y])] == [dtype, dtype]


def test_output_gradients_of_another_shape_raise():
    x = mt.constant(np.array([1.0, 2.0, 3.0]))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x * 2
    with pytest.raises(ValueError):
        tape.gradient(y, x, output_gradients=np.ones((2, 3)))
