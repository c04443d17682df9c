"""The merging layers, Lambda and Identity: forward semantics against numpy and Keras 3's
documented behaviour (their gradients are in test_layers_more's table)."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import layers

rng = np.random.default_rng(4)


# --- merging -------------------------------------------------------------------------------
@pytest.mark.parametrize("name, reduce", [
    ("Add", lambda xs: sum(xs)), ("Multiply", lambda xs: np.prod(xs, axis=0)),
    ("Average", lambda xs: np.mean(xs, axis=0)), ("Maximum", lambda xs: np.max(xs, axis=0)),
    ("Minimum", lambda xs: np.min(xs, axis=0))])
def test_merges_against_numpy_and_their_functions(name, reduce):
    xs = list(rng.normal(size=(3, 2, 4)))
    np.testing.assert_allclose(getattr(layers, name)()(xs).numpy(), reduce(xs))
    np.testing.assert_allclose(getattr(layers, name.lower())(xs).numpy(), reduce(xs))


def test_subtract_takes_exactly_two_inputs():
    a, b = rng.normal(size=(2, 3, 4))
    np.testing.assert_allclose(layers.subtract([a, b]).numpy(), a - b)
    with pytest.raises(ValueError, match="exactly 2"):
        layers.Subtract()([a, b, a])


def test_merges_raise_lower_ranks_after_the_batch_axis_and_check_their_inputs():
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4))
    np.testing.assert_allclose(layers.Add()([a, b]).numpy(), a + b[:, None])
    assert layers.Add().compute_output_shape([(None, 3, 4), (None, 1, 4)]) == (None, 3, 4)
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(a)
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.Add()([a, rng.normal(size=(2, 3, 5))])
    with pytest.raises(ValueError, match="batch sizes"):
        layers.Add()([b, rng.normal(size=(3, 4))])


def test_concatenate():
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 2))
    np.testing.assert_array_equal(layers.Concatenate()([a, b]).numpy(),
                                  np.concatenate([a, b], axis=-1))
    np.testing.assert_array_equal(layers.concatenate([a, a], axis=1).numpy(),
                                  np.concatenate([a, a], axis=1))
    assert layers.Concatenate(axis=1).compute_output_shape([(None, 3, 4), (None, 5, 4)]) == (
        None, 8, 4)
    assert layers.Concatenate(axis=1).get_config()["axis"] == 1
    with pytest.raises(ValueError, match="matching shapes"):
        layers.Concatenate(axis=1)([a, b])


# --- Lambda, Identity ---------------------------------------------------------------------
def test_lambda_passes_arguments_and_training():
    x = rng.normal(size=(2, 3))
    layer = layers.Lambda(lambda t, power: t ** power, arguments={"power": 3})
    np.testing.assert_allclose(layer(x).numpy(), x ** 3)
    seen = []
    layers.Lambda(lambda t, training=None: seen.append(training) or t)(x, training=True)
    assert seen == [True]
    config = layers.Lambda(np.negative, output_shape=(3,)).get_config()
    assert config["function"] == "negative" and config["output_shape"] == (3,)
    assert layers.Lambda(mt.abs, output_shape=(3,)).compute_output_shape((None, 3)) == (None, 3)
    np.testing.assert_array_equal(layers.Identity()(x).numpy(), x)
