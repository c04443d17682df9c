"""Whole models to and from ``.keras`` archives (Keras 3's ``model.save`` / ``load_model``),
the configs they hold, and the files they refuse.

Keras 3 is the reference for the structure (keras/src/saving/saving_lib.py, serialization_lib.py,
models/functional.py, models/sequential.py): one zip with ``config.json`` (class_name,
config, compile_config) and the weights; here ``model.weights.npz``.
"""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import minitrain as mt
from minitrain import layers
from minitrain.keras.models import clone_model, load_model

rng = np.random.default_rng(0)
X = rng.normal(size=(5, 6)).astype("float32")


def same(a, b):
    return all(np.array_equal(np.asarray(u), np.asarray(v))
               for u, v in zip(mt.nest.flatten(a), mt.nest.flatten(b)))


def round_trip(model, tmp_path, **load_kwargs):
    path = tmp_path / "model.keras"
    model.save(path)
    return load_model(path, **load_kwargs)


def mlp():
    return mt.Sequential([mt.Input((6,)), layers.Dense(5, activation="relu"),
                          layers.Dropout(0.3), layers.BatchNormalization(), layers.Dense(3)])


def test_a_trained_sequential_model_comes_back_compiled_and_predicting_the_same(tmp_path):
    model = mlp()
    model.compile(mt.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, np.array([0, 1, 2, 0, 1]), epochs=2, verbose=0)
    loaded = round_trip(model, tmp_path)
    assert same(model.predict(X, verbose=0), loaded.predict(X, verbose=0))
    assert type(loaded) is mt.Sequential and loaded.name == model.name
    assert loaded.compiled and type(loaded.optimizer) is mt.optimizers.Adam
    assert np.isclose(float(np.asarray(loaded.optimizer.learning_rate)), 0.01)
    loaded.fit(X, np.array([0, 1, 2, 0, 1]), epochs=1, verbose=0)  # trains on
    assert not round_trip(model, tmp_path, compile=False).compiled


def test_the_archive_holds_keras_s_config_and_the_weights(tmp_path):
    model = mlp()
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert sorted(archive.namelist()) == ["config.json", "model.weights.npz"]  # no step yet
        config = json.loads(archive.read("config.json"))
        weights = np.load(io.BytesIO(archive.read("model.weights.npz")), allow_pickle=False)
        assert sorted(weights.files) == sorted(p for p, _ in model._named_weights())
    assert config["class_name"] == "Sequential" and config["minitrain_version"]
    assert set(config["config"]) == {"name", "trainable", "dtype", "layers",
                                     "build_input_shape"}
    assert [entry["class_name"] for entry in config["config"]["layers"]] == [
        "InputLayer", "Dense", "Dropout", "BatchNormalization", "Dense"]
    assert config["compile_config"]["optimizer"] == "sgd"  # as given, as Keras keeps it
    assert config["compile_config"]["loss"] == "mse"
    assert os.listdir(tmp_path) == ["m.keras"]  # no temporary left behind


def test_functional_models_with_several_inputs_outputs_and_a_shared_layer(tmp_path):
    a, b = mt.Input((6,), name="a"), mt.Input((6,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    h = layers.Concatenate()([shared(a), shared(b)])
    model = mt.Model([a, b], {"class": layers.Dense(2, name="c")(h),
                              "score": layers.Dense(1, name="s")(shared(a))})
    loaded = round_trip(model, tmp_path)
    assert same(model([X, 2 * X]), loaded([X, 2 * X]))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert len(loaded.get_layer("shared")._inbound_nodes) == 3


def test_functional_config_has_keras_s_structure():
    x = mt.Input((6,), name="x")
    model = mt.Model(x, layers.Dense(2, name="d")(x), name="f")
    config = model.get_config()
    assert set(config) == {"name", "trainable", "layers", "input_layers", "output_layers"}
    assert config["input_layers"] == ["x", 0, 0] and config["output_layers"] == ["d", 0, 0]
    dense = config["layers"][1]
    assert dense["class_name"] == "Dense" and dense["name"] == "d"
    (arg,) = dense["inbound_nodes"][0]["args"]
    assert arg["class_name"] == "__keras_tensor__"
    assert arg["config"]["keras_history"] == ["x", 0, 0]


def test_nested_models_both_ways(tmp_path):
    inner = mt.Sequential([layers.Dense(3, activation="relu"), layers.Dense(3)], name="inner")
    x = mt.Input((6,))
    functional = mt.Model(x, layers.Dense(2)(inner(x)))
    assert same(functional(X), round_trip(functional, tmp_path)(X))
    y = mt.Input((6,))
    block = mt.Model(y, layers.Dense(4)(y), name="block")
    stacked = mt.Sequential([mt.Input((6,)), block, layers.Dense(1)])
    assert same(stacked(X), round_trip(stacked, tmp_path)(X))


def test_a_sequential_model_built_by_a_call_and_float64_weights(tmp_path):
    model = mt.Sequential([layers.Dense(4), layers.LayerNormalization(), layers.Dense(2)])
    x = X.astype("float64")
    y = model(x)
    loaded = round_trip(model, tmp_path)
    assert loaded.layers[0].kernel.dtype == mt.float64 and same(y, loaded(x))


class Scaled(mt.Model):
    """A subclassed model whose constructor takes plain values: Keras's auto-config."""

    def __init__(self, units=3, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale
        self.dense = layers.Dense(units)

    def call(self, inputs):
        return self.dense(inputs) * self.scale


class Wrapper(mt.Model):
    """Its constructor takes a layer: only a get_config of its own could describe it."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, inputs):
        return self.layer(inputs)


def test_subclassed_models_need_a_config(tmp_path):
    model = Scaled(units=4, scale=0.5)
    model(X)
    loaded = round_trip(model, tmp_path, custom_objects={"Scaled": Scaled})
    assert loaded.units == 4 and loaded.scale == 0.5 and same(model(X), loaded(X))
    with pytest.raises(TypeError, match="Could not locate class 'Scaled'"):
        load_model(tmp_path / "model.keras")
    wrapper = Wrapper(layers.Dense(2))
    wrapper(X)
    with pytest.raises(NotImplementedError, match="must override `get_config"):
        wrapper.save(tmp_path / "w.keras")


def negate(x):
    return -x


def test_a_lambda_cannot_be_saved_and_a_named_function_needs_custom_objects(tmp_path):
    model = mt.Sequential([mt.Input((6,)), layers.Lambda(lambda t: t * 2, name="double")])
    with pytest.raises(ValueError, match="layer 'double' holds a Python lambda"):
        model.save(tmp_path / "m.keras")
    model = mt.Sequential([mt.Input((6,)), layers.Dense(2, activation=lambda t: t, name="d")])
    with pytest.raises(ValueError, match="layer 'd' holds a Python lambda"):
        model.save(tmp_path / "m.keras")
    model = mt.Sequential([mt.Input((6,)), layers.Lambda(negate),
                           layers.Dense(2, activation=negate)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="custom_objects"):
        load_model(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", custom_objects={"negate": negate})
    assert same(model(X), loaded(X))


@pytest.mark.parametrize("call, message", [
    (lambda m, d: m.save(d / "m.h5"), "not HDF5: use a path ending in '.keras'"),
    (lambda m, d: m.save(d / "m"), "Invalid filepath extension for saving"),
    (lambda m, d: m.save_weights(d / "m.weights.h5"), "not HDF5.*'.npz'"),
    (lambda m, d: m.load_weights(d / "m.weights.h5"), "not HDF5.*'.npz'"),
    (lambda m, d: m.save_weights(d / "m.weights"), "The filename must end in '.npz'"),
    (lambda m, d: m.load_weights(d / "m.weights"), "File format not supported"),
    (lambda m, d: load_model(d / "m.h5"), "reads no HDF5"),
    (lambda m, d: load_model(d / "m"), "File format not supported"),
    (lambda m, d: load_model(d / "missing.keras"), "File not found"),
])
def test_suffixes_other_than_keras_and_npz_are_refused(tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(mlp(), tmp_path)


def test_weights_load_from_a_keras_file_and_npz_names(tmp_path):
    model, other = mlp(), mlp()
    model.save(tmp_path / "m.keras")
    other.load_weights(tmp_path / "m.keras")
    assert same(model(X), other(X))
    model.save_weights(tmp_path / "m.weights.npz")
    mlp().load_weights(tmp_path / "m.weights.npz")


def test_a_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    model = mlp()
    model.save(tmp_path / "m.keras")
    old = (tmp_path / "m.keras").read_bytes()

    def broken(self, name, data, *args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(tmp_path / "m.keras")
    assert (tmp_path / "m.keras").read_bytes() == old and os.listdir(tmp_path) == ["m.keras"]


def test_clone_model_has_the_config_and_new_weights():
    model = mlp()
    clone = clone_model(model)
    assert clone.get_config() == model.get_config()
    assert not same(model.get_weights()[0], clone.get_weights()[0])


# --- files that try to run code or leave the archive ----------------------------------------
def write_archive(path, config, arrays=None, extra=()):
    weights = io.BytesIO()
    np.savez(weights, **(arrays or {}))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.npz", weights.getvalue())
        for name, data in extra:
            archive.writestr(name, data)


def sequential_config(entry):
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [entry]}}


@pytest.mark.parametrize("entry, error, message", [
    ({"class_name": "Evil", "config": {}}, TypeError, "Could not locate class 'Evil'"),
    ({"class_name": "os.system", "config": {}}, ValueError, "not a plain class name"),
    ({"module": "os", "class_name": "Dense", "config": {"units": 1}}, ValueError,
     "the module 'os'"),
    ({"class_name": "Dense", "config": {"units": 1, "activation": {
        "class_name": "__lambda__", "config": {"code": "..."}}}}, ValueError, "Python lambda"),
    ({"class_name": "Lambda", "config": {"function": "system"}}, ValueError, "custom_objects"),
    ({"class_name": "Dense", "config": {"units": 1, "activation": {
        "module": "os", "class_name": "function", "config": "system"}}}, ValueError,
     "custom_objects"),
])
def test_configs_naming_what_minitrain_does_not_build_are_refused(tmp_path, entry, error,
                                                                  message):
    write_archive(tmp_path / "evil.keras", sequential_config(entry))
    with pytest.raises(error, match=message):
        load_model(tmp_path / "evil.keras")


def test_a_custom_object_that_is_not_a_layer_is_refused(tmp_path):
    write_archive(tmp_path / "evil.keras", sequential_config({"class_name": "X", "config": {}}))
    with pytest.raises(ValueError, match="not a layer class"):
        load_model(tmp_path / "evil.keras", custom_objects={"X": os.system})


def test_a_pickled_array_is_refused(tmp_path):
    model = mt.Sequential([mt.Input((1,)), layers.Dense(1)])
    entry = json.loads(json.dumps(mt.serialization.serialize(model)))
    write_archive(tmp_path / "evil.keras", entry, {
        "layers/0/kernel": np.array([{"x": 1}], dtype=object), "layers/0/bias": np.zeros(1)})
    with pytest.raises(ValueError, match="allow_pickle"):
        load_model(tmp_path / "evil.keras")


def test_members_with_paths_leaving_the_archive_are_refused_and_never_written(tmp_path):
    model = mt.Sequential([mt.Input((1,)), layers.Dense(1)])
    model.save(tmp_path / "good.keras")
    entry = json.loads(zipfile.ZipFile(tmp_path / "good.keras").read("config.json"))
    (tmp_path / "inside").mkdir()
    write_archive(tmp_path / "inside" / "evil.keras", entry, extra=[("../escaped.txt", b"x")])
    with pytest.raises(ValueError, match="leaves the archive"):
        load_model(tmp_path / "inside" / "evil.keras")
    assert not (tmp_path / "escaped.txt").exists()


@pytest.mark.parametrize("layer", [
    layers.Dense(3, activation="relu", use_bias=False), layers.Conv2D(2, 3, strides=2),
    layers.MaxPooling2D(3, padding="same"), layers.AveragePooling2D(),
    layers.GlobalMaxPooling2D(keepdims=True), layers.Flatten(), layers.Dropout(0.4, seed=1),
    layers.Activation("tanh"), layers.Embedding(7, 2), layers.BatchNormalization(momentum=0.9),
    layers.LayerNormalization(epsilon=1e-5), layers.InputLayer(shape=(3,)), layers.Add(),
    layers.Conv1D(2, 3), layers.Reshape((2, 3)), layers.LeakyReLU(0.1),
])
def test_each_layer_comes_back_from_its_config(layer):
    config = json.loads(json.dumps(layer.get_config()))
    again = json.loads(json.dumps(type(layer).from_config(config).get_config()))
    assert again == config and {"name", "dtype"} <= set(config)


def test_training_resumes_where_it_stopped_optimizer_state_included(tmp_path):
    y = np.array([0, 1, 2, 0, 1])
    model = mt.Sequential([mt.Input((6,)), layers.Dense(5, activation="relu"),
                           layers.BatchNormalization(), layers.Dense(3)])  # no random draws
    model.compile(mt.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=2, shuffle=False, verbose=0)
    loaded = round_trip(model, tmp_path)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations)
    for m in (model, loaded):
        m.fit(X, y, epochs=1, shuffle=False, verbose=0)
    assert same(model.get_weights(), loaded.get_weights())


def test_a_compile_config_with_a_loss_and_metrics_per_output(tmp_path):
    x = mt.Input((6,), name="x")
    h = layers.Dense(4)(x)
    model = mt.Model(x, {"c": layers.Dense(3, name="c")(h), "r": layers.Dense(1, name="r")(h)})
    model.compile(mt.optimizers.SGD(0.1, momentum=0.9),
                  loss={"c": mt.losses.SparseCategoricalCrossentropy(from_logits=True),
                        "r": "mse"}, loss_weights={"c": 1.0, "r": 0.5},
                  metrics={"c": [mt.metrics.SparseCategoricalAccuracy()], "r": ["mse"]})
    y = {"c": np.arange(5) % 3, "r": np.ones((5, 1))}
    model.fit(X, y, epochs=1, shuffle=False, verbose=0)
    config = model.get_compile_config()
    assert config["loss"]["c"]["config"]["from_logits"] is True
    assert config["optimizer"]["config"]["momentum"] == 0.9
    loaded = round_trip(model, tmp_path)
    assert model.evaluate(X, y, verbose=0, return_dict=True) == \
        loaded.evaluate(X, y, verbose=0, return_dict=True)


def test_a_learning_rate_schedule_is_saved_with_its_config(tmp_path):
    model = mt.Sequential([mt.Input((6,)), layers.Dense(2)])
    schedule = mt.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model.compile(mt.optimizers.Adam(schedule), "mse")
    model.fit(X, np.zeros((5, 2)), verbose=0)
    loaded = round_trip(model, tmp_path)
    assert loaded.optimizer._learning_rate.get_config() == schedule.get_config()
    assert float(np.asarray(loaded.optimizer.learning_rate)) == \
        float(np.asarray(model.optimizer.learning_rate))


def test_a_lambda_loss_leaves_the_compile_config_out_with_a_warning(tmp_path):
    model = mt.Sequential([mt.Input((6,)), layers.Dense(2)])
    model.compile("adam", lambda y, p: mt.reduce_mean((y - p) ** 2))
    with pytest.warns(UserWarning, match="without its compile config.*lambda"):
        loaded = round_trip(model, tmp_path)
    assert not loaded.compiled and same(model(X), loaded(X))


def test_an_adapted_normalization_layer_keeps_its_statistics(tmp_path):
    norm = layers.Normalization()
    norm.adapt(X)
    model = mt.Sequential([mt.Input((6,)), norm, layers.Dense(2)])
    assert same(model(X), round_trip(model, tmp_path)(X))
