"""mt.function and mt.TensorSpec as tf.function and tf.TensorSpec, run eagerly: the decorator
forms, wrapping, methods, gradients, and input_signature's conversions and errors (TF's
function_type_utils, function_type.add_type_constraints and TensorSpec.cast)."""
import numpy as np
import pytest

import minitrain as mt


def _square(x):
    """Squares."""
    return x * x


# --- the decorator ----------------------------------------------------------------------------
@pytest.mark.parametrize("decorate", [
    mt.function,
    mt.function(),
    mt.function(jit_compile=True, reduce_retracing=True, autograph=True),
    mt.function(input_signature=[mt.TensorSpec([None])], jit_compile=True,
                reduce_retracing=True, autograph=False),
    mt.function(experimental_relax_shapes=True, experimental_compile=True,
                experimental_implements="square", experimental_follow_type_hints=True),
], ids=["bare", "called", "options", "signature", "experimental"])
def test_every_decorator_form_wraps_the_function_and_runs_it(decorate):
    f = decorate(_square)
    assert f.__name__ == "_square" and f.__doc__ == "Squares."
    assert f.__wrapped__ is _square and f.python_function is _square
    np.testing.assert_array_equal(f(mt.constant([1.0, 3.0])).numpy(), [1.0, 9.0])


def test_mt_function_of_a_function_is_the_call_form():
    f = mt.function(_square)
    assert f(mt.constant(3.0)).numpy() == 9.0 and f.input_signature is None


def test_it_runs_eagerly_so_python_side_effects_happen_on_every_call():
    calls = []

    @mt.function
    def f(x):
        calls.append(x)  # TensorFlow would run this once, while tracing
        return x + 1

    f(mt.constant(1.0))
    f(mt.constant(2.0))
    assert len(calls) == 2 and f.experimental_get_tracing_count() == 0
    with pytest.raises(NotImplementedError, match="runs functions eagerly"):
        f.get_concrete_function(mt.TensorSpec([]))


def test_gradients_flow_through_a_function_under_an_outer_tape_to_any_order():
    f = mt.function(lambda x: x ** 3)
    x = mt.Variable(2.0)
    with mt.GradientTape() as outer:
        with mt.GradientTape() as inner:
            y = f(x)
        dy = inner.gradient(y, x)
    assert dy.numpy() == 12.0 and outer.gradient(dy, x).numpy() == 12.0


def test_a_training_step_written_as_a_function_trains():
    w = mt.Variable([1.0, -1.0])
    opt = mt.optimizers.SGD(learning_rate=0.1)

    @mt.function(input_signature=[mt.TensorSpec([None, 2]), mt.TensorSpec([None])])
    def train_step(x, y):
        with mt.GradientTape() as tape:
            loss = mt.reduce_mean(mt.square(mt.reduce_sum(x * w, axis=1) - y))
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    x, y = np.eye(2, dtype=np.float32), np.array([2.0, 3.0], np.float32)
    losses = [float(train_step(x, y)) for _ in range(50)]
    assert losses[-1] < 1e-3 < losses[0]


# --- methods ----------------------------------------------------------------------------------
class Scaler(mt.Module):
    def __init__(self):
        super().__init__()
        self.w = mt.Variable(2.0)

    @mt.function
    def __call__(self, x):
        return self.w * x

    @mt.function(input_signature=[mt.TensorSpec([None])])
    def scale(self, x):
        return self.w * x

    @mt.function
    @mt.Module.with_name_scope
    def scoped(self):
        return self.name_scope.name


def test_a_decorated_method_binds_self_and_the_signature_skips_it():
    scaler = Scaler()
    assert scaler(mt.constant(3.0)).numpy() == 6.0
    np.testing.assert_array_equal(scaler.scale([1.0, 2.0]).numpy(), [2.0, 4.0])
    assert scaler.scoped() == "scaler/"
    assert Scaler.scale.input_signature == (mt.TensorSpec([None]),)
    assert scaler.scale.python_function is Scaler.scale.python_function
    with pytest.raises(TypeError, match=r"signature: \(x: TensorSpec") as error:
        scaler.scale(mt.constant(1.0))
    assert "Scaler object" not in str(error.value)  # self is no input in the message


def test_gradients_reach_a_modules_variables_through_its_decorated_method():
    scaler = Scaler()
    with mt.GradientTape() as tape:
        y = scaler.scale(mt.constant([1.0, 3.0]))
    assert tape.gradient(y, scaler.w).numpy() == 4.0


# --- TensorSpec -------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, text", [
    (mt.TensorSpec([None, 3]), "TensorSpec(shape=(None, 3), dtype=tf.float32, name=None)"),
    (mt.TensorSpec((3,), mt.int32, "x"), "TensorSpec(shape=(3,), dtype=tf.int32, name='x')"),
    (mt.TensorSpec([], "float64"), "TensorSpec(shape=(), dtype=tf.float64, name=None)"),
    (mt.TensorSpec(None), "TensorSpec(shape=<unknown>, dtype=tf.float32, name=None)"),
    (mt.TensorSpec(4), "TensorSpec(shape=(4,), dtype=tf.float32, name=None)"),
])
def test_a_tensorspecs_repr_is_tensorflows_and_evaluates_back(spec, text):
    assert repr(spec) == text
    if spec.shape is not None:  # TensorFlow's "<unknown>" is no Python either
        assert eval(text, {"TensorSpec": mt.TensorSpec, "tf": mt}) == spec


def test_a_tensorspec_has_a_shape_dtype_and_name_float32_by_default():
    spec = mt.TensorSpec([None, 3], name="x")
    assert (spec.shape, spec.dtype, spec.name) == ((None, 3), mt.float32, "x")
    assert mt.TensorSpec.from_tensor(mt.constant([1, 2, 3])) == mt.TensorSpec([3], mt.int32)
    assert mt.TensorSpec.from_spec(spec, "y") == mt.TensorSpec([None, 3], name="y")
    assert hash(spec) == hash(mt.TensorSpec([None, 3])) and spec != mt.TensorSpec([None, 3])
    with pytest.raises(ValueError, match="each dimension must be an int"):
        mt.TensorSpec([-1])


@pytest.mark.parametrize("value, compatible", [
    (mt.zeros([5, 3]), True), (mt.zeros([0, 3]), True), (mt.zeros([5, 4]), False),
    (mt.zeros([3]), False), (mt.zeros([5, 3], mt.float64), False),
    (mt.Variable(np.zeros((1, 3), np.float32)), True),
    (mt.TensorSpec([2, 3]), True), (mt.TensorSpec(None), True),
    (np.zeros((5, 3), np.float32), False),  # not a tensor, as in TensorFlow
])
def test_is_compatible_with_needs_the_dtype_and_a_matching_shape(value, compatible):
    assert mt.TensorSpec([None, 3]).is_compatible_with(value) is compatible


# --- input_signature --------------------------------------------------------------------------
@mt.function(input_signature=(mt.TensorSpec(shape=[None], dtype=mt.int32),))
def next_collatz(x):
    return mt.where(x % 2 == 0, x // 2, 3 * x + 1)


def test_the_function_guides_collatz_example():
    np.testing.assert_array_equal(next_collatz(mt.constant([1, 2])).numpy(), [4, 1])
    np.testing.assert_array_equal(next_collatz(mt.constant([1, 2, 3, 4, 5])).numpy(),
                                  [4, 1, 10, 2, 16])  # None matches any length


@pytest.mark.parametrize("args, message", [
    ((mt.constant([[1, 2], [3, 4]]),),
     r"`Can not cast TensorSpec\(shape=\(2, 2\), dtype=tf.int32, name=None\) to "
     r"TensorSpec\(shape=\(None,\), dtype=tf.int32, name=None\)`: argument 'x' has shape "
     r"\(2, 2\) \(rank 2\), where the spec asks for rank 1"),
    ((mt.constant([1.0, 2.0]),),
     r"`Can not cast TensorSpec\(shape=\(2,\), dtype=tf.float32, name=None\) to .*`: "
     r"argument 'x' has dtype float32, where the spec asks for int32"),
    (([1.5, 2.0],), r"`Cannot convert \[1.5, 2.0\] to EagerTensor of dtype int32`"),
    ((np.array([True]),), r"`Cannot convert array\(\[ True\]\) to EagerTensor of dtype int32`"),
    ((mt.constant([1]), mt.constant([2])), r"`too many positional arguments`"),
    ((), r"`missing a required argument: 'x'`"),
])
def test_arguments_that_do_not_fit_the_signature_raise_with_tensorflows_words(args, message):
    with pytest.raises(TypeError, match=message) as error:
        next_collatz(*args)
    text = str(error.value)
    assert text.startswith("Binding inputs to tf.function `next_collatz` failed due to `")
    assert "for signature: (x: TensorSpec(shape=(None,), dtype=tf.int32, name=None))." in text
    assert isinstance(error.value, ValueError)  # what TensorFlow before 2.13 raised


def test_a_size_that_differs_from_a_fixed_dimension_names_the_shapes():
    f = mt.function(lambda x: x, input_signature=[mt.TensorSpec([None, 3])])
    with pytest.raises(TypeError, match=r"argument 'x' has shape \(2, 4\), where the spec asks "
                                        r"for \(None, 3\)"):
        f(mt.zeros([2, 4]))


@pytest.mark.parametrize("value, dtype, expected", [
    ([1, 2], mt.float32, np.float32), (2, mt.float32, np.float32),
    (np.array([1.0, 2.0]), mt.float32, np.float32),  # float64 to float32, as TF converts
    (np.array([1, 2], np.int64), mt.int32, np.int32), ([True], mt.bool_, np.bool_),
])
def test_python_and_numpy_values_are_converted_to_the_specs_dtype(value, dtype, expected):
    f = mt.function(lambda x: x, input_signature=[mt.TensorSpec(None, dtype)])
    result = f(value)
    assert isinstance(result, mt.Tensor) and result.dtype == expected


def test_a_variable_given_for_a_spec_is_read_and_still_gets_its_gradient():
    v = mt.Variable([1.0, 2.0])
    f = mt.function(lambda x: mt.reduce_sum(x * x), input_signature=[mt.TensorSpec([2])])
    with mt.GradientTape() as tape:
        y = f(v)
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [2.0, 4.0])


def test_keywords_defaults_varargs_and_nested_specs_bind_as_in_tensorflow():
    spec = mt.TensorSpec([None])

    @mt.function(input_signature=[spec, [spec, spec]])
    def f(x, pair, scale=2.0):  # scale has no spec: it keeps its default and is unchecked
        return (x + pair[0] + pair[1]) * scale

    np.testing.assert_array_equal(f(pair=[[1.0], [2.0]], x=[3.0]).numpy(), [12.0])
    with pytest.raises(TypeError, match="Can not cast"):
        f([1.0], [[1.0]])  # a list of one where the signature has two
    g = mt.function(lambda *xs: sum(xs), input_signature=[spec, spec])
    np.testing.assert_array_equal(g([1.0], [2.0]).numpy(), [3.0])
    with pytest.raises(TypeError, match="too many positional arguments"):
        g([1.0], [2.0], [3.0])


def _two(x, y):
    return x + y


def _keyword_only(x, *, y):
    return x + y


@pytest.mark.parametrize("python_function, signature, message", [
    (_two, [mt.TensorSpec([])], "input_signature missing type constraint for y"),
    (_square, [mt.TensorSpec([]), mt.TensorSpec([])],
     "input_signature contains 1 extra type constraints."),
    (_square, mt.TensorSpec([]), "input_signature must be either a tuple or a list, got "),
    (_square, [[3]], "input_signature must be a possibly nested sequence of TensorSpec "
                     "objects, got invalid args \\[3\\]"),
    (_keyword_only, [mt.TensorSpec([])], "Since input_signature is defined, keyword-only "
                                         "parameter `y` must have a default value"),
])
def test_a_signature_that_does_not_fit_the_function_fails_when_decorating(
        python_function, signature, message):
    with pytest.raises(TypeError, match=message):
        mt.function(python_function, input_signature=signature)
