"""The recurrent layers and their wrappers against Keras 3 (optional: skipped where TensorFlow
is not importable). Each layer is built in both libraries in float64, Keras's weights are
copied into minitrain's with set_weights(get_weights()), and the outputs (every one, states
included), the gradients with respect to the input and to every weight, the weight shapes,
compute_output_shape and the get_config keys are compared."""
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed: the differential "
                                              "tests against it are optional")
keras = pytest.importorskip("keras")

import minitrain as mt  # noqa: E402
from minitrain.layers import recurrent, rnn_wrappers  # noqa: E402

_rng = np.random.default_rng(20261201)
X = _rng.uniform(-1, 1, size=(3, 5, 4))
MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=bool)
OURS = {"SimpleRNN": recurrent.SimpleRNN, "LSTM": recurrent.LSTM, "GRU": recurrent.GRU}

LAYERS = [(cls, kw) for cls in ("SimpleRNN", "LSTM", "GRU") for kw in [
    {}, dict(return_sequences=True, return_state=True),
    dict(go_backwards=True, return_sequences=True), dict(activation="relu", use_bias=False),
]] + [("GRU", dict(reset_after=False, return_sequences=True)),
      ("LSTM", dict(unit_forget_bias=False, recurrent_activation="tanh", return_state=True))]


def _flat(lib, y):
    parts = y if isinstance(y, (list, tuple)) else [y]
    return [np.asarray(p) for p in parts], lib.concat([lib.reshape(p, [-1]) for p in parts], 0)


def _outputs_and_gradients(lib, layer, x, **call):
    """Every output, and the gradients of a weighted sum of them wrt the input and weights."""
    xt = lib.constant(x)
    call = {k: [lib.constant(s) for s in v] if k == "initial_state" else lib.constant(v)
            for k, v in call.items()}
    with lib.GradientTape() as tape:
        tape.watch(xt)
        outputs, flat = _flat(lib, layer(xt, **call))
        weights = np.linspace(0.5, 1.5, int(flat.shape[0]))
        total = lib.reduce_sum(flat * lib.constant(weights))
    grads = tape.gradient(total, [xt] + list(layer.trainable_weights))
    return outputs, [np.asarray(g) for g in grads]


def _compare(theirs, ours, x, **call):
    theirs(x)
    ours(x)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    (got, got_grads), (want, want_grads) = (_outputs_and_gradients(mt, ours, x, **call),
                                            _outputs_and_gradients(tf, theirs, x, **call))
    assert len(got) == len(want)
    for a, b in zip(got + got_grads, want + want_grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
    shape = (None,) + x.shape[1:]
    assert ours.compute_output_shape(shape) == _tuples(theirs.compute_output_shape(shape))


def _tuples(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return tuple(_tuples(s) for s in shape)
    return tuple(shape)


def _config_keys(layer):
    return {k for k in layer.get_config() if not k.endswith("_constraint")}


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=[f"{c}-{k}" for c, k in LAYERS])
def test_layers(cls, kwargs):
    kwargs = {**kwargs, "units": 3, "dtype": "float64", "bias_initializer": "random_normal"}
    theirs, ours = getattr(keras.layers, cls)(**kwargs), OURS[cls](**kwargs)
    _compare(theirs, ours, X)
    assert _config_keys(ours) == _config_keys(theirs)


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masks_and_initial_states(cls, go_backwards):
    kwargs = dict(units=3, dtype="float64", bias_initializer="random_normal",
                  return_sequences=True, return_state=True, go_backwards=go_backwards)
    states = [_rng.uniform(-1, 1, size=(3, 3)) for _ in range(2 if cls == "LSTM" else 1)]
    _compare(getattr(keras.layers, cls)(**kwargs), OURS[cls](**kwargs), X, mask=MASK,
             initial_state=states)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_bidirectional(cls, merge_mode):
    kwargs = dict(units=3, dtype="float64", bias_initializer="random_normal",
                  return_sequences=True, return_state=merge_mode == "concat")
    theirs = keras.layers.Bidirectional(getattr(keras.layers, cls)(**kwargs),
                                        merge_mode=merge_mode, dtype="float64")
    ours = rnn_wrappers.Bidirectional(OURS[cls](**kwargs), merge_mode=merge_mode,
                                      dtype="float64")
    _compare(theirs, ours, X, mask=MASK)


def test_bidirectional_with_a_backward_layer_and_initial_states():
    def pair(lib_layers):
        forward = lib_layers.SimpleRNN(3, dtype="float64", return_sequences=True)
        backward = lib_layers.SimpleRNN(3, dtype="float64", activation="relu",
                                        return_sequences=True, go_backwards=True)
        return lib_layers.Bidirectional(forward, backward_layer=backward, dtype="float64")

    class Ours:
        SimpleRNN, Bidirectional = recurrent.SimpleRNN, rnn_wrappers.Bidirectional

    states = [_rng.uniform(-1, 1, size=(3, 3)) for _ in range(2)]
    _compare(pair(keras.layers), pair(Ours), X, initial_state=states)


def test_time_distributed():
    theirs = keras.layers.TimeDistributed(keras.layers.Dense(2, activation="tanh",
                                                             dtype="float64"), dtype="float64")
    ours = rnn_wrappers.TimeDistributed(mt.layers.Dense(2, activation="tanh", dtype="float64"),
                                        dtype="float64")
    _compare(theirs, ours, X)
