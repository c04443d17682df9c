"""mt.random's stateless ops and Generator: determinism, independence, TensorFlow's rules.

The values are not TensorFlow's (its Philox kernels), so nothing here compares bit streams:
the same seed gives the same values, another seed others, and the global seed plays no part.
"""
import numpy as np
import pytest

import minitrain as mt

STATELESS = [
    ("stateless_normal", lambda shape, seed, **kw: mt.random.stateless_normal(shape, seed, **kw)),
    ("stateless_uniform", lambda shape, seed, **kw: mt.random.stateless_uniform(shape, seed, **kw)),
]
STATELESS_IDS = [name for name, _ in STATELESS]
STATELESS_OPS = [op for _, op in STATELESS]


@pytest.mark.parametrize("op", STATELESS_OPS, ids=STATELESS_IDS)
def test_the_same_seed_gives_the_same_values(op):
    first = op([3, 4], seed=(7, 11)).numpy()
    mt.random.set_seed(0)  # the global seed does not enter
    mt.random.normal([5])
    np.testing.assert_array_equal(op([3, 4], seed=[7, 11]).numpy(), first)
    np.testing.assert_array_equal(op((3, 4), seed=np.array([7, 11], np.int64)).numpy(), first)
    np.testing.assert_array_equal(op(mt.constant([3, 4]), seed=mt.constant([7, 11])).numpy(),
                                  first)


@pytest.mark.parametrize("op", STATELESS_OPS, ids=STATELESS_IDS)
@pytest.mark.parametrize("other", [(7, 12), (11, 7), (8, 11), (-7, 11), (7 + 2**32, 11)])
def test_another_seed_gives_other_values(op, other):
    assert not np.array_equal(op([50], seed=(7, 11)).numpy(), op([50], seed=other).numpy())


@pytest.mark.parametrize("op", STATELESS_OPS, ids=STATELESS_IDS)
def test_seeds_are_not_confused_across_their_word_boundary(op):
    """Each seed integer is taken as 64 bits: (a + b * 2**32, c) and (a, b + c * 2**32) differ."""
    a, b, c = 3, 5, 7
    x = op([20], seed=(a + b * 2**32, c)).numpy()
    assert not np.array_equal(x, op([20], seed=(a, b + c * 2**32)).numpy())


def test_stateless_normal_shape_dtype_and_moments():
    x = mt.random.stateless_normal([200, 100], seed=(1, 2), mean=3.0, stddev=0.5)
    assert x.shape == (200, 100) and x.dtype == mt.float32
    assert abs(float(np.mean(x.numpy())) - 3.0) < 0.01
    assert abs(float(np.std(x.numpy())) - 0.5) < 0.01
    assert mt.random.stateless_normal([2], (1, 2), dtype=mt.float64).dtype == mt.float64
    assert mt.random.stateless_normal([], (1, 2)).shape == ()


def test_stateless_uniform_floats_lie_in_their_range():
    x = mt.random.stateless_uniform([10000], seed=(3, 4), minval=-2.0, maxval=5.0).numpy()
    assert x.dtype == np.float32 and x.min() >= -2.0 and x.max() < 5.0
    assert abs(x.mean() - 1.5) < 0.1
    y = mt.random.stateless_uniform([1000], seed=(3, 4)).numpy()  # [0, 1) by default
    assert y.min() >= 0.0 and y.max() < 1.0


@pytest.mark.parametrize("dtype", [mt.int32, mt.int64])
def test_stateless_uniform_integers_need_both_bounds(dtype):
    x = mt.random.stateless_uniform([1000], seed=(5, 6), minval=-3, maxval=4, dtype=dtype)
    assert x.dtype == dtype
    np.testing.assert_array_equal(np.unique(x.numpy()), np.arange(-3, 4))
    with pytest.raises(ValueError, match=r"For integer dtype int\d\d, minval and maxval must be "
                                         r"both `None` or both non-`None`"):
        mt.random.stateless_uniform([3], seed=(5, 6), dtype=dtype)  # minval=0, maxval=None
    with pytest.raises(ValueError, match="Need minval < maxval: 4 >= 4"):
        mt.random.stateless_uniform([3], seed=(5, 6), minval=4, maxval=4, dtype=dtype)


@pytest.mark.parametrize("dtype", [mt.int32, mt.int64, np.uint32, np.uint64])
def test_full_range_integers_with_no_bounds(dtype):
    x = mt.random.stateless_uniform([1000], seed=(1, 1), minval=None, maxval=None, dtype=dtype)
    info = np.iinfo(dtype)
    assert x.dtype == dtype
    assert x.numpy().min() < info.min / 2 + info.max / 4 and x.numpy().max() > info.max / 2


def test_bounded_unsigned_integers_are_refused():
    with pytest.raises(ValueError, match="Invalid dtype for bounded uniform integers: uint32"):
        mt.random.stateless_uniform([3], (1, 2), minval=0, maxval=5, dtype=np.uint32)


@pytest.mark.parametrize("op", STATELESS_OPS, ids=STATELESS_IDS)
def test_the_seed_is_a_pair_of_integers(op):
    with pytest.raises(ValueError, match=r"seed must have shape \[2\], not \[3\]"):
        op([2], seed=(1, 2, 3))
    with pytest.raises(ValueError, match=r"seed must have shape \[2\], not \[\]"):
        op([2], seed=5)
    with pytest.raises(TypeError, match="a seed is made of integers"):
        op([2], seed=(1.5, 2.0))


def test_invalid_dtypes_are_refused():
    with pytest.raises(ValueError, match="stateless_normal: Invalid dtype int32"):
        mt.random.stateless_normal([2], (1, 2), dtype=mt.int32)
    with pytest.raises(ValueError, match="stateless_uniform: Invalid dtype int8"):
        mt.random.stateless_uniform([2], (1, 2), minval=0, maxval=3, dtype=mt.int8)


def test_stateless_values_land_on_the_current_device(device):
    assert mt.random.stateless_normal([2], (1, 2)).device.startswith(device)
    assert mt.random.Generator.from_seed(3).uniform([2]).device.startswith(device)


def test_a_generator_from_a_seed_repeats_its_stream():
    g, h = mt.random.Generator.from_seed(42), mt.random.Generator.from_seed(42)
    first, second = g.normal([5]).numpy(), g.normal([5]).numpy()
    assert not np.array_equal(first, second)  # each draw advances the state
    np.testing.assert_array_equal(h.normal([5]).numpy(), first)
    np.testing.assert_array_equal(h.normal([5]).numpy(), second)
    other = mt.random.Generator.from_seed(43).normal([5]).numpy()
    assert not np.array_equal(other, first)


def test_a_generator_ignores_the_global_seed():
    mt.random.set_seed(1)
    a = mt.random.Generator.from_seed(7).uniform([4]).numpy()
    mt.random.set_seed(2)
    mt.random.uniform([10])
    np.testing.assert_array_equal(mt.random.Generator.from_seed(7).uniform([4]).numpy(), a)


def test_generator_draws_follow_tensorflows_rules():
    g = mt.random.Generator.from_seed([1, 2, 3])
    x = g.normal([1000], mean=-1.0, stddev=2.0, dtype=mt.float64)
    assert x.dtype == mt.float64 and abs(float(np.mean(x.numpy())) + 1.0) < 0.3
    ints = g.uniform([500], minval=10, maxval=13, dtype=mt.int64).numpy()
    np.testing.assert_array_equal(np.unique(ints), [10, 11, 12])
    assert g.uniform([3], minval=None, maxval=None, dtype=mt.int32).dtype == mt.int32
    with pytest.raises(ValueError, match="Generator.uniform: For integer dtype int32, minval"):
        g.uniform([3], maxval=5, minval=None, dtype=mt.int32)
    assert g.uniform_full_int([2]).dtype == np.uint64


def test_generator_seeds_and_splits():
    g = mt.random.Generator.from_seed(5)
    seeds = g.make_seeds(3)
    assert seeds.shape == (2, 3) and seeds.dtype == mt.int64
    a = mt.random.stateless_normal([4], seed=seeds[:, 0]).numpy()
    np.testing.assert_array_equal(mt.random.stateless_normal([4], seed=seeds[:, 0]).numpy(), a)
    children = g.split(2)
    draws = [child.normal([6]).numpy() for child in children] + [g.normal([6]).numpy()]
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])


def test_a_non_deterministic_generator_differs_each_time():
    a = mt.random.Generator.from_non_deterministic_state().normal([8]).numpy()
    b = mt.random.Generator.from_non_deterministic_state().normal([8]).numpy()
    assert not np.array_equal(a, b)


def test_generator_seeds_are_integers():
    with pytest.raises(TypeError, match="Generator.from_seed: a seed is made of integers"):
        mt.random.Generator.from_seed(1.5)
