"""When a tape records, and that nothing it recorded outlives its use (weakref checks)."""
import gc
import weakref

import numpy as np
import pytest

import minitrain as mt
from minitrain import tape as tape_module


def _live_tapes():
    return [ref() for ref in tape_module._stack if ref() is not None]


@pytest.fixture(autouse=True, scope="module")
def no_garbage_from_other_modules():
    gc.collect()  # a tape caught in a reference cycle elsewhere would still be recording


@pytest.fixture(autouse=True)
def no_tape_left_over(no_garbage_from_other_modules):
    """Each test starts and ends with no recording tape (a leak would show in the next test)."""
    assert _live_tapes() == []
    yield
    assert _live_tapes() == []


def _record(x):
    """Some ops on x; returns the result and weak references to the intermediates."""
    h1 = mt.exp(x)
    h2 = h1 * h1
    y = mt.reduce_sum(mt.tanh(h2))
    return y, [weakref.ref(h1), weakref.ref(h2)]


# --- a tape used without `with` ----------------------------------------------------------------
def test_without_with_recording_starts_at_the_first_watch():
    v = mt.Variable(2.0)
    tape = mt.GradientTape(persistent=True)
    before = v * v  # the tape is not recording yet
    assert not tape_module.is_recording()
    tape.watch(v)
    assert tape_module.is_recording()
    after = v * v * v
    assert tape.gradient(before, v) is None
    assert float(tape.gradient(after, v)) == 12.0
    del tape


def test_without_with_a_non_persistent_tape_stops_at_its_gradient():
    x = mt.constant(3.0)
    tape = mt.GradientTape()
    tape.watch(x)
    y = x * 2.0
    assert float(tape.gradient(y, x)) == 2.0
    assert not tape_module.is_recording()
    assert _live_tapes() == []


def test_with_block_stops_recording_at_its_end():
    x = mt.constant(3.0)
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        assert tape_module.is_recording()
    outside = x * x
    assert not tape_module.is_recording()
    assert tape.gradient(outside, x) is None


def test_with_block_stops_recording_when_it_raises():
    x = mt.constant(3.0)
    with pytest.raises(KeyError), mt.GradientTape() as tape:
        tape.watch(x)
        raise KeyError("the user's code failed")
    assert not tape_module.is_recording()


@pytest.mark.parametrize("persistent", [False, True])
def test_dropped_tape_stops_recording_and_frees_what_it_recorded(persistent):
    x = mt.constant(np.ones(3))
    tape = mt.GradientTape(persistent=persistent)
    tape.watch(x)
    y, intermediates = _record(x)
    assert all(r() is not None for r in intermediates)  # the tape holds them for its sweep
    tape_ref = weakref.ref(tape)
    del tape, y
    gc.collect()
    assert tape_ref() is None
    assert _live_tapes() == []
    assert not tape_module.is_recording()
    assert all(r() is None for r in intermediates)


def test_dropped_tape_stops_recording_inside_an_outer_tape():
    x = mt.constant(2.0)
    with mt.GradientTape() as outer:
        outer.watch(x)
        inner = mt.GradientTape()
        inner.watch(x)
        del inner
        gc.collect()
        assert len(_live_tapes()) == 1
        y = x * x
    assert float(outer.gradient(y, x)) == 4.0


# --- memory ------------------------------------------------------------------------------------
def test_non_persistent_gradient_releases_what_was_recorded():
    x = mt.constant(np.linspace(0.0, 1.0, 4))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y, intermediates = _record(x)
    assert all(r() is not None for r in intermediates)
    grad = tape.gradient(y, x)
    gc.collect()
    assert all(r() is None for r in intermediates)
    assert grad.shape == (4,)


def test_persistent_tape_keeps_its_records_until_it_is_dropped():
    x = mt.constant(np.linspace(0.0, 1.0, 4))
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y, intermediates = _record(x)
    first = tape.gradient(y, x)
    gc.collect()
    assert all(r() is not None for r in intermediates)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), first.numpy())
    del tape
    gc.collect()
    assert all(r() is None for r in intermediates)


def test_gradient_results_do_not_hold_the_recorded_graph():
    x = mt.constant(np.linspace(0.0, 1.0, 4))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y, intermediates = _record(x)
    grad = tape.gradient(y, x)
    del tape, y
    gc.collect()
    assert all(r() is None for r in intermediates)
    assert grad is not None


def test_reset_releases_what_was_recorded():
    x = mt.constant(np.ones(3))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y, intermediates = _record(x)
        del y
        tape.reset()
        gc.collect()
        assert all(r() is None for r in intermediates)


def test_failed_gradient_still_releases_a_non_persistent_tape():
    x = mt.constant(np.ones(3))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y, intermediates = _record(x)
    with pytest.raises(TypeError):
        tape.gradient(y, [x, "not a tensor"])
    del y
    gc.collect()
    assert all(r() is None for r in intermediates)


def test_a_failed_watch_does_not_start_recording(no_tape_left_over):
    tape = mt.GradientTape()
    with pytest.raises(TypeError, match="watch"):
        tape.watch([1.0])
    assert _live_tapes() == []


def test_a_dropped_tape_is_forgotten_and_a_live_one_after_it_still_records(no_tape_left_over):
    x = mt.constant([1.0, 2.0])
    dropped = mt.GradientTape()
    dropped.watch(x)  # recording, never popped
    live = mt.GradientTape(persistent=True)
    live.watch(x)
    del dropped
    gc.collect()
    y = x * 3.0  # meets the dead reference first, then the live tape
    np.testing.assert_array_equal(live.gradient(y, x).numpy(), [3.0, 3.0])
    assert len(tape_module._stack) == 1  # the dead reference is gone
    del live
    gc.collect()
    x * 1.0
    assert tape_module._stack == []


# --- reference cycles --------------------------------------------------------------------------
# Freed only by the garbage collector, a cycle holding arrays keeps a step's gradients alive for
# many steps; their memory then returns to the system in bulk and faults back in page by page.
@pytest.fixture
def no_cycles():
    """Fails the test if its body leaves objects that only the garbage collector can free."""
    gc.collect()
    gc.disable()
    try:
        yield
        assert gc.collect() == 0, "the body left objects in reference cycles"
    finally:
        gc.enable()


def _weights():
    return [mt.Variable(np.ones((3, 2))), mt.Variable(np.zeros(2))]


def _loss(w, b, x):
    return mt.reduce_mean(mt.nn.relu(x @ w + b) ** 2)


@pytest.mark.parametrize("structure", ["list", "tuple", "dict", "nested"])
def test_gradient_leaves_no_reference_cycles(no_cycles, structure):
    w, b = _weights()
    sources = {"list": [w, b], "tuple": (w, b), "dict": {"w": w, "b": b},
               "nested": {"layer": [w, (b,)]}}[structure]
    with mt.GradientTape() as tape:
        loss = _loss(w, b, mt.constant(np.ones((4, 3))))
    grads = tape.gradient(loss, sources)
    assert sorted(g.shape for g in mt.nest.flatten(grads)) == [(2,), (3, 2)]


def test_jacobians_and_persistent_tapes_leave_no_reference_cycles(no_cycles):
    w, b = _weights()
    x = mt.constant(np.ones((4, 3)))
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = mt.nn.relu(x @ w + b)
        loss = mt.reduce_mean(y ** 2)
    tape.gradient(loss, [w, b])
    assert tape.jacobian(y, w).shape == (4, 2, 3, 2)
    assert tape.batch_jacobian(y, x).shape == (4, 2, 3)


def test_a_keras_training_step_leaves_no_reference_cycles():
    model = mt.Sequential([mt.layers.Dense(4, activation="relu"), mt.layers.Dense(2)])
    optimizer = mt.optimizers.SGD(0.1)
    loss_fn = mt.losses.SparseCategoricalCrossentropy(from_logits=True)
    x, y = mt.constant(np.ones((5, 3))), mt.constant(np.array([0, 1, 0, 1, 1]))

    def step():
        with mt.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    step()  # the first step builds the model and the optimizer
    gc.collect()
    gc.disable()
    try:
        step()
        assert gc.collect() == 0, "a training step left objects in reference cycles"
    finally:
        gc.enable()
