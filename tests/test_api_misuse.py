"""API misuse that once gave silent wrong results or unhelpful errors: TensorFlow's (and Keras
3's) exception types and messages, with what to do."""
import warnings

import numpy as np
import pytest

import minitrain as mt


# --- 1. gradient() of None ----------------------------------------------------------------------
def _tape_of_square():
    x = mt.Variable(2.0)
    tape = mt.GradientTape()
    with tape:
        y = x * x
    return tape, x, y


@pytest.mark.parametrize("target, fragment", [
    (None, "but received None."),
    ("nested", "received None as entry 1 of the 2 in its flattened structure"),
])
def test_gradient_of_none_raises_tensorflows_type_error_and_keeps_the_tape(target, fragment):
    tape, x, y = _tape_of_square()
    target = [y, None] if target == "nested" else target
    with pytest.raises(TypeError, match="Argument `target` should be a list or nested "
                                        "structure of Tensors") as error:
        tape.gradient(target, x)
    assert fragment in str(error.value)
    assert float(tape.gradient(y, x)) == 4.0  # nothing was released by the mistake


def test_jacobian_of_none_raises_the_same_type_error():
    tape, x, _ = _tape_of_square()
    with pytest.raises(TypeError, match="but received None"):
        tape.jacobian(None, x)


# --- 2. integer sources -----------------------------------------------------------------------
def _gradient_warnings(make_source, watch):
    source = make_source()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with mt.GradientTape() as tape:
            if watch:
                tape.watch(source)
            y = source * source
        grad = tape.gradient(y, source)
    return grad, caught


def test_gradient_wrt_an_integer_variable_warns_at_the_users_call():
    grad, caught = _gradient_warnings(lambda: mt.Variable(3), watch=False)
    assert grad is None
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "The dtype of the source tensor must be floating (e.g. tf.float32)" in message
    assert "int32" in message and "mt.Variable(3.0)" in message
    assert caught[0].filename == __file__


def test_a_watched_integer_tensor_warns_once_not_again_in_gradient():
    grad, caught = _gradient_warnings(lambda: mt.constant(3), watch=True)
    assert grad is None
    assert [str(w.message).startswith("watch()") for w in caught] == [True]


def test_floating_sources_do_not_warn():
    grad, caught = _gradient_warnings(lambda: mt.Variable(3.0), watch=False)
    assert float(grad) == 6.0 and caught == []


# --- 3. string tensors beside numbers ---------------------------------------------------------
_abc = mt.constant("abc")


@pytest.mark.parametrize("compute, fragment", [
    (lambda: _abc + 1.0, "add: cannot convert the float 1.0 to the string dtype"),
    (lambda: 1.0 + _abc, "add: cannot convert the float 1.0 to the string dtype"),
    (lambda: _abc * 2, "multiply: cannot convert the int 2"),
    (lambda: _abc - 1, "subtract: cannot convert the int 1"),
    (lambda: _abc + True, "add: cannot convert the bool True"),
    (lambda: _abc + np.array([1.0]), "add: cannot convert the ndarray"),
    (lambda: _abc + mt.constant(1.0), "add: operands have dtypes string and float32"),
    (lambda: mt.Variable(1.0) + _abc, "add: operands have dtypes string and float32"),
    (lambda: _abc * _abc, "multiply: not defined for string tensors"),
    (lambda: mt.nn.conv2d(mt.constant(np.full((1, 4, 4, 1), "a")),
                          mt.constant(np.full((3, 3, 1, 1), "b")), 1, "SAME"),
     "conv2d: not defined for string tensors"),
])
def test_string_tensor_arithmetic_with_numbers_raises_type_error(compute, fragment):
    with pytest.raises(TypeError) as error:
        compute()
    assert fragment in str(error.value)


@pytest.mark.parametrize("compute, expected", [
    (lambda: _abc + _abc, "abcabc"),
    (lambda: _abc + "defgh", "abcdefgh"),  # never truncated to the width of "abc"
    (lambda: "d" + _abc, "dabc"),
    (lambda: _abc + mt.constant("d"), "abcd"),  # widths differ: one tf.string all the same
])
def test_string_concatenation_is_kept_as_tensorflow_allows(compute, expected):
    assert compute().numpy() == expected


def test_strings_of_different_lengths_compare():
    assert not bool(_abc == mt.constant("abcd"))
    assert (mt.constant(["a", "b"]) + mt.constant("cde")).numpy().tolist() == ["acde", "bcde"]


# --- 4. input_spec: a built layer named with the counts ---------------------------------------
L = mt.keras.layers


@pytest.mark.parametrize("make, built_for, given, fragment", [
    (lambda: L.Dense(5), (2, 3), (2, 4), "expected axis -1 of input shape to have value 3"),
    (L.BatchNormalization, (2, 3), (2, 4), "expected axis -1 of input shape to have value 3"),
    (L.BatchNormalization, (2, 3), (2, 2, 3), "expected ndim=2, found ndim=3"),
    (L.LayerNormalization, (2, 3), (2, 4), "expected axis -1 of input shape to have value 3"),
    (lambda: L.Conv2D(2, 3), (1, 5, 5, 3), (1, 5, 5, 4), "expected axis -1 of input shape "
                                                        "to have value 3"),
    (lambda: L.Conv1D(2, 3), (1, 5, 3), (1, 5, 4), "to have value 3"),
    (lambda: L.DepthwiseConv2D(3), (1, 5, 5, 3), (1, 5, 5, 2), "to have value 3"),
    (lambda: L.SeparableConv2D(2, 3), (1, 5, 5, 3), (1, 5, 5, 2), "to have value 3"),
    (lambda: L.Conv2DTranspose(2, 3), (1, 5, 5, 3), (1, 5, 5, 2), "to have value 3"),
    (L.PReLU, (2, 3), (2, 4), "expected axis 1 of input shape to have value 3"),
])
def test_a_built_layer_names_itself_and_the_counts(make, built_for, given, fragment):
    layer = make()
    layer(mt.ones(built_for))
    with pytest.raises(ValueError) as error:
        layer(mt.ones(given))
    message = str(error.value)
    assert message.startswith(f'Input 0 of layer "{layer.name}" is incompatible with the '
                              "layer: ")
    assert fragment in message
    assert str(given) in message
    assert f"built for inputs of shape {built_for}" in message  # what to do


@pytest.mark.parametrize("make, given, fragment", [
    (lambda: L.Dense(2), (3,), "expected min_ndim=2, found ndim=1. Full shape received: (3,)"),
    (lambda: L.Conv2D(2, 3), (5, 5, 3), "expected min_ndim=4, found ndim=3"),
    (lambda: L.MaxPooling2D(), (5, 5, 3), "expected ndim=4, found ndim=3"),
    (lambda: L.GlobalAveragePooling2D(), (5, 3), "expected ndim=4, found ndim=2"),
    (L.Flatten, (), "expected min_ndim=1, found ndim=0"),
])
def test_an_unbuilt_layer_checks_the_rank_keras_requires(make, given, fragment):
    layer = make()
    with pytest.raises(ValueError, match="is incompatible with the layer") as error:
        layer(mt.ones(given))
    assert fragment in str(error.value)
    assert not layer.built


def test_the_functional_api_checks_keras_tensors_with_unknown_batch():
    dense = L.Dense(2)
    y = dense(mt.keras.Input((3,)))
    assert tuple(y.shape) == (None, 2)
    assert dense(mt.keras.Input((3,), batch_size=5)).shape == (5, 2)
    with pytest.raises(ValueError, match=r"to have value 3, but received input with shape "
                                         r"\(None, 4\)"):
        dense(mt.keras.Input((4,)))
    inputs = mt.keras.Input((3,))
    model = mt.keras.Model(inputs, L.Dense(2)(L.Dense(4)(inputs)))
    assert model(np.ones((5, 3), np.float32)).shape == (5, 2)


def test_a_layer_of_ones_own_uses_input_spec_like_keras():
    class Pairs(mt.keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.input_spec = mt.keras.layers.InputSpec(shape=(None, 2), dtype="float32")

        def call(self, inputs):
            return inputs * 2

    layer = Pairs()
    assert layer(np.ones((5, 2), np.float32)).shape == (5, 2)
    with pytest.raises(ValueError, match=r"expected shape=\(None, 2\), found shape=\(5, 3\)"):
        layer(mt.ones((5, 3)))
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=1"):
        layer(mt.ones((2,)))


def test_input_spec_validates_itself_and_round_trips():
    spec = mt.keras.layers.InputSpec(ndim=2, axes={"-1": 3})
    assert mt.keras.layers.InputSpec is mt.layers.InputSpec
    assert spec.axes == {-1: 3} and repr(spec) == "InputSpec(ndim=2, axes={-1: 3})"
    again = mt.layers.InputSpec.from_config(spec.get_config())
    assert (again.ndim, again.axes) == (2, {-1: 3})
    with pytest.raises(TypeError, match="Argument `axes` must be a dict with integer keys"):
        mt.layers.InputSpec(axes={"last": 3})
    with pytest.raises(ValueError, match="Axis 2 is greater than the maximum allowed value: 1"):
        mt.layers.InputSpec(ndim=2, axes={2: 3})


# --- 5. other misuse --------------------------------------------------------------------------
@pytest.mark.parametrize("compute, error, fragment", [
    (lambda: mt.Variable(None), ValueError, "The `initial_value` arg to `tf.Variable` must be "
                                            "specified"),
    (lambda: mt.Variable([1.0, 2.0]).assign_add([1.0, 2.0, 3.0]), ValueError,
     "assign_add: cannot update variable 'Variable:0' of shape (2,) using a value of shape "
     "(3,)"),
    (lambda: mt.Variable([1.0, 2.0]).assign_sub([[1.0], [2.0], [3.0]]), ValueError,
     "assign_sub: cannot update variable"),
    (lambda: mt.constant([1, 2, 3], shape=(2, 2)), TypeError,
     "has 3 elements, but got `shape` (2, 2) with 4 elements"),
])
def test_other_misuse_raises_like_tensorflow(compute, error, fragment):
    with pytest.raises(error) as raised:
        compute()
    assert fragment in str(raised.value)


def test_constant_with_a_shape_still_fills_and_reshapes():
    assert mt.constant(7, shape=(2, 2)).numpy().tolist() == [[7, 7], [7, 7]]
    assert mt.constant([1, 2, 3, 4], shape=(2, 2)).shape == (2, 2)
