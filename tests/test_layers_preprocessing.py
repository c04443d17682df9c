"""The noise and preprocessing layers, and the Keras keys of every new layer's config:
forward semantics against numpy and Keras 3's documentation examples (their gradients are
in test_layers_more's table)."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import layers

rng = np.random.default_rng(5)


# --- noise -------------------------------------------------------------------------------
def test_gaussian_noise_only_in_training_and_reproducible():
    x = np.zeros((200, 50), dtype=np.float32)
    layer = layers.GaussianNoise(0.5, seed=2)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    y = layer(x, training=True).numpy()
    assert y.dtype == np.float32 and abs(y.std() - 0.5) < 0.01 and abs(y.mean()) < 0.01
    assert not np.array_equal(layer(x, training=True).numpy(), y)  # a new draw each call
    np.testing.assert_array_equal(layers.GaussianNoise(0.5, seed=2)(x, training=True).numpy(), y)
    with pytest.raises(ValueError, match="stddev"):
        layers.GaussianNoise(1.5)


@pytest.mark.parametrize("data_format, channel_axis", [("channels_last", 3),
                                                        ("channels_first", 1)])
def test_spatial_dropout_drops_whole_feature_maps(data_format, channel_axis):
    x = np.ones((8, 5, 5, 5), dtype=np.float32)
    layer = layers.SpatialDropout2D(0.5, data_format=data_format, seed=0)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    y = np.moveaxis(layer(x, training=True).numpy(), channel_axis, 1)  # (batch, channel, ...)
    per_map = y.reshape(8, 5, -1)
    assert set(np.unique(per_map)) == {0.0, 2.0}
    assert np.all(per_map.min(axis=2) == per_map.max(axis=2))  # one draw per map
    assert layer.get_config() == {"rate": 0.5, "seed": 0, "name": layer.name,
                                  "dtype": "float32", "data_format": data_format}


# --- preprocessing -------------------------------------------------------------------------
def test_rescaling_casts_integers_and_takes_per_channel_scales():
    images = np.array([[[0, 128, 255]]], dtype=np.uint8)
    y = layers.Rescaling(1 / 127.5, offset=-1)(images)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), images / 127.5 - 1, atol=1e-6)
    scale = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(layers.Rescaling(scale)(images).numpy(), images * scale)
    assert layers.Rescaling(scale).get_config()["scale"] == [1.0, 2.0, 3.0]


def test_normalization_keras_documentation_examples():
    layer = layers.Normalization(axis=None)
    layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype="float32"))
    np.testing.assert_allclose(layer(np.array([1.0, 2.0, 3.0], dtype="float32")).numpy(),
                               [-1.4142135, -0.70710677, 0.0], rtol=1e-6)
    data = np.array([[0.0, 7, 4], [2, 9, 6], [0, 7, 4], [2, 9, 6]], dtype="float32")
    layer = layers.Normalization(axis=-1)
    layer.adapt(data)
    np.testing.assert_allclose(layer(data[:1]).numpy(), [[-1.0, -1.0, -1.0]])
    given = layers.Normalization(mean=3.0, variance=2.0)
    np.testing.assert_allclose(given(np.array([[1.0], [2.0], [3.0]])).numpy(),
                               [[-1.4142135], [-0.70710677], [0.0]], rtol=1e-6)
    inverse = layers.Normalization(axis=-1, invert=True)
    inverse.adapt(data)
    np.testing.assert_allclose(inverse(np.array([[1.0, 2.0, 3.0]])).numpy(), [[2.0, 10.0, 8.0]])


def test_normalization_weights_batches_axes_and_epsilon():
    x = rng.normal(3, 2, size=(40, 3, 2))
    layer = layers.Normalization(axis=(1, 2))
    layer.adapt([x[:15], x[15:]])  # batches pool to the statistics of the whole
    mean, variance, count = layer.get_weights()
    np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(variance, x.var(axis=0), rtol=1e-5)
    assert count.dtype == np.int64 and count.shape == ()
    assert [v.name.split("/")[-1] for v in layer.weights] == ["mean:0", "variance:0", "count:0"]
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3
    constant = layers.Normalization(dtype="float64")
    constant.adapt(np.ones((4, 2)))  # variance 0: divided by epsilon, not by zero
    np.testing.assert_allclose(constant(np.full((1, 2), 1 + 1e-7)).numpy(), 1, rtol=1e-3)
    with pytest.raises(ValueError, match="built for inputs of shape"):
        constant.adapt(np.ones((4, 3)))
    batched = layers.Normalization(dtype="float64")
    batched.adapt(mt.data.Dataset.from_tensor_slices(x[:, 0]).batch(16))  # a tf.data pipeline
    np.testing.assert_allclose(batched.get_weights()[1], x[:, 0].var(axis=0), rtol=1e-12)
    with pytest.raises(ValueError, match="both mean and variance"):
        layers.Normalization(mean=1.0)
    config = layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0]).get_config()
    assert config["mean"] == [1.0, 2.0] and config["axis"] == (-1,) and not config["invert"]


def test_category_encoding_keras_documentation_examples():
    one_hot = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")
    np.testing.assert_array_equal(one_hot([3, 2, 0, 1]).numpy(), np.eye(4)[[3, 2, 0, 1]])
    tokens = [[0, 1], [0, 0], [1, 2], [3, 1]]
    multi = layers.CategoryEncoding(num_tokens=4)
    y = multi(np.array(tokens))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0],
                                              [0, 1, 0, 1]])
    count = layers.CategoryEncoding(num_tokens=4, output_mode="count")
    weights = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]])
    np.testing.assert_allclose(count(np.array(tokens), count_weights=weights).numpy(),
                               [[0.1, 0.2, 0, 0], [0.2, 0, 0, 0], [0, 0.2, 0.3, 0],
                                [0, 0.2, 0, 0.4]], rtol=1e-6)
    assert one_hot(np.array([[1], [2]])).shape == (2, 4)  # a last axis of 1 is dropped
    assert multi.compute_output_shape((None, 2)) == (None, 4)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        multi(np.array([[4]]))
    with pytest.raises(ValueError, match="output_mode"):
        layers.CategoryEncoding(4, output_mode="tf_idf")


def test_configs_carry_keras_keys():
    keys = {"name", "trainable", "dtype"}
    expected = {
        layers.LeakyReLU(): {"negative_slope"},
        layers.ReLU(): {"max_value", "negative_slope", "threshold"},
        layers.PReLU(): {"alpha_initializer", "alpha_regularizer", "alpha_constraint",
                         "shared_axes"},
        layers.Softmax(): {"axis"},
        layers.Reshape((2,)): {"target_shape"}, layers.Permute((1,)): {"dims"},
        layers.RepeatVector(2): {"n"},
        layers.UpSampling2D(): {"size", "data_format", "interpolation"},
        layers.ZeroPadding2D(): {"padding", "data_format"},
        layers.Cropping2D(): {"cropping", "data_format"},
        layers.Concatenate(): {"axis"}, layers.Add(): set(),
        layers.GaussianNoise(0.1): {"stddev", "seed"},
        layers.Rescaling(2.0): {"scale", "offset"},
        layers.Normalization(): {"axis", "invert", "mean", "variance"},
        layers.CategoryEncoding(3): {"num_tokens", "output_mode", "sparse"},
    }
    for layer, own in expected.items():
        assert set(layer.get_config()) == keys | own, type(layer).__name__
    assert layers.PReLU().get_config()["alpha_initializer"]["class_name"] == "Zeros"
    assert layers.UpSampling2D(3).get_config()["size"] == (3, 3)
