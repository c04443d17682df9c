"""Fused kernels: the numpy twin against the composed ops, the CuPy twin against numpy."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import backend
from minitrain.gradcheck import check_gradients, gradient_function
from minitrain.kernels.bias_act import bias_relu_cupy, bias_relu_numpy
from minitrain.kernels.softmax_xent import sparse_softmax_xent_cupy, sparse_softmax_xent_numpy
from minitrain.ops.nn import bias_relu

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def _logits_and_labels(dtype, rows=7, classes=5, scale=3.0):
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((rows, classes)) * scale).astype(dtype)
    return logits, rng.integers(0, classes, rows).astype(np.int32)


def _composed_softmax_xent(logits, labels):
    """The same maths from separate, unfused ops."""
    log_p = mt.nn.log_softmax(mt.constant(logits)).numpy()
    rows = np.arange(len(labels))
    softmax = np.exp(log_p)
    return -log_p[rows, labels], softmax - np.eye(logits.shape[1])[labels]


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_xent_numpy_matches_composed_ops(dtype):
    logits, labels = _logits_and_labels(dtype)
    loss, backprop = sparse_softmax_xent_numpy(logits, labels)
    want_loss, want_backprop = _composed_softmax_xent(logits, labels)
    assert loss.dtype == backprop.dtype == dtype
    np.testing.assert_allclose(loss, want_loss, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    np.testing.assert_allclose(backprop, want_backprop, atol=TOLERANCE[dtype])


def test_softmax_xent_stays_finite_for_extreme_logits():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1e4, -1e4, -1e4]])
    loss, backprop = sparse_softmax_xent_numpy(logits, np.array([1, 2]))
    np.testing.assert_allclose(loss, [2000.0, np.log(3)])
    assert np.all(np.isfinite(backprop))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_relu_numpy_matches_composed_ops(dtype):
    rng = np.random.default_rng(1)
    x, b = rng.standard_normal((4, 6)).astype(dtype), rng.standard_normal(6).astype(dtype)
    np.testing.assert_array_equal(bias_relu_numpy(x, b), np.maximum(x + b, 0))


def test_bias_relu_op_gradients_first_and_second_order():
    rng = np.random.default_rng(2)
    x, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    x[np.abs(x + b) < 0.1] += 0.5  # keep finite differences away from the kink at 0
    check_gradients(bias_relu, [x, b])
    check_gradients(gradient_function(lambda x, b: bias_relu(x, b) ** 2), [x, b])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_xent_cupy_matches_numpy(dtype):
    logits, labels = _logits_and_labels(dtype, rows=300, classes=10)
    loss, backprop = sparse_softmax_xent_cupy(backend.to_device(logits, "gpu"),
                                              backend.to_device(labels, "gpu"))
    want_loss, want_backprop = sparse_softmax_xent_numpy(logits, labels)
    np.testing.assert_allclose(backend.to_numpy(loss), want_loss, rtol=TOLERANCE[dtype] * 10)
    np.testing.assert_allclose(backend.to_numpy(backprop), want_backprop,
                               atol=TOLERANCE[dtype] * 10)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_relu_cupy_matches_numpy(dtype):
    rng = np.random.default_rng(3)
    x, b = rng.standard_normal((64, 33)).astype(dtype), rng.standard_normal(33).astype(dtype)
    got = bias_relu_cupy(backend.to_device(x, "gpu"), backend.to_device(b, "gpu"))
    np.testing.assert_array_equal(backend.to_numpy(got), bias_relu_numpy(x, b))
