"""Blocks for a list of layers: Residual (x + f(x)), SelfAttention (one input, optionally
causal) and the config's Repeat, which makes a transformer a readable YAML list."""
import numpy as np
import pytest
from clirun import refused, train
from layercases import check_second

import minitrain as mt
from minitrain.config import build, load_config
from minitrain.gradcheck import check_gradients
from minitrain.layers.blocks import Residual, SelfAttention

rng = np.random.default_rng(7)


def _block():
    return Residual([mt.layers.LayerNormalization(), mt.layers.Dense(3, activation="tanh")])


def test_residual_adds_its_input_to_its_layers_output():
    block, x = _block(), rng.standard_normal((4, 3))
    y = block(mt.constant(x)).numpy()
    np.testing.assert_allclose(y, x + block.body(mt.constant(x)).numpy(), rtol=1e-12)
    assert len(block.trainable_variables) == 4  # the inner layers' weights are the block's


@pytest.mark.parametrize("make, shape", [
    (_block, (2, 3)),
    (lambda: SelfAttention(2, 2, causal=True), (2, 4, 3)),
    (lambda: Residual([SelfAttention(1, 2, causal=True)]), (1, 3, 2)),
], ids=["residual", "causal self-attention", "residual attention"])
def test_gradients_match_finite_differences_first_and_second_order(make, shape):
    layer, x = make(), rng.standard_normal(shape)
    layer(mt.constant(x))
    check_gradients(lambda t: layer(t), [x])
    check_second(lambda t: mt.reduce_sum(layer(t) ** 2), [x], {"rtol": 1e-4, "atol": 1e-6})


def test_causal_self_attention_never_looks_ahead():
    layer, x = SelfAttention(2, 4, causal=True), rng.standard_normal((2, 6, 8))
    y = layer(mt.constant(x)).numpy()
    later = x.copy()
    later[:, 4:] += 1.0
    np.testing.assert_allclose(layer(mt.constant(later)).numpy()[:, :4], y[:, :4], rtol=1e-12)
    assert not np.allclose(SelfAttention(2, 4)(mt.constant(later)).numpy()[:, :4],
                           SelfAttention(2, 4)(mt.constant(x)).numpy()[:, :4])


def test_a_model_with_blocks_saves_and_loads(tmp_path):
    attention = Residual([mt.layers.LayerNormalization(), SelfAttention(2, 4, causal=True)])
    model = mt.Sequential([mt.layers.Embedding(10, 8), attention, mt.layers.Dense(10)])
    x = rng.integers(0, 10, (2, 5))
    y = model(x).numpy()
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(mt.keras.models.load_model(tmp_path / "m.keras")(x).numpy(), y)


CONFIG = {
    "data": {"source": "spirals", "options": {"n_samples": 100}},
    "model": [{"Dense": {"units": 8, "activation": "relu"}},
              {"Repeat": {"times": 3, "layers": [
                  {"Residual": {"layers": ["LayerNormalization", {"Dense": {"units": 8}}]}}]}},
              {"Dense": {"units": 2}}],
    "loss": {"name": "sparse_categorical_crossentropy", "from_logits": True},
    "optimizer": "adam", "training": {"epochs": 1},
}


def test_a_repeated_block_in_a_config_makes_fresh_copies():
    model = build(load_config(data=CONFIG)).model
    blocks = [layer for layer in model.layers if isinstance(layer, Residual)]
    assert len(blocks) == 3
    kernels = [b.body.layers[1].kernel for b in blocks]
    assert len({id(k) for k in kernels}) == 3  # weights of their own


@pytest.mark.parametrize("change, told", [
    ("model.1.Repeat.times=0", "model[1].Repeat.times must be a whole number from 1 to 1000"),
    ("model.1.Repeat.layers.0.Residual.layers.1.Dense.unitz=3",
     "unknown key 'unitz' in model[1].Repeat.layers[0].Residual.layers[1].Dense"),
    ("model.1.Repeat={times: 2}", "model[1].Repeat takes times (how many copies) and layers"),
    ("model.1.Repeat.layers.0.Residual.layers.1=Dens", "unknown layer 'Dens'"),
])
def test_a_mistake_inside_a_block_is_named_by_its_path(tmp_path, change, told):
    import yaml
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    result = train("--config", path, "--set", change, "--dry-run")
    assert refused(result) and told in result.stderr, result.stderr
