"""The Layer protocol: building, variable tracking, freezing, weights order, dtypes, summary."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import layers, naming


class Block(layers.Layer):
    """A layer of layers: two Dense in a list, a BatchNormalization, and a bare Variable."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.denses = [layers.Dense(4), layers.Dense(4)]
        self.norm = layers.BatchNormalization()
        self.temperature = mt.Variable(1.0, name="temperature")

    def call(self, inputs, training=False):
        x = self.denses[1](self.denses[0](inputs))
        return self.norm(x, training=training) * self.temperature


class Net(mt.Model):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.heads = {"a": layers.Dense(2), "b": layers.Dense(3)}
        self.extra = []  # filled after assignment: still tracked

    def call(self, inputs, training=False):
        x = self.block(inputs, training=training)
        for layer in self.extra:
            x = layer(x)
        return mt.concat([self.heads["a"](x), self.heads["b"](x)], axis=-1)


def _names(variables):
    return [v.name for v in variables]


def test_a_layer_builds_on_its_first_call_from_the_input_shape():
    layer = layers.Dense(3)
    assert not layer.built and layer.weights == []
    layer(np.ones((2, 5), dtype=np.float32))
    assert layer.built and layer.kernel.shape == (5, 3)
    assert layer.output_shape == (2, 3)


def test_a_layer_built_by_hand_is_built_and_its_first_call_keeps_its_weights():
    """Keras marks a layer built when its build returns (its build wrapper), however called:
    a custom layer's build may build the layers it holds."""
    layer = layers.Dense(3)
    layer.build([None, 5])
    assert layer.built and layer.get_build_config() == {"input_shape": (None, 5)}
    kernel = layer.kernel
    assert layer(np.ones((2, 5), dtype=np.float32)).shape == (2, 3)
    assert layer.kernel is kernel and len(layer.weights) == 2

    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = layers.Dense(2)

        def build(self, input_shape):
            self.inner.build(input_shape)
            super().build(input_shape)

        def call(self, x):
            return self.inner(x)

    outer = Outer()
    outer(np.ones((1, 4), dtype=np.float32))
    assert outer.built and outer.inner.built and len(outer.weights) == 2


def test_nested_layers_lists_dicts_and_variables_are_tracked_in_keras_order():
    net = Net()
    net.extra.append(layers.Dense(4))
    net(np.ones((3, 6), dtype=np.float32))
    paths = [path for path, _ in net._named_weights()]
    assert paths == [
        "block/temperature", "block/denses/0/kernel", "block/denses/0/bias",
        "block/denses/1/kernel", "block/denses/1/bias", "block/norm/gamma", "block/norm/beta",
        "block/norm/moving_mean", "block/norm/moving_variance", "heads/a/kernel",
        "heads/a/bias", "heads/b/kernel", "heads/b/bias", "extra/0/kernel", "extra/0/bias"]
    assert len(net.trainable_variables) == 13 and len(net.non_trainable_variables) == 2
    assert [id(v) for v in net.weights] == [id(v) for _, v in net._named_weights()]  # walks agree
    assert net.layers == [net.block, net.heads["a"], net.heads["b"], net.extra[0]]


def test_a_shared_layer_counts_once():
    dense = layers.Dense(2)
    model = mt.Sequential([dense, layers.Dense(2), dense])
    model(np.ones((1, 2), dtype=np.float32))
    assert len(model.weights) == 4 and len(model.layers) == 2


def test_freezing_a_layer_freezes_everything_inside_and_the_tape_skips_it():
    net = Net()
    x = np.ones((3, 6), dtype=np.float32)
    net(x)
    net.block.trainable = False
    assert not net.block.denses[0].trainable and not net.block.denses[0].kernel.trainable
    assert _names(net.trainable_variables) == _names(net.heads["a"].weights +
                                                     net.heads["b"].weights)
    assert len(net.non_trainable_variables) == 9
    with mt.GradientTape() as tape:
        y = net(x, training=True)
    assert all(v is not net.block.denses[0].kernel for v in tape.watched_variables())
    grads = tape.gradient(y, net.trainable_variables)
    assert all(g is not None for g in grads)
    net.block.trainable = True  # unfreezing leaves the moving statistics non-trainable
    assert len(net.trainable_variables) == 11
    assert not net.block.norm.moving_mean.trainable


def test_freezing_a_model_empties_its_trainable_variables():
    model = mt.Sequential([layers.Dense(2), layers.Dense(1)])
    model.build((None, 3))
    model.trainable = False
    assert model.trainable_variables == [] and len(model.non_trainable_variables) == 4
    assert all(not layer.trainable for layer in model.layers)


def test_get_weights_is_in_keras_order_and_set_weights_round_trips():
    model = mt.Sequential([layers.Dense(3), layers.BatchNormalization()])
    model.build((None, 2))
    assert [w.shape for w in model.get_weights()] == [(2, 3), (3,), (3,), (3,), (3,), (3,)]
    assert [name.split("/")[-1] for name in _names(model.layers[1].weights)] == [
        "gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"]
    new = [np.full(w.shape, i, dtype=np.float32) for i, w in enumerate(model.get_weights())]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)


def test_set_weights_names_what_does_not_fit():
    layer = layers.Dense(3)
    layer(np.ones((1, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"2 weights \(kernel, bias\), but 1 arrays"):
        layer.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"'bias' has shape \(3,\).*shape \(4,\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(4)])
    np.testing.assert_array_equal(layer.bias.numpy(), 0)  # nothing was assigned


@pytest.mark.parametrize("x_dtype, layer_dtype, expected", [
    (np.float32, None, np.float32), (np.float64, None, np.float64),
    (np.float64, "float32", np.float32), (np.float32, "float64", np.float64)])
def test_dtype_policy(x_dtype, layer_dtype, expected):
    model = mt.Sequential([layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(2)],
                          dtype=layer_dtype)
    y = model(np.ones((1, 4, 4, 1), dtype=x_dtype))
    assert y.dtype == expected
    assert {v.dtype for v in model.weights} == {np.dtype(expected)}


def test_weights_made_in_init_fix_the_dtype_at_float32():
    class Scale(layers.Layer):
        def __init__(self):
            super().__init__()
            self.factor = self.add_weight("factor", (), "ones")

        def call(self, inputs):
            return inputs * self.factor

    assert Scale()(np.ones(3)).dtype == np.float32  # float64 inputs are cast, as in Keras


def test_python_and_integer_inputs_give_float32_layers():
    assert layers.Dense(2)([[1.0, 2.0]]).dtype == np.float32
    assert layers.Embedding(3, 2)(np.array([0, 2])).dtype == np.float32


def test_unique_default_names_and_the_training_flag():
    first, second = layers.Dense(1), layers.Dense(1)
    assert first.name != second.name and first.name.startswith("dense")
    assert layers.BatchNormalization(name="bn").name == "bn"
    x = np.ones((4, 8), dtype=np.float32)
    model = mt.Sequential([layers.Dropout(0.5, seed=0)])
    np.testing.assert_array_equal(model(x).numpy(), x)  # Sequential passes training on
    assert (model(x, training=True).numpy() == 0).any()


def test_model_build_then_summary():
    model = mt.Sequential([layers.Conv2D(4, 3, padding="same", name="conv"),
                           layers.BatchNormalization(name="bn"), layers.MaxPool2D(name="pool"),
                           layers.Flatten(name="flat"), layers.Dense(10, name="out")],
                          name="cnn")
    with pytest.raises(ValueError, match="not been built"):
        model.summary()
    model.build((None, 8, 8, 3))
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert 'Model: "cnn"' in text
    for row in [("conv (Conv2D)", "(None, 8, 8, 4)", "112"),
                ("bn (BatchNormalization)", "(None, 8, 8, 4)", "16"),
                ("pool (MaxPooling2D)", "(None, 4, 4, 4)", "0"),
                ("flat (Flatten)", "(None, 64)", "0"), ("out (Dense)", "(None, 10)", "650")]:
        assert any(line.split() == " ".join(row).split() for line in text.splitlines()), row
    assert "Total params: 778" in text and "Trainable params: 770" in text
    assert "Non-trainable params: 8" in text


def test_sequential_add_pop_and_type_check():
    model = mt.Sequential()
    model.add(layers.Dense(2))
    model.add(layers.Dense(1))
    assert len(model.layers) == 2
    assert isinstance(model.pop(), layers.Dense) and len(model.layers) == 1
    with pytest.raises(TypeError, match="Layer"):
        model.add(lambda x: x)


def test_layers_reject_unknown_keyword_arguments():
    with pytest.raises(TypeError, match="unitz"):
        layers.Dense(3, unitz=4)


class _Mixed(layers.Layer):
    """Own weights created non-trainable first, and one Dense held under two attributes."""

    def build(self, input_shape):
        self.count = self.add_weight("count", (), "zeros", trainable=False)
        self.scale = self.add_weight("scale", (), "ones")
        self.total = self.add_weight("total", (), "zeros", trainable=False)
        self.offset = self.add_weight("offset", (), "zeros")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = layers.Dense(2)
        self.again = {"same": self.first}

    def call(self, inputs):
        return self.first(inputs) * self.scale + self.offset


def test_one_walk_gives_keras_order_and_the_first_path_of_a_shared_layer():
    layer = _Mixed()
    layer(np.ones((1, 3), dtype=np.float32))
    named = layer._named_weights()
    assert [path for path, _ in named] == ["scale", "offset", "count", "total", "first/kernel",
                                           "first/bias"]
    assert [id(v) for v in layer.weights] == [id(v) for _, v in named]
    assert _names(layer.trainable_variables) == _names([layer.scale, layer.offset,
                                                        layer.first.kernel, layer.first.bias])
    assert [path for path, _ in layer._sublayers()] == ["first"]


@pytest.mark.parametrize("cls, args, name", [
    ("Conv2D", (2, 3), "conv2d"), ("BatchNormalization", (), "batch_normalization"),
    ("MaxPooling2D", (), "max_pooling2d"),
    ("GlobalAveragePooling2D", (), "global_average_pooling2d"),
    ("LayerNormalization", (), "layer_normalization"), ("Dense", (2,), "dense")])
def test_default_names_are_keras_3s_snake_case(cls, args, name):
    assert naming.snake_case(cls) == name
    layer = getattr(layers, cls)(*args)
    assert layer.name == name or layer.name.startswith(name + "_")
