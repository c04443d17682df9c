"""backend.sum_in_dtype over every axis but the last (a bias's gradient): one BLAS product."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import backend


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 28, 28, 6), (4096, 10), (512, 3, 1), (70, 70)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_column_sums_match_a_float64_reference(shape, dtype, keepdims):
    data = (np.random.default_rng(0).standard_normal(shape) + 0.5).astype(dtype)
    axes = tuple(range(len(shape) - 1))
    got = backend.sum_in_dtype(data, axes, keepdims)
    want = data.astype(np.longdouble).sum(axis=axes, keepdims=keepdims)
    assert got.dtype == dtype and got.shape == want.shape
    # numpy's own reduction over the leading axes adds row after row: this is no worse, or
    # within the rounding of a sum of random terms, sqrt(rows) ulps
    numpy_error = np.abs(np.add.reduce(data, axis=axes, keepdims=keepdims) - want).max()
    rows = data.size // shape[-1]
    bound = np.sqrt(rows) * np.finfo(dtype).eps * np.abs(want).max()
    assert np.abs(got - want).max() <= max(numpy_error, bound)


def test_the_bias_gradient_of_a_conv_layer_goes_through_it():
    layer = mt.layers.Conv2D(6, 5, padding="same")
    x = np.random.default_rng(1).random((64, 28, 28, 1)).astype(np.float32)
    with mt.GradientTape() as tape:
        y = layer(x)
    bias_grad = tape.gradient(y, layer.bias, output_gradients=np.ones(y.shape, np.float32))
    np.testing.assert_array_equal(bias_grad.numpy(), np.full(6, 64 * 28 * 28, np.float32))


def test_other_reductions_and_dtypes_keep_numpy_s_path():
    ints = np.arange(8192, dtype=np.int32).reshape(4096, 2)
    assert backend.sum_in_dtype(ints, (0,), False).dtype == np.int32
    strided = np.ones((4096, 8), np.float32)[:, ::2]  # not contiguous
    np.testing.assert_array_equal(backend.sum_in_dtype(strided, (0,), False), np.full(4, 4096))
    np.testing.assert_array_equal(backend.sum_in_dtype(np.ones((4, 4096), np.float32), (1,),
                                                       False), np.full(4, 4096))


@pytest.mark.parametrize("shape, axes", [((8192,), None), ((8192,), (0,)), ((64, 128), None),
                                         ((64, 128), ()), ((2,) * 9 + (16,), ())])
def test_other_sums_of_large_arrays_stay_whole(shape, axes):
    data = np.ones(shape, np.float32)
    want = np.add.reduce(data, axis=axes, dtype=data.dtype)
    got = backend.sum_in_dtype(data, axes, False)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_arrays_of_any_rank_reduce():
    data = np.ones((2,) * 9 + (8,))
    np.testing.assert_array_equal(mt.reduce_sum(data, axis=list(range(9))).numpy(),
                                  np.full(8, 512.0))
    assert float(mt.reduce_sum(data)) == 4096.0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", [((8,), None), ((7, 5), 0), ((3, 4, 5), (0, 2)),
                                         ((13, 17), 1), ((1000,), None), ((4,), ())])
def test_reduce_mean_gives_numpy_s_mean_bit_for_bit(shape, axis, dtype):
    # reduce_mean skips ndarray.mean's Python (backend.mean_in_dtype), not its arithmetic;
    # float16 is averaged in float32, as TensorFlow's
    data = (np.random.default_rng(2).standard_normal(shape) * 100).astype(dtype)
    for keepdims in (False, True):
        got = mt.reduce_mean(data, axis, keepdims=keepdims).numpy()
        want = data.astype(np.float32).mean(axis=axis, keepdims=keepdims).astype(dtype) if (
            dtype == np.float16) else data.mean(axis=axis, keepdims=keepdims)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
