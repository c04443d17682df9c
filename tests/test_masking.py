"""Keras's mask flow in a Sequential: Embedding(mask_zero=True) marks padding (index 0), each
later layer whose call takes ``mask`` gets it, and ``compute_mask`` says what passes on."""
import numpy as np
import pytest

import minitrain as mt

L = mt.keras.layers
PADDED = np.array([[3, 4, 5, 0, 0], [1, 2, 0, 0, 0]])
LENGTHS = (3, 2)


def _unpadded_outputs(model, build):
    """The same model without masks, on each sequence cut to its real length."""
    plain = build(mask_zero=False)
    plain(PADDED)
    plain.set_weights(model.get_weights())
    return [plain(PADDED[i:i + 1, :n]).numpy()[0] for i, n in enumerate(LENGTHS)]


@pytest.mark.parametrize("build", [
    lambda mask_zero: mt.Sequential([L.Embedding(10, 4, mask_zero=mask_zero), L.LSTM(3)]),
    lambda mask_zero: mt.Sequential([L.Embedding(10, 4, mask_zero=mask_zero),
                                     L.GRU(3, return_sequences=True), L.Dropout(0.5),
                                     L.SimpleRNN(2)]),
    lambda mask_zero: mt.Sequential([L.Embedding(10, 4, mask_zero=mask_zero),
                                     L.Bidirectional(L.LSTM(2, return_sequences=True)),
                                     L.Dense(3), L.LSTM(2)]),
], ids=["lstm", "stacked, through Dropout", "bidirectional, through Dense"])
def test_a_padded_batch_gives_what_each_sequence_alone_gives(build):
    model = build(mask_zero=True)
    y = model(PADDED).numpy()
    for row, expected in zip(y, _unpadded_outputs(model, build)):
        np.testing.assert_allclose(row, expected, rtol=1e-6, atol=1e-7)


def test_without_mask_zero_the_padding_is_read_like_any_token():
    model = mt.Sequential([L.Embedding(10, 4), L.LSTM(3)])
    y = model(PADDED).numpy()
    assert not np.allclose(y[1], model(PADDED[1:, :2]).numpy()[0])


def test_the_mask_stops_where_a_layer_drops_the_time_axis():
    lstm = L.LSTM(3)
    assert lstm.compute_mask(None, np.ones((1, 4), bool)) is None
    assert L.LSTM(3, return_sequences=True).compute_mask(None, "mask") == "mask"
    assert L.Dense(2).compute_mask(None, "mask") == "mask"
    assert L.Flatten().compute_mask(None, "mask") is None  # Keras's default: dropped


def test_mask_zero_is_in_the_config():
    layer = L.Embedding(10, 4, mask_zero=True)
    assert layer.get_config()["mask_zero"] is True
    assert L.Embedding.from_config(layer.get_config()).mask_zero
    mask = layer.compute_mask(mt.constant(PADDED))
    np.testing.assert_array_equal(mask.numpy(), PADDED != 0)
