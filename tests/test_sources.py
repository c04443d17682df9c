"""Sources by name: the shipped digits, synthetic sets, MNIST-style IDX folders, npz and csv."""
import gzip

import numpy as np
import pytest
from test_idx import idx_bytes

from minitrain.data import available_sources, load_source
from minitrain.data.images import DIGITS_PATH


# --- registry ----------------------------------------------------------------------------------
def test_all_sources_are_registered():
    assert set(available_sources()) >= {"digits", "spirals", "moons", "regression", "mnist",
                                        "fashion_mnist", "npz", "csv"}


@pytest.mark.parametrize("name, options, match", [
    ("digit", {}, "unknown data source 'digit'; did you mean 'digits'"),
    ("spiral", {}, "did you mean 'spirals'"),
    ("digits", {"flaten": False}, "no option 'flaten'; did you mean 'flatten'"),
    ("csv", {}, "needs the option.*path"),
])
def test_registry_errors_suggest_the_right_name(name, options, match):
    with pytest.raises(ValueError, match=match):
        load_source(name, **options)


# --- digits ------------------------------------------------------------------------------------
def test_shipped_npz_holds_plain_arrays():
    with np.load(DIGITS_PATH, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["images", "labels"]
        assert archive["images"].dtype == np.uint8 and archive["images"].shape == (1797, 8, 8)
        assert archive["labels"].shape == (1797,)


def test_digits_flat():
    ds = load_source("digits")
    assert len(ds) == 1797 and ds.features.shape == (1797, 64) and ds.num_classes == 10
    assert ds.features.dtype == np.uint8 and ds.labels.dtype.kind in "iu"
    assert ds.features.min() == 0 and ds.features.max() == 16
    counts = np.bincount(ds.labels, minlength=10)
    assert counts.sum() == 1797 and counts.min() >= 170 and len(counts) == 10


def test_digits_images_match_flat_rows():
    flat, images = load_source("digits"), load_source("digits", flatten=False)
    assert images.features.shape == (1797, 8, 8, 1)
    np.testing.assert_array_equal(images.features[5, :, :, 0].ravel(), flat.features[5])


def test_digit_one_is_a_vertical_stroke():
    # the first "1" of the set: ink in the middle columns, none in the outer ones
    ds = load_source("digits", flatten=False)
    image = ds.features[np.flatnonzero(ds.labels == 1)[0], :, :, 0].astype(int)
    assert image[:, 3:5].sum() > 3 * (image[:, :2].sum() + image[:, 6:].sum())


def test_digits_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.npz.*make_digits.py"):
        load_source("digits", path=tmp_path / "gone.npz")


# --- synthetic ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["spirals", "moons", "regression"])
def test_synthetic_sources_are_reproducible_by_seed(name):
    a, b = load_source(name, n_samples=101, seed=3), load_source(name, n_samples=101, seed=3)
    c = load_source(name, n_samples=101, seed=4)
    assert len(a) == 101
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.features, c.features)


@pytest.mark.parametrize("name", ["spirals", "moons"])
def test_two_class_sources_are_balanced_and_shuffled(name):
    ds = load_source(name, n_samples=200, noise=0.0, seed=0)
    assert ds.features.shape == (200, 2) and ds.num_classes == 2
    assert np.bincount(ds.labels).tolist() == [100, 100]
    assert 0 < ds.labels[:100].sum() < 100  # not sorted by class


def test_spiral_arms_are_half_a_turn_apart():
    ds = load_source("spirals", n_samples=400, noise=0.0, seed=0)
    radius = np.linalg.norm(ds.features, axis=1)
    assert radius.max() <= 1.0 + 1e-6
    # without noise, a point of arm 0 mirrored through the origin lies on arm 1
    mirrored = -ds.features[ds.labels == 0]
    arm1 = ds.features[ds.labels == 1]
    gaps = np.linalg.norm(mirrored[:, None] - arm1[None], axis=2).min(axis=1)
    assert np.median(gaps) < 0.05


def test_moons_without_noise_lie_on_their_circles():
    ds = load_source("moons", n_samples=100, noise=0.0, seed=0)
    upper, lower = ds.features[ds.labels == 0], ds.features[ds.labels == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(lower - [1, 0.5], axis=1), 1, atol=1e-6)


def test_regression_is_linear_plus_noise_of_the_given_size():
    ds = load_source("regression", n_samples=2000, n_features=3, noise=0.5, seed=0)
    assert ds.features.shape == (2000, 3) and ds.labels.shape == (2000, 1)
    assert not ds.is_classification
    design = np.hstack([ds.features, np.ones((2000, 1))])
    coef, *_ = np.linalg.lstsq(design, ds.labels[:, 0], rcond=None)
    residual = ds.labels[:, 0] - design @ coef
    assert 0.45 < residual.std() < 0.55


@pytest.mark.parametrize("options, match", [
    ({"n_samples": 0}, "n_samples"), ({"noise": -1.0}, "noise"), ({"n_features": 0}, "n_features")])
def test_synthetic_option_errors(options, match):
    with pytest.raises(ValueError, match=match):
        load_source("regression", **options)


# --- MNIST-style IDX folders -------------------------------------------------------------------
def write_mnist(directory, gzipped, n_train=5, n_test=3):
    """Tiny 4x4 stand-ins for the four MNIST files; image i is filled with the value i."""
    directory.mkdir(exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = np.repeat(np.arange(n, dtype=np.uint8), 16).reshape(n, 4, 4)
        for kind, values in (("images-idx3", images), ("labels-idx1", np.arange(n) % 10)):
            raw = idx_bytes(values)
            name = f"{prefix}-{kind}-ubyte" + (".gz" if gzipped else "")
            (directory / name).write_bytes(gzip.compress(raw) if gzipped else raw)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_folder_sources(tmp_path, name, gzipped):
    write_mnist(tmp_path, gzipped)
    train = load_source(name, path=tmp_path)
    assert train.features.shape == (5, 16) and train.features.dtype == np.uint8
    assert train.labels.tolist() == [0, 1, 2, 3, 4] and train.num_classes == 10
    assert train.features[3].tolist() == [3] * 16
    test = load_source(name, path=tmp_path, split="test", flatten=False)
    assert test.features.shape == (3, 4, 4, 1)
    assert len(load_source(name, path=tmp_path, split="all")) == 8


def test_missing_idx_files_are_named_with_the_directory(tmp_path):
    write_mnist(tmp_path, gzipped=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    assert len(load_source("mnist", path=tmp_path)) == 5  # the train split is complete
    with pytest.raises(FileNotFoundError) as err:
        load_source("mnist", path=tmp_path, split="test")
    message = str(err.value)
    assert "missing t10k-labels-idx1-ubyte in" in message and str(tmp_path) in message
    assert "t10k-images-idx3-ubyte," not in message.split("Put")[0]


def test_empty_directory_lists_every_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte, train-labels-idx1"):
        load_source("fashion_mnist", path=tmp_path / "nowhere")


def test_mismatched_idx_pair_is_rejected(tmp_path):
    write_mnist(tmp_path, gzipped=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(4)))
    with pytest.raises(ValueError, match="not a matching set"):
        load_source("mnist", path=tmp_path)


# --- npz and csv files -------------------------------------------------------------------------
def test_npz_default_and_named_keys(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, x=np.eye(3), y=np.array([0, 2, 1]), inputs=np.ones((3, 2)))
    ds = load_source("npz", path=path)
    assert ds.features.tolist() == np.eye(3).tolist() and ds.num_classes == 3
    assert load_source("npz", path=path, features="inputs").features.shape == (3, 2)


def test_npz_errors_name_file_and_keys(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, a=np.zeros(2), y=np.zeros(2))
    with pytest.raises(ValueError, match=r"set.npz: no array named 'x'; it holds 'a', 'y'"):
        load_source("npz", path=path)
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_source("npz", path=tmp_path / "absent.npz")


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(ValueError, match="objects.npz: array 'x' cannot be loaded without pickle"):
        load_source("npz", path=path)


def test_npy_instead_of_npz_is_explained(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        load_source("npz", path=path)


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_header_and_label_by_name(tmp_path):
    path = write(tmp_path, "a,species,b\n1.5,0,2\n\n3,2,4\n")
    ds = load_source("csv", path=path, label="species")
    assert ds.features.tolist() == [[1.5, 2.0], [3.0, 4.0]] and ds.labels.tolist() == [0, 2]
    assert ds.features.dtype == np.float32 and ds.num_classes == 3


def test_csv_without_header_label_by_index(tmp_path):
    path = write(tmp_path, "1;0;5\n2;1;6\n")
    ds = load_source("csv", path=path, label=1, delimiter=";")
    assert ds.features.tolist() == [[1, 5], [2, 6]] and ds.labels.tolist() == [0, 1]
    assert load_source("csv", path=path, delimiter=";").labels.tolist() == [5, 6]


def test_csv_fractional_or_declared_targets_are_regression(tmp_path):
    path = write(tmp_path, "x,y\n1,0.5\n2,1.5\n")
    ds = load_source("csv", path=path)
    assert not ds.is_classification and ds.labels.tolist() == [[0.5], [1.5]]
    whole = write(tmp_path, "x,y\n1,3\n2,4\n", "whole.csv")
    assert load_source("csv", path=whole, task="regression").labels.shape == (2, 1)


@pytest.mark.parametrize("text, options, match", [
    ("a,b\n1,x\n", {}, r"t.csv, line 2, column 1: 'x' is not a number"),
    ("1,2\n1,2,3\n", {}, "line 2: 3 fields where the table has 2"),
    ("a,species\n1,2\n", {"label": "specie"}, "no column named 'specie'; did you mean 'species'"),
    ("1,2\n", {"label": "y"}, "no header row"),
    ("1,2\n", {"label": 5}, "out of range"),
    ("a,y\n1,0.5\n", {"task": "classification"}, "whole numbers"),
    ("", {}, "empty"),
])
def test_csv_errors_say_where(tmp_path, text, options, match):
    with pytest.raises(ValueError, match=match):
        load_source("csv", path=write(tmp_path, text), **options)
