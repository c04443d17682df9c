"""@mt.custom_gradient as in TensorFlow: f(*x) -> (y, grad_fn), variables, nested tapes."""
import numpy as np
import pytest

import minitrain as mt

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")


@mt.custom_gradient
def log1pexp(x):
    """TensorFlow's documented example: log(1 + e^x) with a gradient stable for large x."""
    e = mt.exp(x)

    def grad(upstream):
        return upstream * (1 - 1 / (1 + e))

    return mt.math.log(1 + e), grad


@mt.custom_gradient
def log1pexp_recomputed(x):
    """The same function, its gradient written from the input alone."""

    def grad(upstream):
        return upstream * mt.sigmoid(x)

    return mt.math.log(1 + mt.exp(x)), grad


def _grad(f, x):
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return y, tape.gradient(y, x)


def test_log1pexp_gradient_is_stable_where_the_plain_one_is_not():
    x = mt.constant(100.0)
    with np.errstate(over="ignore", invalid="ignore"):
        _, plain = _grad(lambda t: mt.math.log(1 + mt.exp(t)), x)
        _, custom = _grad(log1pexp, x)
    assert np.isnan(float(plain))
    assert float(custom) == 1.0


@pytest.mark.parametrize("x0", [-3.0, 0.0, 0.5, 4.0])
def test_log1pexp_value_and_gradient(x0):
    y, g = _grad(log1pexp, mt.constant(np.float64(x0)))
    np.testing.assert_allclose(float(y), np.log1p(np.exp(x0)), rtol=1e-14)
    np.testing.assert_allclose(float(g), 1 / (1 + np.exp(-x0)), rtol=1e-14)


def test_custom_gradient_replaces_the_true_gradient():
    @mt.custom_gradient
    def clip_gradient(x):
        def grad(dy):
            return mt.clip_by_value(dy, -0.5, 0.5)

        return mt.identity(x), grad

    x = mt.constant([1.0, 2.0, 3.0])
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = clip_gradient(x) * mt.constant([0.25, 1.0, -3.0])
    np.testing.assert_array_equal(y.numpy(), [0.25, 2.0, -9.0])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.25, 0.5, -0.5])


def test_chain_rule_through_a_custom_gradient():
    x = mt.constant(np.float64(0.3))
    y, g = _grad(lambda t: 3.0 * log1pexp(t * t), x)
    np.testing.assert_allclose(float(g), 3.0 / (1 + np.exp(-0.09)) * 2 * 0.3, rtol=1e-14)


def test_multiple_inputs_get_one_gradient_each():
    @mt.custom_gradient
    def weighted(a, b, c):
        def grad(dy):
            return dy * b * c, dy * a * c, None

        return a * b * c, grad

    a, b, c = mt.constant(2.0), mt.constant(5.0), mt.constant(7.0)
    with mt.GradientTape() as tape:
        tape.watch([a, b, c])
        y = weighted(a, b, c)
    assert float(y) == 70.0
    ga, gb, gc = tape.gradient(y, [a, b, c])
    assert (float(ga), float(gb), gc) == (35.0, 14.0, None)


def test_grad_fn_with_a_wrong_number_of_gradients_is_reported():
    @mt.custom_gradient
    def two_inputs(a, b):
        return a * b, lambda dy: dy

    a, b = mt.constant(2.0), mt.constant(5.0)
    with mt.GradientTape() as tape:
        tape.watch([a, b])
        y = two_inputs(a, b)
    with pytest.raises(ValueError, match="two_inputs.*1 gradients for 2 inputs"):
        tape.gradient(y, [a, b])


def test_outside_a_tape_only_the_value_is_computed():
    y = log1pexp(mt.constant(0.0))
    assert isinstance(y, mt.Tensor)
    np.testing.assert_allclose(float(y), np.log(2.0), rtol=1e-6)


# --- variables ---------------------------------------------------------------------------------
def test_tensorflow_linear_poly_example_with_variables():
    weights = mt.Variable(np.array([0.5, -1.5], np.float32))
    seen = {}

    @mt.custom_gradient
    def linear_poly(x):
        poly = weights[1] * x + weights[0]

        def grad_fn(dpoly, variables=None):
            seen["variables"] = variables
            grad_xs = dpoly * weights[1]
            dy_dw = dpoly * mt.stack([x**1, x**0])
            return grad_xs, [mt.reduce_sum(mt.reshape(dy_dw, [2, -1]), axis=1)]

        return poly, grad_fn

    x = mt.constant([1.0, 2.0, 3.0])
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = linear_poly(x)
    np.testing.assert_allclose(y.numpy(), -1.5 * np.array([1.0, 2.0, 3.0]) + 0.5)
    gx, gw = tape.gradient(y, [x, weights])
    assert len(seen["variables"]) == 1 and seen["variables"][0] is weights
    np.testing.assert_array_equal(gw.numpy(), [6.0, 3.0])
    np.testing.assert_array_equal(gx.numpy(), [-1.5, -1.5, -1.5])


def test_reading_a_variable_needs_a_grad_fn_that_takes_variables():
    v = mt.Variable(3.0, name="scale")

    @mt.custom_gradient
    def scaled(x):
        return x * v, lambda dy: dy * v

    x = mt.constant(2.0)
    with mt.GradientTape() as tape, pytest.raises(TypeError, match="scale.*variables"):
        tape.watch(x)
        scaled(x)


def test_non_trainable_variables_are_not_passed_to_grad_fn():
    frozen = mt.Variable(3.0, trainable=False)

    @mt.custom_gradient
    def scaled(x):
        return x * frozen, lambda dy: dy * frozen

    x = mt.constant(2.0)
    y, g = _grad(scaled, x)
    assert float(y) == 6.0 and float(g) == 3.0


# --- nested tapes ------------------------------------------------------------------------------
def _second_derivative(f, x0):
    x = mt.constant(np.float64(x0))
    with mt.GradientTape() as outer:
        outer.watch(x)
        with mt.GradientTape() as inner:
            inner.watch(x)
            y = f(x)
        dy = inner.gradient(y, x)
    return dy, outer.gradient(dy, x)


def _sigmoid_prime(x0):
    s = 1 / (1 + np.exp(-x0))
    return s * (1 - s)


def test_second_derivative_through_a_grad_fn_of_the_inputs():
    dy, d2y = _second_derivative(log1pexp_recomputed, 0.4)
    np.testing.assert_allclose(float(dy), 1 / (1 + np.exp(-0.4)), rtol=1e-14)
    np.testing.assert_allclose(float(d2y), _sigmoid_prime(0.4), rtol=1e-14)


def test_second_derivative_through_tensorflows_log1pexp():
    dy, d2y = _second_derivative(log1pexp, 0.4)
    np.testing.assert_allclose(float(dy), 1 / (1 + np.exp(-0.4)), rtol=1e-14)
    assert d2y is not None
    np.testing.assert_allclose(float(d2y), _sigmoid_prime(0.4), rtol=1e-14)


def test_custom_gradient_inside_the_inner_of_two_tapes_with_a_variable():
    v = mt.Variable(np.float64(3.0))

    @mt.custom_gradient
    def times_v_squared(x):
        def grad_fn(dy, variables=None):
            return dy * v * v, [dy * 2.0 * x * v]

        return x * v * v, grad_fn

    x = mt.constant(np.float64(2.0))
    with mt.GradientTape() as outer:
        outer.watch(x)
        with mt.GradientTape() as inner:
            inner.watch(x)
            y = times_v_squared(x)
        dy_dx, dy_dv = inner.gradient(y, [x, v])
    # d/dv (v^2) = 2v, d/dx (2xv) = 2v
    d2 = outer.gradient([dy_dx, dy_dv], [x, v])
    assert (float(dy_dx), float(dy_dv)) == (9.0, 12.0)
    assert [float(g) for g in d2] == [2 * 3.0, 2 * 3.0 + 2 * 2.0]


def test_a_grad_fn_returning_too_few_variable_gradients_is_an_error():
    weights = mt.Variable([2.0, 3.0])

    @mt.custom_gradient
    def scaled(x):
        def grad_fn(dy, variables=None):
            return dy * weights[0], []  # forgets the variable's gradient

        return x * weights[0], grad_fn

    x = mt.constant(1.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = scaled(x)
    with pytest.raises(ValueError, match="0 variable gradients for the 1 variables"):
        tape.gradient(y, [x, weights])
