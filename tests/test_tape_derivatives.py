"""Jacobians, batch Jacobians and higher derivatives through nested and persistent tapes."""
import numpy as np
import pytest

import minitrain as mt

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")

RNG = np.random.default_rng(7)
W = RNG.normal(size=(2, 3))


def numeric_jacobian(f, x0, eps=1e-6):
    """Central differences in float64: shape f(x0).shape + x0.shape."""
    x0 = np.asarray(x0, dtype=np.float64)
    y_shape = np.shape(f(mt.constant(x0)))
    jac = np.zeros(y_shape + x0.shape)
    for i in np.ndindex(x0.shape):
        up, down = x0.copy(), x0.copy()
        up[i] += eps
        down[i] -= eps
        diff = np.asarray(f(mt.constant(up))) - np.asarray(f(mt.constant(down)))
        jac[(...,) + i] = diff / (2 * eps)
    return jac


def _jacobian(f, x0, **kwargs):
    x = mt.constant(x0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return tape.jacobian(y, x, **kwargs)


def test_jacobian_of_an_elementwise_function_is_diagonal():
    x0 = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(_jacobian(lambda x: x * x, x0).numpy(), np.diag(2 * x0))


def test_jacobian_matches_the_analytic_one():
    x0 = RNG.normal(size=3)
    got = _jacobian(lambda x: mt.tanh(mt.constant(W) @ x), x0).numpy()
    want = (1 - np.tanh(W @ x0) ** 2)[:, None] * W
    np.testing.assert_allclose(got, want, rtol=1e-12)


JACOBIAN_CASES = {
    "matrix to vector": (lambda x: mt.reduce_sum(x * x * x, axis=1), (2, 3)),
    "vector to matrix": (lambda x: mt.sin(x[:, None] * x[None, :]), (3,)),
    "matrix to matrix": (lambda x: mt.exp(x) @ mt.constant(W.T), (4, 3)),
    "vector to scalar": (lambda x: mt.reduce_sum(mt.tanh(x)), (5,)),
    "scalar to vector": (lambda x: x * mt.constant([1.0, 2.0, 3.0], dtype=mt.float64), ()),
}


@pytest.mark.parametrize("f, shape", JACOBIAN_CASES.values(), ids=JACOBIAN_CASES.keys())
def test_jacobian_matches_finite_differences(f, shape):
    x0 = RNG.normal(size=shape)
    got = _jacobian(f, x0)
    want = numeric_jacobian(f, x0)
    assert got.shape == want.shape == np.shape(f(mt.constant(x0))) + shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-8)


def test_jacobian_mirrors_nested_sources():
    a, b = mt.constant(np.array([1.0, 2.0])), mt.constant(np.array(3.0))
    with mt.GradientTape() as tape:
        tape.watch([a, b])
        y = a * b
    got = tape.jacobian(y, {"a": a, "b": [b]})
    np.testing.assert_array_equal(got["a"].numpy(), np.diag([3.0, 3.0]))
    np.testing.assert_array_equal(got["b"][0].numpy(), [1.0, 2.0])


def test_persistent_tape_takes_jacobian_and_gradient():
    x = mt.constant(np.array([1.0, 2.0]))
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x * x
    jac, grad = tape.jacobian(y, x), tape.gradient(y, x)
    np.testing.assert_array_equal(np.diag(jac.numpy()), grad.numpy())
    np.testing.assert_array_equal(grad.numpy(), 3 * np.array([1.0, 4.0]))


def test_jacobian_of_an_unconnected_source_is_none():
    x, z = mt.constant([1.0, 2.0, 3.0]), mt.constant([1.0, 2.0])
    with mt.GradientTape() as tape:
        tape.watch([x, z])
        y = x * x
    assert tape.jacobian(y, z) is None


def test_jacobian_of_an_unconnected_source_with_zero_has_the_jacobian_shape():
    x, z = mt.constant([1.0, 2.0, 3.0]), mt.constant([1.0, 2.0])
    with mt.GradientTape() as tape:
        tape.watch([x, z])
        y = x * x
    jac = tape.jacobian(y, z, unconnected_gradients=mt.UnconnectedGradients.ZERO)
    assert jac.shape == (3, 2)
    np.testing.assert_array_equal(jac.numpy(), np.zeros((3, 2)))


# --- batch_jacobian ----------------------------------------------------------------------------
def _per_example(f, x0):
    x = mt.constant(x0)
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = f(x)
    return tape.batch_jacobian(y, x), tape.jacobian(y, x)


BATCH_CASES = {
    "dense layer": (lambda x: mt.tanh(x @ mt.constant(W.T)), (4, 3), (4, 2, 3)),
    "elementwise": (lambda x: mt.sin(x) * x, (5, 2), (5, 2, 2)),
    "rank-3 target": (lambda x: x[:, :, None] * x[:, None, :], (3, 2), (3, 2, 2, 2)),
}


@pytest.mark.parametrize("f, shape, jac_shape", BATCH_CASES.values(), ids=BATCH_CASES.keys())
def test_batch_jacobian_is_the_diagonal_blocks_of_the_full_jacobian(f, shape, jac_shape):
    x0 = RNG.normal(size=shape)
    batch_jac, full = _per_example(f, x0)
    assert batch_jac.shape == jac_shape
    full = full.numpy()
    for b in range(shape[0]):
        np.testing.assert_allclose(batch_jac.numpy()[b], full[b, ..., b, :], rtol=1e-12)
    np.testing.assert_allclose(batch_jac.numpy(), _numeric_batch_jacobian(f, x0), rtol=1e-6)


def _numeric_batch_jacobian(f, x0):
    full = numeric_jacobian(f, x0)
    return np.stack([full[b, ..., b, :] for b in range(x0.shape[0])])


def test_batch_jacobian_needs_matching_batch_sizes():
    x, u = mt.constant(np.ones((4, 3))), mt.constant(np.ones((2, 3)))
    with mt.GradientTape() as tape:
        tape.watch([x, u])
        y = x * 2.0 + mt.reduce_sum(u)
    with pytest.raises(ValueError, match="batch"):
        tape.batch_jacobian(y, u)


def test_batch_jacobian_of_an_unconnected_source_with_zero():
    x, u = mt.constant(np.ones((4, 3))), mt.constant(np.ones((4, 3)))
    with mt.GradientTape() as tape:
        tape.watch([x, u])
        y = mt.tanh(x @ mt.constant(W.T))
    jac = tape.batch_jacobian(y, u, unconnected_gradients="zero")
    np.testing.assert_array_equal(jac.numpy(), np.zeros((4, 2, 3)))


# --- higher derivatives ------------------------------------------------------------------------
def nth_derivative(f, x, n):
    """d^n f / dx^n, one nested tape per order (the outermost tape takes the last one)."""
    if n == 0:
        return f(x)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = nth_derivative(f, x, n - 1)
    return tape.gradient(y, x)


X0 = 0.7
HIGHER = {
    "x**4": (lambda x: x**4, [4 * X0**3, 12 * X0**2, 24 * X0, 24.0]),
    "x*x*x*x": (lambda x: x * x * x * x, [4 * X0**3, 12 * X0**2, 24 * X0, 24.0]),
    "sin": (mt.sin, [np.cos(X0), -np.sin(X0), -np.cos(X0), np.sin(X0)]),
    "exp(2x)": (lambda x: mt.exp(2.0 * x), [2.0**n * np.exp(2 * X0) for n in (1, 2, 3, 4)]),
    "tanh": (mt.tanh, [1 - np.tanh(X0) ** 2,
                       -2 * np.tanh(X0) * (1 - np.tanh(X0) ** 2),
                       (1 - np.tanh(X0) ** 2) * (6 * np.tanh(X0) ** 2 - 2),
                       8 * np.tanh(X0) * (1 - np.tanh(X0) ** 2) * (2 - 3 * np.tanh(X0) ** 2)]),
}


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("f, derivatives", HIGHER.values(), ids=HIGHER.keys())
def test_nested_tapes_give_derivatives_of_any_order(f, derivatives, order):
    got = nth_derivative(f, mt.constant(np.float64(X0)), order)
    np.testing.assert_allclose(float(got), derivatives[order - 1], rtol=1e-12)


@pytest.mark.parametrize("x", [mt.Variable(3.0), mt.constant(3.0)], ids=["variable", "constant"])
def test_persistent_tape_differentiates_its_own_gradient(x):
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x * x
        dy_dx = tape.gradient(y, x)
    d2y_dx2 = tape.gradient(dy_dx, x)
    assert float(dy_dx) == 27.0 and float(d2y_dx2) == 18.0


def test_mixed_second_partials():
    x, y = mt.constant(np.float64(2.0)), mt.constant(np.float64(5.0))
    with mt.GradientTape() as outer:
        outer.watch([x, y])
        with mt.GradientTape() as inner:
            inner.watch([x, y])
            f = x * x * y + mt.sin(y)
        df_dx = inner.gradient(f, x)
    d2f_dxdy = outer.gradient(df_dx, [x, y])
    assert float(df_dx) == 2 * 2.0 * 5.0
    assert [float(g) for g in d2f_dxdy] == [2 * 5.0, 2 * 2.0]


def test_hessian_as_the_jacobian_of_a_gradient():
    x0 = RNG.normal(size=3)
    x = mt.constant(x0)
    with mt.GradientTape() as outer:
        outer.watch(x)
        with mt.GradientTape() as inner:
            inner.watch(x)
            f = mt.reduce_sum(x * x * x) + x[0] * x[1]
        grad = inner.gradient(f, x)
    hessian = outer.jacobian(grad, x)
    want = np.diag(6 * x0) + np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(hessian.numpy(), want, rtol=1e-12)
