"""SimpleRNN, LSTM, GRU, Bidirectional and TimeDistributed: forward semantics against numpy
written from Keras 3's sources (keras/src/layers/rnn, backend rnn), Keras's weight layouts,
and gradients through time by central finite differences in float64 (first order for every
layer, second order for a small SimpleRNN)."""
import numpy as np
import pytest
from gradcases import check_first, check_second
from layercases import Draw

import minitrain as mt
from minitrain.initializers import Orthogonal
from minitrain.layers.recurrent import GRU, LSTM, SimpleRNN
from minitrain.layers.rnn_wrappers import Bidirectional, TimeDistributed

rng = Draw(seed=21)
u = rng.uniform


# --- numpy references: one step each, and Keras's loop around it ---------------------------
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def simple_step(x, states, w):
    kernel, recurrent, bias = w
    h = np.tanh(x @ kernel + states[0] @ recurrent + bias)
    return h, [h]


def lstm_step(x, states, w):
    (kernel, recurrent, bias), (h, c) = w, states
    i, f, g, o = np.split(x @ kernel + h @ recurrent + bias, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, [h, c]


def gru_step(x, states, w, reset_after=True):
    (kernel, recurrent, bias), (h,) = w, states
    x_bias, h_bias = (bias[0], bias[1]) if reset_after else (bias, 0 * bias)
    x_z, x_r, x_h = np.split(x @ kernel + x_bias, 3, axis=-1)
    h_z, h_r, h_h = np.split(h @ recurrent + h_bias, 3, axis=-1)
    z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
    recurrent_h = r * h_h if reset_after else (r * h) @ recurrent[:, 2 * h.shape[1]:]
    return z * h + (1 - z) * np.tanh(x_h + recurrent_h), [z * h + (1 - z) * np.tanh(
        x_h + recurrent_h)]


def reference(step, x, w, states, mask=None, go_backwards=False, zero_output=False):
    """Keras's backend rnn: (outputs in the order run, last states)."""
    steps = range(x.shape[1])
    outputs, previous = [], np.zeros_like(states[0])
    for t in reversed(steps) if go_backwards else steps:
        output, new = step(x[:, t], states, w)
        if mask is not None:
            keep = mask[:, t:t + 1]
            output = np.where(keep, output, 0 * output if zero_output else previous)
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        states, previous = new, output
        outputs.append(output)
    return np.stack(outputs, axis=1), states


def _random_weights(layer, x, scale=0.7):
    layer(x)
    weights = [u(*w.shape) * scale for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


STEPS = {SimpleRNN: (simple_step, 1), LSTM: (lstm_step, 2), GRU: (gru_step, 1)}
MAKERS = [
    pytest.param(lambda **k: SimpleRNN(3, **k), simple_step, 1, id="simple_rnn"),
    pytest.param(lambda **k: LSTM(3, **k), lstm_step, 2, id="lstm"),
    pytest.param(lambda **k: GRU(3, **k), gru_step, 1, id="gru"),
    pytest.param(lambda **k: GRU(3, reset_after=False, **k),
                 lambda x, s, w: gru_step(x, s, w, reset_after=False), 1, id="gru_reset_before"),
]
MASK = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=bool)


@pytest.mark.parametrize("make, step, n_states", MAKERS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_matches_the_numpy_reference(make, step, n_states, go_backwards, masked):
    x = u(3, 5, 2)
    layer = make(return_sequences=True, return_state=True, go_backwards=go_backwards)
    weights = _random_weights(layer, x)
    states = [u(3, 3) for _ in range(n_states)]
    mask = MASK if masked else None
    got = layer(x, initial_state=states, mask=mask)
    want, want_states = reference(step, x, weights, states, mask, go_backwards)
    np.testing.assert_allclose(got[0], want, atol=1e-12)
    for g, w in zip(got[1:], want_states):
        np.testing.assert_allclose(g, w, atol=1e-12)
    last = make(go_backwards=go_backwards)
    last(x)
    last.set_weights(weights)
    np.testing.assert_allclose(last(x, initial_state=states, mask=mask), want[:, -1], atol=1e-12)


@pytest.mark.parametrize("make, step, n_states", MAKERS)
def test_a_post_padded_masked_sequence_gives_the_unpadded_result(make, step, n_states):
    x, mask = u(2, 6, 2), np.array([[1] * 4 + [0] * 2] * 2, dtype=bool)
    layer = make()
    _random_weights(layer, x)
    short = layer(x[:, :4])
    padded = np.concatenate([x[:, :4], 100 * np.ones((2, 2, 2))], axis=1)
    np.testing.assert_allclose(layer(padded, mask=mask), short, atol=1e-12)


def test_zero_output_for_mask_zeroes_the_masked_outputs_and_keeps_the_states():
    x = u(3, 5, 2)
    layer = LSTM(3, return_sequences=True, return_state=True, zero_output_for_mask=True)
    weights = _random_weights(layer, x)
    got = layer(x, mask=MASK)
    zeros = [np.zeros((3, 3))] * 2
    want, want_states = reference(lstm_step, x, weights, zeros, MASK, zero_output=True)
    np.testing.assert_allclose(got[0], want, atol=1e-12)
    assert np.all(np.asarray(got[0])[~MASK] == 0)
    np.testing.assert_allclose(got[2], want_states[1], atol=1e-12)


def test_weights_are_keras_layouts_in_keras_order():
    x = u(2, 4, 5)
    cases = [(SimpleRNN(3), [(5, 3), (3, 3), (3,)]), (LSTM(3), [(5, 12), (3, 12), (12,)]),
             (GRU(3), [(5, 9), (3, 9), (2, 9)]), (GRU(3, reset_after=False),
                                                   [(5, 9), (3, 9), (9,)]),
             (LSTM(3, use_bias=False), [(5, 12), (3, 12)])]
    for layer, shapes in cases:
        layer(x)
        assert [w.shape for w in layer.get_weights()] == shapes
        names = [v.name.split("/")[-1].split(":")[0] for v in layer.weights]
        assert names == ["kernel", "recurrent_kernel", "bias"][:len(shapes)]


def test_default_initializers_are_keras():
    x = u(2, 4, 5)
    lstm = LSTM(3)
    lstm(x)
    kernel, recurrent, bias = lstm.get_weights()
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])  # forget: ones
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(3), atol=1e-6)  # orthogonal
    limit = np.sqrt(6 / (5 + 12))  # glorot_uniform
    assert np.abs(kernel).max() <= limit and kernel.std() > limit / 4
    no_forget = LSTM(3, unit_forget_bias=False)
    no_forget(x)
    assert not np.any(no_forget.get_weights()[2])
    gru = GRU(2)
    gru(x)
    assert not np.any(gru.get_weights()[2])
    assert lstm.dtype == np.float64  # a float64 input gives float64 weights, as every layer


def test_orthogonal_is_orthogonal_for_tall_and_wide_shapes_and_seeded():
    for shape in [(6, 3), (3, 6), (4, 4)]:
        q = np.asarray(Orthogonal(gain=2.0, seed=1)(shape, "float64"))
        small = q.T @ q if shape[0] >= shape[1] else q @ q.T
        np.testing.assert_allclose(small, 4 * np.eye(min(shape)), atol=1e-12)
    np.testing.assert_array_equal(Orthogonal(seed=3)((4, 4)), Orthogonal(seed=3)((4, 4)))
    assert LSTM(2, recurrent_initializer="Orthogonal").recurrent_initializer.gain == 1.0


def test_output_shapes_and_compute_output_shape():
    x = u(2, 4, 5)
    for layer, n_states in [(SimpleRNN(3), 1), (LSTM(3), 2), (GRU(3), 1)]:
        assert layer(x).shape == (2, 3) == layer.compute_output_shape(x.shape)
        full = type(layer)(3, return_sequences=True, return_state=True)
        got = full(x)
        assert isinstance(got, tuple) and len(got) == 1 + n_states
        assert [g.shape for g in got] == [(2, 4, 3)] + [(2, 3)] * n_states
        assert full.compute_output_shape((None, 4, 5)) == ((None, 4, 3),) + ((None, 3),) * n_states


def test_float32_inputs_give_float32_outputs():
    layer = GRU(3, return_sequences=True)
    assert layer(u(2, 4, 5).astype(np.float32)).dtype == np.float32 == layer.dtype


def test_get_config_round_trips_with_keras_keys():
    for layer in [SimpleRNN(3, dropout=0.2, seed=1), LSTM(3, unit_forget_bias=False),
                  GRU(3, reset_after=False, go_backwards=True, return_sequences=True)]:
        config = layer.get_config()
        assert {"units", "activation", "use_bias", "kernel_initializer",
                "recurrent_initializer", "bias_initializer", "dropout", "recurrent_dropout",
                "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                "zero_output_for_mask"} <= set(config)
        assert type(layer).from_config(config).get_config() == config
    assert LSTM(2).get_config()["recurrent_initializer"]["class_name"] == "Orthogonal"


def test_refusals_say_what_to_do():
    with pytest.raises(NotImplementedError, match="stateful=True is not supported.*initial_state"):
        LSTM(3, stateful=True)
    with pytest.raises(ValueError, match="kernel_constraint"):
        GRU(3, kernel_constraint="non_neg")
    with pytest.raises(ValueError, match="use_cudnn"):
        LSTM(3, use_cudnn="yes")
    with pytest.raises(ValueError, match="units"):
        SimpleRNN(0)
    layer = LSTM(3)
    with pytest.raises(ValueError, match=r"initial_state must be 2 tensor\(s\) of shape \(2, 3\)"):
        layer(u(2, 4, 5), initial_state=[np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, timesteps\)"):
        layer(u(2, 4, 5), mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="expected ndim=3"):
        layer(u(2, 5))


def test_unroll_is_accepted_and_changes_nothing():
    x = u(2, 4, 5)
    a, b = LSTM(3), LSTM(3, unroll=True)
    b(x)
    a(x)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x), b(x))


# --- dropout: masks drawn once per call, the same at every step ----------------------------
def _linear_rnn(**kwargs):
    """h_t = x_t @ I + h_{t-1} @ I: the masks show through unchanged."""
    layer = SimpleRNN(4, activation=None, use_bias=False, return_sequences=True, **kwargs)
    layer(np.ones((3, 5, 4)))
    layer.set_weights([np.eye(4), np.eye(4)])
    return layer


def test_input_dropout_mask_is_fixed_across_time_steps():
    layer = _linear_rnn(dropout=0.5, seed=0)
    layer.set_weights([np.eye(4), np.zeros((4, 4))])
    y = np.asarray(layer(np.ones((3, 5, 4)), training=True))
    assert np.all(y == y[:, :1]) and set(np.unique(y)) == {0.0, 2.0}
    np.testing.assert_array_equal(layer(np.ones((3, 5, 4))), np.ones((3, 5, 4)))  # inference


def test_recurrent_dropout_mask_is_fixed_across_time_steps():
    layer = _linear_rnn(recurrent_dropout=0.5, seed=0)
    y = np.asarray(layer(np.ones((3, 5, 4)), training=True))
    dropped = y[:, 1] == 1  # a dropped unit forgets h at every step: h_t = 1
    kept = ~dropped
    assert dropped.any() and kept.any()
    assert np.all(y[dropped[:, None, :].repeat(5, 1)] == 1)
    np.testing.assert_array_equal(y[:, -1][kept], (2 ** 5 - 1) * np.ones(kept.sum()))


def test_dropout_with_a_seed_is_reproducible_and_draws_anew_each_call():
    x = u(2, 4, 3)
    a, b = GRU(3, dropout=0.3, recurrent_dropout=0.3, seed=5), GRU(
        3, dropout=0.3, recurrent_dropout=0.3, seed=5)
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    first = a(x, training=True)
    np.testing.assert_array_equal(first, b(x, training=True))
    assert not np.array_equal(first, a(x, training=True))
    assert a.implementation == 1 and a._mask_count() == 3  # Keras: a mask per gate


# --- gradients through time ----------------------------------------------------------------
def _owners(layer):
    """(layer, attribute) holding each trainable weight, sublayers included."""
    found = []
    for v in layer.trainable_variables:
        for inner in layer._flatten_layers():
            name = next((n for n, value in vars(inner).items() if value is v), None)
            if name is not None:
                found.append((inner, name))
                break
    return found


def _flat(y):
    parts = y if isinstance(y, tuple) else (y,)
    return mt.concat([mt.reshape(p, (-1,)) for p in parts], 0)


def as_function(layer, x, **call):
    """f(x, *weights): the layer's outputs, flattened into one tensor, with each trainable
    weight's attribute pointed at the tensor being perturbed; and the arrays to check at."""
    layer(mt.constant(x), **call)
    owners = _owners(layer)

    def f(inputs, *weights):
        saved = [getattr(owner, name) for owner, name in owners]
        for (owner, name), w in zip(owners, weights):
            setattr(owner, name, w)
        try:
            return _flat(layer(inputs, **call))
        finally:
            for (owner, name), v in zip(owners, saved):
                setattr(owner, name, v)

    return f, [x] + [v.numpy() for v in layer.trainable_variables]


GRADIENT_ROWS = [
    pytest.param(lambda: SimpleRNN(3, return_sequences=True), {}, id="simple_rnn"),
    pytest.param(lambda: LSTM(3, return_state=True), {}, id="lstm_states"),
    pytest.param(lambda: LSTM(2, go_backwards=True, return_sequences=True), {"mask": MASK},
                 id="lstm_backwards_masked"),
    pytest.param(lambda: GRU(3, return_sequences=True), {"mask": MASK}, id="gru_masked"),
    pytest.param(lambda: GRU(2, reset_after=False, return_state=True), {}, id="gru_before"),
    pytest.param(lambda: SimpleRNN(2, activation="relu", use_bias=False), {},
                 id="simple_rnn_relu_no_bias"),
    pytest.param(lambda: Bidirectional(LSTM(2, return_sequences=True)), {}, id="bi_concat"),
    pytest.param(lambda: Bidirectional(GRU(2, return_state=True), merge_mode="mul"), {},
                 id="bi_mul_states"),
    pytest.param(lambda: Bidirectional(SimpleRNN(2, return_sequences=True), merge_mode="ave"),
                 {"mask": MASK}, id="bi_ave_masked"),
    pytest.param(lambda: TimeDistributed(mt.layers.Dense(3, activation="tanh")), {},
                 id="time_distributed_dense"),
]


@pytest.mark.parametrize("make, call", GRADIENT_ROWS)
def test_gradients_match_finite_differences(make, call):
    check_first(*as_function(make(), u(3, 5, 2), **call), {})


def test_gradients_with_respect_to_the_initial_state():
    layer = LSTM(2, return_sequences=True)
    x = u(2, 4, 3)
    layer(x)
    f = lambda h, c: layer(mt.constant(x), initial_state=[h, c])  # noqa: E731
    check_first(f, [u(2, 2), u(2, 2)], {})


def test_gradients_with_dropout_in_training_match_for_a_fixed_mask():
    def f(x):  # a fresh layer per evaluation: the same seed, hence the same masks
        layer = LSTM(2, dropout=0.4, recurrent_dropout=0.4, seed=3, return_sequences=True,
                     kernel_initializer=mt.initializers.GlorotUniform(seed=1),
                     recurrent_initializer=Orthogonal(seed=2))
        return layer(x, training=True)

    check_first(f, [u(2, 4, 3)], {})


def test_second_derivatives_of_a_small_simple_rnn():
    f, inputs = as_function(SimpleRNN(2, return_sequences=True), u(2, 3, 2))
    check_second(f, inputs, {})


def test_the_gradient_driver_catches_a_wrong_gradient():
    class Detached(SimpleRNN):
        def _step(self, x, states, rec_dp):
            return super()._step(x, [mt.stop_gradient(states[0])], rec_dp)

    with pytest.raises(AssertionError, match="differs from finite differences"):
        check_first(*as_function(Detached(2), u(2, 3, 2)), {})


# --- Bidirectional --------------------------------------------------------------------------
def _pair(x, **kwargs):
    bi = Bidirectional(LSTM(3, return_sequences=True, return_state=True), **kwargs)
    _random_weights(bi, x)
    w = bi.get_weights()
    forward, _ = reference(lstm_step, x, w[:3], [np.zeros((2, 3))] * 2)
    backward, _ = reference(lstm_step, x, w[3:], [np.zeros((2, 3))] * 2, go_backwards=True)
    return bi, forward, backward[:, ::-1]


@pytest.mark.parametrize("mode, merge", [
    ("concat", lambda a, b: np.concatenate([a, b], -1)), ("sum", np.add),
    ("mul", np.multiply), ("ave", lambda a, b: (a + b) / 2)])
def test_bidirectional_merges_forward_and_time_ordered_backward(mode, merge):
    x = u(2, 4, 3)
    bi, forward, backward = _pair(x, merge_mode=mode)
    got = bi(x)
    assert len(got) == 1 + 4  # the output, then the forward and the backward [h, c]
    np.testing.assert_allclose(got[0], merge(forward, backward), atol=1e-12)
    np.testing.assert_allclose(got[1], forward[:, -1], atol=1e-12)
    np.testing.assert_allclose(got[3], backward[:, 0], atol=1e-12)


def test_bidirectional_merge_mode_none_gives_both():
    x = u(2, 4, 3)
    bi, forward, backward = _pair(x, merge_mode=None)
    got = bi(x)
    assert len(got) == 2 + 4
    np.testing.assert_allclose(got[0], forward, atol=1e-12)
    np.testing.assert_allclose(got[1], backward, atol=1e-12)
    assert bi.compute_output_shape((2, 4, 3)) == ((2, 4, 3), (2, 4, 3)) + ((2, 3),) * 4


def test_bidirectional_weights_are_forward_then_backward_fresh_copies():
    x = u(2, 4, 3)
    inner = GRU(3, name="enc")
    bi = Bidirectional(inner)
    bi(x)
    assert not inner.built and bi.forward_layer is not inner
    assert [v.name.split("/")[0] for v in bi.weights] == ["forward_enc"] * 3 + ["backward_enc"] * 3
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    assert bi(x).shape == (2, 6) == bi.compute_output_shape(x.shape)
    again = Bidirectional(GRU(3), weights=bi.get_weights())
    np.testing.assert_array_equal(again(x), bi(x))


def test_bidirectional_with_a_backward_layer_and_initial_states():
    x = u(2, 4, 3)
    backward = SimpleRNN(3, activation="relu", return_sequences=True, go_backwards=True)
    bi = Bidirectional(SimpleRNN(3, return_sequences=True), backward_layer=backward)
    weights = _random_weights(bi, x)
    h_f, h_b = u(2, 3), u(2, 3)
    got = bi(x, initial_state=[h_f, h_b])
    forward, _ = reference(simple_step, x, weights[:3], [h_f])

    def relu_step(x_t, states, w):
        h = np.maximum(x_t @ w[0] + states[0] @ w[1] + w[2], 0)
        return h, [h]

    back, _ = reference(relu_step, x, weights[3:], [h_b], go_backwards=True)
    np.testing.assert_allclose(got, np.concatenate([forward, back[:, ::-1]], -1), atol=1e-12)


def test_bidirectional_masks_zero_the_masked_steps_of_both_directions():
    x = u(3, 5, 2)
    bi = Bidirectional(LSTM(2, return_sequences=True))
    bi(x)
    assert bi.forward_layer.zero_output_for_mask and bi.backward_layer.zero_output_for_mask
    y = np.asarray(bi(x, mask=MASK))
    assert np.all(y[~MASK] == 0) and np.all(y[MASK] != 0)


def test_bidirectional_config_round_trips_and_refusals():
    bi = Bidirectional(LSTM(3, return_sequences=True), merge_mode="sum")
    config = bi.get_config()
    assert config["layer"]["class_name"] == "LSTM" and config["merge_mode"] == "sum"
    assert Bidirectional.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="Invalid merge mode"):
        Bidirectional(LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="different `go_backwards`"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3))
    with pytest.raises(ValueError, match='same value for attribute "return_sequences"'):
        Bidirectional(LSTM(3), backward_layer=LSTM(3, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="Layer` instance"):
        Bidirectional("lstm")


# --- TimeDistributed ------------------------------------------------------------------------
def test_time_distributed_applies_one_layer_to_every_step():
    x = u(2, 4, 3)
    dense = mt.layers.Dense(5)
    td = TimeDistributed(dense)
    y = td(x)
    kernel, bias = td.get_weights()
    np.testing.assert_allclose(y, x @ kernel + bias, atol=1e-12)
    assert td.weights == dense.weights and td.compute_output_shape((None, 4, 3)) == (None, 4, 5)
    conv = TimeDistributed(mt.layers.Conv2D(2, 3))
    assert conv(u(2, 3, 5, 5, 1)).shape == (2, 3, 3, 3, 2)


def test_time_distributed_dropout_draws_per_step_and_config_round_trips():
    td = TimeDistributed(mt.layers.Dropout(0.5, seed=1))
    y = np.asarray(td(np.ones((2, 6, 8)), training=True))
    assert not all(np.array_equal(y[:, 0], y[:, t]) for t in range(1, 6))
    config = TimeDistributed(mt.layers.Dense(2)).get_config()
    assert TimeDistributed.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        TimeDistributed(mt.layers.Dense(2))(u(2, 3))


# --- in models ------------------------------------------------------------------------------
def test_a_recurrent_model_trains_and_runs_in_the_functional_api():
    mt.random.set_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 6, 2)).astype(np.float32)
    y = x[:, :, 0].sum(axis=1, keepdims=True)  # the running sum: a task for memory
    model = mt.Sequential([mt.Input((6, 2)), Bidirectional(LSTM(8, return_sequences=True)),
                           GRU(8), mt.layers.Dense(1)])
    model.compile(optimizer=mt.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert model.predict(x, verbose=0).shape == (32, 1)
    inputs = mt.Input((6, 2))
    h, c = LSTM(4, return_state=True)(inputs)[1:]
    functional = mt.Model(inputs, mt.layers.Concatenate()([h, c]))
    assert functional(x).shape == (32, 8)
