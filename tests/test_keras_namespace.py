"""mt.keras: the kit under Keras's names, one implementation, and Keras's utilities."""
import random

import numpy as np
import pytest

import minitrain as mt
from minitrain import keras


def test_each_keras_name_is_the_kits_own_object():
    assert mt.keras is keras
    assert keras.layers.Dense is mt.layers.Dense and keras.Sequential is mt.Sequential
    assert keras.optimizers.Adam is mt.optimizers.Adam
    assert keras.optimizers.schedules.CosineDecay is mt.optimizers.schedules.CosineDecay
    assert keras.losses is mt.losses and keras.metrics is mt.metrics
    assert keras.initializers is mt.initializers and keras.activations is mt.activations
    assert keras.Model is mt.Model


def test_to_categorical_gives_keras_one_hot_rows():
    y = keras.utils.to_categorical([0, 2, 1, 2])
    assert y.dtype == np.float32 and y.shape == (4, 3)
    np.testing.assert_array_equal(y.argmax(axis=1), [0, 2, 1, 2])
    assert keras.utils.to_categorical([[1], [0]], num_classes=4).shape == (2, 4)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        keras.utils.to_categorical([0, 3], num_classes=2)


def test_set_random_seed_seeds_python_numpy_and_minitrain():
    keras.utils.set_random_seed(7)
    first = (random.random(), np.random.rand(), mt.random.uniform([2]).numpy())
    keras.utils.set_random_seed(7)
    again = (random.random(), np.random.rand(), mt.random.uniform([2]).numpy())
    assert first[:2] == again[:2]
    np.testing.assert_array_equal(first[2], again[2])


def test_backend_basics():
    assert keras.backend.epsilon() == 1e-7 and keras.backend.floatx() == "float32"
    mt.layers.Dense(2)  # takes the name "dense" (or a later one)
    keras.backend.clear_session()
    assert mt.layers.Dense(2).name == "dense"
