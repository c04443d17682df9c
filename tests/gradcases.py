"""What the gradient tables share: inputs where finite differences are valid, and the checks.

A table row is ``case(id, f, *inputs, **tolerances)``; ``f`` takes tensors and returns one.
Integer arguments (labels, indices, axes) live inside ``f``, so every input can be perturbed.
"""
import numpy as np
import pytest

import minitrain as mt
from minitrain.gradcheck import check_gradients, gradient_function


class Inputs:
    """Seeded float64 inputs, each kind kept away from the points where some op has a kink."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def uniform(self, *shape, low=-2.0, high=2.0):
        return self.rng.uniform(low, high, size=shape)

    def positive(self, *shape):
        """For log, sqrt, pow bases: well inside the domain."""
        return self.uniform(*shape, low=0.5, high=2.0)

    def signed(self, *shape):
        """|x| >= 0.2 with a random sign: away from 0, the kink of abs, relu and friends."""
        magnitude = self.uniform(*shape, low=0.2, high=2.0)
        return magnitude * self.rng.choice([-1.0, 1.0], size=shape)

    def distinct(self, *shape):
        """Values at least 0.1 apart, shuffled: max and min have no ties, even nearly."""
        size = int(np.prod(shape))
        grid = (np.arange(size) - size / 2) * 0.25 + self.uniform(size, low=0.0, high=0.1)
        return self.rng.permutation(grid).reshape(shape)


def case(name, f, *inputs, marks=(), **tolerances):
    """One table row; ``tolerances`` go to check_gradients (atol, rtol, eps), ``marks`` to
    pytest (``pytest.mark.gpu`` for a row that needs a GPU whatever the device fixture)."""
    return pytest.param(f, inputs, tolerances, id=name, marks=marks)


def check_first(f, inputs, tolerances):
    check_gradients(f, inputs, **tolerances)


def check_second(f, inputs, tolerances):
    """Every block of the Hessian: d/d(all inputs) of the tape gradient wrt each input.

    The inner tape seeds its sweep with ones, so the gradient reaching the op would be a
    constant, uniform along every axis: softmax's gradient, say, would vanish, and no
    gradient's derivative with respect to its upstream gradient would be exercised. Fixed
    random weights and a factor that depends on the input (and stays in [1, 3]) prevent both.
    """
    shape = np.shape(f(*[mt.constant(np.asarray(x, dtype=np.float64)) for x in inputs]))
    weights = np.random.default_rng(99).uniform(0.5, 1.5, size=shape)

    def weighted(*xs):
        return f(*xs) * weights * (2 + mt.tanh(mt.reduce_mean(xs[0])))

    for k in range(len(inputs)):
        check_gradients(gradient_function(weighted, k), inputs, **tolerances)


def table_tests(first_order, second_order):
    """The two tests of a table module: every row's first derivatives, and its second.

        test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)
    """

    @pytest.mark.parametrize("f, inputs, tolerances", first_order)
    def test_gradient(f, inputs, tolerances):
        check_first(f, inputs, tolerances)

    @pytest.mark.parametrize("f, inputs, tolerances", second_order)
    def test_second_derivative(f, inputs, tolerances):
        check_second(f, inputs, tolerances)

    return test_gradient, test_second_derivative


def tape_gradient(f, x):
    """d sum(f(x)) / dx from a tape, x given as an array."""
    x = mt.constant(x)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return tape.gradient(y, x)
