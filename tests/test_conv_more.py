"""Transposed, depthwise, separable and 1-D convolutions and pooling: ops against numpy
references, Keras's output sizes, and the layers (weights, config, gradients in float64)."""
import numpy as np
import pytest
from layercases import Draw
from test_conv import naive_conv2d, naive_pool

import minitrain as mt
from minitrain import layers
from minitrain.ops.conv_more import conv_transpose_output_size

rng = Draw(seed=13)
u = rng.uniform


def _keras_crop(k, s, padding, output_padding):
    """Where Keras's numpy reference (conv_transpose_test.py) starts its output in the full
    scatter: k - 1 - left, the left padding of its JAX rule."""
    if padding == "valid":
        return 0
    pad = s + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
    return k - 1 - min(pad // 2 + pad % 2, k - 1)


def naive_conv2d_transpose(x, w, strides, padding, output_padding=(None, None)):
    """Each input pixel scatters x[n, i, j] @ w[a, b].T to (i * s + a, j * s + b); the output
    is Keras's window of that full result."""
    (kh, kw, c_out, _), (n, h, wd, _) = w.shape, x.shape
    sizes = [conv_transpose_output_size(m, k, s, padding, p)
             for m, k, s, p in zip((h, wd), (kh, kw), strides, output_padding)]
    full = np.zeros((n, sizes[0] + kh + h * strides[0], sizes[1] + kw + wd * strides[1], c_out))
    for i in range(h):
        for j in range(wd):
            full[:, i * strides[0]:i * strides[0] + kh, j * strides[1]:j * strides[1] + kw] += \
                np.einsum("nc,abkc->nabk", x[:, i, j], w)
    top, left = (_keras_crop(k, s, padding, p)
                 for k, s, p in zip((kh, kw), strides, output_padding))
    return full[:, top:top + sizes[0], left:left + sizes[1]]


# --- Keras's output sizes (keras/src/layers/convolutional/conv_transpose_test.py) -----------
@pytest.mark.parametrize("kwargs, input_shape, output_shape", [
    (dict(filters=5, kernel_size=2, strides=2), (2, 8, 8, 4), (2, 16, 16, 5)),
    (dict(filters=6, kernel_size=2, strides=3, padding="same", output_padding=2), (2, 8, 8, 4),
     (2, 23, 23, 6)),
    (dict(filters=6, kernel_size=(2, 3), strides=(2, 1)), (2, 8, 8, 4), (2, 16, 10, 6)),
    (dict(filters=2, kernel_size=(7, 7), strides=(16, 16)), (1, 14, 14, 2), (1, 224, 224, 2)),
    (dict(filters=3, kernel_size=3, strides=2, padding="same"), (1, 4, 5, 2), (1, 8, 10, 3)),
    (dict(filters=3, kernel_size=3, strides=2, padding="same", output_padding=1), (1, 4, 5, 2),
     (1, 8, 10, 3)),
    (dict(filters=3, kernel_size=3, strides=2, padding="same", output_padding=0), (1, 4, 5, 2),
     (1, 7, 9, 3)),
    (dict(filters=1, kernel_size=3, strides=2, output_padding=1), (1, 3, 3, 1), (1, 8, 8, 1)),
    (dict(filters=1, kernel_size=1, strides=3), (1, 2, 2, 1), (1, 6, 6, 1)),
])
def test_conv2d_transpose_layer_output_sizes_and_values(kwargs, input_shape, output_shape):
    layer = layers.Conv2DTranspose(**kwargs, bias_initializer="ones")
    x = u(*input_shape)
    y = layer(x)
    assert y.shape == output_shape
    assert layer.kernel.shape == layer.kernel_size + (kwargs["filters"], input_shape[-1])
    padding = (layer.output_padding or (None, None))
    expected = naive_conv2d_transpose(x, layer.kernel.numpy(), layer.strides, layer.padding,
                                      padding) + 1
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-12)


def test_conv2d_transpose_is_the_gradient_of_conv2d_and_its_adjoint():
    x, w = u(2, 7, 6, 3), u(3, 3, 3, 4)
    xt = mt.constant(x)
    with mt.GradientTape() as tape:
        tape.watch(xt)
        y = mt.nn.conv2d(xt, w, 2, "SAME")
    dy = u(*y.shape)
    grad = tape.gradient(y, xt, output_gradients=mt.constant(dy))
    back = mt.nn.conv2d_transpose(dy, w, x.shape, [1, 2, 2, 1], "SAME")
    np.testing.assert_allclose(back.numpy(), grad.numpy(), atol=1e-12)
    # <conv2d(x), dy> == <x, conv2d_transpose(dy)>
    np.testing.assert_allclose(np.sum(y.numpy() * dy), np.sum(x * back.numpy()), rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: mt.nn.conv2d_transpose(u(1, 3, 3, 2), u(3, 3, 1, 2), (1, 7, 7, 1), 2, "SAME"),
     "does not fit"),
    (lambda: mt.nn.conv2d_transpose(u(1, 3, 3, 2), u(3, 3, 1, 3), (1, 6, 6, 1), 2, "SAME"),
     "filters must have shape"),
    (lambda: mt.nn.conv2d_transpose(u(1, 3, 3, 2), u(3, 3, 1, 2), (1, 6, 6, 1), 2, "SAME",
                                    dilations=2), "dilations"),
    (lambda: mt.nn.depthwise_conv2d(u(1, 4, 4, 2), u(3, 3, 3, 1), 1, "VALID"), "filter must"),
    (lambda: mt.nn.conv1d(u(1, 4, 4, 2), u(3, 2, 1), 1, "VALID"), "NWC"),
    (lambda: mt.nn.max_pool1d(u(1, 4, 2), [2, 2], 1, "VALID"), "ksize"),
    (lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2), "output_padding"),
    (lambda: layers.Conv1D(2, 3, dilation_rate=2), "dilation_rate"),
    (lambda: layers.DepthwiseConv2D(3, data_format="channels_first"), "channels_last"),
    (lambda: layers.MaxPooling1D(padding="causal"), "padding"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- depthwise, separable, 1-D ops -----------------------------------------------------------
def test_depthwise_conv2d_matches_tensorflows_example():
    """The example of tf.nn.depthwise_conv2d's documentation."""
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32).reshape((1, 3, 2, 1))
    kernel = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32).reshape((2, 1, 1, 2))
    y = mt.nn.depthwise_conv2d(x, kernel, strides=[1, 1, 1, 1], padding="VALID")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), [[[[10, 14], [14, 20]], [[18, 26], [22, 32]]]])


@pytest.mark.parametrize("strides, padding", [(1, "VALID"), (2, "SAME"), ((2, 1), "VALID")])
def test_depthwise_conv2d_convolves_each_channel_on_its_own(strides, padding):
    x, w = u(2, 6, 5, 3), u(3, 2, 3, 2)
    y = mt.nn.depthwise_conv2d(x, w, strides, padding).numpy()
    pair = (strides, strides) if isinstance(strides, int) else strides
    for k in range(3):  # output channel k * m + q comes from input channel k and filter q
        expected = naive_conv2d(x[..., k:k + 1], w[:, :, k:k + 1], pair, padding)
        np.testing.assert_allclose(y[..., 2 * k:2 * k + 2], expected, atol=1e-12)


def test_separable_conv2d_is_depthwise_then_pointwise():
    x, d, p = u(1, 5, 5, 2), u(3, 3, 2, 2), u(1, 1, 4, 3)
    y = mt.nn.separable_conv2d(x, d, p, 1, "SAME").numpy()
    depthwise = mt.nn.depthwise_conv2d(x, d, 1, "SAME").numpy()
    np.testing.assert_allclose(y, depthwise @ p[0, 0], atol=1e-12)


@pytest.mark.parametrize("stride, padding", [(1, "VALID"), (2, "SAME"), ([3], "VALID")])
def test_conv1d_is_conv2d_of_height_one(stride, padding):
    x, w = u(2, 9, 3), u(3, 3, 4)
    s = stride[0] if isinstance(stride, list) else stride
    y = mt.nn.conv1d(x, w, stride, padding)
    expected = naive_conv2d(x[:, None], w[None], (1, s), padding)[:, 0]
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("ksize, strides, padding", [(2, 2, "VALID"), (3, 2, "SAME"),
                                                     ([3], [1, 1, 1], "VALID")])
def test_pool1d_matches_naive_loop(kind, ksize, strides, padding):
    x = rng.distinct(2, 7, 3)
    k = ksize[0] if isinstance(ksize, list) else ksize
    s = strides[1] if isinstance(strides, list) else strides
    pool = mt.nn.max_pool1d if kind == "max" else mt.nn.avg_pool1d
    expected = naive_pool(x[:, None], (1, k), (1, s), padding, kind)[:, 0]
    np.testing.assert_allclose(pool(x, ksize, strides, padding).numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("make, x, output_shape", [  # the examples of Keras's docstrings
    (lambda: layers.Conv2DTranspose(32, 2, 2, activation="relu"), u(4, 10, 8, 128),
     (4, 20, 16, 32)),
    (lambda: layers.Conv1D(32, 3, activation="relu"), u(4, 10, 128), (4, 8, 32)),
])
def test_keras_docstring_examples(make, x, output_shape):
    assert make()(x).shape == output_shape


def test_the_ops_run_on_each_device(device):
    x, w = mt.constant(u(2, 5, 6, 3)), mt.constant(u(3, 3, 3, 2))
    with mt.GradientTape() as tape:
        tape.watch([x, w])
        outputs = [mt.nn.conv2d_transpose(x, mt.transpose(w, (0, 1, 3, 2)), (2, 10, 12, 2), 2,
                                          "SAME"),
                   mt.nn.depthwise_conv2d(x, w, 2, "SAME"),
                   mt.nn.conv1d(x[:, 0], w[0], 2, "VALID"),
                   mt.nn.max_pool1d(x[:, 0], 2, 2, "SAME"), mt.nn.avg_pool1d(x[:, 0], 3, 1, "SAME")]
        total = sum(mt.reduce_sum(y * y) for y in outputs)
    grads = tape.gradient(total, [x, w])
    expected = naive_conv2d_transpose(x.numpy(), w.numpy().transpose(0, 1, 3, 2), (2, 2), "same")
    np.testing.assert_allclose(outputs[0].numpy(), expected, atol=1e-12)
    assert [y.device for y in outputs] == [device] * 5
    assert [g.device for g in grads] == [device, device]
