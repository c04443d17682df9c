"""Model.compile / fit / evaluate / predict with Keras 3's signatures, return types, History
keys and progress output; fit is the Trainer's loop (determinism, the nan stop)."""
import re

import numpy as np
import pytest

import minitrain as mt
from minitrain.training import TrainingError
from minitrain.training.keras_base import Callback


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)


def _model(seed=1, metrics=("accuracy",), loss=None):
    mt.random.set_seed(seed)
    model = mt.Sequential([mt.layers.Dense(8, activation="relu"), mt.layers.Dense(3)])
    model.compile(optimizer=mt.optimizers.Adam(0.01),
                  loss=loss or mt.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=list(metrics))
    return model


def test_fit_returns_a_history_with_keras_keys_and_epochs():
    x, y = _data()
    history = _model().fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    assert isinstance(history, mt.training.keras_base.History)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.epoch == [0, 1, 2]
    assert all(len(v) == 3 and isinstance(v[0], float) for v in history.history.values())


def test_compile_resolves_names_as_keras():
    model = _model(metrics=["accuracy"], loss="sparse_categorical_crossentropy")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    assert isinstance(model.optimizer, mt.optimizers.Adam)
    assert model.metrics_names == ["loss", "accuracy"]
    model.compile(loss="mse", metrics=["mae"])  # a loss's name as a metric, named by it
    assert isinstance(model.optimizer, mt.optimizers.RMSprop)  # Keras's default
    assert model.metrics_names == ["loss", "mae"]


@pytest.mark.parametrize("y_true, y_pred, expected", [
    ([1, 0], [[0.1, 0.9], [0.1, 0.2]], 0.5),  # labels, scores: sparse categorical
    ([[1], [0]], [[0.1, 0.9], [0.1, 0.2]], 0.5),  # labels with a trailing 1: sparse
    ([[0, 1], [0, 1]], [[0.1, 0.9], [0.2, 0.1]], 0.5),  # one-hot: categorical
    ([[1], [0]], [[0.7], [0.7]], 0.5),  # one output: binary, threshold 0.5
])
def test_accuracy_is_chosen_by_the_shapes_as_keras_3(y_true, y_pred, expected):
    model = mt.Sequential([mt.layers.Dense(1)])
    model.compile(loss="mse", metrics=["accuracy"])
    logs = model.compute_metrics(None, np.array(y_true), np.array(y_pred, "float32"))
    assert logs["accuracy"] == pytest.approx(expected)


def test_evaluate_returns_a_scalar_a_list_or_a_dict():
    x, y = _data()
    model = _model()
    model.fit(x, y, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float) and 0 <= accuracy <= 1
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"accuracy": accuracy,
                                                                  "loss": loss}
    alone = _model(metrics=())
    assert isinstance(alone.evaluate(x, y, batch_size=10, verbose=0), float)


def test_predict_is_batched_and_returns_numpy():
    x, y = _data(50)
    model = _model()
    out = model.predict(x, batch_size=7, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (50, 3)
    np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:5]), out[:5], rtol=1e-6)


def test_on_batch_methods():
    x, y = _data(16)
    model = _model()
    loss, accuracy = model.train_on_batch(x, y)
    assert isinstance(loss, float)
    logs = model.test_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}


def test_validation_split_takes_the_last_samples_unshuffled():
    x, y = _data(40)
    seen = []

    class Spy(Callback):
        def on_test_batch_begin(self, batch, logs=None):
            seen.append(batch)

    model = _model()
    model.fit(x, y, validation_split=0.25, batch_size=10, epochs=1, verbose=0,
              callbacks=[Spy()])
    expected = model.evaluate(x[30:], y[30:], batch_size=10, verbose=0, return_dict=True)
    assert seen == [0]  # one validation batch of the 10 last samples
    assert model.history.history["val_loss"][0] == expected["loss"]


def test_shuffle_false_is_deterministic_and_in_order():
    x, y = _data(32)
    batches = []

    class Record(mt.Sequential):
        def train_step(self, data):
            batches.append(np.asarray(data[0].numpy()))
            return super().train_step(data)

    mt.random.set_seed(0)
    model = Record([mt.layers.Dense(3)])
    model.compile("sgd", mt.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=8, shuffle=False, epochs=2, verbose=0)
    np.testing.assert_array_equal(np.concatenate(batches[:4]), x)
    np.testing.assert_array_equal(np.concatenate(batches[4:]), x)


def test_same_seed_gives_the_same_weights_bit_for_bit():
    x, y = _data()
    runs = []
    for _ in range(2):
        model = _model()
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        assert np.array_equal(a, b)


def test_fit_takes_a_batched_pipeline_and_a_loader():
    x, y = _data(48)
    pipeline = mt.data.Dataset.from_tensor_slices((x, y)).batch(16)
    history = _model().fit(pipeline, epochs=2, validation_data=pipeline, verbose=0)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    loader = mt.data.DataLoader(mt.data.Dataset(x, y), batch_size=12)
    assert len(_model().fit(loader, verbose=0).history["loss"]) == 1
    with pytest.raises(ValueError, match="only supported for Tensors or NumPy"):
        _model().fit(pipeline, validation_split=0.2, verbose=0)


class _GuideTrainStep:
    """The train_step of Keras's guide "Customizing what happens in fit()"."""

    def train_step(self, data):
        x, y = data
        with mt.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_the_customizing_fit_guide_first_example():
    """keras.io/guides/customizing_what_happens_in_fit: train_step with compute_loss,
    optimizer.apply and self.metrics ('loss' updated by hand)."""

    class CustomModel(_GuideTrainStep, mt.Model):
        def __init__(self):
            super().__init__()
            self.dense = mt.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    model = CustomModel()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x, y = np.random.random((1000, 32)), np.random.random((1000, 1))
    history = model.fit(x, y, epochs=3, verbose=0)
    assert list(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_model_losses_are_added_to_the_training_loss():
    class Penalised(mt.Sequential):
        @property
        def losses(self):
            return [mt.reduce_sum(self.trainable_variables[0] ** 2) * 0.0 + 100.0]

    x, y = _data(16)
    mt.random.set_seed(1)
    model = Penalised([mt.layers.Dense(3)])
    model.compile("sgd", mt.losses.SparseCategoricalCrossentropy(from_logits=True))
    logs = model.train_on_batch(x, y, return_dict=True)
    assert logs["loss"] > 100.0


def test_a_nan_loss_stops_fit_with_the_trainers_error():
    x, y = _data()
    x[5, 0] = np.nan
    with pytest.raises(TrainingError, match="the loss is nan"):
        _model().fit(x, y, shuffle=False, verbose=0)


def _plain(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\b", "")


def test_verbose_1_prints_keras_3s_bar(capsys):
    x, y = _data(64)
    _model().fit(x, y, epochs=2, batch_size=32, verbose=1)
    out = _plain(capsys.readouterr().out)
    assert out.startswith("Epoch 1/2\n")
    assert "Epoch 2/2\n" in out
    final = out.splitlines()[-1].split("\r")[-1]
    assert re.fullmatch(r"2/2 ━{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - "
                        r"loss: \d\.\d{4} *", final), final


def test_verbose_2_prints_one_line_per_epoch_and_0_nothing(capsys):
    x, y = _data(64)
    _model().fit(x, y, epochs=2, batch_size=32, validation_split=0.5, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(r"1/1 - \d+s - \d+(us|ms|s)/step - accuracy: \d\.\d{4} - loss: "
                        r"\d\.\d{4} - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}", lines[1])
    _model().fit(x, y, verbose=0)
    _model().evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""


def test_one_epoch_prints_no_epoch_line(capsys):
    x, y = _data(32)
    _model().fit(x, y, epochs=1, verbose=2)
    assert not capsys.readouterr().out.startswith("Epoch")


def test_initial_epoch_and_steps_per_epoch():
    x, y = _data(64)
    history = _model().fit(x, y, epochs=3, initial_epoch=1, batch_size=8, steps_per_epoch=2,
                           verbose=0)
    assert history.epoch == [1, 2]


def test_fit_before_compile_says_so():
    with pytest.raises(ValueError, match="compile"):
        mt.Sequential([mt.layers.Dense(1)]).fit(np.zeros((2, 1)), np.zeros((2, 1)))


def test_evaluate_and_predict_print_a_bar_by_default(capsys):
    x, y = _data(40)
    model = _model()
    model.evaluate(x, y, batch_size=20)  # verbose="auto" is 1, as Keras 3's
    final = _plain(capsys.readouterr().out).splitlines()[-1].split("\r")[-1]
    assert re.fullmatch(r"2/2 ━{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - "
                        r"loss: \d\.\d{4} *", final), final
    model.predict(x, batch_size=40)
    final = _plain(capsys.readouterr().out).splitlines()[-1].split("\r")[-1]
    assert re.fullmatch(r"1/1 ━{20} \d+s \d+(us|ms|s)/step *", final), final


def test_sample_weight_weights_the_loss_as_keras():
    """Keras's 'sum_over_batch_size': mean(loss_i * w_i) over the batch; metrics unweighted."""
    x, y = _data(40)
    weights = np.linspace(0.0, 2.0, 40).astype("float32")
    model = _model()
    logs = model.evaluate(x, y, sample_weight=weights, batch_size=40, verbose=0,
                          return_dict=True)
    per_sample = mt.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="none")(y, model.predict(x, verbose=0)).numpy()
    assert logs["loss"] == pytest.approx(float(np.mean(per_sample * weights)), rel=1e-5)
    assert logs["accuracy"] == model.evaluate(x, y, batch_size=40, verbose=0)[1]


def test_fit_with_unit_sample_weights_is_fit_without_them():
    x, y = _data()
    runs = []
    for weights in (None, np.ones(len(x))):
        model = _model()
        history = model.fit(x, y, sample_weight=weights, epochs=2, batch_size=16, verbose=0)
        runs.append((history.history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_validation_takes_the_sample_weights_too():
    x, y = _data(40)
    weights = np.arange(40, dtype="float32") % 3
    model = _model()
    history = model.fit(x, y, sample_weight=weights, validation_split=0.25, batch_size=10,
                        verbose=0)
    expected = model.evaluate(x[30:], y[30:], sample_weight=weights[30:], batch_size=10,
                              verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == expected["loss"]
    again = model.fit(x[:30], y[:30], validation_data=(x[30:], y[30:], weights[30:]),
                      batch_size=10, verbose=0, epochs=1)
    assert again.history["val_loss"][0] == model.evaluate(
        x[30:], y[30:], sample_weight=weights[30:], batch_size=10, verbose=0)[0]


def test_class_weight_beside_a_dataset_says_it_is_not_supported():
    x, y = _data(8)
    dataset = mt.data.Dataset.from_tensor_slices((x, y)).batch(4)
    with pytest.raises(NotImplementedError, match="class_weight"):
        _model().fit(dataset, class_weight={0: 1.0, 1: 2.0, 2: 1.0}, verbose=0)


def test_on_batch_methods_take_sample_weights():
    x, y = _data(16)
    model = _model()
    weights = np.r_[np.zeros(8), np.ones(8)].astype("float32")
    half = model.test_on_batch(x[8:], y[8:], return_dict=True)["loss"]
    model.reset_metrics()  # Keras 3's *_on_batch accumulate the metrics, as fit's steps do
    assert model.test_on_batch(x, y, sample_weight=weights)[0] == pytest.approx(half / 2)


def test_class_weight_weights_each_sample_by_its_class_as_keras():
    """fit(class_weight) equals fit(sample_weight) with each sample's class weight."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)

    def trained(**weights):
        mt.random.set_seed(0)
        model = mt.Sequential([mt.layers.Dense(2)])
        model.compile(optimizer=mt.optimizers.SGD(0.1),
                      loss=mt.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                         **weights).history["loss"]

    by_class = trained(class_weight={0: 1.0, 1: 3.0})
    by_sample = trained(sample_weight=np.where(y == 1, 3.0, 1.0).astype("float32"))
    assert by_class == by_sample and by_class != trained()
    with pytest.raises(ValueError, match=r"no weight for the classes \[1\]"):
        trained(class_weight={0: 1.0})


def test_train_on_batch_reports_its_own_batch_as_keras():
    x = np.random.default_rng(1).normal(size=(8, 3)).astype("float32")
    model = mt.Sequential([mt.layers.Dense(1)])
    model.compile(optimizer=mt.optimizers.SGD(0.0), loss="mse")
    first = model.train_on_batch(x, np.zeros((8, 1), "float32"))
    second = model.train_on_batch(x, np.ones((8, 1), "float32"))
    alone = model.test_on_batch(x, np.ones((8, 1), "float32"))
    assert second == pytest.approx(alone) and second != pytest.approx((first + alone) / 2)


def test_predict_on_a_model_of_two_inputs():
    a, b = mt.keras.Input((2,)), mt.keras.Input((3,))
    out = mt.keras.layers.Dense(1)(mt.keras.layers.Concatenate()([a, b]))
    model = mt.keras.Model([a, b], out)
    x1, x2 = np.ones((5, 2), "float32"), np.ones((5, 3), "float32")
    assert model.predict([x1, x2], verbose=0).shape == (5, 1)
    assert model.predict_on_batch([x1, x2]).shape == (5, 1)


def test_the_customizing_fit_guides_model_of_inputs_and_outputs():
    """Keras's guide "Customizing what happens in fit()": a Model subclass with its own
    train_step, built from (inputs, outputs), is functional and trains with compile/fit."""

    class CustomModel(_GuideTrainStep, mt.keras.Model):
        pass

    inputs = mt.keras.Input(shape=(32,))
    model = CustomModel(inputs, mt.keras.layers.Dense(1)(inputs))
    assert isinstance(model, CustomModel) and type(model).__name__ == "CustomModel"
    assert type(CustomModel(inputs, mt.keras.layers.Dense(1)(inputs))) is type(model)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    rng = np.random.default_rng(0)
    history = model.fit(rng.random((256, 32)), rng.random((256, 1)), epochs=3, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_steps_per_epoch_goes_on_where_the_last_epoch_stopped_as_keras():
    """4 steps in each of 2 epochs over 8 batches train on all 8 once, as one 8-step epoch."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(64, 3)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")

    def weights(**kw):
        mt.random.set_seed(0)
        model = mt.Sequential([mt.layers.Dense(1)])
        model.compile(optimizer=mt.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, batch_size=8, shuffle=False, verbose=0, **kw)
        return model.get_weights()

    for split, whole in zip(weights(epochs=2, steps_per_epoch=4), weights(epochs=1)):
        np.testing.assert_array_equal(split, whole)
