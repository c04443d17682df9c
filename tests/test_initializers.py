"""Initializers: Keras's fans and variances, distributions, seeding, lookup by name."""
import math

import numpy as np
import pytest

import minitrain as mt
from minitrain import initializers

SHAPE = (3, 3, 64, 96)  # a conv kernel: fans count the 3x3 receptive field
FAN_IN, FAN_OUT = 9 * 64, 9 * 96

VARIANCES = [  # (initializer, expected variance, bound on |value| or None)
    (initializers.GlorotUniform(), 2 / (FAN_IN + FAN_OUT), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (initializers.GlorotNormal(), 2 / (FAN_IN + FAN_OUT), None),
    (initializers.HeNormal(), 2 / FAN_IN, None),
    (initializers.HeUniform(), 2 / FAN_IN, math.sqrt(6 / FAN_IN)),
    (initializers.LecunNormal(), 1 / FAN_IN, None),
    (initializers.RandomNormal(stddev=0.05), 0.05**2, None),
    (initializers.RandomUniform(-0.05, 0.05), 0.05**2 / 3, 0.05),
]


@pytest.mark.parametrize("init, variance, bound", VARIANCES,
                         ids=[type(row[0]).__name__ for row in VARIANCES])
def test_variance_matches_the_fan_formula(init, variance, bound):
    mt.random.set_seed(0)
    values = init(SHAPE).numpy()
    assert values.shape == SHAPE and values.dtype == np.float32
    assert abs(values.var() / variance - 1) < 0.03  # 55k samples: ~1% standard error
    assert abs(values.mean()) < 0.05 * math.sqrt(variance)
    if bound is not None:
        assert np.abs(values).max() <= bound


@pytest.mark.parametrize("init", [initializers.GlorotNormal(), initializers.HeNormal()])
def test_truncated_normals_stay_within_two_standard_deviations(init):
    values = init(SHAPE, "float64").numpy()
    stddev = math.sqrt(values.var()) / 0.87962566103423978  # the untruncated one
    assert np.abs(values).max() <= 2 * stddev * 1.01


@pytest.mark.parametrize("shape, fans", [((), (1, 1)), ((7,), (7, 7)), ((4, 5), (4, 5)),
                                         ((3, 3, 2, 8), (18, 72)), ((5, 2, 3), (10, 15))])
def test_compute_fans(shape, fans):
    assert initializers.compute_fans(shape) == fans


def test_constant_initializers_and_dtypes():
    np.testing.assert_array_equal(initializers.Zeros()((2, 3)).numpy(), np.zeros((2, 3)))
    assert initializers.Ones()((2,), mt.float64).numpy().dtype == np.float64
    np.testing.assert_array_equal(initializers.Constant(2.5)((2,)).numpy(), [2.5, 2.5])
    with pytest.raises(ValueError, match="int32"):
        initializers.GlorotUniform()((2, 2), "int32")


def test_a_seeded_initializer_repeats_its_values():
    init = initializers.HeNormal(seed=3)
    np.testing.assert_array_equal(init((4, 4)).numpy(), init((4, 4)).numpy())
    np.testing.assert_array_equal(init((4, 4)).numpy(),
                                  initializers.HeNormal(seed=3)((4, 4)).numpy())
    assert not np.array_equal(init((4, 4)).numpy(),
                              initializers.HeNormal(seed=4)((4, 4)).numpy())


def test_unseeded_initializers_follow_the_global_seed():
    def draw():
        mt.random.set_seed(7)
        return [initializers.get(name)((3, 4)).numpy() for name in ("glorot_uniform", "he_normal")]

    first, again = draw(), draw()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(initializers.GlorotUniform()((3, 4)).numpy(), first[0])


@pytest.mark.parametrize("name, cls", [
    ("glorot_uniform", initializers.GlorotUniform), ("GlorotNormal", initializers.GlorotNormal),
    ("he_normal", initializers.HeNormal), ("he_uniform", initializers.HeUniform),
    ("zeros", initializers.Zeros), ("ones", initializers.Ones),
    ("random_normal", initializers.RandomNormal), ("uniform", initializers.RandomUniform)])
def test_get_by_name(name, cls):
    assert type(initializers.get(name)) is cls


def test_get_passes_instances_through_and_rejects_unknown_names():
    init = initializers.HeUniform(seed=1)
    assert initializers.get(init) is init
    from_config = initializers.get({"class_name": "RandomNormal", "config": {"stddev": 2.0}})
    assert type(from_config) is initializers.RandomNormal and from_config.stddev == 2.0
    with pytest.raises(ValueError, match="glorot_uniform.*he_normal|he_normal"):
        initializers.get("glorot")
