"""Keras's callbacks in fit: the hooks and their order, and each callback's documented
behaviour (keras.io/api/callbacks), BackupAndRestore resuming bit for bit."""
import numpy as np
import pytest

import minitrain as mt
from minitrain.training import keras_callbacks as callbacks


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


def _model(seed=1, lr=0.01, dropout=0.0):
    mt.random.set_seed(seed)
    model = mt.Sequential([mt.layers.Dense(8, activation="relu"), mt.layers.Dropout(dropout),
                           mt.layers.Dense(2)])
    model.compile(optimizer=mt.optimizers.Adam(lr),
                  loss=mt.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_") and name not in ("on_batch_begin", "on_batch_end"):
            calls = object.__getattribute__(self, "calls")
            return lambda *args, **kwargs: calls.append((name,) + tuple(
                a for a in args if isinstance(a, int)))
        return object.__getattribute__(self, name)


def test_hooks_run_in_keras_order_with_params_and_model():
    x, y = _data(32)
    recorder, model = Recorder(), _model()
    model.fit(x, y, batch_size=16, epochs=2, validation_data=(x[:16], y[:16]), verbose=0,
              callbacks=[recorder])
    epoch = [("on_train_batch_begin", 0), ("on_train_batch_end", 0),
             ("on_train_batch_begin", 1), ("on_train_batch_end", 1), ("on_test_begin",),
             ("on_test_batch_begin", 0), ("on_test_batch_end", 0), ("on_test_end",)]
    assert recorder.calls == [("on_train_begin",), ("on_epoch_begin", 0), *epoch,
                              ("on_epoch_end", 0), ("on_epoch_begin", 1), *epoch,
                              ("on_epoch_end", 1), ("on_train_end",)]
    assert recorder.params == {"verbose": 0, "epochs": 2, "steps": 2}
    assert recorder.model is model and model.history.epoch == [0, 1]
    recorder.calls.clear()
    model.predict(x[:20], batch_size=16, verbose=0, callbacks=[recorder])
    assert recorder.calls == [("on_predict_begin",), ("on_predict_batch_begin", 0),
                              ("on_predict_batch_end", 0), ("on_predict_batch_begin", 1),
                              ("on_predict_batch_end", 1), ("on_predict_end",)]


def test_lambda_callback():
    seen = []
    x, y = _data(32)
    _model().fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs))))])
    assert seen == [(0, ["accuracy", "loss"]), (1, ["accuracy", "loss"])]


def _weights_each_epoch(store):
    return callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: store.append(store_model[0].get_weights()))


store_model = []


def test_early_stopping_patience_prints_and_restores_the_best_weights(capsys):
    x, y = _data()
    model, weights = _model(), []
    store_model[:] = [model]
    # the loss falls, so with mode="max" no epoch after the first improves on it
    stop = callbacks.EarlyStopping(monitor="loss", mode="max", patience=2, verbose=1,
                                   restore_best_weights=True)
    history = model.fit(x, y, epochs=10, verbose=0,
                        callbacks=[_weights_each_epoch(weights), stop])
    assert history.epoch == [0, 1, 2] and stop.stopped_epoch == 2 and stop.best_epoch == 0
    assert capsys.readouterr().out == ("Epoch 3: early stopping\nRestoring model weights "
                                       "from the end of the best epoch: 1.\n")
    for restored, best in zip(model.get_weights(), weights[0]):
        assert np.array_equal(restored, best)


def test_early_stopping_patience_zero_and_auto_mode():
    stop = callbacks.EarlyStopping()  # monitor val_loss, patience 0: stop at the first miss
    model = _model()
    stop.set_model(model)
    stop.on_train_begin()
    for epoch, value in enumerate([1.0, 0.5, 0.6]):
        stop.on_epoch_end(epoch, {"val_loss": value})
    assert model.stop_training and stop.stopped_epoch == 2 and stop.best == 0.5
    accuracy = callbacks.EarlyStopping(monitor="val_accuracy")
    accuracy.set_model(model)
    accuracy.on_epoch_end(0, {"val_accuracy": 0.5})
    assert accuracy.best == 0.5 and accuracy._better(0.6, 0.5)  # maximised


def test_model_checkpoint_save_best_only(tmp_path):
    x, y = _data()
    path = str(tmp_path / "w{epoch:02d}-{loss:.2f}.weights.npz")
    model = _model()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[callbacks.ModelCheckpoint(
        path, monitor="loss", mode="max", save_best_only=True)])
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert len(saved) == 1 and saved[0].startswith("w01-")  # only the first epoch was best
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(
        str(tmp_path / "all{epoch}.weights.npz"))])
    assert {"all1.weights.npz", "all2.weights.npz"} <= {p.name for p in tmp_path.iterdir()}
    model.load_weights(tmp_path / "all2.weights.npz")


def test_model_checkpoint_names_the_npz_form_for_h5_paths():
    with pytest.raises(ValueError, match=r"'model\.weights\.npz'"):
        callbacks.ModelCheckpoint("model.weights.h5", save_weights_only=True)
    with pytest.raises(ValueError, match=r"'best\.weights\.npz'"):
        callbacks.ModelCheckpoint("best.h5")


def test_csv_logger_writes_keras_rows_and_appends(tmp_path):
    x, y = _data(32)
    path = tmp_path / "log.csv"
    model = _model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(path)])
    rows = path.read_text().splitlines()
    assert rows[0] == "epoch,accuracy,loss" and len(rows) == 3
    assert rows[1].split(",")[0] == "0" and float(rows[2].split(",")[2]) == (
        model.history.history["loss"][1])
    model.fit(x, y, epochs=1, verbose=0,
              callbacks=[callbacks.CSVLogger(path, separator=";", append=True)])
    assert len(path.read_text().splitlines()) == 4 and ";" in path.read_text().splitlines()[3]


def test_learning_rate_scheduler_sets_the_optimizers_rate(capsys):
    x, y = _data(32)
    model = _model(lr=0.01)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[callbacks.LearningRateScheduler(
        lambda epoch, lr: lr if epoch == 0 else lr * 0.5, verbose=1)])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0025)
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.005, 0.0025])
    assert "\nEpoch 2: LearningRateScheduler setting learning rate to 0.005" in (
        capsys.readouterr().out)


def test_reduce_lr_on_plateau():
    x, y = _data(32)
    model = _model(lr=0.01)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[callbacks.ReduceLROnPlateau(
        monitor="loss", mode="max", factor=0.5, patience=1)])
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.005])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0025)
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=2.0)


def test_terminate_on_nan_stops_quietly(capsys):
    x, y = _data()
    x[40, 0] = np.nan  # in the second batch
    history = _model().fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0,
                           callbacks=[callbacks.TerminateOnNaN()])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])


class Interrupt(callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("save_freq", ["epoch", 3])
def test_backup_and_restore_resumes_bit_for_bit(tmp_path, save_freq):
    x, y = _data(80)

    def run(extra=()):
        model = _model(dropout=0.3)
        backup = callbacks.BackupAndRestore(tmp_path / "backup", save_freq=save_freq)
        history = model.fit(x, y, batch_size=16, epochs=4, validation_split=0.2, verbose=0,
                            callbacks=[backup, callbacks.EarlyStopping(patience=9), *extra])
        return model.get_weights(), history.history

    whole, whole_history = run()
    assert not (tmp_path / "backup" / "checkpoint.npz").exists()  # deleted at the end
    with pytest.raises(KeyboardInterrupt):
        run([Interrupt(epoch=2, batch=1)])
    assert (tmp_path / "backup" / "checkpoint.npz").is_file()
    resumed, resumed_history = run()
    for a, b in zip(whole, resumed):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert resumed_history == whole_history


def test_model_checkpoint_every_n_batches_and_its_messages(tmp_path, capsys):
    x, y = _data(64)
    path = str(tmp_path / "e{epoch}b{batch}.weights.npz")
    _model().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(path, save_freq=2, verbose=1)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e1b2.weights.npz",
                                                          "e1b4.weights.npz"]
    assert f"\nEpoch 1: saving model to {tmp_path / 'e1b2.weights.npz'}\n" in (
        capsys.readouterr().out)
    _model().fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(
        str(tmp_path / "best.weights.npz"), monitor="loss", save_best_only=True, verbose=1)])
    out = capsys.readouterr().out
    assert "\nEpoch 1: loss improved from inf to " in out
    assert f"saving model to {tmp_path / 'best.weights.npz'}" in out
