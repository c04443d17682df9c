"""mt.nn.moments, batch_normalization and dropout: values and gradients."""
import numpy as np
import pytest
from gradcases import table_tests
from layercases import Draw, case

import minitrain as mt

rng = Draw(seed=11)
u = rng.uniform


@pytest.mark.parametrize("axes", [[0], [0, 1, 2], [-1], (1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_moments_match_numpy(axes, keepdims):
    x = u(3, 4, 5, 2)
    mean, variance = mt.nn.moments(x, axes, keepdims=keepdims)
    axes = tuple(axes)
    np.testing.assert_allclose(mean.numpy(), x.mean(axis=axes, keepdims=keepdims), atol=1e-14)
    np.testing.assert_allclose(variance.numpy(), x.var(axis=axes, keepdims=keepdims),
                               atol=1e-14)


def test_batch_normalization_is_tensorflows_formula():
    x, mean, var, offset, scale = u(4, 3), u(3), rng.positive(3), u(3), u(3)
    y = mt.nn.batch_normalization(x, mean, var, offset, scale, 1e-3)
    np.testing.assert_allclose(y.numpy(), (x - mean) / np.sqrt(var + 1e-3) * scale + offset,
                               atol=1e-13)
    bare = mt.nn.batch_normalization(x, mean, var, None, None, 1e-3)
    np.testing.assert_allclose(bare.numpy(), (x - mean) / np.sqrt(var + 1e-3), atol=1e-13)


def _moment(k, axes):
    return lambda x: mt.nn.moments(x, axes)[k]


CASES = [
    case("moments mean", _moment(0, [0, 1]), u(3, 4, 2)),
    case("moments variance", _moment(1, [0, 1]), u(3, 4, 2)),
    case("moments variance last axis", _moment(1, [-1]), u(3, 4)),
    case("batch_normalization", lambda x, m, v, b, g: mt.nn.batch_normalization(
        x, m, v, b, g, 1e-3), u(4, 3), u(3), rng.positive(3), u(3), u(3)),
    case("normalize by own moments", lambda x: mt.nn.batch_normalization(
        x, *mt.nn.moments(x, [0], keepdims=True), None, None, 1e-3), u(5, 3)),
    case("dropout with a fixed seed", lambda x: mt.nn.dropout(x, 0.5, seed=3), u(4, 5)),
]
FIRST_ORDER = CASES
SECOND_ORDER = CASES[1:5]


test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)


def test_dropout_zeroes_a_fraction_rate_and_scales_the_rest():
    x = np.ones((200, 500), dtype=np.float32)
    y = mt.nn.dropout(x, 0.3, seed=1).numpy()
    assert y.dtype == np.float32
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.7)}
    assert abs((y == 0).mean() - 0.3) < 0.01


def test_dropout_masks_follow_the_seeds():
    x = np.ones((4, 6))
    fixed = [mt.nn.dropout(x, 0.5, seed=5).numpy() for _ in range(2)]
    np.testing.assert_array_equal(fixed[0], fixed[1])
    mt.random.set_seed(42)
    first = [mt.nn.dropout(x, 0.5).numpy() for _ in range(2)]
    mt.random.set_seed(42)
    again = [mt.nn.dropout(x, 0.5).numpy() for _ in range(2)]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[0], first[1])  # the global stream moves on


def test_dropout_noise_shape_shares_the_mask_along_size_one_axes():
    y = mt.nn.dropout(np.ones((3, 50, 4)), 0.5, noise_shape=[None, 50, 1], seed=0).numpy()
    assert np.all(y == y[:, :, :1])
    assert 0 < (y == 0).mean() < 1


def test_dropout_rate_zero_is_the_identity_and_rate_one_is_refused():
    x = mt.constant(u(3, 3))
    assert mt.nn.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        mt.nn.dropout(x, 1.0)
    with pytest.raises(ValueError, match="noise_shape"):
        mt.nn.dropout(x, 0.5, noise_shape=[3])
