"""MultiHeadAttention, Attention and PositionEmbedding: gradients (first order, and second
order for MultiHeadAttention, by finite differences in float64), masks, weights in Keras's
layout and order, and the forward against numpy written from Keras 3's sources."""
import numpy as np
import pytest
from gradcases import check_first, check_second
from layercases import Draw

import minitrain as mt
from minitrain.layers.attention import Attention, MultiHeadAttention
from minitrain.layers.position import PositionEmbedding

rng = Draw(seed=21)
u = rng.uniform


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def mha_reference(layer, query, value, key=None, mask=None):
    """Keras's MultiHeadAttention on numpy, from the layer's weights (3-D inputs, use_bias)."""
    weights = layer.get_weights()
    wq, bq, wk, bk = weights[:4]
    (wg, bg), (wv, bv, wo, bo) = (weights[4:6], weights[6:]) if layer.use_gate else \
        ((None, None), weights[4:])
    key = value if key is None else key
    q = np.einsum("btd,dhk->bthk", query, wq) + bq
    k = np.einsum("bsd,dhk->bshk", key, wk) + bk
    v = np.einsum("bsd,dhv->bshv", value, wv) + bv
    scores = np.einsum("bthk,bshk->bhts", q / np.sqrt(wq.shape[-1]), k)
    keep = None if mask is None else np.asarray(mask, bool)[:, None]
    probs = _softmax(scores if keep is None else np.where(keep, scores, -1e9))
    probs = probs if keep is None else np.where(keep, probs, 0)
    heads = np.einsum("bhts,bshv->bthv", probs, v)
    if wg is not None:
        heads = heads / (1 + np.exp(-(np.einsum("btd,dhv->bthv", query, wg) + bg)))
    return np.einsum("bthv,hvo->bto", heads, wo) + bo, probs


def _holders(layer):
    """(owner, attribute) of each trainable weight of ``layer``, sublayers included."""
    places = {}
    for owner in layer._flatten_layers():
        for name, value in vars(owner).items():
            if isinstance(value, mt.Variable):
                places.setdefault(value._id, (owner, name))
    return [places[v._id] for v in layer.trainable_variables]


def as_function(layer, apply, inputs):
    """(f, arrays): f(*tensors) is ``apply(layer, *inputs)`` with the inputs and then the
    trainable weights (each attribute pointed at the tensor perturbed) as its arguments."""
    apply(layer, *[mt.constant(x) for x in inputs])  # builds, in float64
    holders, k = _holders(layer), len(inputs)

    def f(*tensors):
        saved = [getattr(owner, name) for owner, name in holders]
        for (owner, name), w in zip(holders, tensors[k:]):
            object.__setattr__(owner, name, w)
        try:
            return apply(layer, *tensors[:k])
        finally:
            for (owner, name), v in zip(holders, saved):
                object.__setattr__(owner, name, v)

    return f, list(inputs) + [v.numpy() for v in layer.trainable_variables]


def _random_weights(layer, *inputs, scale=0.7):
    """The layer, built on ``inputs``, with random weights (biases included)."""
    layer(*inputs)
    layer.set_weights([u(*w.shape, low=-scale, high=scale) for w in layer.get_weights()])
    return layer


def _mha(*args, **kwargs):
    return MultiHeadAttention(*args, bias_initializer="random_uniform", **kwargs)


_MASK = np.array([[[1, 1, 0], [1, 0, 1]], [[0, 1, 1], [1, 1, 1]]], bool)  # (batch, T=2, S=3)

GRADIENT_CASES = [  # (id, layer maker, apply(layer, *inputs), inputs)
    ("MHA self", lambda: _mha(2, 3), lambda m, x: m(x, x), [u(2, 3, 4)]),
    ("MHA query value key", lambda: _mha(2, 2, value_dim=3),
     lambda m, q, v, k: m(q, v, k), [u(2, 2, 4), u(2, 3, 5), u(2, 3, 3)]),
    ("MHA causal", lambda: _mha(1, 2), lambda m, x: m(x, x, use_causal_mask=True),
     [u(1, 3, 3)]),
    ("MHA attention_mask no bias", lambda: _mha(2, 2, use_bias=False),
     lambda m, q, v: m(q, v, attention_mask=_MASK), [u(2, 2, 3), u(2, 3, 3)]),
    ("MHA output_shape", lambda: _mha(1, 2, output_shape=(2, 3)), lambda m, x: m(x, x),
     [u(1, 2, 3)]),
    ("MHA attention_axes (1, 2)", lambda: _mha(1, 2, attention_axes=(1, 2)),
     lambda m, x: m(x, x), [u(1, 2, 2, 3)]),
    ("MHA scores", lambda: _mha(2, 2),
     lambda m, x: m(x, x, return_attention_scores=True)[1], [u(1, 3, 3)]),
    ("Attention dot", lambda: Attention(), lambda a, q, v: a([q, v]), [u(2, 2, 3), u(2, 3, 3)]),
    ("Attention dot scale key causal", lambda: Attention(use_scale=True),
     lambda a, q, v, k: a([q, v, k], use_causal_mask=True),
     [u(2, 3, 3), u(2, 3, 2), u(2, 3, 3)]),
    ("Attention concat scale masks", lambda: Attention(use_scale=True, score_mode="concat"),
     lambda a, q, v: a([q, v], mask=[np.array([[1, 0]] * 2, bool), np.array([[1, 1, 0]] * 2,
                                                                         bool)]),
     [u(2, 2, 3), u(2, 3, 3)]),
    ("MHA use_gate sliding_window", lambda: _mha(2, 2, use_gate=True, sliding_window=2),
     lambda m, x: m(x, x), [u(1, 3, 3)]),
    ("MHA a row with no key", lambda: _mha(1, 2),
     lambda m, x: m(x, x, attention_mask=np.array([[[1, 0], [0, 0]]], bool)), [u(1, 2, 3)]),
    ("PositionEmbedding shorter", lambda: PositionEmbedding(4), lambda p, x: p(x, start_index=1),
     [u(2, 3, 2)]),
    ("PositionEmbedding positions", lambda: PositionEmbedding(4),
     lambda p, x: p(x, positions=np.array([[3, 0, 0], [1, 2, 3]])), [u(2, 3, 2)]),
]


@pytest.mark.parametrize("make, apply, inputs", [pytest.param(*c[1:], id=c[0])
                                                 for c in GRADIENT_CASES])
def test_gradient(make, apply, inputs):
    f, arrays = as_function(make(), apply, inputs)
    check_first(f, arrays, {})


def test_multi_head_attention_second_derivative():
    f, arrays = as_function(_mha(1, 2), lambda m, q, v: m(q, v, use_causal_mask=True),
                            [u(1, 2, 2), u(1, 2, 2)])
    check_second(f, arrays, {"atol": 1e-5, "rtol": 1e-4})


def test_the_driver_catches_a_wrong_weight_gradient():
    class Detached(MultiHeadAttention):
        def _masked_softmax(self, scores, mask=None):
            return mt.nn.softmax(mt.stop_gradient(scores), axis=-1)

    f, arrays = as_function(Detached(1, 2), lambda m, x: m(x, x), [u(1, 2, 2)])
    with pytest.raises(AssertionError, match="input 0"):
        check_first(f, arrays, {})


# --- MultiHeadAttention ------------------------------------------------------------------
def test_weights_have_keras_layout_and_order():
    layer = MultiHeadAttention(num_heads=3, key_dim=4, value_dim=5)
    layer(np.zeros((2, 6, 7), "float32"), np.zeros((2, 4, 8), "float32"))
    assert [w.shape for w in layer.get_weights()] == [
        (7, 3, 4), (3, 4), (8, 3, 4), (3, 4), (8, 3, 5), (3, 5), (3, 5, 7), (7,)]
    assert [v.name for v in layer.weights] == [
        f"{p}/{w}:0" for p in ("query", "key", "value", "attention_output")
        for w in ("kernel", "bias")]
    assert layer.query_dense.kernel is layer.weights[0]
    no_bias = MultiHeadAttention(2, 3, use_bias=False, output_shape=(2, 5))
    no_bias(np.zeros((1, 2, 4)), np.zeros((1, 2, 4)))
    assert [w.shape for w in no_bias.get_weights()] == [(4, 2, 3)] * 3 + [(2, 3, 2, 5)]


def test_forward_matches_keras_maths_with_masks():
    q, v, k = u(2, 2, 4), u(2, 3, 5), u(2, 3, 6)
    layer = _random_weights(MultiHeadAttention(2, 3, value_dim=2), q, v, k)
    y, scores = layer(q, v, k, attention_mask=_MASK, return_attention_scores=True)
    want, probs = mha_reference(layer, q, v, k, _MASK)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scores.numpy(), probs, rtol=1e-12, atol=1e-12)
    assert scores.shape == (2, 2, 2, 3)  # (batch, heads, T_q, T_k)
    np.testing.assert_allclose(scores.numpy().sum(-1), 1)
    assert np.all(scores.numpy()[np.broadcast_to(~_MASK[:, None], scores.shape)] == 0)


def test_gate_and_sliding_window():
    x = u(2, 5, 4)
    layer = _random_weights(MultiHeadAttention(2, 3, use_gate=True, sliding_window=2), x, x)
    assert [w.name.split("/")[0] for w in layer.weights[::2]] == [
        "query", "key", "gate", "value", "attention_output"]
    assert layer.get_weights()[4].shape == (4, 2, 3)  # the gate's kernel, value_dim wide
    y, scores = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    band = np.tril(np.ones((5, 5), bool)) & ~np.tril(np.ones((5, 5), bool), -2)
    want, probs = mha_reference(layer, x, x, mask=np.broadcast_to(band, (2, 5, 5)))
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scores.numpy(), probs, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="sliding_window"):
        MultiHeadAttention(1, 2, sliding_window=0)


def test_a_query_that_sees_no_key_gets_zero_scores():
    x = u(1, 2, 3)
    layer = _random_weights(MultiHeadAttention(1, 2), x, x)
    mask = np.array([[[True, False], [False, False]]])
    y, scores = layer(x, x, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_array_equal(scores.numpy()[0, 0, 1], 0)
    np.testing.assert_allclose(y.numpy()[0, 1], layer.get_weights()[-1])  # the output's bias


def test_query_value_and_key_masks_combine_with_and():
    x = u(2, 3, 4)
    layer = _random_weights(MultiHeadAttention(1, 2), x, x)
    query_mask, value_mask = np.array([[1, 1, 0], [1, 1, 1]]), np.array([[1, 0, 1], [1, 1, 0]])
    attention = np.ones((2, 3, 3), bool)
    attention[0, 0, 0] = False
    causal = np.tril(np.ones((3, 3), bool))
    want = attention & query_mask[:, :, None].astype(bool) & value_mask[:, None].astype(bool)
    y = layer(x, x, attention_mask=attention, query_mask=query_mask, value_mask=value_mask,
              use_causal_mask=True)
    np.testing.assert_allclose(y.numpy(), mha_reference(layer, x, x, mask=want & causal)[0])


def test_causal_outputs_do_not_depend_on_later_inputs():
    x = u(1, 5, 4)
    layer = _random_weights(MultiHeadAttention(2, 3), x, x)
    y = layer(x, x, use_causal_mask=True).numpy()
    for t in range(4):
        later = x.copy()
        later[:, t + 1:] += u(1, 4 - t, 4)
        z = layer(later, later, use_causal_mask=True).numpy()
        np.testing.assert_allclose(z[:, :t + 1], y[:, :t + 1], rtol=1e-12)
        assert not np.allclose(z[:, t + 1:], y[:, t + 1:])
    scores = layer(x, x, use_causal_mask=True, return_attention_scores=True)[1].numpy()
    assert np.all(np.triu(scores[0, 0], 1) < 1e-8)


def test_dropout_applies_in_training_only_and_scores_are_before_it():
    x = u(2, 4, 3)
    layer = _random_weights(MultiHeadAttention(2, 3, dropout=0.5, seed=1), x, x)
    plain = MultiHeadAttention(2, 3)
    plain(x, x)
    plain.set_weights(layer.get_weights())
    y, s = layer(x, x, return_attention_scores=True)
    np.testing.assert_allclose(y.numpy(), plain(x, x).numpy())
    y_train, s_train = layer(x, x, return_attention_scores=True, training=True)
    assert not np.allclose(y_train.numpy(), y.numpy())
    np.testing.assert_allclose(s_train.numpy(), s.numpy())  # Keras returns the undropped


def test_functional_model_and_its_config():
    inputs = mt.keras.Input((4, 6))
    layer = MultiHeadAttention(2, 3, dropout=0.1)
    outputs = layer(inputs, inputs, use_causal_mask=True)
    assert outputs.shape == (None, 4, 6)
    model = mt.keras.Model(inputs, outputs)
    x = u(3, 4, 6).astype("float32")
    np.testing.assert_allclose(model(x).numpy(), layer(x, x, use_causal_mask=True).numpy())
    config = layer.get_config()
    assert config["attention_axes"] == (1,) and config["value_dim"] == 3
    assert MultiHeadAttention.from_config(config).get_config() == config


def test_a_functional_model_saves_loads_and_trains(tmp_path):
    mt.keras.utils.set_random_seed(0)  # the dropout's draws: not the tests run before this one
    inputs = mt.keras.Input((4, 6))
    x = MultiHeadAttention(2, 3, use_gate=True, dropout=0.1)(inputs, inputs,
                                                                use_causal_mask=True)
    # (no use_scale: Adam fails on a scalar weight, in kernels/optim.py, reported)
    model = mt.keras.Model(inputs, Attention()([x, inputs]))
    data = u(8, 4, 6).astype("float32")
    model.save(tmp_path / "attention.keras")
    loaded = mt.keras.models.load_model(tmp_path / "attention.keras")
    np.testing.assert_array_equal(loaded(data).numpy(), model(data).numpy())
    # a rate that moves the loss past the dropout's noise (Keras's 0.001: 0.3% in 5 epochs,
    # up or down with the draws); 0.61-0.78 of the first epoch's loss over seeds 0-7
    model.compile(mt.keras.optimizers.Adam(0.01), "mse")
    losses = model.fit(data, np.zeros_like(data), epochs=10, verbose=0).history["loss"]
    assert losses[-1] < 0.9 * losses[0]


def test_symbolic_scores_and_output_shape():
    q, v = mt.keras.Input((4, 6)), mt.keras.Input((5, 2))
    layer = MultiHeadAttention(3, 2, output_shape=8)
    y, s = layer(q, v, return_attention_scores=True)
    assert y.shape == (None, 4, 8) and s.shape == (None, 3, 4, 5)
    assert layer.compute_output_shape((None, 4, 6), (None, 5, 2)) == (None, 4, 8)


def test_float32_inputs_and_float64_masks_keep_the_query_dtype():
    layer = MultiHeadAttention(1, 2)
    x = u(1, 2, 3).astype("float32")
    assert layer(x, x, attention_mask=np.ones((1, 2, 2))).dtype == np.float32


@pytest.mark.parametrize("kwargs, call, match", [
    ({"attention_axes": 2}, {}, "attention_axes"),
    ({"attention_axes": "x"}, {}, "must be an int, list, or tuple"),
    ({"output_shape": object()}, {}, "Invalid `output_shape`"),
    ({}, {"key": np.zeros((1, 3, 2))}, "except the last one"),
])
def test_multi_head_attention_refuses_clearly(kwargs, call, match):
    with pytest.raises(ValueError, match=match):
        MultiHeadAttention(1, 2, **kwargs)(np.zeros((1, 2, 2)), np.zeros((1, 4, 2)), **call)


def test_constraints_are_refused():
    with pytest.raises(NotImplementedError, match="constraint"):
        MultiHeadAttention(1, 2, kernel_constraint="non_neg")


# --- Attention ---------------------------------------------------------------------------
def test_attention_matches_keras_maths():
    q, v, k = u(2, 3, 4), u(2, 5, 2), u(2, 5, 4)
    layer = Attention(use_scale=True)
    layer([q, v, k])
    layer.set_weights([np.array(1.7)])
    y, w = layer([q, v, k], mask=[np.array([[1, 1, 0]] * 2), np.array([[1, 1, 1, 0, 1]] * 2)],
                 return_attention_scores=True)
    scores = 1.7 * q @ k.transpose(0, 2, 1) - 1e9 * np.array([0, 0, 0, 1, 0])
    np.testing.assert_allclose(w.numpy(), _softmax(scores))
    np.testing.assert_allclose(y.numpy(), _softmax(scores) @ v * [[1], [1], [0]])
    concat = Attention(score_mode="concat")
    concat([q, k])
    assert [x.shape for x in concat.get_weights()] == [()]
    want = np.tanh(q[:, :, None] + k[:, None]).sum(-1)
    np.testing.assert_allclose(concat([q, k], return_attention_scores=True)[1].numpy(),
                               _softmax(want))


def test_attention_causal_and_dropout():
    x = u(1, 4, 3)
    layer = Attention(dropout=0.5, seed=3)
    y = layer([x, x], use_causal_mask=True).numpy()
    later = x.copy()
    later[:, 2:] += 1
    np.testing.assert_allclose(layer([later, later], use_causal_mask=True).numpy()[:, :2],
                               y[:, :2])
    np.testing.assert_allclose(layer([x, x], training=False).numpy(),
                               Attention()([x, x]).numpy())
    assert not np.allclose(layer([x, x], training=True).numpy(), layer([x, x]).numpy())
    assert layer.compute_output_shape([(None, 4, 3), (None, 6, 2)]) == (None, 4, 2)


@pytest.mark.parametrize("inputs, kwargs, match", [
    (np.zeros((1, 2, 2)), {}, "must be called on a list"),
    ([np.zeros((1, 2, 2))], {}, "length 2 or 3"),
    ([np.zeros((1, 2, 2))] * 2, {"mask": np.ones((1, 2))}, "mask must be a list"),
])
def test_attention_refuses_clearly(inputs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Attention()(inputs, **kwargs)
    with pytest.raises(ValueError, match="score_mode"):
        Attention(score_mode="add")


# --- PositionEmbedding -------------------------------------------------------------------
def test_position_embedding_returns_the_table_broadcast_to_the_input():
    layer = PositionEmbedding(sequence_length=5)
    x = u(3, 5, 4)
    y = layer(x).numpy()
    (table,) = layer.get_weights()
    assert table.shape == (5, 4) and layer.weights[0].name.endswith("embeddings:0")
    np.testing.assert_allclose(y, np.broadcast_to(table, x.shape), rtol=1e-12)
    np.testing.assert_allclose(layer(x[:, :3]).numpy()[0], table[:3])
    np.testing.assert_allclose(layer(x[:, :2], start_index=2).numpy()[1], table[2:4])


def test_position_embedding_positions_and_what_does_not_fit():
    layer = PositionEmbedding(4)
    x = u(2, 3, 2)
    (table,) = _random_weights(layer, x).get_weights()
    y = layer(x, positions=np.array([2, 0, 1])).numpy()
    np.testing.assert_allclose(y, np.broadcast_to(table[[2, 0, 1]], x.shape))
    with pytest.raises(ValueError, match="do not fit in sequence_length 4"):
        layer(x, start_index=2)
    with pytest.raises(ValueError, match="do not fit"):
        layer(u(1, 5, 2))
    assert PositionEmbedding.from_config(layer.get_config()).get_config() == layer.get_config()
