"""save_weights / load_weights: exact round trips, structural keys, clear mismatch errors."""
import os

import numpy as np
import pytest

import minitrain as mt
from minitrain import layers


def make_cnn(dtype=None):
    return mt.Sequential([layers.Conv2D(3, 3, padding="same", activation="relu"),
                          layers.BatchNormalization(), layers.MaxPool2D(), layers.Flatten(),
                          layers.Dense(4)], dtype=dtype)


class TwoTower(mt.Model):
    def __init__(self, width=3):
        super().__init__()
        self.left = layers.Dense(width)
        self.right = [layers.Dense(2), layers.LayerNormalization()]

    def call(self, inputs):
        return mt.concat([self.left(inputs), self.right[1](self.right[0](inputs))], axis=-1)


X = np.random.default_rng(0).normal(size=(2, 6, 6, 2))


def _train_a_little(model, x):
    """Change every weight (moving statistics too) away from its initial value."""
    with mt.GradientTape() as tape:
        loss = mt.reduce_sum(model(x, training=True) ** 2)
    for v, g in zip(model.trainable_variables, tape.gradient(loss, model.trainable_variables)):
        v.assign_sub(0.1 * g)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_then_load_round_trips_exactly(tmp_path, dtype):
    path = tmp_path / "cnn.npz"
    model = make_cnn()
    x = X.astype(dtype)
    _train_a_little(model, x)
    model.save_weights(path)
    restored = make_cnn()  # new layers, new default names: the keys are structural
    restored(x)
    restored.load_weights(path)
    for got, want in zip(restored.get_weights(), model.get_weights()):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(restored(x).numpy(), model(x).numpy())


def test_keys_are_paths_in_the_model(tmp_path):
    model = TwoTower()
    model(np.ones((1, 4), dtype=np.float32))
    model.save_weights(tmp_path / "towers.npz")
    with np.load(tmp_path / "towers.npz", allow_pickle=False) as saved:
        assert saved.files == ["left/kernel", "left/bias", "right/0/kernel", "right/0/bias",
                               "right/1/gamma", "right/1/beta"]
    assert sorted(os.listdir(tmp_path)) == ["towers.npz"]  # no temporary file left behind


@pytest.mark.parametrize("other, message", [
    (lambda: TwoTower(width=5), r"'left/kernel' has shape \(4, 3\) in the file but \(4, 5\)"),
    (lambda: mt.Sequential([layers.Dense(3)]), r"no weight 'layers/0/kernel'"),
])
def test_a_different_architecture_fails_naming_the_first_mismatch(tmp_path, other, message):
    model = TwoTower()
    model(np.ones((1, 4), dtype=np.float32))
    model.save_weights(tmp_path / "towers.npz")
    target = other()
    target(np.ones((1, 4), dtype=np.float32))
    before = target.get_weights()
    with pytest.raises(ValueError, match=message):
        target.load_weights(tmp_path / "towers.npz")
    for got, want in zip(target.get_weights(), before):  # nothing was half-loaded
        np.testing.assert_array_equal(got, want)


def test_an_unexpected_key_is_named(tmp_path):
    small = mt.Sequential([layers.Dense(3)])
    big = mt.Sequential([layers.Dense(3), layers.Dense(2)])
    for model in (small, big):
        model.build((None, 4))
    big.save_weights(tmp_path / "big.npz")
    with pytest.raises(ValueError, match="holds a weight 'layers/1/kernel' that the model"):
        small.load_weights(tmp_path / "big.npz")


def test_unbuilt_models_and_other_suffixes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="has none yet"):
        make_cnn().save_weights(tmp_path / "w.npz")
    model = make_cnn()
    model.build((None, 6, 6, 2))
    with pytest.raises(ValueError, match="must end in '.npz'"):
        model.save_weights(tmp_path / "w.h5")


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "cnn.npz"
    model = make_cnn()
    model.build((None, 6, 6, 2))
    model.save_weights(path)
    old = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["cnn.npz"]


def test_loading_never_unpickles(tmp_path):
    model = mt.Sequential([layers.Dense(1)])
    model.build((None, 1))
    np.savez(tmp_path / "evil.npz", **{"layers/0/kernel": np.array([{"x": 1}], dtype=object),
                                       "layers/0/bias": np.zeros(1)})
    with pytest.raises(ValueError, match="allow_pickle"):
        model.load_weights(tmp_path / "evil.npz")
