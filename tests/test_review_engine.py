"""Engine review: each test pins a bug that was found and fixed (what TensorFlow does, or what
the maths says), so that it stays fixed."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import tape as tape_module


# --- custom_gradient -------------------------------------------------------------------------
def test_nested_custom_gradients_that_read_variables():
    """The variable-read watchers were removed with list.remove, which compares lists by value:
    the inner call removed the outer's (equal) list, the outer call then failed, and a watcher
    was left behind for good."""
    v = mt.Variable(3.0)

    @mt.custom_gradient
    def inner(x):
        return x * 1.0, lambda dy: dy * 10

    @mt.custom_gradient
    def outer(x):
        y = inner(x)
        z = y * v

        def grad_fn(dy, variables=None):
            return dy * v, [dy * y for _ in variables]

        return z, grad_fn

    x = mt.constant(2.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        out = outer(x)
    gx, gv = tape.gradient(out, [x, v])
    assert (float(gx), float(gv)) == (3.0, 2.0)
    assert not tape_module.reads_collected()


# --- Python scalars as operands --------------------------------------------------------------
def test_negative_zero_is_not_taken_for_zero():
    """Python scalars are cached by value, and 0.0 == -0.0: x / -0.0 gave +inf after x / 0.0."""
    one = mt.constant([1.0])
    with np.errstate(divide="ignore"):
        assert float(one / 0.0) == np.inf
        assert float(one / -0.0) == -np.inf
        assert float(one / 0.0) == np.inf


# --- axis arguments --------------------------------------------------------------------------
X23 = np.ones((2, 3), np.float32)
OUT_OF_RANGE_AXIS = [  # each silently wrapped around (axis % rank) instead of failing
    ("concat", lambda x: mt.concat([x, x], 2)),
    ("concat", lambda x: mt.concat([x, x], -3)),
    ("stack", lambda x: mt.stack([x, x], 3)),
    ("stack", lambda x: mt.stack([x, x], -4)),
    ("unstack", lambda x: mt.unstack(x, axis=2)),
    ("gather", lambda x: mt.gather(x, [0], axis=2)),
    ("gather", lambda x: mt.gather(x, [0], axis=-3)),
    ("squeeze", lambda x: mt.squeeze(mt.reshape(x, [1, 6]), 2)),
    ("squeeze", lambda x: mt.squeeze(mt.constant(1.0), 0)),  # was a ZeroDivisionError
    ("unstack", lambda x: mt.unstack(mt.constant(1.0))),  # was a ZeroDivisionError
]


@pytest.mark.parametrize("name, f", OUT_OF_RANGE_AXIS,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(OUT_OF_RANGE_AXIS)])
def test_an_axis_out_of_range_is_an_error_naming_the_op(name, f):
    with pytest.raises(ValueError, match=rf"{name}: axis -?\d+ is out of range"):
        f(mt.constant(X23))


def test_gather_takes_its_axis_as_a_scalar_tensor():
    x = mt.constant(np.arange(6.0).reshape(2, 3))
    y = mt.gather(x, [2, 0], axis=mt.constant(1))
    np.testing.assert_array_equal(y.numpy(), [[2.0, 0.0], [5.0, 3.0]])



@pytest.mark.parametrize("indices", [[-1], [0, 3], [[0], [-2]]])
def test_gather_refuses_indices_out_of_range(indices):
    """numpy wraps negative indices: gather(x, [-1]) gave the last row where TensorFlow (and
    Keras's Embedding) fail."""
    with pytest.raises(IndexError, match=r"gather: indices must lie in \[0, 3\)"):
        mt.gather(mt.constant(np.arange(6.0).reshape(3, 2)), indices)

# --- sigmoid ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_its_relative_precision_for_negative_inputs(dtype):
    """0.5 * (tanh(x / 2) + 1) cancels for x < 0: sigmoid(-20) was 0 in float32 (TF: 2.06e-9)."""
    x = np.array([-80.0, -40.0, -20.0, -10.0, -1.0, 0.0, 1.0, 10.0, 40.0], dtype)
    want = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    got = mt.sigmoid(mt.constant(x)).numpy()
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want.astype(np.float64), rtol=4 * np.finfo(dtype).eps)


# --- means -----------------------------------------------------------------------------------
def test_float16_mean_does_not_overflow():
    """A float16 sum (and the count 100000) passes float16's largest value, 65504."""
    x = mt.ones([100000], mt.float16)
    mean = mt.reduce_mean(x)
    assert mean.dtype == mt.float16 and float(mean) == 1.0
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.reduce_mean(x * 3)
    g = tape.gradient(y, x)
    assert g.dtype == mt.float16
    np.testing.assert_allclose(g.numpy(), np.float16(3e-5), rtol=1e-3)


@pytest.mark.parametrize("values, dtype, axis, want", [
    ([-3, 0], "int32", None, -1),  # rounds toward zero, as C and TensorFlow do; not -2
    ([[-7, 0], [7, 0]], "int32", 1, [-3, 3]),
    ([100, 100, 100], "int8", None, 100),  # summed in 64 bits: no int8 overflow
    ([250, 250], "uint8", None, 250),
])
def test_integer_mean_is_tensorflows(values, dtype, axis, want):
    mean = mt.reduce_mean(mt.constant(np.array(values, dtype)), axis)
    assert mean.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(mean.numpy(), want)


# --- constant makers -------------------------------------------------------------------------
@pytest.mark.parametrize("args, kwargs, dtype", [
    ((0,), {}, "int32"),  # was float32: the empty list of values defaulted to float
    ((3, 3), {}, "int32"),
    ((5,), {}, "int32"),
    ((0, 2**40, 2**39), {}, "int64"),
    ((0, 1, 0.25), {}, "float32"),
    ((0, 0.0), {}, "float32"),
    ((3,), {"dtype": "float64"}, "float64"),
    ((0,), {"dtype": "int64"}, "int64"),
])
def test_range_dtype_is_tensorflows(args, kwargs, dtype):
    assert mt.range(*args, **kwargs).dtype == np.dtype(dtype)


def test_range_refuses_float_arguments_for_an_integer_dtype():
    with pytest.raises(TypeError, match="range: float arguments"):
        mt.range(0.0, 2.5, dtype=mt.int32)


@pytest.mark.parametrize("kwargs, dtype", [
    ({}, "float32"),
    ({"on_value": 5, "off_value": -1}, "int32"),
    ({"on_value": 5}, "int32"),
    ({"off_value": 0.5}, "float32"),
    ({"on_value": 5, "dtype": "float64"}, "float64"),
])
def test_one_hot_takes_its_dtype_from_on_and_off_values(kwargs, dtype):
    """TensorFlow: without dtype, the dtype of on_value or off_value; float32 without either."""
    y = mt.one_hot([0, 2], 3, **kwargs)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y.numpy()[0], [kwargs.get("on_value", 1),
                                                 kwargs.get("off_value", 0),
                                                 kwargs.get("off_value", 0)])


# --- jacobians -------------------------------------------------------------------------------
def test_jacobian_of_an_empty_target_is_an_empty_array():
    x = mt.constant([1.0, 2.0])
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x[:0] * 2
    assert tape.jacobian(y, x).shape == (0, 2)  # was None: no rows, taken for "not connected"


def test_batch_jacobian_of_an_empty_batch_has_the_jacobian_shape():
    x = mt.constant(np.ones((0, 2)))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    jac = tape.batch_jacobian(y, x)
    assert jac.shape == (0, 2, 2) and jac.dtype == mt.float64


# --- error messages --------------------------------------------------------------------------
def test_where_names_the_condition_shape_when_it_does_not_broadcast():
    x = mt.ones([2, 3])
    with pytest.raises(ValueError, match=r"where: the condition of shape \(4,\) and x and y"):
        mt.where(mt.constant([True, False, True, False]), x, x)


# --- tape lifecycle --------------------------------------------------------------------------
def test_watch_after_the_with_block_does_not_restart_recording():
    """A tape whose block recorded no op restarted at a watch() after the block, and (being
    persistent) then recorded everything until it was dropped."""
    x = mt.constant(3.0)
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
    tape.watch(x)
    outside = x * x
    assert not tape_module.is_recording()
    assert tape.gradient(outside, x) is None
