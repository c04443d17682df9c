"""The functional API (Keras 3's ``keras.Input`` and ``keras.Model(inputs, outputs)``), checked
against the Keras "Functional API" guide's examples and Keras 3's source for what it lists."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import layers
from minitrain.models import Functional  # not a public Keras name


class Concat(layers.Layer):
    """A user's layer, on a list of inputs."""

    def call(self, inputs):
        return mt.concat(inputs, axis=-1)


class MeanOverTime(layers.Layer):
    def call(self, inputs):
        return mt.reduce_mean(inputs, axis=1)


def _mnist_model():
    """The guide's first model, as it writes it."""
    inputs = mt.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    return inputs, outputs, mt.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def test_input_is_a_symbolic_tensor():
    inputs = mt.Input(shape=(784,))
    assert inputs.shape == (None, 784) and inputs.dtype == mt.float32
    assert isinstance(inputs, mt.KerasTensor) and inputs.name.startswith("keras_tensor")
    assert mt.Input(shape=(32, 32, 3), batch_size=8, name="img").shape == (8, 32, 32, 3)
    assert mt.Input(batch_shape=(None, 5), dtype="int32").dtype == mt.int32
    named = mt.Input((3,), name="title")
    assert named.name == "title" and named._keras_history[0].name == "title"
    with pytest.raises(ValueError, match="both `shape` and `batch_shape`"):
        mt.Input(shape=(3,), batch_shape=(None, 3))
    with pytest.raises(ValueError, match="must pass a `shape`"):
        mt.Input()


def test_a_symbolic_call_builds_from_the_shape_and_computes_nothing():
    inputs = mt.Input(shape=(784,))
    dense = layers.Dense(64)
    x = dense(inputs)
    assert isinstance(x, mt.KerasTensor) and x.shape == (None, 64)
    assert dense.built and dense.kernel.shape == (784, 64)
    assert len(dense._inbound_nodes) == 1 and dense._inbound_nodes[0].input_tensors == [inputs]
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(x)


def test_none_sizes_other_than_the_batch_stay_none():
    tokens = mt.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(100, 8)(tokens)
    assert x.shape == (None, None, 8)
    assert layers.Flatten()(mt.Input(shape=(4, 5))).shape == (None, 20)


def test_the_mnist_model_of_the_guide():
    inputs, outputs, model = _mnist_model()
    assert model.name == "mnist_model" and isinstance(model, Functional)
    assert model.inputs == [inputs] and model.outputs == [outputs]
    assert model.input_shape == (None, 784) and model.output_shape == (None, 10)
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Dense", "Dense", "Dense"]  # Keras 3 lists the InputLayer
    assert model.count_params() == 55_050  # the guide's total
    y = model(np.random.default_rng(0).random((5, 784), np.float32))
    assert y.shape == (5, 10)


def test_layers_come_by_depth_then_in_the_order_the_walk_met_them():
    """Keras 3's map_graph: the deepest first; at one depth, the first met from the outputs."""
    x = mt.Input((4,), name="x")
    d1, d2, d3 = (layers.Dense(4, name=n) for n in ("d1", "d2", "d3"))
    y = Concat(name="cat")([d2(d1(x)), d3(x)])
    model = mt.Model(x, y)
    assert model.name.startswith("functional")
    assert [layer.name for layer in model.layers] == ["x", "d1", "d2", "d3", "cat"]
    unused = mt.Input((2,), name="unused")  # kept, at the outputs' depth, before them
    assert [layer.name for layer in mt.Model([x, unused], y).layers] == [
        "x", "d1", "d2", "d3", "unused", "cat"]


def test_summary_of_the_mnist_model():
    model = _mnist_model()[2]
    input_name, *dense = [layer.name for layer in model.layers]
    lines = []
    model.summary(print_fn=lines.append)
    rule, double = "_" * 80, "=" * 80
    rows = [(f"{input_name} (InputLayer)", "(None, 784)", "0"),
            (f"{dense[0]} (Dense)", "(None, 64)", "50,240"),
            (f"{dense[1]} (Dense)", "(None, 64)", "4,160"),
            (f"{dense[2]} (Dense)", "(None, 10)", "650")]
    body = []
    for i, (name, shape, params) in enumerate(rows):
        body += [f"{name:<32}{shape:<24}{params}", double if i == len(rows) - 1 else rule]
    assert lines[0].split("\n") == [
        'Model: "mnist_model"', rule, f"{'Layer (type)':<32}{'Output Shape':<24}Param #",
        double, *body, "Total params: 55,050", "Trainable params: 55,050",
        "Non-trainable params: 0", rule]


def test_summary_of_a_graph_has_connected_to():
    a, b = mt.Input((3,), name="a"), mt.Input((5,), name="b")
    x = Concat(name="cat")([a, b])
    model = mt.Model([a, b], layers.Dense(2, name="out")(x), name="two_inputs")
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0].split("\n")

    def row(*cells):  # Keras's columns for this table: 0.3, 0.26 and 0.18 of 108
        return "".join(c.ljust(w) for c, w in zip(cells, (32, 28, 19, 0))).rstrip()

    assert len(text[1]) == 108
    assert text[2] == row("Layer (type)", "Output Shape", "Param #", "Connected to")
    assert text[4:12:2] == [row("a (InputLayer)", "(None, 3)", "0", "-"),
                            row("b (InputLayer)", "(None, 5)", "0", "-"),
                            row("cat (Concat)", "(None, 8)", "0", "a[0][0], b[0][0]"),
                            row("out (Dense)", "(None, 2)", "18", "cat[0][0]")]
    assert text[12] == "Total params: 18"


def test_multiple_inputs_and_outputs():
    """The guide's ticket model, with a mean over the words in place of its LSTMs."""
    title = mt.Input(shape=(None,), dtype="int64", name="title")
    body = mt.Input(shape=(None,), dtype="int64", name="body")
    tags = mt.Input(shape=(12,), name="tags")
    title_features = MeanOverTime()(layers.Embedding(100, 8)(title))
    body_features = MeanOverTime()(layers.Embedding(100, 8)(body))
    x = Concat()([title_features, body_features, tags])
    priority = layers.Dense(1, name="priority")(x)
    department = layers.Dense(4, name="department")(x)
    model = mt.Model(inputs=[title, body, tags], outputs={"priority": priority,
                                                          "department": department})
    rng = np.random.default_rng(0)
    data = {"title": rng.integers(0, 100, (6, 10)), "body": rng.integers(0, 100, (6, 20)),
            "tags": rng.integers(0, 2, (6, 12)).astype("float32")}
    by_name = model(data)
    assert by_name["priority"].shape == (6, 1) and by_name["department"].shape == (6, 4)
    in_order = model([data["title"], data["body"], data["tags"]])
    np.testing.assert_array_equal(in_order["department"].numpy(),
                                  by_name["department"].numpy())
    assert model.output_shape == {"department": (None, 4), "priority": (None, 1)}
    with pytest.raises(ValueError, match="3 inputs"):
        model([data["title"], data["body"]])


def test_a_shared_layer_has_one_set_of_weights():
    shared = layers.Dense(4, name="shared")
    a, b = mt.Input((3,)), mt.Input((3,))
    model = mt.Model([a, b], [shared(a), shared(b)])
    assert len(model.weights) == 2 and len(shared._inbound_nodes) == 2
    assert [layer.name for layer in model.layers].count("shared") == 1
    x = np.ones((2, 3), np.float32)
    ya, yb = model([x, 2 * x])
    np.testing.assert_allclose(ya.numpy(), shared(x).numpy())
    np.testing.assert_allclose(yb.numpy(), shared(2 * x).numpy())


def test_a_model_used_as_a_layer():
    """The guide's autoencoder pattern: an encoder model called inside another model."""
    encoder_input = mt.Input(shape=(6,), name="original")
    encoder = mt.Model(encoder_input, layers.Dense(2)(encoder_input), name="encoder")
    decoder_input = mt.Input(shape=(2,), name="encoded")
    decoder = mt.Model(decoder_input, layers.Dense(6)(decoder_input), name="decoder")
    autoencoder_input = mt.Input(shape=(6,))
    encoded = encoder(autoencoder_input)
    assert encoded.shape == (None, 2)
    autoencoder = mt.Model(autoencoder_input, decoder(encoded), name="autoencoder")
    assert [layer.name for layer in autoencoder.layers][1:] == ["encoder", "decoder"]
    assert [v._id for v in autoencoder.weights] == [
        v._id for v in encoder.weights + decoder.weights]
    x = np.random.default_rng(1).random((3, 6), np.float32)
    np.testing.assert_allclose(autoencoder(x).numpy(), decoder(encoder(x)).numpy())


def test_a_sequential_model_inside_a_graph():
    inputs = mt.Input((4,))
    block = mt.Sequential([layers.Dense(3), layers.Dense(2)])
    model = mt.Model(inputs, block(inputs))
    assert model.output_shape == (None, 2) and len(model.weights) == 4


def test_training_reaches_the_layers_that_take_it():
    inputs = mt.Input((1000,))
    model = mt.Model(inputs, layers.Dropout(0.5, seed=0)(inputs))
    x = np.ones((1, 1000), np.float32)
    np.testing.assert_array_equal(model(x).numpy(), x)
    assert 0.3 < float(np.mean(model(x, training=True).numpy() == 0)) < 0.7


def test_a_symbolic_call_moves_no_statistic():
    norm = layers.BatchNormalization()
    inputs = mt.Input((3,))
    model = mt.Model(inputs, norm(inputs, training=True))
    np.testing.assert_array_equal(norm.moving_mean.numpy(), np.zeros(3))
    model(np.full((4, 3), 5.0, np.float32))  # the node's training=True holds at each call
    assert np.all(norm.moving_mean.numpy() > 0)


def test_gradients_through_the_graph_equal_the_layers_called_by_hand():
    inputs, _, model = _mnist_model()
    first, second, third = model.layers[1:]
    x = np.random.default_rng(2).random((4, 784), np.float32)
    with mt.GradientTape() as tape:
        loss = mt.reduce_sum(model(x) ** 2)
    graph = tape.gradient(loss, model.trainable_variables)
    with mt.GradientTape() as tape:
        loss = mt.reduce_sum(third(second(first(x))) ** 2)
    by_hand = tape.gradient(loss, model.trainable_variables)
    assert len(graph) == 6
    for g, h in zip(graph, by_hand):
        np.testing.assert_allclose(g.numpy(), h.numpy(), rtol=1e-6)


def test_inputs_are_converted_to_each_input_dtype():
    pixels = mt.Input((4,))
    model = mt.Model(pixels, layers.Dense(2)(pixels))
    assert model(np.arange(8, dtype=np.uint8).reshape(2, 4)).dtype == mt.float32
    with pytest.raises(ValueError, match="expected shape \\(None, 4\\)"):
        model(np.ones((2, 5), np.float32))


def test_get_layer():
    model = _mnist_model()[2]
    dense = model.layers[1]
    assert model.get_layer(dense.name) is dense and model.get_layer(index=1) is dense
    with pytest.raises(ValueError, match=r"No such layer: nope\. Existing layers are: \["):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="only has 4 layers"):
        model.get_layer(index=4)
    with pytest.raises(ValueError, match="Provide only a layer name or a layer index"):
        model.get_layer(dense.name, 1)


@pytest.mark.parametrize("make, message", [
    (lambda: mt.Model(mt.Input((3,)), np.zeros(3)), "All `outputs` values must be KerasTensors"),
    (lambda: mt.Model(mt.Input((3,)), layers.Dense(1)(mt.Input((3,)))), "Graph disconnected"),
])
def test_graph_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_saved_weights_load_into_the_same_graph_built_again(tmp_path):
    first, second = _mnist_model()[2], _mnist_model()[2]
    first.save_weights(tmp_path / "w.npz")
    second.load_weights(tmp_path / "w.npz")
    x = np.ones((1, 784), np.float32)
    np.testing.assert_array_equal(first(x).numpy(), second(x).numpy())


def test_features_of_every_layer_as_a_model():
    """The guide's feature extraction: a model from ``model.input`` to each ``layer.output``."""
    inputs, outputs, model = _mnist_model()
    assert model.input is inputs and model.output is outputs
    assert model.layers[1].input is inputs and model.layers[-1].output is outputs
    features = mt.Model(inputs=model.input, outputs=[layer.output for layer in model.layers])
    x = np.random.default_rng(3).random((2, 784), np.float32)
    values = features(x)
    assert [v.shape for v in values] == [(2, 784), (2, 64), (2, 64), (2, 10)]
    np.testing.assert_allclose(values[-1].numpy(), model(x).numpy(), rtol=1e-6)
    with pytest.raises(AttributeError, match="has never been called"):
        _ = layers.Dense(2).output


def test_the_toy_resnet_of_the_guide():
    """The guide's toy ResNet, as it writes it: its summary's shapes and 223,242 params."""
    inputs = mt.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    model = mt.Model(inputs, outputs, name="toy_resnet")
    assert model.count_params() == 223_242
    assert [layer.output.shape for layer in model.layers[1:4]] == [
        (None, 30, 30, 32), (None, 28, 28, 64), (None, 9, 9, 64)]
    add, conv, pool = model.layers[6], model.layers[5], model.layers[3]
    row = next(line for line in _summary_lines(model) if line.startswith(f"{add.name} (Add)"))
    assert row.endswith(f"{conv.name}[0][0], {pool.name}[0][0]")
    assert model(np.zeros((2, 32, 32, 3), np.uint8)).shape == (2, 10)


def _summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines[0].split("\n")
