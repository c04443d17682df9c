"""A sweep that no tape records and one that a tape records give the same gradients.

The gradient functions are the same in both (each op's gradient is written once, with ops);
recorded, they leave ops on the outer tape, which must not change a single number.
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


def _gradients(f, inputs, weights, recorded):
    xs = [mt.constant(x) for x in inputs]
    with mt.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs) * weights  # a seed for f that is not all ones
    if not recorded:
        return tape.gradient(y, xs)
    with mt.GradientTape() as outer:  # a tape recording the sweep
        outer.watch(xs)
        return tape.gradient(y, xs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_recorded_sweep_gives_the_unrecorded_ones_numbers(name):
    f, inputs = CASES[name]
    weights = mt.constant(_u(*f(*inputs).shape))
    plain = _gradients(f, inputs, weights, recorded=False)
    recorded = _gradients(f, inputs, weights, recorded=True)
    for grad, again, x in zip(plain, recorded, inputs):
        assert type(grad) is mt.Tensor and grad.shape == x.shape
        np.testing.assert_allclose(grad.numpy(), again.numpy(), rtol=1e-12, atol=1e-15)


def test_every_registered_gradient_is_written_once():
    """No second registry of gradients beside the one the sweep reads."""
    assert not hasattr(core, "_array_gradients") and not hasattr(core, "register_array_gradient")


def test_the_gradient_of_an_op_with_an_unused_second_output_gets_none_for_it():
    x = mt.constant(_u(4, 3))
    seen = []

    @core.register_gradient("test_two_outputs")
    def _grad(op, grad_first, grad_second):
        seen.append(grad_second)
        return (grad_first,)

    try:
        with mt.GradientTape() as tape:
            tape.watch(x)
            first, _second = core.run_outputs("test_two_outputs", lambda a: (a * 2, a * 3), (x,))
            total = mt.reduce_sum(first)
        grad = tape.gradient(total, x)
    finally:
        del core._gradients["test_two_outputs"]
    assert seen == [None]  # no zeros made for an output nothing used
    np.testing.assert_array_equal(grad.numpy(), np.ones((4, 3)))


def test_ops_run_their_gradient_function_on_tensors():
    x = mt.constant(np.array([0.5, 1.0, 2.0]))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.reduce_sum(mt.sqrt(x) * x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 1.5 * np.sqrt([0.5, 1.0, 2.0]))
