"""GradientTape: watching, gradient() over nested structures, seeds, pausing, resetting."""
import numpy as np
import pytest

import minitrain as mt

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")


def _values(structure):
    return mt.nest.pack_sequence_as(
        structure, [None if g is None else float(g) for g in mt.nest.flatten(structure)])


def test_gradient_of_a_watched_constant():
    x = mt.constant(3.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x * x + 2.0 * x
    g = tape.gradient(y, x)
    assert isinstance(g, mt.Tensor) and g.dtype == np.float32
    assert float(g) == 8.0


def test_unwatched_constant_gets_no_gradient():
    x = mt.constant(3.0)
    with mt.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None


@pytest.mark.parametrize("structure", [
    lambda a, b, c: [a, (b, [c])],
    lambda a, b, c: {"first": a, "rest": {"b": b, "c": [c]}},
], ids=["lists and tuples", "dicts"])
def test_watch_takes_a_nested_structure(structure):
    a, b, c = mt.constant(1.0), mt.constant(2.0), mt.constant(3.0)
    with mt.GradientTape() as tape:
        tape.watch(structure(a, b, c))
        y = a * b * c
    assert _values(tape.gradient(y, [a, b, c])) == [6.0, 3.0, 2.0]


def test_watch_rejects_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="float"):
        mt.GradientTape().watch([1.0])


def test_result_mirrors_nested_sources():
    a, b = mt.Variable(1.0, name="a"), mt.Variable(2.0, name="b")
    with mt.GradientTape() as tape:
        y = a * b + 3.0 * b
    got = tape.gradient(y, {"da": a, "rest": (b, [a, b])})
    assert isinstance(got, dict) and isinstance(got["rest"], tuple)
    assert isinstance(got["rest"][1], list)
    assert _values(got) == {"da": 2.0, "rest": (4.0, [2.0, 4.0])}  # b, a + 3


def test_nested_targets_are_summed():
    a, b = mt.Variable(1.0), mt.Variable(2.0)
    with mt.GradientTape() as tape:
        out = {"p": a * b, "q": [a * a, (b * 3.0,)]}
    # d(ab + a^2 + 3b)/da = b + 2a, /db = a + 3
    assert _values(tape.gradient(out, [a, b])) == [4.0, 4.0]


def test_non_scalar_target_is_summed():
    x = mt.constant([1.0, 2.0, 3.0])
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 4.0, 6.0])


def test_gradient_with_respect_to_intermediates_and_repeated_sources():
    x = mt.constant([1.0, 2.0])
    with mt.GradientTape() as tape:
        tape.watch(x)
        h = x * 3.0
        y = mt.reduce_sum(h * h)
    gh, gx, again = tape.gradient(y, [h, x, h])
    np.testing.assert_array_equal(gh.numpy(), 2 * 3.0 * np.array([1.0, 2.0]))
    np.testing.assert_array_equal(gx.numpy(), 2 * 9.0 * np.array([1.0, 2.0]))
    np.testing.assert_array_equal(again.numpy(), gh.numpy())


def test_gradient_of_a_watched_source_with_respect_to_itself_is_ones():
    x = mt.constant([1.0, 2.0])
    with mt.GradientTape() as tape:
        tape.watch(x)
    np.testing.assert_array_equal(tape.gradient(x, x).numpy(), [1.0, 1.0])


def test_output_gradients_seed_the_sweep():
    x = mt.constant([1.0, 2.0, 3.0])
    seed = np.array([1.0, -2.0, 10.0], np.float32)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    got = tape.gradient(y, x, output_gradients=mt.constant(seed))
    np.testing.assert_array_equal(got.numpy(), seed * 2 * np.array([1.0, 2.0, 3.0]))


def test_output_gradients_for_a_list_of_targets():
    x = mt.constant(2.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        ys = [x * x, 3.0 * x]
    got = tape.gradient(ys, x, output_gradients=[mt.constant(10.0), mt.constant(100.0)])
    assert float(got) == 10.0 * 4.0 + 100.0 * 3.0


def test_output_gradients_count_must_match_targets():
    x = mt.constant(2.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        ys = [x * x, 3.0 * x]
    with pytest.raises(ValueError, match="output_gradients"):
        tape.gradient(ys, x, output_gradients=[mt.constant(1.0)])


def test_sources_must_be_tensors():
    x = mt.constant(2.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(TypeError, match="sources"):
        tape.gradient(y, [x, 1.0])


def test_broadcast_operand_gets_a_gradient_of_its_own_shape():
    x = mt.constant(np.ones((4, 3)))
    b = mt.constant(np.array([1.0, 2.0, 3.0]))
    with mt.GradientTape() as tape:
        tape.watch(b)
        y = x * b * b
    np.testing.assert_array_equal(tape.gradient(y, b).numpy(), 4 * 2 * np.array([1.0, 2.0, 3.0]))


def test_float64_stays_float64_with_its_gradients():
    x = mt.constant(np.array([0.5, 1.5]))
    v = mt.Variable(np.array([2.0, 3.0]))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.reduce_sum(mt.exp(x) * v)
    gx, gv = tape.gradient(y, [x, v])
    assert y.dtype == gx.dtype == gv.dtype == np.float64
    np.testing.assert_allclose(gx.numpy(), np.exp([0.5, 1.5]) * [2.0, 3.0], rtol=1e-15)


# --- variables ---------------------------------------------------------------------------------
def test_trainable_variables_are_watched_when_read():
    v = mt.Variable(3.0)
    with mt.GradientTape() as tape:
        y = v * v
    assert float(tape.gradient(y, v)) == 6.0


def test_non_trainable_variable_only_when_watched():
    frozen, watched = mt.Variable(3.0, trainable=False), mt.Variable(4.0, trainable=False)
    with mt.GradientTape() as tape:
        tape.watch(watched)
        y = frozen * watched
    assert _values(tape.gradient(y, [frozen, watched])) == [None, 3.0]


def test_watch_accessed_variables_false_watches_only_what_is_watched():
    a, b = mt.Variable(2.0), mt.Variable(5.0)
    with mt.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(b)
        y = a * b
        assert tape.watched_variables() == (b,)
    assert _values(tape.gradient(y, [a, b])) == [None, 2.0]


def test_watched_variables_lists_each_variable_once_in_order():
    a, b = mt.Variable(1.0, name="a"), mt.Variable(1.0, name="b")
    frozen = mt.Variable(1.0, name="frozen", trainable=False)
    other = mt.Variable(1.0, name="other", trainable=False)
    with mt.GradientTape() as tape:
        tape.watch(other)
        y = a * frozen * b * a * other
        watched = tape.watched_variables()
    # TensorFlow 2.21 lists them in the order they were created: [a, b, other]
    assert [v.name for v in watched] == [a.name, b.name, other.name]
    assert all(isinstance(v, mt.Variable) for v in watched)
    assert tape.gradient(y, list(watched))[1] is not None


def test_watched_variables_survive_the_gradient_call():
    a = mt.Variable(2.0)
    with mt.GradientTape() as tape:
        y = a * a
    tape.gradient(y, a)
    assert tape.watched_variables() == (a,)


def test_variable_assigned_after_the_read_gets_the_gradient_of_the_read_value():
    v = mt.Variable(3.0)
    with mt.GradientTape() as tape:
        y = v * v
        v.assign(100.0)
        z = y * 1.0
    v.assign_add(5.0)
    assert float(tape.gradient(z, v)) == 6.0  # 2 * 3, the value that was read
    assert float(v.numpy()) == 105.0


def test_each_read_of_a_variable_contributes():
    v = mt.Variable(2.0)
    with mt.GradientTape() as tape:
        y = v * 3.0
        v.assign(10.0)
        y = y + v * v
    assert float(tape.gradient(y, v)) == 3.0 + 2 * 10.0


def test_a_read_value_is_a_source_beside_its_variable():
    v = mt.Variable(3.0)
    with mt.GradientTape() as tape:
        snapshot = v.read_value()
        y = snapshot * snapshot + v
    grad_v, grad_snapshot = tape.gradient(y, [v, snapshot])
    assert float(grad_snapshot) == 6.0  # through the snapshot only
    assert float(grad_v) == 7.0  # through the snapshot and the second read


def test_second_derivative_through_variable_reads():
    v = mt.Variable(2.0)
    with mt.GradientTape() as outer:
        with mt.GradientTape() as inner:
            y = v * v * v
        dy = inner.gradient(y, v)
    assert float(dy) == 12.0
    assert float(outer.gradient(dy, v)) == 12.0  # 6 v


def test_a_variable_read_while_paused_is_cut_and_explained():
    v = mt.Variable(2.0)
    with mt.GradientTape() as tape:
        with tape.stop_recording():
            h = v * 1.0
        y = h * 3.0
    assert tape.gradient(y, v) is None
    with mt.GradientTape() as tape:
        tape.watch(v)
        with tape.stop_recording():
            h = v * 1.0
        y = h * 3.0
    with pytest.raises(mt.UnconnectedGradientError, match="stop_recording"):
        tape.gradient(y, v, unconnected_gradients="raise")


# --- stop_recording, reset -------------------------------------------------------------------
def test_stop_recording_hides_the_ops_inside():
    x = mt.constant(2.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        with tape.stop_recording():
            hidden = x * x
        y = 3.0 * x + hidden
    assert float(tape.gradient(y, x)) == 3.0


def test_stop_recording_does_not_pause_an_outer_tape():
    x = mt.constant(2.0)
    with mt.GradientTape() as outer:
        outer.watch(x)
        with mt.GradientTape() as inner:
            inner.watch(x)
            with inner.stop_recording():
                y = x * x
        assert inner.gradient(y, x) is None
    assert float(outer.gradient(y, x)) == 4.0


def test_reset_forgets_what_was_recorded():
    before, after = mt.Variable(2.0), mt.Variable(3.0)
    with mt.GradientTape(persistent=True) as tape:
        early = before * after
        tape.reset()
        y = after * after * after
    assert tape.watched_variables() == (after,)
    assert tape.gradient(early, [before, after]) == [None, None]
    assert float(tape.gradient(y, after)) == 27.0


def test_reset_unwatches_tensors():
    x = mt.constant(1.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        tape.reset()
        y = x * x
    assert tape.gradient(y, x) is None
