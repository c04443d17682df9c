"""Tensor and Variable: creation, dtypes, metadata, conversions, Variable state."""
import numpy as np
import pytest

import minitrain as mt

# value, expected dtype: Python floats -> float32, ints -> int32 (TensorFlow's defaults);
# numpy values keep their own dtype
DTYPE_CASES = [
    (3.0, "float32"),
    (3, "int32"),
    (True, "bool"),
    ([1.0, 2], "float32"),
    ([[1, 2], [3, 4]], "int32"),
    (np.float64(2.0), "float64"),
    (np.zeros(3), "float64"),
    (np.zeros(3, np.float16), "float16"),
    (np.arange(3, dtype=np.int64), "int64"),
    (np.ones(2, np.float32), "float32"),
]

MAKERS = {
    "constant": mt.constant,
    "convert_to_tensor": mt.convert_to_tensor,
    "Variable": mt.Variable,
}


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
@pytest.mark.parametrize("value, dtype", DTYPE_CASES)
def test_default_dtypes(make, value, dtype):
    t = make(value)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), np.asarray(value))


@pytest.mark.parametrize("value, dtype", [
    (1, mt.float64), (1.5, "float16"), ([1, 2], mt.float32), (np.ones(2), mt.float32),
    (2, "int64"),
])
def test_constant_and_variable_take_an_explicit_dtype(value, dtype):
    assert mt.constant(value, dtype=dtype).dtype == np.dtype(dtype)
    assert mt.Variable(value, dtype=dtype).dtype == np.dtype(dtype)
    np.testing.assert_array_equal(mt.constant(value, dtype=dtype).numpy(),
                                  np.asarray(value).astype(dtype))


def test_float_value_to_integer_dtype_is_refused():
    with pytest.raises(TypeError, match="int32"):
        mt.constant(1.5, dtype=mt.int32)


def test_constant_copies_its_numpy_value():
    a = np.array([1.0, 2.0])
    t = mt.constant(a)
    a[0] = 100.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_convert_to_tensor_keeps_tensors_and_reads_variables():
    t = mt.constant([1.0, 2.0])
    assert mt.convert_to_tensor(t) is t
    v = mt.Variable([3.0, 4.0])
    read = mt.convert_to_tensor(v)
    assert isinstance(read, mt.Tensor) and not isinstance(read, mt.Variable)
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(read.numpy(), [3.0, 4.0])  # a snapshot, not a view


@pytest.mark.parametrize("value", [2.5, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.arange(24.0)])
def test_metadata_matches_numpy(value):
    t = mt.constant(value)
    a = np.asarray(value)
    assert t.shape == a.shape
    assert t.ndim == a.ndim
    # as TensorFlow's: an array, or a numpy scalar for a scalar tensor (hashable, a dict key)
    assert isinstance(t.numpy(), np.ndarray if a.ndim else np.generic)
    assert t.numpy().shape == a.shape
    np.testing.assert_array_equal(t.numpy(), a)
    assert "cpu" in str(t.device).lower()


def test_array_protocol():
    t = mt.constant([[1.0, 2.0]])
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (1, 2)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(np.array(t), [[1.0, 2.0]])


def test_repr_shows_shape_dtype_and_values():
    text = repr(mt.constant([1.5, -2.25]))
    assert "1.5" in text and "-2.25" in text
    assert "(2,)" in text and "float32" in text


def test_variable_repr_shows_name_and_current_value():
    v = mt.Variable([7.5, 8.0], name="weights")
    v.assign([0.25, 9.0])
    text = repr(v)
    assert "weights" in text and "0.25" in text and "7.5" not in text


@pytest.mark.parametrize("convert, value, expected", [
    (float, 2.5, 2.5), (float, [[3.25]], 3.25), (int, 7, 7), (int, [4], 4),
    (bool, 0.0, False), (bool, [1.0], True),
])
def test_scalar_conversions_of_one_element(convert, value, expected):
    result = convert(mt.constant(value))
    assert type(result) is convert and result == expected


@pytest.mark.parametrize("convert", [float, int, bool])
def test_scalar_conversions_of_many_elements_raise(convert):
    with pytest.raises((ValueError, TypeError), match=r"one element.*\(2, 2\)"):
        convert(mt.constant([[1.0, 2.0], [3.0, 4.0]]))


def test_truth_value_makes_python_control_flow_work():
    x = mt.constant(3.0)
    assert (x > 2.0) and not (x < 2.0)


# --- Variable ----------------------------------------------------------------------------------
def test_variable_defaults_and_names():
    v = mt.Variable(1.0)
    w = mt.Variable(1.0)
    assert v.trainable is True
    assert v.name == w.name == "Variable:0"  # as TensorFlow names unnamed variables, eagerly
    named = mt.Variable(1.0, name="kernel")
    assert named.name.startswith("kernel")
    assert mt.Variable(1.0, trainable=False).trainable is False


def test_variable_accepts_a_callable_initial_value():
    v = mt.Variable(lambda: np.full((2, 2), 3.0))
    assert v.shape == (2, 2) and v.dtype == np.float64
    np.testing.assert_array_equal(v.numpy(), np.full((2, 2), 3.0))


@pytest.mark.parametrize("method, operand, expected", [
    ("assign", [5.0, 6.0], [5.0, 6.0]),
    ("assign_add", [5.0, 6.0], [6.0, 8.0]),
    ("assign_sub", [5.0, 6.0], [-4.0, -4.0]),
    ("assign_add", 0.5, [1.5, 2.5]),
])
def test_variable_assignment(method, operand, expected):
    v = mt.Variable([1.0, 2.0])
    getattr(v, method)(operand)
    np.testing.assert_array_equal(v.numpy(), expected)
    assert v.dtype == np.float32


def test_assignment_keeps_a_float64_variable_float64():
    v = mt.Variable(np.array([1.0, 2.0]))
    v.assign_add(1.0)
    v.assign([0.1, 0.2])
    assert v.dtype == np.float64
    np.testing.assert_array_equal(v.numpy(), np.array([0.1, 0.2]))


def test_assigning_another_shape_names_the_variable_and_both_shapes():
    v = mt.Variable([1.0, 2.0], name="bias")
    with pytest.raises(ValueError) as error:
        v.assign([1.0, 2.0, 3.0])
    assert all(part in str(error.value) for part in ("bias", "(3,)", "(2,)"))
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_variable_numpy_is_a_copy():
    v = mt.Variable([1.0, 2.0])
    a = v.numpy()
    a[0] = 50.0
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_tensor_read_before_assign_keeps_its_value():
    v = mt.Variable([1.0, 2.0])
    before = v + 0.0
    snapshot = v.read_value()
    v.assign([3.0, 4.0])
    np.testing.assert_array_equal(before.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(snapshot.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal((v + 0.0).numpy(), [3.0, 4.0])


@pytest.mark.parametrize("method", ["assign_add", "assign_sub"])
def test_updates_leave_every_earlier_read_and_view_unchanged(method):
    v = mt.Variable([1.0, 2.0])
    snapshot, view, raw = v.read_value(), v[::-1], np.asarray(v)
    getattr(v, method)([1.0, 1.0])
    np.testing.assert_array_equal(snapshot.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(view.numpy(), [2.0, 1.0])
    np.testing.assert_array_equal(raw, [1.0, 2.0])


def test_an_update_nothing_else_can_see_reuses_the_variables_memory():
    v = mt.Variable([1.0, 2.0])
    memory = id(v._data)
    v.assign_sub([1.0, 1.0])
    v.assign_add(mt.constant([0.5, 0.5]))
    assert id(v._data) == memory
    np.testing.assert_array_equal(v.numpy(), [0.5, 1.5])


def test_a_variable_holding_a_view_of_a_tensor_never_changes_that_tensor():
    t = mt.constant([[1.0, 2.0], [3.0, 4.0]])
    v = mt.Variable([0.0, 0.0])
    v.assign(t[0])
    v.assign_add([1.0, 1.0])
    np.testing.assert_array_equal(t.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(v.numpy(), [2.0, 3.0])


def test_an_update_that_broadcasts_to_another_shape_is_refused():
    v = mt.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        v.assign_add([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_convert_to_tensor_refuses_a_tensor_of_another_dtype():
    with pytest.raises(TypeError, match="float32 tensor was given where float64"):
        mt.convert_to_tensor(mt.constant([1.0]), "float64")


def test_variable_ref_is_hashable_and_derefs_to_the_variable():
    a, b = mt.Variable(1.0), mt.Variable(1.0)
    table = {a.ref(): "a", b.ref(): "b"}
    assert table[a.ref()] == "a" and a.ref().deref() is a and a.ref() != b.ref()


def test_tensors_print_as_tensorflow_prints_them():
    assert str(mt.constant(3.0)) == "tf.Tensor(3.0, shape=(), dtype=float32)"
    assert repr(mt.constant(3.0)) == "<tf.Tensor: shape=(), dtype=float32, numpy=3.0>"
    assert str(mt.constant([1, 2])) == "tf.Tensor([1 2], shape=(2,), dtype=int32)"
    assert repr(mt.constant([1.5, -2.25])) == (
        "<tf.Tensor: shape=(2,), dtype=float32, numpy=array([ 1.5 , -2.25], dtype=float32)>")
    assert str(mt.constant([[1.0, 2.0], [3.0, 4.0]])) == (
        "tf.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)")
    v = mt.Variable(2.0, name="v")
    assert repr(v) == str(v) == "<tf.Variable 'v:0' shape=() dtype=float32, numpy=2.0>"
    # a float32 scalar's repr is its Python number's, as TensorFlow writes it
    assert repr(mt.constant(0.1)) == (
        "<tf.Tensor: shape=(), dtype=float32, numpy=0.10000000149011612>")


def test_scalar_tensors_format_like_their_numbers():
    loss, accuracy = mt.constant(0.123456), mt.constant(0.5)
    assert f"{loss:.3f}" == "0.123" and "{:.3%}".format(accuracy) == "50.000%"  # noqa: UP032
    assert f"{mt.constant(7):>4d}" == "   7" and f"{mt.Variable(2.5):.1f}" == "2.5"
    assert f"{mt.constant([1.0, 2.0])}" == "[1. 2.]"
    with pytest.raises(TypeError):
        f"{mt.constant([1.0, 2.0]):.2f}"  # numpy refuses a format spec for an array, as TF does


@pytest.mark.parametrize("dtype, expected", [
    ("int8", "float32"), ("uint8", "float32"), ("int16", "float32"),
    ("int32", "float64"), ("int64", "float64")])
def test_integer_division_gives_tensorflows_float(dtype, expected):
    y = mt.constant(np.array([3, 4], dtype=dtype)) / 2
    assert y.dtype == expected
    np.testing.assert_array_equal(y.numpy(), [1.5, 2.0])


def test_an_integer_tensor_times_a_python_float_is_an_error_naming_both():
    with pytest.raises(TypeError, match=r"multiply: .*float 2\.5.*int32"):
        mt.constant(3) * 2.5


def test_a_tensors_shape_is_a_tensorshape_and_a_tuple():
    x = mt.zeros([2, 3])
    shape = x.shape
    assert isinstance(shape, mt.TensorShape) and shape == (2, 3) and shape[0] == 2
    assert shape.as_list() == [2, 3] and shape.rank == shape.ndims == 2
    assert shape.num_elements() == 6 and shape.is_fully_defined()
    assert repr(shape) == "TensorShape([2, 3])" and str(shape) == "(2, 3)"
    assert repr(shape[1:]) == "TensorShape([3])" and np.zeros(shape).shape == (2, 3)
    assert shape.concatenate([4]) == (2, 3, 4)


def test_a_tensorshape_may_have_unknown_dimensions():
    spec = mt.TensorShape([None, 3])
    assert spec.is_compatible_with([5, 3]) and not spec.is_compatible_with([5, 4])
    assert not spec.is_fully_defined() and spec.num_elements() is None
    assert str(spec) == "(None, 3)" and mt.TensorShape(4) == (4,)
    with pytest.raises(ValueError, match="known rank"):
        mt.TensorShape(None)
