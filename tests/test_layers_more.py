"""The activation, reshaping, merging, noise and preprocessing layers: gradients (first and
second order, by finite differences in float64) and forward semantics against numpy, written
from Keras 3's sources and documentation."""
import numpy as np
import pytest
from gradcases import check_first, check_second
from layercases_more import CASES, layer_function

import minitrain as mt
from minitrain import layers

rng = np.random.default_rng(3)


@pytest.mark.parametrize("make, inputs, training, fresh, tolerances", CASES)
def test_gradient(make, inputs, training, fresh, tolerances):
    check_first(*layer_function(make, inputs, training, fresh), tolerances)


@pytest.mark.parametrize("make, inputs, training, fresh, tolerances", CASES)
def test_second_derivative(make, inputs, training, fresh, tolerances):
    check_second(*layer_function(make, inputs, training, fresh), tolerances)


@pytest.mark.parametrize("make, inputs, training, fresh, tolerances", CASES)
def test_compute_output_shape_is_the_shape_of_the_output(make, inputs, training, fresh,
                                                          tolerances):
    layer = make()
    y = layer(list(inputs) if len(inputs) > 1 else inputs[0], training=training)
    shapes = [x.shape for x in inputs]
    assert layer.compute_output_shape(shapes if len(shapes) > 1 else shapes[0]) == y.shape
    assert y.dtype == np.float64  # a float64 input gives float64, as every minitrain layer


@pytest.mark.parametrize("make, inputs, training, fresh, tolerances", CASES)
def test_float32_inputs_give_outputs_in_the_layers_dtype(make, inputs, training, fresh,
                                                         tolerances):
    layer = make()
    xs = [x.astype(np.float32) for x in inputs]
    y = layer(xs if len(xs) > 1 else xs[0], training=training)
    adapted = isinstance(layer, layers.Normalization) and layer.input_mean is None
    assert y.dtype == layer.dtype == (np.float64 if adapted else np.float32)  # adapted: given


@pytest.mark.parametrize("make, inputs, training, fresh, tolerances", CASES)
def test_get_config_round_trips(make, inputs, training, fresh, tolerances):
    layer = make()
    config = layer.get_config()
    assert {"name", "dtype"} <= set(config)
    if not isinstance(layer, layers.Lambda):  # a function is named, never stored
        assert type(layer).from_config(config).get_config() == config


def test_the_driver_catches_wrong_weight_and_second_input_gradients():
    class DetachedAlpha(layers.PReLU):
        def call(self, inputs):
            return mt.nn.relu(inputs) - mt.stop_gradient(self.alpha) * mt.nn.relu(-inputs)

    x = -np.ones((2, 3))
    with pytest.raises(AssertionError, match="input 1: the tape gave no gradient"):
        check_first(*layer_function(lambda: DetachedAlpha("ones"), [x]), {})

    @mt.custom_gradient
    def wrong_times(x, y):
        return x * y, lambda dy: (dy * y, dy * y)  # the second should be dy * x

    class WrongMultiply(layers.Multiply):
        _merge = staticmethod(wrong_times)

    with pytest.raises(AssertionError, match="input 1"):
        check_first(*layer_function(WrongMultiply, [x + 3, x - 1]), {})


# --- activations ---------------------------------------------------------------------------
def test_leaky_relu_defaults_to_keras_3s_slope_and_reads_alpha():
    x = np.array([-10, -5, 0.0, 5, 10])
    np.testing.assert_allclose(layers.LeakyReLU()(x).numpy(), [-3, -1.5, 0, 5, 10])
    np.testing.assert_allclose(layers.LeakyReLU(negative_slope=0.5)(x).numpy(),
                               [-5, -2.5, 0, 5, 10])
    assert layers.LeakyReLU(alpha=0.1).negative_slope == 0.1
    assert layers.LeakyReLU().get_config()["negative_slope"] == 0.3
    with pytest.raises(ValueError, match="negative_slope"):
        layers.LeakyReLU(-1)


def _keras_relu(x, max_value, negative_slope, threshold):
    """Keras's formula: max_value where x >= max_value, x where threshold <= x < max_value,
    negative_slope * (x - threshold) otherwise."""
    y = np.where(x > threshold, x, negative_slope * (x - threshold))
    return y if max_value is None else np.minimum(y, max_value)


@pytest.mark.parametrize("max_value, negative_slope, threshold",
                         [(None, 0.0, 0.0), (6, 0.0, 0.0), (10, 0.5, 0.0), (2.0, 0.5, 1.0),
                          (None, 0.0, 1.5), (None, 0.1, 0.0)])
def test_relu_follows_keras_formula(max_value, negative_slope, threshold):
    x = np.linspace(-12, 12, 97)
    y = layers.ReLU(max_value, negative_slope, threshold)(x).numpy()
    np.testing.assert_allclose(y, _keras_relu(x, max_value, negative_slope, threshold))


def test_relu_rejects_negative_arguments():
    for kwargs in ({"max_value": -1}, {"negative_slope": -0.1}, {"threshold": -1}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            layers.ReLU(**kwargs)


def test_prelu_alpha_shape_shared_axes_and_zero_start():
    x = rng.normal(size=(2, 3, 4, 5))
    layer = layers.PReLU()
    np.testing.assert_allclose(layer(x).numpy(), np.maximum(x, 0))  # alpha starts at 0
    assert layer.alpha.shape == (3, 4, 5) and len(layer.get_weights()) == 1
    assert [v.name for v in layer.weights] == [f"{layer.name}/alpha:0"]
    shared = layers.PReLU("ones", shared_axes=[1, 2])
    np.testing.assert_allclose(shared(x).numpy(), x)  # alpha = 1: the identity
    assert shared.alpha.shape == (1, 1, 5) and layers.PReLU(shared_axes=1).shared_axes == [1]
    layer.set_weights([np.full((3, 4, 5), 0.25)])
    np.testing.assert_allclose(layer(x).numpy(), np.where(x > 0, x, 0.25 * x))


def test_elu_and_softmax():
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(layers.ELU(alpha=0.5)(x).numpy(),
                               np.where(x > 0, x, 0.5 * np.expm1(x)))
    np.testing.assert_allclose(layers.Softmax()(np.array([1.0, 2.0, 1.0])).numpy(),
                               [0.21194157, 0.5761169, 0.21194157], rtol=1e-6)
    e = np.exp(x)
    np.testing.assert_allclose(layers.Softmax(axis=0)(x).numpy(), e / e.sum(0))
    np.testing.assert_allclose(layers.Softmax(axis=[0, 1])(x).numpy(), e / e.sum())


# --- reshaping -----------------------------------------------------------------------------
def test_reshape_resolves_minus_one_and_checks_sizes():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(layers.Reshape((-1, 2))(x).numpy(), x.reshape(2, 6, 2))
    assert layers.Reshape((4, 3)).compute_output_shape((None, 3, 4)) == (None, 4, 3)
    assert layers.Reshape((-1, 2)).compute_output_shape((None, 3, 4)) == (None, 6, 2)
    assert layers.Reshape([12]).get_config()["target_shape"] == (12,)
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((5,))(x)
    with pytest.raises(ValueError, match="one -1"):
        layers.Reshape((-1, -1))(x)


def test_permute_repeat_vector():
    x = rng.normal(size=(2, 3, 4))
    np.testing.assert_array_equal(layers.Permute((2, 1))(x).numpy(), x.transpose(0, 2, 1))
    with pytest.raises(ValueError, match="permutation"):
        layers.Permute((0, 1))
    v = x[:, 0]
    np.testing.assert_array_equal(layers.RepeatVector(3)(v).numpy(),
                                  np.repeat(v[:, None], 3, axis=1))
    with pytest.raises(TypeError):
        layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="rank 2"):
        layers.RepeatVector(2)(x)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_upsampling_padding_cropping_against_numpy(data_format):
    x = rng.normal(size=(2, 3, 4, 5))
    h, w = (1, 2) if data_format == "channels_last" else (2, 3)
    up = layers.UpSampling2D((2, 3), data_format=data_format)(x).numpy()
    np.testing.assert_array_equal(up, np.repeat(np.repeat(x, 2, axis=h), 3, axis=w))
    pads = [(0, 0)] * 4
    pads[h], pads[w] = (1, 2), (0, 3)
    padded = layers.ZeroPadding2D(((1, 2), (0, 3)), data_format=data_format)(x).numpy()
    np.testing.assert_array_equal(padded, np.pad(x, pads))
    index = [slice(None)] * 4
    index[h], index[w] = slice(1, x.shape[h] - 1), slice(0, x.shape[w] - 2)
    cropped = layers.Cropping2D(((1, 1), (0, 2)), data_format=data_format)(x).numpy()
    np.testing.assert_array_equal(cropped, x[tuple(index)])


def test_two_d_layers_defaults_and_errors():
    x = np.ones((1, 3, 3, 1))
    assert layers.UpSampling2D()(x).shape == (1, 6, 6, 1)
    assert layers.ZeroPadding2D()(x).shape == (1, 5, 5, 1)
    assert layers.ZeroPadding2D(2).padding == ((2, 2), (2, 2))
    assert layers.Cropping2D()(x).shape == (1, 3, 3, 1)
    assert layers.Cropping2D((1, 0)).cropping == ((1, 1), (0, 0))
    assert layers.UpSampling2D().compute_output_shape((None, None, 4, 2)) == (None, None, 8, 2)
    assert layers.UpSampling2D().get_config()["data_format"] == "channels_last"
    with pytest.raises(ValueError, match="smaller"):
        layers.Cropping2D(((2, 1), (0, 0)))(x)
    with pytest.raises(ValueError, match="data_format"):
        layers.ZeroPadding2D(data_format="nhwc")
    with pytest.raises(NotImplementedError, match="nearest"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="4-D"):
        layers.ZeroPadding2D()(np.ones((3, 3)))


def test_bilinear_upsampling_interpolates_between_half_pixel_centres():
    row = layers.UpSampling2D((1, 2), interpolation="bilinear")(
        np.array([0.0, 1.0, 2.0]).reshape(1, 1, 3, 1))
    np.testing.assert_allclose(row.numpy().ravel(), [0, 0.25, 0.75, 1.25, 1.75, 2])
    assert layers.UpSampling2D(interpolation="Bilinear").interpolation == "bilinear"


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_bilinear_upsampling_matches_torch(data_format):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(2, 3, 4, 5))
    y = layers.UpSampling2D((3, 2), data_format, "bilinear")(x).numpy()
    t = torch.tensor(x if data_format == "channels_first" else x.transpose(0, 3, 1, 2))
    want = torch.nn.functional.interpolate(t, scale_factor=(3, 2), mode="bilinear",
                                           align_corners=False).numpy()
    np.testing.assert_allclose(y, want if data_format == "channels_first" else
                               want.transpose(0, 2, 3, 1), atol=1e-12)
