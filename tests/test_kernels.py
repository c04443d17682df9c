"""Fused kernels: the numpy twin against the composed ops, the CuPy twin against numpy."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import backend, kernels
from minitrain.gradcheck import check_gradients, gradient_function
from minitrain.kernels import bias_act, optim
from minitrain.kernels.bias_act import (
    bias_relu_cupy,
    bias_relu_numpy,
    relu_bias_grads_cupy,
    relu_bias_grads_numpy,
    relu_grad_cupy,
    relu_grad_numpy,
)
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
    want, big = np.maximum(x + b, 0), rng.standard_normal((64, 32, 6)).astype(dtype)
    assert bias_relu_numpy(x, b, out=x) is x  # in place, as a convolution's epilogue
    np.testing.assert_array_equal(x, want)
    np.testing.assert_array_equal(bias_relu_numpy(big, b, out=big.copy()), np.maximum(big + b, 0))


def test_bias_relu_op_gradients_first_and_second_order():
    rng = np.random.default_rng(2)
    x, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    x[np.abs(x + b) < 0.1] += 0.5  # keep finite differences away from the kink at 0
    check_gradients(bias_relu, [x, b])
    check_gradients(gradient_function(lambda x, b: bias_relu(x, b) ** 2), [x, b])


def _relu_grad_arrays(dtype, shape):
    rng = np.random.default_rng(5)
    dy, y = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    y[y < 0.3] = 0  # a relu's output: zeros, and a value just above
    y.flat[:3] = [np.nan, np.finfo(dtype).tiny, -0.0]
    dy.flat[3:6], y.flat[3:6] = [np.inf, -np.inf, np.nan], 0  # an infinite dy at the mask's 0
    return dy, y


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4, 7)])
def test_relu_grad_numpy_is_the_product_with_the_mask(dtype, shape):
    """NaN where an infinite dy meets the mask's zero, as dy * (y > 0) gives; views too."""
    dy, y = _relu_grad_arrays(dtype, shape)
    with np.errstate(invalid="ignore"):  # inf * 0, on purpose
        for args in ((dy, y), (dy.T, y.T), (dy[..., ::2], y[..., ::2])):
            got = relu_grad_numpy(*args)
            assert got.dtype == dtype and got.shape == args[0].shape
            np.testing.assert_array_equal(got, args[0] * (args[1] > 0))
        assert np.isnan(relu_grad_numpy(dy, y).flat[3:6]).all()


@pytest.mark.parametrize("dtype", DTYPES + [np.float16, np.int32])
@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (1 << 14,), ((1 << 15) + 5,), (3, 7, 1000)])
def test_max_with_zero_is_numpys_maximum_with_0(dtype, shape):
    """Whole rows of zeros and the rest, NaN and the sign of zero kept as np.maximum keeps
    them; into a new array, into ``out`` (a itself, or another) or from a view; the input
    left as it was unless it is ``out``; other dtypes through numpy's own loop."""
    a = (np.random.default_rng(len(shape)).standard_normal(shape) * 3).astype(dtype)
    if np.dtype(dtype).kind == "f" and a.size >= 3:
        a.reshape(-1)[-3:] = [np.nan, -0.0, 0.0]
    original, want = a.copy(), np.maximum(a, 0)
    got = backend.max_with_zero(a)
    _assert_same_values(got, want)
    separate = np.full_like(a, 7)
    assert backend.max_with_zero(a, out=separate) is separate
    _assert_same_values(separate, want)
    view = a.reshape(-1)[::2]
    _assert_same_values(backend.max_with_zero(view), np.maximum(original.reshape(-1)[::2], 0))
    np.testing.assert_array_equal(a, original)
    assert backend.max_with_zero(a, out=a) is a
    _assert_same_values(a, want)


def test_max_with_zero_into_an_overlapping_out_reads_every_value_before_it_is_written():
    """out = a shifted by one value: the whole rows and the rest, one product each, must not
    overwrite values the other still reads (numpy's own loop buffers such an out)."""
    values = np.arange((1 << 14) + 6, dtype=np.float64) - 100
    want = values.copy()
    np.maximum(want[:-1], 0, out=want[1:])
    backend.max_with_zero(values[:-1], out=values[1:])
    np.testing.assert_array_equal(values, want)
    with pytest.raises(ValueError):  # an out of another shape, as numpy refuses it
        backend.max_with_zero(np.ones((4, 3)), out=np.empty((3, 4)))


def _assert_same_values(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(37, 5), (3, 4, 5, 6)])
def test_relu_bias_grads_numpy_sums_the_product_over_its_rows_in_blocks(monkeypatch, dtype,
                                                                        shape):
    """Blocks of whole rows (16 values: 3 or 2 rows at a time, the last block short) give the
    product bit for bit and its column sums to rounding; views and integers take the plain
    product and sum."""
    rng = np.random.default_rng(6)
    dy, y = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    y[y < 0] = 0
    monkeypatch.setattr(bias_act, "_BLOCKED_FROM", 17)
    monkeypatch.setattr(bias_act, "_BLOCK_VALUES", 16)
    leading = tuple(range(len(shape) - 1))
    for a, b in ((dy, y), (dy[..., ::2], y[..., ::2]), (dy.astype(np.int64), y)):
        masked, sums = relu_bias_grads_numpy(a, b)
        want = a * (b > 0)
        assert masked.dtype == sums.dtype == a.dtype and sums.shape == a.shape[-1:]
        np.testing.assert_array_equal(masked, want)
        np.testing.assert_allclose(sums, want.sum(axis=leading), rtol=TOLERANCE[dtype],
                                   atol=TOLERANCE[dtype])


@pytest.mark.parametrize("bias_shape", [(5,), (1, 5), (4, 1, 5)])
def test_bias_relus_gradient_takes_the_shape_of_any_broadcasting_bias(bias_shape):
    """Summed over the rows only where the bias is a vector along the last axis; any other
    broadcast shape gets the product summed by the sweep to its own shape."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 3, 5))
    b = rng.standard_normal(bias_shape)
    x[np.abs(x + b) < 0.1] += 0.5  # keep finite differences away from the kink at 0
    check_gradients(bias_relu, [x, b])


def test_the_relu_and_bias_gradients_are_the_same_ops_under_an_outer_tape():
    """Differentiated with no tape recording, a Dense's and a Conv2D's bias + ReLU take the
    blocked kernel; under an outer tape, relu_grad's op (second order): the same numbers."""
    rng = np.random.default_rng(7)
    x = mt.constant(rng.standard_normal((64, 40, 40)).astype(np.float32))  # > 64k values
    b = mt.Variable(rng.standard_normal(40).astype(np.float32))
    w = mt.Variable(rng.standard_normal((3, 3, 40, 8)).astype(np.float32) / 10)
    image = mt.reshape(x, (64, 40, 40, 1)) * mt.ones((1, 1, 1, 40))

    def loss():
        dense = bias_relu(x, b)
        conv = mt.ops.conv.conv2d_bias_relu(image[:, :8, :8], w, b[:8], 1, "SAME")
        return mt.reduce_sum(dense * dense) + mt.reduce_sum(conv * conv)

    with mt.GradientTape() as tape:
        value = loss()
    fast = tape.gradient(value, [b, w])
    with mt.GradientTape() as outer:
        with mt.GradientTape() as tape:
            value = loss()
        recorded = tape.gradient(value, [b, w])
    for got, want in zip(fast, recorded):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-4)
    assert outer is not None


def test_softmax_xent_cupy_takes_its_kernels_from_the_shared_cache(monkeypatch):
    """Without a GPU: with numpy standing in for CuPy and for what each cached kernel computes,
    the CuPy twin asks the shared cache for both kernels and gives the numpy twin's numbers."""
    stand_ins = {
        "softmax_xent_sum_exp": lambda x, m, axis, keepdims: np.add.reduce(
            np.exp(x - m), axis=axis, keepdims=keepdims),
        "softmax_xent_backprop": lambda x, m, s, labels, n: np.exp(x - m) / s - np.eye(n)[labels],
    }
    monkeypatch.setattr(kernels, "_cupy_kernels", dict(stand_ins))
    monkeypatch.setattr(backend, "cupy_module", lambda: np)
    logits, labels = _logits_and_labels(np.float64)
    loss, backprop = sparse_softmax_xent_cupy(logits, labels)
    want_loss, want_backprop = sparse_softmax_xent_numpy(logits, labels)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    np.testing.assert_allclose(backprop, want_backprop, atol=1e-12)


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
    x_gpu = backend.to_device(x, "gpu")
    assert bias_relu_cupy(x_gpu, backend.to_device(b, "gpu"), out=x_gpu) is x_gpu
    np.testing.assert_array_equal(backend.to_numpy(x_gpu), bias_relu_numpy(x, b))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_grad_cupy_matches_numpy(dtype):
    dy, y = _relu_grad_arrays(dtype, (64, 9, 9, 33))
    got = relu_grad_cupy(backend.to_device(dy, "gpu"), backend.to_device(y, "gpu"))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(backend.to_numpy(got), relu_grad_numpy(dy, y))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_bias_grads_cupy_matches_numpy(dtype):
    dy, y = _relu_grad_arrays(dtype, (64, 9, 9, 33))
    dy = np.nan_to_num(dy, nan=0.5, posinf=1.0, neginf=-1.0)
    got = relu_bias_grads_cupy(backend.to_device(dy, "gpu"), backend.to_device(y, "gpu"))
    want = relu_bias_grads_numpy(dy, y)
    np.testing.assert_array_equal(backend.to_numpy(got[0]), want[0])
    np.testing.assert_allclose(backend.to_numpy(got[1]), want[1], rtol=TOLERANCE[dtype] * 10,
                               atol=TOLERANCE[dtype] * 10)


def _adam_reference(x, g, m, v, alpha, c1, c2, eps):
    """Keras's Adam step, written out plainly."""
    m = m + (g - m) * c1
    v = v + (g * g - v) * c2
    return x - (m * alpha) / (np.sqrt(v) + eps), m, v


def _optimizer_arrays(dtype, shape=(5, 4)):
    rng = np.random.default_rng(4)
    x, g, m = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    return x, g, m, np.abs(rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_update_numpy_matches_the_formula_bit_for_bit(dtype):
    x, g, m, v = _optimizer_arrays(dtype)
    c = dtype
    scalars = (c(1e-3), c(0.1), c(0.001), c(1e-7))
    got = optim.adam_update_numpy(x, g, m, v, None, *scalars)
    for got_array, want in zip(got[:3], _adam_reference(x, g, m, v, *scalars)):
        assert got_array.dtype == dtype
        np.testing.assert_array_equal(got_array, want)
    assert got[3] is None


def test_adam_update_numpy_with_amsgrad_keeps_the_running_maximum():
    x, g, m, v = _optimizer_arrays(np.float64)
    v_hat = v * 2
    _, _, v_new, v_hat_new = optim.adam_update_numpy(x, g, m, v, v_hat, 1e-3, 0.1, 0.001, 1e-7)
    np.testing.assert_array_equal(v_hat_new, np.maximum(v_hat, v_new))


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_update_numpy_matches_the_formula(dtype, nesterov):
    x, g, m, _ = _optimizer_arrays(dtype)
    lr, mu = dtype(0.01), dtype(0.9)
    x_new, m_new = optim.sgd_update_numpy(x, g, m, lr, mu, nesterov)
    want_m = m * mu - g * lr
    want_x = x + (want_m * mu - g * lr) if nesterov else x + want_m
    np.testing.assert_allclose(m_new, want_m, rtol=TOLERANCE[dtype])
    np.testing.assert_allclose(x_new, want_x, rtol=TOLERANCE[dtype])
    np.testing.assert_array_equal(optim.sgd_update_numpy(x, g, None, lr, mu, nesterov)[0],
                                  x - g * lr)


LAYOUTS = {"more than a block": lambda a: a, "not C-contiguous": np.asfortranarray}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizer_steps_in_blocks_update_in_place_as_the_formula(dtype, layout):
    # 257 x 129 values: four blocks and a short one; a Fortran-ordered variable goes whole
    x, g, m, v = (LAYOUTS[layout](a) for a in _optimizer_arrays(dtype, (257, 129)))
    assert x.size > optim._BLOCK_VALUES
    lr, mu, scalars = dtype(0.01), dtype(0.9), (dtype(1e-3), dtype(0.1), dtype(1e-3), dtype(1e-7))
    want_adam = _adam_reference(x, g, m, v, *scalars)
    want_sgd = [x - g * lr, x + (m * mu - g * lr), x + ((m * mu - g * lr) * mu - g * lr)]
    state = [a.copy(order="K") for a in (x, m, v)]
    optim.adam_step_numpy(state[0], g, state[1], state[2], None, *scalars,
                          optim.adam_scratch(state[0]))
    for got, want in zip(state, want_adam):
        np.testing.assert_array_equal(got, want)
    for want, momentum, nesterov in zip(want_sgd, (None, m, m), (False, False, True)):
        x_, m_ = x.copy(order="K"), None if momentum is None else momentum.copy(order="K")
        optim.sgd_step_numpy(x_, g, m_, lr, mu, nesterov, optim.sgd_scratch(x_, nesterov))
        np.testing.assert_array_equal(x_, want)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_update_cupy_matches_numpy(dtype):
    arrays = _optimizer_arrays(dtype, (64, 33))
    scalars = (dtype(1e-3), dtype(0.1), dtype(0.001), dtype(1e-7))
    on_gpu = [backend.to_device(a, "gpu") for a in arrays]
    got = optim.adam_update_cupy(*on_gpu[:4], None, *scalars)
    want = optim.adam_update_numpy(*arrays, None, *scalars)
    for got_array, want_array in zip(got[:3], want[:3]):
        np.testing.assert_allclose(backend.to_numpy(got_array), want_array,
                                   rtol=TOLERANCE[dtype] * 10, atol=TOLERANCE[dtype])


@pytest.mark.gpu
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_update_cupy_matches_numpy(dtype, nesterov):
    x, g, m, _ = _optimizer_arrays(dtype, (64, 33))
    lr, mu = dtype(0.01), dtype(0.9)
    got = optim.sgd_update_cupy(*(backend.to_device(a, "gpu") for a in (x, g, m)), lr, mu,
                                nesterov)
    want = optim.sgd_update_numpy(x, g, m, lr, mu, nesterov)
    for got_array, want_array in zip(got, want):
        np.testing.assert_allclose(backend.to_numpy(got_array), want_array,
                                   rtol=TOLERANCE[dtype] * 10, atol=TOLERANCE[dtype])
