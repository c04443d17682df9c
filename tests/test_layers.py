"""Each layer: its gradients (finite differences, float64) and its forward behaviour."""
import numpy as np
import pytest
from layercases import Draw, check_layer_gradients

import minitrain as mt
from minitrain import layers
from minitrain.gradcheck import check_gradients

rng = Draw(seed=5)
u = rng.uniform

GRADIENT_CASES = [  # (id, layer maker, input, training)
    ("Dense", lambda: layers.Dense(3), u(4, 5), False),
    ("Dense tanh on 3-D input", lambda: layers.Dense(2, activation="tanh"), u(2, 3, 4), False),
    ("Dense no bias", lambda: layers.Dense(3, use_bias=False), u(4, 2), False),
    ("Conv2D valid stride 1", lambda: layers.Conv2D(3, 3), u(2, 5, 5, 2), False),
    ("Conv2D same stride 1", lambda: layers.Conv2D(3, 3, padding="same"), u(2, 5, 5, 2), False),
    ("Conv2D valid stride 2", lambda: layers.Conv2D(2, (3, 2), strides=2), u(2, 6, 5, 2), False),
    ("Conv2D same stride 2", lambda: layers.Conv2D(2, 3, strides=(2, 2), padding="same"),
     u(1, 5, 6, 2), False),
    ("MaxPooling2D", lambda: layers.MaxPooling2D(), rng.distinct(2, 4, 4, 2), False),
    ("MaxPooling2D same", lambda: layers.MaxPooling2D(3, 2, "same"), rng.distinct(1, 5, 5, 2),
     False),
    ("AveragePooling2D", lambda: layers.AveragePooling2D(), u(2, 4, 4, 2), False),
    ("AveragePooling2D same", lambda: layers.AveragePooling2D(3, 2, "same"), u(1, 5, 5, 2),
     False),
    ("GlobalAveragePooling2D", lambda: layers.GlobalAveragePooling2D(), u(2, 3, 3, 2), False),
    ("Flatten", lambda: layers.Flatten(), u(2, 3, 2), False),
    ("BatchNormalization training", lambda: layers.BatchNormalization(), u(6, 3), True),
    ("BatchNormalization training NHWC", lambda: layers.BatchNormalization(), u(2, 3, 2, 3),
     True),
    ("BatchNormalization inference", lambda: layers.BatchNormalization(), u(6, 3), False),
    ("LayerNormalization", lambda: layers.LayerNormalization(), u(4, 5), False),
    ("LayerNormalization over two axes", lambda: layers.LayerNormalization(axis=(1, 2)),
     u(2, 3, 4), False),
    ("Activation gelu", lambda: layers.Activation("gelu"), u(3, 4), False),
]


@pytest.mark.parametrize("make, x, training", [row[1:] for row in GRADIENT_CASES],
                         ids=[row[0] for row in GRADIENT_CASES])
def test_layer_gradients(make, x, training):
    check_layer_gradients(make(), x, training)


def test_embedding_gradient_accumulates_repeated_indices():
    layer = layers.Embedding(5, 3, dtype="float64")
    indices = np.array([[0, 2, 2], [4, 0, 1]])
    check_layer_gradients(layer, indices, wrt_input=False)
    with mt.GradientTape() as tape:
        y = layer(indices)
    grad = tape.gradient(y, layer.embeddings).numpy()
    np.testing.assert_array_equal(grad[:, 0], [2, 1, 2, 0, 1])  # how often each row was used


def test_dropout_gradient_with_a_fixed_seed():
    # a seeded layer draws a new mask per call, so each evaluation gets a fresh layer
    check_gradients(lambda x: layers.Dropout(0.5, seed=3)(x, training=True), [u(4, 5)])


def test_the_layer_checker_catches_wrong_gradients():
    @mt.custom_gradient
    def wrong_square(x):
        return x * x, lambda dy: dy * x  # the true gradient is 2 x dy

    class Wrong(layers.Layer):
        def call(self, inputs):
            return wrong_square(inputs)

    with pytest.raises(AssertionError, match="input 0"):
        check_layer_gradients(Wrong(), u(2, 3))

    class DetachedKernel(layers.Dense):
        def call(self, inputs):
            return mt.matmul(inputs, mt.stop_gradient(self.kernel)) + self.bias

    with pytest.raises(AssertionError, match="input 1: the tape gave no gradient"):
        check_layer_gradients(DetachedKernel(2), u(2, 3))


def test_dense_computes_activation_of_x_kernel_plus_bias():
    layer = layers.Dense(4, activation="relu", bias_initializer="ones")
    x = u(3, 2).astype(np.float32)
    y = layer(x)
    assert layer.kernel.shape == (2, 4) and layer.bias.shape == (4,)
    np.testing.assert_allclose(y.numpy(), np.maximum(x @ layer.kernel.numpy() + 1, 0),
                               rtol=1e-6)


def test_conv2d_layer_shapes_and_value():
    layer = layers.Conv2D(5, (3, 2), strides=2, padding="same", bias_initializer="ones")
    x = u(2, 7, 6, 3).astype(np.float32)
    y = layer(x)
    assert layer.kernel.shape == (3, 2, 3, 5) and y.shape == (2, 4, 3, 5)
    expected = mt.nn.conv2d(x, layer.kernel, 2, "SAME").numpy() + 1
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
    assert layers.Conv2D(2, 3)(x).shape == (2, 5, 4, 2)


def test_pooling_layers_default_strides_to_the_pool_size_and_aliases():
    x = u(2, 6, 6, 3)
    assert layers.MaxPooling2D(3)(x).shape == (2, 2, 2, 3)
    assert layers.AveragePooling2D((2, 3))(x).shape == (2, 3, 2, 3)
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool2D is layers.AveragePooling2D
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)))
    assert layers.GlobalAveragePooling2D(keepdims=True)(x).shape == (2, 1, 1, 3)
    assert layers.Flatten()(x).shape == (2, 108)


@pytest.mark.parametrize("name, reduce", [("GlobalAveragePooling2D", np.mean),
                                          ("GlobalMaxPooling2D", np.max)])
def test_global_pooling_reduces_height_and_width(name, reduce):
    x = rng.distinct(2, 3, 4, 5)
    make = getattr(layers, name)
    np.testing.assert_allclose(make()(x).numpy(), reduce(x, axis=(1, 2)))
    np.testing.assert_allclose(make(keepdims=True)(x).numpy(),
                               reduce(x, axis=(1, 2), keepdims=True))
    check_layer_gradients(make(), x)


def test_batch_normalization_training_and_inference():
    layer = layers.BatchNormalization(momentum=0.9)
    x = (u(64, 3) * [1, 2, 3] + [5, -1, 0]).astype(np.float32)
    y = layer(x, training=True).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-3), rtol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * x.var(axis=0),
                               rtol=1e-5)
    inference = layer(x).numpy()  # training=False: the moving statistics
    expected = (x - layer.moving_mean.numpy()) / np.sqrt(layer.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(inference, expected, rtol=1e-5, atol=1e-6)
    layer.trainable = False  # frozen: inference mode even when training
    before = layer.moving_mean.numpy()
    np.testing.assert_allclose(layer(x, training=True).numpy(), inference, rtol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), before)


def test_layer_normalization_normalizes_each_example():
    y = layers.LayerNormalization(epsilon=1e-6)(u(4, 10) * 3 + 2).numpy()
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=1), 1, rtol=1e-5)


def test_embedding_looks_up_rows_and_checks_the_range():
    layer = layers.Embedding(4, 2)
    y = layer(np.array([[3, 0]]))
    assert y.shape == (1, 2, 2) and y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy()[0], layer.embeddings.numpy()[[3, 0]])
    assert np.abs(layer.embeddings.numpy()).max() <= 0.05  # Keras's uniform(-0.05, 0.05)
    with pytest.raises(ValueError, match=r"\[0, 4\).*4\.\.4"):
        layer(np.array([4]))


def test_dropout_is_active_only_in_training_and_reproducible_with_a_seed():
    x = np.ones((10, 10), dtype=np.float32)
    layer = layers.Dropout(0.5, seed=1)
    np.testing.assert_array_equal(layer(x).numpy(), x)  # inference: the identity
    masks = [layer(x, training=True).numpy() for _ in range(2)]
    assert not np.array_equal(masks[0], masks[1])  # a new mask each step...
    again = layers.Dropout(0.5, seed=1)
    np.testing.assert_array_equal(again(x, training=True).numpy(), masks[0])  # ...reproducibly
    assert set(np.unique(masks[0])) == {0.0, 2.0}


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "softmax", "gelu", "leaky_relu",
                                  "linear", "elu", "softplus", "silu", "swish"])
def test_activations_by_name(name):
    x = u(3, 4)
    expected = x if name == "linear" else getattr(mt.nn, name)(x).numpy()
    np.testing.assert_allclose(mt.activations.get(name)(x).numpy(), expected)
    np.testing.assert_allclose(layers.Dense(4, activation=name, kernel_initializer="ones")(x)
                               .numpy(), mt.activations.get(name)(x @ np.ones((4, 4))).numpy())


def test_unknown_names_raise_listing_the_valid_ones():
    with pytest.raises(ValueError, match="unknown activation 'rleu'.*relu"):
        layers.Dense(3, activation="rleu")
    with pytest.raises(ValueError, match="unknown initializer 'glorot'.*glorot_uniform"):
        layers.Dense(3, kernel_initializer="glorot")
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(3, 3, padding="full")
