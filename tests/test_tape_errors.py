"""Unconnected gradients (none, zero, raise with its reasons) and the tape's error messages."""
import sys
import warnings

import numpy as np
import pytest

import minitrain as mt
from minitrain.ops.core import run

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")

ZERO_MODES = [mt.UnconnectedGradients.ZERO, "zero"]
NONE_MODES = [mt.UnconnectedGradients.NONE, "none"]


def _unused_source():
    x, unused = mt.constant([1.0, 2.0]), mt.constant([[3.0], [4.0]])
    with mt.GradientTape() as tape:
        tape.watch([x, unused])
        y = x * x
    return tape, y, unused


@pytest.mark.parametrize("mode", NONE_MODES)
def test_unconnected_none_gives_none(mode):
    tape, y, unused = _unused_source()
    assert tape.gradient(y, unused, unconnected_gradients=mode) is None


def test_unconnected_none_is_the_default():
    tape, y, unused = _unused_source()
    assert tape.gradient(y, [unused]) == [None]


@pytest.mark.parametrize("mode", ZERO_MODES)
def test_unconnected_zero_gives_zeros_of_the_source_shape_and_dtype(mode):
    tape, y, unused = _unused_source()
    got = tape.gradient(y, unused, unconnected_gradients=mode)
    assert got.shape == unused.shape and got.dtype == unused.dtype
    np.testing.assert_array_equal(got.numpy(), np.zeros((2, 1)))


def test_unconnected_zero_leaves_connected_sources_alone():
    x = mt.Variable([1.0, 2.0])
    never_read = mt.Variable(5.0)
    with mt.GradientTape() as tape:
        y = x * x
    gx, gn = tape.gradient(y, [x, never_read], unconnected_gradients="zero")
    np.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])
    assert float(gn) == 0.0


@pytest.mark.parametrize("mode", ["bogus", 3])
def test_unknown_unconnected_mode_is_refused(mode):
    tape, y, unused = _unused_source()
    with pytest.raises(ValueError, match="none.*zero.*raise"):
        tape.gradient(y, unused, unconnected_gradients=mode)


def test_raise_mode_is_silent_for_connected_sources():
    x = mt.Variable(2.0)
    with mt.GradientTape() as tape:
        y = x * x
    assert float(tape.gradient(y, x, unconnected_gradients="raise")) == 4.0


# --- why a source is unconnected: one case per reason ----------------------------------------
def never_watched():
    x = mt.constant(1.0)
    with mt.GradientTape() as tape:
        y = x * 2.0
    return tape, y, x


def not_trainable():
    v = mt.Variable(1.0, trainable=False, name="frozen")
    with mt.GradientTape() as tape:
        y = v * 2.0
    return tape, y, v


def not_watched_accessed():
    v = mt.Variable(1.0, name="kernel")
    with mt.GradientTape(watch_accessed_variables=False) as tape:
        y = v * 2.0
    return tape, y, v


def integer_dtype():
    i = mt.Variable(3, name="count")
    with mt.GradientTape() as tape:
        y = mt.cast(i, mt.float32) * 2.0
    return tape, y, i


def integer_tensor_watched():
    i = mt.constant([3, 4])
    with mt.GradientTape() as tape:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tape.watch(i)
        y = mt.cast(i, mt.float32) * 2.0
    return tape, y, i


def cut_by_stop_gradient():
    x = mt.constant(1.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.stop_gradient(x * 2.0) * 3.0
    return tape, y, x


def cut_by_stop_recording():
    x = mt.constant(1.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        with tape.stop_recording():
            h = x * 2.0
        y = h * 3.0
    return tape, y, x


def not_used():
    x, other = mt.constant(1.0), mt.constant(2.0)
    with mt.GradientTape() as tape:
        tape.watch([x, other])
        y = other * 3.0
    return tape, y, x


def cut_by_a_non_differentiable_op():
    x = mt.constant(1.5)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.floor(x) * 2.0
    return tape, y, x


# setup, words the message must contain (case-insensitive)
REASONS = {
    "never watched": (never_watched, ["never watched", "watch"]),
    "trainable=False": (not_trainable, ["frozen", "trainable=False", "watch"]),
    "watch_accessed_variables=False": (not_watched_accessed,
                                       ["kernel", "watch_accessed_variables=False"]),
    "integer variable": (integer_dtype, ["count", "integer", "int32"]),
    "integer tensor": (integer_tensor_watched, ["integer", "int32"]),
    "stop_gradient": (cut_by_stop_gradient, ["stop_gradient"]),
    "stop_recording": (cut_by_stop_recording, ["stop_recording"]),
    "not used": (not_used, ["not used"]),
    "non-differentiable op": (cut_by_a_non_differentiable_op, ["floor", "no gradient"]),
}


# the integer source also warns (tests/test_api_misuse.py checks that): here, the reason
INTEGER_WARNS = pytest.mark.filterwarnings("ignore:The dtype of the source tensor")


@INTEGER_WARNS
@pytest.mark.parametrize("setup, words", REASONS.values(), ids=REASONS.keys())
def test_raise_mode_says_why_the_source_is_unconnected(setup, words):
    tape, y, source = setup()
    with pytest.raises(mt.UnconnectedGradientError) as error:
        tape.gradient(y, source, unconnected_gradients=mt.UnconnectedGradients.RAISE)
    message = str(error.value).lower()
    missing = [w for w in words if w.lower() not in message]
    assert not missing, f"{missing} not in: {error.value}"


@INTEGER_WARNS
@pytest.mark.parametrize("setup", [s for s, _ in REASONS.values()], ids=REASONS.keys())
def test_every_reason_gives_none_by_default(setup):
    tape, y, source = setup()
    assert tape.gradient(y, source) is None


@INTEGER_WARNS
def test_reasons_are_distinct():
    messages = set()
    for setup, _ in REASONS.values():
        tape, y, source = setup()
        with pytest.raises(mt.UnconnectedGradientError) as error:
            tape.gradient(y, source, unconnected_gradients="raise")
        messages.add(str(error.value))
    assert len(messages) == len(REASONS)


def test_unconnected_gradient_error_is_a_value_error():
    assert issubclass(mt.UnconnectedGradientError, ValueError)


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("second", ["gradient", "jacobian"])
def test_second_use_of_a_non_persistent_tape(second):
    x = mt.constant([1.0, 2.0])
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError) as error:
        getattr(tape, second)(y, x)
    assert "once" in str(error.value) and "persistent=True" in str(error.value)


def test_persistent_tape_can_be_used_many_times():
    x = mt.constant(2.0)
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * x
    assert [float(tape.gradient(t, x)) for t in (y, z, y)] == [4.0, 12.0, 4.0]


def test_watching_an_integer_tensor_warns_once_and_gives_no_gradient():
    i = mt.constant([1, 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with mt.GradientTape() as tape:
            tape.watch(i)
            y = i * 2
        grad = tape.gradient(y, i)
    assert len(caught) == 1
    assert "int32" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the user's watch() call
    assert grad is None


def test_op_without_a_registered_gradient_names_the_op():
    x = mt.constant(2.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = run("throwaway_op_without_gradient", lambda a: a * 2.0, (x,))
    assert float(y) == 4.0
    with pytest.raises(LookupError, match="throwaway_op_without_gradient"):
        tape.gradient(y, x)


def test_unregistered_op_off_the_path_does_not_matter():
    x, other = mt.constant(2.0), mt.constant(1.0)
    with mt.GradientTape() as tape:
        tape.watch([x, other])
        run("throwaway_op_without_gradient", lambda a: a * 2.0, (other,))
        y = x * x
    assert float(tape.gradient(y, x)) == 4.0


def test_shape_mismatch_inside_a_tape_names_the_op_and_shapes():
    x = mt.constant(np.ones((2, 3)))
    with mt.GradientTape() as tape:
        tape.watch(x)
        with pytest.raises(ValueError) as error:
            x + mt.constant(np.ones((3, 2)))
    message = str(error.value)
    assert "add" in message and "(2, 3)" in message and "(3, 2)" in message


def test_raise_names_the_cut_nearest_the_source():
    x = mt.constant(1.5)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.cast(mt.cast(x, mt.int32), mt.float32) * 2.0
    with pytest.raises(mt.UnconnectedGradientError, match="float32 to int32"):
        tape.gradient(y, x, unconnected_gradients="raise")


def test_entering_a_recording_tape_again_raises():
    tape = mt.GradientTape()
    with tape:
        with pytest.raises(RuntimeError, match="entered twice"):
            with tape:
                pass


def test_stop_recording_outside_the_tape_raises():
    tape = mt.GradientTape()
    with pytest.raises(RuntimeError, match="not recording"):
        with tape.stop_recording():
            pass


def test_a_tape_started_by_watch_can_still_be_entered():
    x = mt.constant(2.0)
    tape = mt.GradientTape()
    tape.watch(x)
    with tape:
        y = x * x
    assert float(tape.gradient(y, x)) == 4.0


def test_a_target_that_is_the_source_variable_has_the_seed_as_gradient():
    """TensorFlow's autodiff guide (control flow): `result = v0` inside the tape."""
    x = mt.constant(1.0)
    v0, v1 = mt.Variable(2.0), mt.Variable(2.0)
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        result = v0 if x > 0.0 else v1**2
    dv0, dv1 = tape.gradient(result, [v0, v1])
    assert float(dv0) == 1.0 and dv1 is None
    assert tape.gradient(result, v0, output_gradients=mt.constant(3.0)).numpy() == 3.0
    (jac,) = tape.jacobian(result, [v0])
    assert float(jac) == 1.0


def test_a_variable_never_read_while_recording_is_explained_as_such():
    v0, v1 = mt.Variable(2.0), mt.Variable(3.0)
    before = v1 * 1.0  # read before the tape began
    with mt.GradientTape() as tape:
        y = v0 * mt.constant(float(v1.numpy())) + before  # v1 leaves the tape as numpy
    with pytest.raises(mt.UnconnectedGradientError, match="not read while the tape was recording"):
        tape.gradient(y, v1, unconnected_gradients="raise")


def test_a_missing_gradient_raises_tensorflows_lookup_error_text():
    from minitrain.ops import core

    x = mt.constant([1.0, 2.0])
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = core.run("op_with_no_gradient", lambda a: a * 2, (x,))
    with pytest.raises(LookupError) as info:
        tape.gradient(y, x)
    assert str(info.value) == "gradient registry has no entry for: op_with_no_gradient"
    if sys.version_info >= (3, 11):
        assert "register_gradient('op_with_no_gradient')" in info.value.__notes__[0]
