"""Conv2DTranspose, DepthwiseConv2D, SeparableConv2D, Conv1D and the 1-D pooling layers:
Keras's arguments, weights and config; values; gradients of first and second order (float64)."""
import numpy as np
import pytest
from layercases import Draw, _attribute_of, check_layer_gradients, check_second

import minitrain as mt
from minitrain import layers

rng = Draw(seed=17)
u = rng.uniform

LAYERS = [  # (id, layer maker, input)
    ("Conv2DTranspose valid", lambda: layers.Conv2DTranspose(2, 3), u(1, 3, 3, 2)),
    ("Conv2DTranspose same stride 2 tanh",
     lambda: layers.Conv2DTranspose(2, 3, strides=2, padding="same", activation="tanh"),
     u(1, 2, 3, 2)),
    ("Conv2DTranspose output_padding", lambda: layers.Conv2DTranspose(1, (3, 2), strides=2,
                                                                      output_padding=1),
     u(1, 2, 2, 2)),
    ("DepthwiseConv2D", lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), u(1, 4, 4, 2)),
    ("DepthwiseConv2D same stride 2 relu", lambda: layers.DepthwiseConv2D(
        2, strides=2, padding="same", activation="relu", bias_initializer="ones"),
     u(1, 5, 4, 2)),
    ("SeparableConv2D", lambda: layers.SeparableConv2D(3, 2, depth_multiplier=2),
     u(1, 3, 4, 2)),
    ("Conv1D valid", lambda: layers.Conv1D(3, 3), u(2, 6, 2)),
    ("Conv1D same stride 2", lambda: layers.Conv1D(2, 3, strides=2, padding="same"),
     u(1, 7, 2)),
    ("Conv1D causal sigmoid", lambda: layers.Conv1D(2, 3, padding="causal",
                                                    activation="sigmoid"), u(1, 5, 2)),
    ("Conv1D no bias", lambda: layers.Conv1D(2, 2, use_bias=False), u(1, 4, 3)),
    ("MaxPooling1D", lambda: layers.MaxPooling1D(), rng.distinct(2, 6, 2)),
    ("MaxPooling1D same", lambda: layers.MaxPooling1D(3, 2, "same"), rng.distinct(1, 7, 2)),
    ("AveragePooling1D same", lambda: layers.AveragePooling1D(2, padding="same"), u(1, 5, 2)),
    ("GlobalAveragePooling1D", lambda: layers.GlobalAveragePooling1D(), u(2, 4, 3)),
    ("GlobalMaxPooling1D keepdims", lambda: layers.GlobalMaxPooling1D(keepdims=True),
     rng.distinct(2, 4, 3)),
]
IDS = [row[0] for row in LAYERS]
ROWS = [row[1:] for row in LAYERS]


@pytest.mark.parametrize("make, x", ROWS, ids=IDS)
def test_layer_gradients_wrt_input_and_weights(make, x):
    check_layer_gradients(make(), x)


@pytest.mark.parametrize("make, x", ROWS, ids=IDS)
def test_compute_output_shape_is_the_shape_of_the_output(make, x):
    layer = make()
    assert layer.compute_output_shape(x.shape) == layer(x).shape
    unknown = layer.compute_output_shape((None,) * (x.ndim - 1) + x.shape[-1:])
    assert unknown[0] is None and unknown[-1] == layer(x).shape[-1]


def _as_function(layer, x):
    """The layer as f(x, *weights), and its inputs: each weight's attribute is pointed at the
    tensor being perturbed, as check_layer_gradients does."""
    layer(mt.constant(x))
    names = [_attribute_of(layer, v) for v in layer.trainable_variables]

    def f(inputs, *weights):
        saved = [getattr(layer, name) for name in names]
        for name, w in zip(names, weights):
            setattr(layer, name, w)
        try:
            return layer(inputs)
        finally:
            for name, v in zip(names, saved):
                setattr(layer, name, v)

    return f, [x] + [v.numpy() for v in layer.trainable_variables]


@pytest.mark.parametrize("make, x", ROWS, ids=IDS)
def test_layer_second_derivatives(make, x):
    f, inputs = _as_function(make(), x)
    check_second(f, inputs, {})


def test_weights_are_in_keras_order_with_keras_shapes():
    x = u(2, 5, 5, 3)
    cases = [
        (layers.Conv2DTranspose(4, (3, 2)), ["kernel", "bias"], [(3, 2, 4, 3), (4,)]),
        (layers.DepthwiseConv2D(3, depth_multiplier=2), ["kernel", "bias"],
         [(3, 3, 3, 2), (6,)]),
        (layers.SeparableConv2D(4, 3, depth_multiplier=2),
         ["depthwise_kernel", "pointwise_kernel", "bias"], [(3, 3, 3, 2), (1, 1, 6, 4), (4,)]),
    ]
    for layer, names, shapes in cases + [(layers.Conv1D(4, 3), ["kernel", "bias"],
                                          [(3, 3, 4), (4,)])]:
        layer(x if layer.rank == 2 else x[:, 0])
        assert [name for name, _ in layer._named_weights()] == names
        assert [w.shape for w in layer.get_weights()] == shapes
    assert len(layers.DepthwiseConv2D(3, use_bias=False)(x).shape) == 4


def test_outputs_take_the_layers_dtype():
    x = u(1, 4, 4, 2)
    for make in [lambda: layers.Conv2DTranspose(2, 3), lambda: layers.DepthwiseConv2D(3),
                 lambda: layers.SeparableConv2D(2, 3)]:
        assert make()(x.astype(np.float32)).dtype == np.float32
        assert make()(x).dtype == np.float64
    assert layers.Conv1D(2, 3)(x[:, 0].astype(np.float32)).dtype == np.float32
    assert layers.Conv1D(2, 3, dtype="float64")(x[:, 0].astype(np.float32)).dtype == np.float64


@pytest.mark.parametrize("make, keys", [
    (lambda: layers.Conv2DTranspose(2, 3, kernel_regularizer="l2"),
     {"filters", "output_padding", "kernel_initializer", "kernel_regularizer"}),
    (lambda: layers.DepthwiseConv2D(3), {"depth_multiplier", "depthwise_initializer",
                                         "depthwise_regularizer"}),
    (lambda: layers.SeparableConv2D(2, 3, activity_regularizer="l1"),
     {"filters", "depth_multiplier", "depthwise_initializer", "pointwise_initializer",
      "depthwise_regularizer", "pointwise_regularizer"}),
    (lambda: layers.Conv1D(2, 3, padding="causal"), {"filters", "groups", "kernel_initializer",
                                                     "kernel_regularizer"}),
])
def test_conv_configs_have_keras_keys_and_make_the_layer_again(make, keys):
    layer = make()
    config = layer.get_config()
    common = {"name", "trainable", "dtype", "kernel_size", "strides", "padding", "data_format",
              "dilation_rate", "activation", "use_bias", "bias_initializer", "bias_regularizer",
              "activity_regularizer"}
    assert common | keys == set(config)
    assert config["data_format"] == "channels_last" and config["activation"] == "linear"
    assert config["bias_initializer"] == {"class_name": "Zeros", "config": {}}
    again = type(layer).from_config({**config, "name": None})
    assert {k: v for k, v in again.get_config().items() if k != "name"} == \
        {k: v for k, v in config.items() if k != "name"}


def test_keras_standardizes_the_arguments():
    layer = layers.Conv2DTranspose(2, 3, strides=2, padding="SAME", output_padding=1)
    assert (layer.kernel_size, layer.strides, layer.padding, layer.output_padding) == \
        ((3, 3), (2, 2), "same", (1, 1))
    assert layers.Conv2DTranspose(2, 3).output_padding is None
    conv1d = layers.Conv1D(2, 3, padding="Causal")
    assert (conv1d.kernel_size, conv1d.strides, conv1d.padding, conv1d.dilation_rate) == \
        ((3,), (1,), "causal", (1,))
    pool = layers.MaxPooling1D(3)
    assert pool.get_config() == {"name": pool.name, "trainable": True, "dtype": "float32",
                                 "pool_size": (3,), "padding": "valid", "strides": (3,),
                                 "data_format": "channels_last"}
    assert layers.GlobalAveragePooling1D().get_config()["keepdims"] is False
    assert layers.MaxPooling1D().pool_size == (2,)
    with pytest.raises(TypeError, match="pool_size"):
        layers.AveragePooling1D()  # as in Keras 3: no default pool size
    positional = layers.Conv2DTranspose(2, 3, 2, "same", 1)  # Keras 3.15's order
    assert (positional.strides, positional.padding, positional.output_padding) == \
        ((2, 2), "same", (1, 1))
    assert layers.MaxPool1D is layers.MaxPooling1D and layers.AvgPool1D is \
        layers.AveragePooling1D and layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D


def test_causal_conv1d_sees_only_the_past():
    layer = layers.Conv1D(1, 3, padding="causal", kernel_initializer="ones")
    x = np.arange(5, dtype=np.float64).reshape(1, 5, 1)
    y = layer(x).numpy().ravel()
    np.testing.assert_array_equal(y, [0, 1, 3, 6, 9])  # x[t - 2] + x[t - 1] + x[t]


def test_depthwise_and_separable_layer_values():
    x = u(2, 5, 5, 3)
    depthwise = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2,
                                       bias_initializer="ones")
    y = depthwise(x)
    expected = mt.nn.depthwise_conv2d(x, depthwise.kernel, 1, "SAME").numpy() + 1
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-12)
    separable = layers.SeparableConv2D(4, 3, strides=2, activation="relu")
    y = separable(x)
    d = mt.nn.depthwise_conv2d(x, separable.depthwise_kernel, 2, "VALID").numpy()
    np.testing.assert_allclose(y.numpy(), np.maximum(d @ separable.pointwise_kernel.numpy()[0, 0],
                                                     0), atol=1e-12)


def test_1d_pooling_layers_shapes_and_values():
    x = rng.distinct(2, 7, 3)
    assert layers.MaxPooling1D()(x).shape == (2, 3, 3)
    assert layers.MaxPooling1D(padding="same")(x).shape == (2, 4, 3)
    assert layers.AveragePooling1D(3, strides=1)(x).shape == (2, 5, 3)
    np.testing.assert_allclose(layers.MaxPooling1D(7)(x).numpy()[:, 0], x.max(axis=1))
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(x).numpy(), x.mean(axis=1))
    assert layers.GlobalMaxPooling1D(keepdims=True)(x).shape == (2, 1, 3)
    with pytest.raises(ValueError, match="rank 3"):
        layers.MaxPooling1D()(u(1, 4, 4, 2))


def test_regularizers_add_their_penalties_to_the_losses():
    x = u(2, 4, 4, 2)
    layer = layers.SeparableConv2D(2, 3, depthwise_regularizer=mt.regularizers.L2(0.1),
                                   pointwise_regularizer="l1", bias_regularizer="l2",
                                   activity_regularizer=mt.regularizers.L1(0.5))
    y = layer(x)
    d, p = layer.depthwise_kernel.numpy(), layer.pointwise_kernel.numpy()
    expected = [0.5 * np.abs(y.numpy()).sum() / 2, 0.1 * (d ** 2).sum(), 0.01 * np.abs(p).sum(),
                0.0]
    np.testing.assert_allclose([float(loss) for loss in layer.losses], expected, rtol=1e-6)
    assert layer.get_config()["pointwise_regularizer"] == {"class_name": "L1",
                                                           "config": {"l1": 0.01}}
    for make in [lambda: layers.Conv2DTranspose(2, 3, kernel_regularizer="l2"),
                 lambda: layers.DepthwiseConv2D(3, depthwise_regularizer="l2"),
                 lambda: layers.Conv1D(2, 3, kernel_regularizer="l2")]:
        layer = make()
        layer(x if layer.rank == 2 else x[:, 0])
        np.testing.assert_allclose(float(layer.losses[0]),
                                   0.01 * (layer.kernel.numpy() ** 2).sum(), rtol=1e-6)
