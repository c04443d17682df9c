"""CPU/GPU parity: every op of the gradient tables gives the same value and the same gradient
on both devices, in float32 and float64. Runs where CuPy and a GPU are present; skips (saying
why) elsewhere."""
import numpy as np
import pytest
from test_batch_norm import BATCH_NORM_CASES
from test_conv import (
    CONV_CASES,
    FUSED_CASES,
    KIND_CASES,
    POOL_CASES,
    TILE_CASES,
    _relu_conv_pool,
)
from test_gradients import BINARY_CASES, OPERATOR_CASES, UNARY_CASES
from test_gradients_nn import ACTIVATION_CASES, CROSS_ENTROPY_CASES, MATMUL_CASES, REDUCE_CASES
from test_gradients_shape import (
    GATHER_CASES,
    GETITEM_CASES,
    JOIN_CASES,
    RESHAPE_CASES,
    SELECT_CASES,
)

import minitrain as mt
from minitrain import backend

pytestmark = pytest.mark.gpu

CASES = (UNARY_CASES + BINARY_CASES + OPERATOR_CASES + REDUCE_CASES + MATMUL_CASES
         + ACTIVATION_CASES + CROSS_ENTROPY_CASES + RESHAPE_CASES + JOIN_CASES + GETITEM_CASES
         + GATHER_CASES + SELECT_CASES  # the cast cases assume float64 inputs
         + CONV_CASES + KIND_CASES + FUSED_CASES + POOL_CASES + TILE_CASES  # every conv kind
         + BATCH_NORM_CASES)
TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}


def value_and_gradients(f, inputs, dtype, device):
    """f's value and its tape gradients (seeded with fixed weights), as host arrays."""
    with mt.device(device):
        xs = [mt.constant(np.asarray(x, dtype=dtype)) for x in inputs]
        with mt.GradientTape() as tape:
            tape.watch(xs)
            y = f(*xs)
        weights = np.random.default_rng(5).uniform(0.5, 1.5, y.shape).astype(y.dtype)
        grads = tape.gradient(y, xs, output_gradients=mt.constant(weights))
    assert y.device == backend.canonical(device)
    return y.numpy(), [None if g is None else g.numpy() for g in grads]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("f, inputs, tolerances", CASES)
def test_op_and_gradient_agree_on_cpu_and_gpu(f, inputs, tolerances, dtype):
    y_cpu, grads_cpu = value_and_gradients(f, inputs, dtype, "cpu")
    y_gpu, grads_gpu = value_and_gradients(f, inputs, dtype, "gpu")
    np.testing.assert_allclose(y_gpu, y_cpu, **TOLERANCE[dtype])
    for g_gpu, g_cpu in zip(grads_gpu, grads_cpu):
        assert (g_gpu is None) == (g_cpu is None)
        if g_cpu is not None:
            np.testing.assert_allclose(g_gpu, g_cpu, **TOLERANCE[dtype])


@pytest.mark.parametrize("channels", [4, 32])
def test_a_pool_after_a_relu_conv_folds_to_the_same_gradients_on_the_gpu(channels):
    """Variables as sources and no tape recording the sweep: the pool's gradient masked on
    the pooled grid (ops/conv.py's fold), on both devices, in float64."""
    gradients = []
    for device in ("cpu", "gpu"):
        with mt.device(device):
            x, w, b, loss = _relu_conv_pool(channels)
            with mt.GradientTape() as tape:
                y = loss(x, w, b)
            gradients.append([g.numpy() for g in tape.gradient(y, [w, b])])
    for got, want in zip(*gradients):
        np.testing.assert_allclose(got, want, **TOLERANCE[np.float64])
