"""Sequential with an Input (Keras 3's ``keras/src/models/sequential.py``), add and pop, and
what a layer casts its inputs to (Keras 3's ``DTypePolicy.convert_input``)."""
import warnings

import numpy as np
import pytest

import minitrain as mt
from minitrain import layers


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines[0].split("\n")


def _rows(text):
    return [line.split() for line in text[4:-4:2]]


@pytest.mark.parametrize("make", [
    lambda: mt.Sequential([mt.Input(shape=(784,)), layers.Dense(64), layers.Dense(10)]),
    lambda: mt.Sequential([layers.InputLayer(shape=(784,)), layers.Dense(64), layers.Dense(10)]),
], ids=["Input", "InputLayer"])
def test_an_input_builds_the_model_at_once(make):
    model = make()
    assert model.built and model.input_shape == (None, 784) and model.output_shape == (None, 10)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]  # as Keras
    assert model.count_params() == 784 * 64 + 64 + 64 * 10 + 10
    names = [layer.name for layer in model.layers]
    assert _rows(_summary(model)) == [[names[0], "(Dense)", "(None,", "64)", "50,240"],
                                      [names[1], "(Dense)", "(None,", "10)", "650"]]
    assert model(np.ones((3, 784), np.float32)).shape == (3, 10)


def test_add_builds_each_layer_and_pop_removes_it():
    model = mt.Sequential()
    model.add(mt.Input(shape=(4,)))
    model.add(layers.Dense(3))
    assert model.built and model.layers[0].kernel.shape == (4, 3)
    model.add(layers.Dense(2))
    assert model.output_shape == (None, 2)
    last = model.pop()
    assert isinstance(last, layers.Dense) and last.units == 2 and len(model.layers) == 1
    assert model.output_shape == (None, 3) and model(np.ones((1, 4))).shape == (1, 3)
    with pytest.raises(ValueError, match="only as its first layer"):
        model.add(mt.Input(shape=(4,)))


def test_input_shape_on_the_first_layer_warns_and_builds():
    """Keras 3 still takes it, with this warning, and makes an InputLayer of it."""
    with pytest.warns(UserWarning, match="Do not pass an `input_shape`/`input_dim` argument"):
        first = layers.Dense(64, input_shape=(784,))
    model = mt.Sequential([first, layers.Dense(10)])
    assert model.built and model.input_shape == (None, 784) and first.kernel.shape == (784, 64)
    with pytest.warns(UserWarning):
        assert layers.Dense(2, input_dim=3)._input_shape_arg == (3,)


def test_a_sequential_without_input_still_builds_on_its_first_batch():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = mt.Sequential([layers.Dense(2)])
    assert not model.built
    model(np.ones((1, 5), np.float32))
    assert model.layers[0].kernel.shape == (5, 2)


def test_the_weights_paths_do_not_depend_on_the_input(tmp_path):
    with_input = mt.Sequential([mt.Input((3,)), layers.Dense(2)])
    without = mt.Sequential([layers.Dense(2)])
    without(np.ones((1, 3)))
    with_input.save_weights(tmp_path / "w.npz")
    without.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(without.get_weights()[0], with_input.get_weights()[0])


def test_a_uint8_batch_into_dense():
    """Keras's ops promote uint8 @ float32 to float32; minitrain's layer casts instead."""
    dense = layers.Dense(3)
    images = np.arange(8, dtype=np.uint8).reshape(2, 4)
    y = dense(images)
    assert y.dtype == mt.float32 and dense.kernel.dtype == mt.float32
    np.testing.assert_allclose(y.numpy(), images.astype(np.float32) @ dense.kernel.numpy(),
                               rtol=1e-6)


def test_a_uint8_batch_into_a_sequential_cnn():
    model = mt.Sequential([mt.Input((8, 8, 1)), layers.Conv2D(2, 3), layers.Flatten(),
                           layers.Dense(2)])
    assert model(np.ones((2, 8, 8, 1), np.uint8)).dtype == mt.float32


def test_float_inputs_are_autocast_and_autocast_false_keeps_them():
    dense = layers.Dense(2, dtype="float32")
    assert dense(np.ones((1, 3), np.float64)).dtype == mt.float32
    seen = []

    class Spy(layers.Layer):
        def call(self, inputs):
            seen.append(inputs.dtype)
            return inputs

    Spy(autocast=False)(np.ones((1, 3), np.float64))
    Spy(dtype="float32")(np.ones((1, 3), np.int32))
    assert seen == [mt.float64, mt.float32]


class _IndexSpy(layers.Embedding):
    def call(self, inputs):
        self.seen = inputs.dtype
        return super().call(inputs)


def test_a_sequential_passes_integer_indices_on_uncast():
    embed = _IndexSpy(10, 4, autocast=False)
    model = mt.Sequential([embed, layers.Flatten()])
    assert model(np.array([[1, 2]], np.int32)).shape == (1, 8)
    assert embed.seen == mt.int32


def test_embedding_keeps_integer_indices_integer():
    """As Keras's Embedding (autocast off, keras/src/layers/core/embedding.py)."""
    embed = _IndexSpy(10, 4)
    embed(np.array([[1, 2]], np.int32))
    assert embed.seen == mt.int32
