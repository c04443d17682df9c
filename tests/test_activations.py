"""Activations by name, and which of them a layer fuses with its bias (a table in ops.nn, and
the convolution's own in ops.conv)."""
import math

import numpy as np
import pytest

import minitrain as mt
from minitrain import activations, backend, layers
from minitrain.kernels.bias_act import bias_relu_cupy, bias_relu_numpy
from minitrain.ops import conv as conv_ops
from minitrain.ops import nn as nn_ops

rng = np.random.default_rng(11)


def _own_relu(x):
    """A user's function that happens to be called relu: applied as given, never fused."""
    return mt.nn.relu(x)


_own_relu.__name__ = "relu"

LAYERS = [  # (id, layer maker given an activation, input, the table it fuses by)
    ("Dense", lambda a: layers.Dense(5, activation=a, bias_initializer="ones"),
     rng.standard_normal((4, 3)), nn_ops.BIAS_ACTIVATIONS),
    ("Conv2D", lambda a: layers.Conv2D(4, 3, padding="same", activation=a,
                                       bias_initializer="ones"),
     rng.standard_normal((2, 5, 5, 3)), conv_ops.CONV_BIAS_ACTIVATIONS),
]


NAMES = ["elu", "gelu", "leaky_relu", "linear", "log_softmax", "relu", "relu6", "sigmoid",
         "silu", "softmax", "softplus", "swish", "tanh"]


def test_the_table_holds_mt_nn_functions_where_the_signature_fits():
    for name in ["elu", "gelu", "log_softmax", "relu", "relu6", "sigmoid", "silu", "softmax",
                 "softplus", "swish", "tanh"]:
        assert activations.get(name) is getattr(mt.nn, name), name


def test_keras_3_arguments_and_defaults():
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    leaky = activations.get("leaky_relu")
    np.testing.assert_allclose(leaky(x).numpy(), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(leaky(x, negative_slope=0.5).numpy(), np.where(x > 0, x, 0.5 * x))
    exact = 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    np.testing.assert_allclose(activations.get("gelu")(x).numpy(), exact, rtol=1e-12)
    assert not np.allclose(activations.get("gelu")(x, approximate=True).numpy(), exact,
                           rtol=1e-6)
    np.testing.assert_allclose(activations.get("softmax")(x.reshape(2, 2), axis=0).numpy(),
                               mt.nn.softmax(x.reshape(2, 2), axis=0).numpy())


@pytest.mark.parametrize("name", NAMES)
def test_serialize_gives_the_name_get_takes(name):
    f = activations.get(name)
    assert activations.get(activations.serialize(f)) is f
    assert activations.name_of(f) == activations.serialize(f)


def test_serialize_names_swish_silu_and_a_users_function_by_its_name():
    assert activations.serialize(activations.get("swish")) == "silu"  # as Keras 3
    assert activations.serialize(activations.get(None)) == "linear"
    assert activations.serialize(_own_relu) == "relu"
    assert activations.name_of(_own_relu) is None  # not the built-in: never fused as one


def _spy_on_fused(monkeypatch, table):
    """Replace the table's relu entry by one that records its outputs' shapes, and return the
    record."""
    calls, fused = [], table["relu"]

    def spy(*args):
        y = fused(*args)
        calls.append(y.shape)
        return y

    monkeypatch.setitem(table, "relu", spy)
    return calls


@pytest.mark.parametrize("make, x, table", [row[1:] for row in LAYERS],
                         ids=[row[0] for row in LAYERS])
@pytest.mark.parametrize("activation", ["relu", mt.nn.relu, activations.get("relu")])
def test_the_table_decides_that_relu_layers_fuse(monkeypatch, make, x, table, activation):
    calls = _spy_on_fused(monkeypatch, table)
    y = make(activation)(x)
    assert len(calls) == 1 and calls[0] == y.shape


@pytest.mark.parametrize("make, x, table", [row[1:] for row in LAYERS],
                         ids=[row[0] for row in LAYERS])
@pytest.mark.parametrize("activation", [None, "tanh", _own_relu])
def test_other_activations_add_the_bias_then_apply_themselves(monkeypatch, make, x, table,
                                                              activation):
    calls = _spy_on_fused(monkeypatch, table)
    make(activation)(x)
    assert calls == []


def _value_and_gradients(layer, x):
    """The layer's output and the gradients of a weighted sum of it, to input and weights."""
    x = mt.constant(x)
    with mt.GradientTape() as outer:
        outer.watch(x)
        with mt.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = mt.reduce_sum(y * y)
        grads = tape.gradient(loss, [x] + layer.trainable_variables)
        total = sum(mt.reduce_sum(g) for g in grads)
    second = outer.gradient(total, x)
    return [t.numpy() for t in (y, *grads, second)]


@pytest.mark.parametrize("make, x", [row[1:3] for row in LAYERS],
                         ids=[row[0] for row in LAYERS])
def test_fused_relu_layers_match_the_unfused_ones_to_second_order(make, x):
    fused, unfused = make("relu"), make(_own_relu)
    fused(x)
    unfused(x)
    unfused.set_weights(fused.get_weights())
    for got, want in zip(_value_and_gradients(fused, x), _value_and_gradients(unfused, x)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_bias_add_activation_without_a_bias_applies_the_activation_alone():
    x = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(
        nn_ops.bias_add_activation(x, None, mt.nn.relu, "relu").numpy(), np.maximum(x, 0))


def test_bias_relu_numpy_broadcasts_over_the_last_axis_of_nhwc():
    x, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal(5)
    np.testing.assert_array_equal(bias_relu_numpy(x, b), np.maximum(x + b, 0))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_relu_cupy_matches_numpy_on_nhwc(dtype):
    x = rng.standard_normal((4, 7, 6, 33)).astype(dtype)
    b = rng.standard_normal(33).astype(dtype)
    got = bias_relu_cupy(backend.to_device(x, "gpu"), backend.to_device(b, "gpu"))
    np.testing.assert_array_equal(backend.to_numpy(got), bias_relu_numpy(x, b))


@pytest.mark.gpu
def test_a_relu_conv_layer_on_the_gpu_matches_the_cpu():
    x = rng.standard_normal((2, 6, 6, 3))
    cpu = layers.Conv2D(4, 3, activation="relu", bias_initializer="ones")
    want = _value_and_gradients(cpu, x)
    with mt.device("gpu"):
        gpu = layers.Conv2D(4, 3, activation="relu", bias_initializer="ones")
        gpu(x)
        gpu.set_weights(cpu.get_weights())
        got = _value_and_gradients(gpu, x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10)
