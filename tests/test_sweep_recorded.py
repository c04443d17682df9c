"""The sweep's first-order pass on arrays: each op's array twin against its gradient function.

With no tape recording the sweep, gradients run as the ops' array twins; with one recording,
as differentiable ops. Both must give the same numbers (the twins are the same maths).
"""
import numpy as np
import pytest

import minitrain as mt
from minitrain.ops import core
from minitrain.ops import nn as nn_ops

rng = np.random.default_rng(7)


def _u(*shape):
    return rng.uniform(-1.0, 1.0, shape)


_LABELS = np.array([2, 0, 1, 2])
CASES = {  # op name -> (function of the inputs, inputs); shapes broadcast where they can
    "add": (lambda a, b: a + b, [_u(3, 4), _u(4)]),
    "subtract": (lambda a, b: a - b, [_u(2, 1, 4), _u(3, 1)]),
    "multiply": (lambda a, b: a * b, [_u(3, 4), _u(3, 1)]),
    "matmul": (lambda a, b: mt.matmul(a, b), [_u(2, 3, 4), _u(4, 5)]),
    "matmul transposed": (lambda a, b: mt.matmul(a, b, transpose_a=True, transpose_b=True),
                          [_u(4, 3), _u(5, 4)]),
    "relu": (mt.nn.relu, [_u(3, 4)]),
    "exp": (mt.exp, [_u(3, 4)]),
    "log": (mt.math.log, [_u(3, 4) + 2]),
    "sin": (mt.sin, [_u(3, 4)]),
    "cos": (mt.cos, [_u(3, 4)]),
    "tanh": (mt.tanh, [_u(3, 4)]),
    "sigmoid": (mt.sigmoid, [_u(3, 4)]),
    "bias_relu": (mt.nn.bias_relu, [_u(5, 4), _u(4)]),
    "reduce_sum": (lambda a: mt.reduce_sum(a, axis=1), [_u(2, 3, 4)]),
    "reduce_mean": (lambda a: mt.reduce_mean(a, axis=(0, 2), keepdims=True), [_u(2, 3, 4)]),
    "broadcast_to": (lambda a: mt.broadcast_to(a, (3, 2, 4)), [_u(2, 1)]),
    "sparse_softmax_cross_entropy": (
        lambda a: mt.nn.sparse_softmax_cross_entropy_with_logits(_LABELS, a), [_u(4, 3)]),
    "sparse_softmax_cross_entropy_mean": (
        lambda a: nn_ops.sparse_softmax_cross_entropy_mean(_LABELS, a), [_u(4, 3)]),
}


def _gradients(f, inputs, weights, on_arrays):
    xs = [mt.constant(x) for x in inputs]
    with mt.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs) * weights  # a seed for f that is not all ones
    if on_arrays:
        return tape.gradient(y, xs)
    with mt.GradientTape():  # recording the sweep: the differentiable gradients run
        return tape.gradient(y, xs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_array_twin_gives_the_gradient_functions_numbers(name):
    f, inputs = CASES[name]
    weights = mt.constant(_u(*f(*inputs).shape))
    twins = _gradients(f, inputs, weights, on_arrays=True)
    differentiable = _gradients(f, inputs, weights, on_arrays=False)
    for twin, grad, x in zip(twins, differentiable, inputs):
        assert type(twin) is mt.Tensor and twin.shape == x.shape
        np.testing.assert_allclose(twin.numpy(), grad.numpy(), rtol=1e-12, atol=1e-15)


def test_every_array_twin_has_a_case():
    covered = {name.split(" ")[0] for name in CASES}
    assert set(core._array_gradients) <= covered


def test_ops_without_a_twin_run_their_gradient_function_on_the_arrays():
    x = mt.constant(np.array([0.5, 1.0, 2.0]))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.reduce_sum(mt.sqrt(x) * x)  # sqrt has no twin: its gradient runs on tensors
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 1.5 * np.sqrt([0.5, 1.0, 2.0]))
