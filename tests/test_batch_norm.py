"""The fused batch normalization of training (ops/batch_norm.py): the composite's numbers,
and derivatives of first order (on the arrays) and second (through ops) by finite
differences, through all three outputs."""
import numpy as np
import pytest
from gradcases import table_tests
from layercases import Draw, case

import minitrain as mt
from minitrain.ops.batch_norm import batch_norm_training

rng = Draw(seed=23)
u = rng.uniform

LAYOUTS = [  # (input shape, reduced axes): channels last, 2-D, and channels in the middle
    ((4, 3, 5, 6), (0, 1, 2)),
    ((7, 3), (0,)),
    ((3, 4, 5), (0, 2)),
]


def _composite(x, scale, offset, axes):
    mean, variance = mt.nn.moments(x, axes, keepdims=True)
    return mt.nn.batch_normalization(x, mean, variance, offset, scale, 1e-3), mean, variance


def _parameters(shape, axes, seed):
    stats = tuple(1 if i in axes else n for i, n in enumerate(shape))
    draw = np.random.default_rng(seed)
    return draw.uniform(0.5, 2, stats), draw.uniform(-1, 1, stats)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axes", LAYOUTS)
@pytest.mark.parametrize("scaled, offset", [(True, True), (False, False), (True, False)])
def test_outputs_are_moments_and_batch_normalization(shape, axes, dtype, scaled, offset):
    x = np.random.default_rng(0).normal(3, 2, shape).astype(dtype)
    scale, shift = (p.astype(dtype) for p in _parameters(shape, axes, 1))
    scale, shift = (scale if scaled else None), (shift if offset else None)
    got = batch_norm_training(x, scale, shift, axes, 1e-3)
    want = _composite(mt.constant(x), scale, shift, axes)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(got, want):
        assert a.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tolerance, atol=tolerance)


def _all_outputs(axes):
    """A function of y, mean and variance alike, so each output's gradient is exercised."""
    def f(x, scale, offset):
        y, mean, variance = batch_norm_training(x, scale, offset, axes, 1e-3)
        return mt.reduce_sum(y * y, axis=axes) + 2 * mt.reduce_sum(mean * variance, axis=axes)
    return f


def _y_only(axes):
    return lambda x, scale, offset: batch_norm_training(x, scale, offset, axes, 1e-3)[0]


BATCH_NORM_CASES = [case(f"{kind.__name__} {shape} over {axes}", kind(axes), u(*shape),
              *_parameters(shape, axes, 2))
         for shape, axes in LAYOUTS for kind in (_y_only, _all_outputs)]
BATCH_NORM_CASES.append(case("no scale or offset", lambda x: batch_norm_training(
    x, None, None, (0,), 1e-3)[0], u(5, 2)))

FIRST_ORDER = SECOND_ORDER = BATCH_NORM_CASES

test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)


@pytest.mark.parametrize("shape, axes", LAYOUTS)
def test_first_order_on_arrays_equals_the_composite(shape, axes):
    """A tape recording while the gradient is taken makes it the composite of ops: both give
    the same numbers."""
    x, scale, offset = (mt.constant(a) for a in (u(*shape), *_parameters(shape, axes, 3)))
    f = _all_outputs(axes)

    def gradients():
        with mt.GradientTape() as tape:
            tape.watch([x, scale, offset])
            y = f(x, scale, offset)
        return tape.gradient(y, [x, scale, offset])

    on_arrays = gradients()
    with mt.GradientTape() as outer:
        outer.watch(x)
        composite = gradients()
    for a, b in zip(on_arrays, composite):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


def test_the_layer_in_training_is_the_composite():
    """BatchNormalization(training=True): the fused op's outputs, gradients and moving
    statistics are those of moments and batch_normalization."""
    x = mt.constant(np.random.default_rng(4).normal(1, 3, (8, 5, 5, 4)).astype(np.float32))
    layer = mt.keras.layers.BatchNormalization(momentum=0.5)
    layer.build(x.shape)
    layer.gamma.assign(np.linspace(0.5, 2, 4).astype(np.float32))
    layer.beta.assign(np.linspace(-1, 1, 4).astype(np.float32))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = mt.reduce_sum(y * y * y)
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    with mt.GradientTape() as tape:
        tape.watch(x)
        gamma, beta = (mt.reshape(p, (1, 1, 1, 4)) for p in (layer.gamma, layer.beta))
        want, mean, variance = _composite(x, gamma, beta, (0, 1, 2))
        loss = mt.reduce_sum(want * want * want)
    wanted = tape.gradient(loss, [x, layer.gamma, layer.beta])
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
    for a, b in zip(grads, wanted):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean.numpy().reshape(4),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               0.5 + 0.5 * variance.numpy().reshape(4), rtol=1e-5)
