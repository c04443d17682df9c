"""MultiHeadAttention, Attention and PositionEmbedding against Keras 3 (and keras_hub).

Written against Keras 3.15 and keras_hub 0.32 (``use_gate`` and ``sliding_window`` are newer
than Keras 3.10; an older Keras skips those rows).

Optional: skipped where TensorFlow is not importable (the PositionEmbedding cases also where
keras_hub is not). Each layer is built in Keras, its weights copied into minitrain's with
``set_weights`` (so the weight shapes and order must be Keras's), and the outputs, attention
scores and output shapes compared, to 1e-5 in float32.
"""
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import types  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed: the differential "
                                              "tests against it are optional")
keras = pytest.importorskip("keras")

from minitrain.layers.attention import Attention, MultiHeadAttention  # noqa: E402
from minitrain.layers.position import PositionEmbedding  # noqa: E402

_rng = np.random.default_rng(20261202)


def R(*shape):
    return _rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def _copied(theirs, ours, *inputs, **kwargs):
    """``ours`` called like ``theirs`` (already built), with ``theirs``'s weights (biases made
    non-zero first, so that their layout is checked too)."""
    theirs.set_weights([R(*w.shape) for w in theirs.get_weights()])
    ours(*inputs, **kwargs)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    return ours


def _close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-5)


_BOOL_MASK = _rng.uniform(size=(2, 4, 5)) > 0.3
_BOOL_MASK[..., 0] = True  # every query sees a key

MHA_CASES = [  # (id, constructor kwargs, query shape, value shape, key shape, call kwargs)
    ("self", {"num_heads": 2, "key_dim": 3}, (2, 4, 6), (2, 4, 6), None, {}),
    ("cross value_dim key", {"num_heads": 3, "key_dim": 2, "value_dim": 4}, (2, 4, 6),
     (2, 5, 3), (2, 5, 7), {}),
    ("attention_mask", {"num_heads": 2, "key_dim": 3}, (2, 4, 6), (2, 5, 6), None,
     {"attention_mask": _BOOL_MASK}),
    ("causal", {"num_heads": 2, "key_dim": 3}, (2, 5, 6), (2, 5, 6), None,
     {"use_causal_mask": True}),
    ("causal and mask", {"num_heads": 1, "key_dim": 4}, (2, 4, 3), (2, 4, 3), None,
     {"use_causal_mask": True, "attention_mask": _BOOL_MASK[:, :, :4]}),
    ("no bias output_shape", {"num_heads": 2, "key_dim": 2, "use_bias": False,
                              "output_shape": (3, 2)}, (2, 4, 5), (2, 3, 5), None, {}),
    ("attention_axes 2-D", {"num_heads": 2, "key_dim": 2, "attention_axes": (1, 2)},
     (2, 3, 4, 5), (2, 3, 4, 5), None, {}),
    ("attention_axes last only", {"num_heads": 2, "key_dim": 2, "attention_axes": -2},
     (2, 3, 4, 5), (2, 3, 4, 5), None, {}),
    ("a query row with no key", {"num_heads": 2, "key_dim": 3}, (2, 4, 6), (2, 5, 6), None,
     {"attention_mask": _BOOL_MASK & (np.arange(4) != 1)[None, :, None]}),
    ("use_gate", {"num_heads": 2, "key_dim": 3, "value_dim": 2, "use_gate": True}, (2, 4, 6),
     (2, 5, 3), None, {}),
    ("sliding_window causal", {"num_heads": 2, "key_dim": 3, "sliding_window": 2}, (2, 5, 6),
     (2, 5, 6), None, {"use_causal_mask": True}),
]


@pytest.mark.parametrize("kwargs, q_shape, v_shape, k_shape, call",
                         [pytest.param(*c[1:], id=c[0]) for c in MHA_CASES])
@pytest.mark.parametrize("scores", [False, True])
def test_multi_head_attention(kwargs, q_shape, v_shape, k_shape, call, scores):
    q, v = R(*q_shape), R(*v_shape)
    k = None if k_shape is None else R(*k_shape)
    try:
        theirs = keras.layers.MultiHeadAttention(**kwargs)
    except TypeError as error:  # an argument newer than this Keras
        pytest.skip(f"this Keras ({keras.__version__}) lacks it: {error}")
    theirs(q, v, k, **call)  # builds
    ours = _copied(theirs, MultiHeadAttention(**kwargs), q, v, k, **call)
    want = theirs(q, v, k, return_attention_scores=scores, **call)
    got = ours(q, v, k, return_attention_scores=scores, **call)
    for a, b in zip(*((got, want) if scores else ([got], [want]))):
        assert tuple(a.shape) == tuple(b.shape)
        if not scores and "attention_mask" in call:
            # Keras's own paths differ on a query that sees no key: with the scores (or
            # dropout in training) its Softmax gives zeros, as minitrain always does; without,
            # its fused kernel averages all the values. Only the rows with a key compare.
            seen = call["attention_mask"].any(-1)
            a, b = np.asarray(a)[seen], np.asarray(b)[seen]
        _close(a, b)


def test_multi_head_attention_config_keys_match():
    theirs, ours = (L(num_heads=2, key_dim=3) for L in (keras.layers.MultiHeadAttention,
                                                         MultiHeadAttention))
    assert set(ours.get_config()) == set(theirs.get_config())


ATTENTION_CASES = [  # (id, constructor kwargs, with key, mask, call kwargs)
    ("dot", {}, False, None, {}),
    ("dot scale key", {"use_scale": True}, True, None, {}),
    ("dot masks causal", {}, False, True, {"use_causal_mask": True}),
    ("concat", {"score_mode": "concat"}, False, None, {}),
    ("concat scale masks", {"score_mode": "concat", "use_scale": True}, True, True, {}),
]


@pytest.mark.parametrize("kwargs, with_key, masked, call",
                         [pytest.param(*c[1:], id=c[0]) for c in ATTENTION_CASES])
def test_attention(kwargs, with_key, masked, call):
    inputs = [R(2, 4, 3), R(2, 4, 3)] + ([R(2, 4, 3)] if with_key else [])
    mask = [_rng.uniform(size=(2, 4)) > 0.3, np.array([[True, True, False, True]] * 2)] \
        if masked else None
    theirs = keras.layers.Attention(**kwargs)
    theirs(inputs, mask=mask)  # builds
    theirs.set_weights([np.float32(1.3 + i) for i in range(len(theirs.get_weights()))])
    want = theirs(inputs, mask=mask, return_attention_scores=True, **call)
    ours = Attention(**kwargs)
    ours(inputs)
    ours.set_weights(theirs.get_weights())
    got = ours(inputs, mask=mask, return_attention_scores=True, **call)
    for a, b in zip(got, want):
        _close(a, b)


@pytest.mark.parametrize("length, kwargs", [
    (6, {}), (4, {}), (3, {"start_index": 2}), (3, {"positions": np.array([5, 0, 2])}),
    (3, {"positions": np.array([[1, 1, 4], [0, 3, 5]])})])
def test_position_embedding(length, kwargs):
    keras_hub = pytest.importorskip("keras_hub")
    x = R(2, length, 5)
    theirs = keras_hub.layers.PositionEmbedding(sequence_length=6)
    theirs(x)
    ours = _copied(theirs, PositionEmbedding(6), x)
    _close(ours(x, **kwargs), theirs(x, **kwargs))
    assert set(ours.get_config()) == set(theirs.get_config())


def test_position_embedding_refuses_what_keras_hub_refuses():
    keras_hub = pytest.importorskip("keras_hub")
    x = R(1, 7, 2)
    with pytest.raises(tf.errors.InvalidArgumentError):
        keras_hub.layers.PositionEmbedding(sequence_length=6)(x)
    with pytest.raises(ValueError, match="do not fit"):
        PositionEmbedding(6)(x)


_BLOCK_LAYERS = ("Embedding", "LayerNormalization", "Add", "Dense", "GlobalAveragePooling1D")


def _block(keras_module, layers):
    """A small causal transformer block, functional, written once against Keras's API."""
    tokens = keras_module.Input((5,), dtype="int32")
    x = layers.Embedding(11, 8)(tokens)
    x = layers.Add()([x, layers.PositionEmbedding(5)(x)])
    attended = layers.MultiHeadAttention(2, 4, dropout=0.1)(x, x, use_causal_mask=True)
    x = layers.LayerNormalization()(layers.Add()([x, attended]))
    outputs = layers.Dense(3)(layers.GlobalAveragePooling1D()(x))
    return keras_module.Model(tokens, outputs)


def test_a_functional_transformer_block_with_keras_weights():
    keras_hub = pytest.importorskip("keras_hub")
    import minitrain as mt

    def namespace(layers, **extra):
        return types.SimpleNamespace(**{n: getattr(layers, n) for n in _BLOCK_LAYERS}, **extra)

    theirs = _block(keras, namespace(keras.layers, MultiHeadAttention=keras.layers.
                                     MultiHeadAttention,
                                     PositionEmbedding=keras_hub.layers.PositionEmbedding))
    ours = _block(mt.keras, namespace(mt.keras.layers, MultiHeadAttention=MultiHeadAttention,
                                      PositionEmbedding=PositionEmbedding))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    tokens = _rng.integers(0, 11, size=(4, 5)).astype("int32")
    _close(ours.predict(tokens, verbose=0), theirs.predict(tokens, verbose=0))
