"""Hostile and broken data and weights files: each is refused quickly, by a ValueError that names
the file, says what is wrong and what to do; through the CLI, an exit status of 2."""
import io
import os
import re
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy

import minitrain as mt
from minitrain.data import ArrayDataset, DataLoader, Dataset, load_source, train_val_test_split
from minitrain.npzfile import NpzError, read_npz

ROOT = Path(__file__).resolve().parents[1]
HUGE = "array 'x' declares shape (100000000000,) float64 = 745 GiB, but the file holds 80 bytes"


def npy_member(shape, data, descr="<f8"):
    """The bytes of an .npy file whose header declares ``shape``, followed by ``data``."""
    header = io.BytesIO()
    npy.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    return header.getvalue() + data


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def hostile_npz(path):
    """About 400 bytes whose array 'x' declares 10**11 float64s (745 GiB)."""
    return write_zip(path, {"x.npy": npy_member((10**11,), bytes(80)),
                            "y.npy": npy_member((10,), bytes(80))})


def zip_bomb(path):
    """An .npz whose member 'x.npy' claims ~4 GiB uncompressed in the zip directory."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.zeros(100), y=np.zeros(100))
    raw = bytearray(buffer.getvalue())
    entry = raw.index(b"PK\x01\x02")  # the first central-directory entry: x.npy's
    raw[entry + 24:entry + 28] = struct.pack("<I", 0xFFFFFFF0)  # its uncompressed size
    path.write_bytes(bytes(raw))
    return path


def lying_directory(path):
    """An .npz whose zip directory says 'x.npy' is stored in ~4 GiB, which the header matches."""
    header = npy_member((0xFFFFFFF0 - 128,), b"", descr="|u1")  # a 128-byte header
    raw = bytearray(write_zip(path, {"x.npy": header + bytes(10)}).read_bytes())
    entry = raw.index(b"PK\x01\x02")
    raw[entry + 20:entry + 28] = struct.pack("<II", 0xFFFFFFF0, 0xFFFFFFF0)  # both sizes
    path.write_bytes(bytes(raw))
    return path


def with_value(shape, sample, column, value, dtype=np.float64):
    x = np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    x[(sample, column) if x.ndim > 1 else sample] = value
    return x


# --- the reader --------------------------------------------------------------------------------
def test_a_huge_declared_shape_is_refused_before_anything_is_allocated(tmp_path):
    path = hostile_npz(tmp_path / "huge.npz")
    assert path.stat().st_size < 1000
    start = time.perf_counter()
    with pytest.raises(NpzError, match=re.escape(f"huge.npz: truncated or corrupt ({HUGE})")) \
            as caught:
        read_npz(path)
    assert time.perf_counter() - start < 0.5
    assert str(caught.value).startswith(str(path))  # the path as given, not only its name


def test_hostile_sizes_are_refused_within_2_gb_of_address_space(tmp_path):
    paths = [hostile_npz(tmp_path / "huge.npz"), lying_directory(tmp_path / "lie.npz")]
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from minitrain.npzfile import read_npz\n"
            "for path in sys.argv[1:]:\n    try:\n        read_npz(path)\n"
            "    except ValueError as err:\n        print(err)\n")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code, *map(str, paths)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert HUGE in result.stdout and "'x' is stored in 4 GiB" in result.stdout


def npy_file(path):
    np.save(path.with_suffix(".npy"), np.zeros(3))
    return path.with_suffix(".npy")


def text_file(path):
    path.write_text("x,y\n1,2\n")
    return path


def truncated_zip(path):
    path.write_bytes(hostile_npz(path).read_bytes()[:150])
    return path


def object_array(path):
    np.savez(path, x=np.array([{"a": 1}], dtype=object))
    return path


@pytest.mark.parametrize("make, fragment", [
    (npy_file, "single.npy holds a single array (an .npy file), not an .npz archive of named "
               "arrays"),
    (text_file, "single.npz is not an .npz archive"),
    (truncated_zip, "single.npz: truncated or corrupt .npz archive"),
    (object_array, "single.npz: array 'x' cannot be loaded without pickle"),
    (zip_bomb, "single.npz: array 'x' declares 4 GiB uncompressed but stores"),
    (lying_directory, "single.npz: truncated or corrupt (array 'x' is stored in 4 GiB, but the "
                      "file holds"),
    (lambda p: write_zip(p, {"x.npy": b"not an array"}),
     "single.npz: member 'x.npy' is not a valid .npy array"),
])
def test_broken_archives_are_refused_naming_the_file(tmp_path, make, fragment):
    path = make(tmp_path / "single.npz")
    with pytest.raises(NpzError, match=re.escape(fragment)):
        read_npz(path)


def test_a_file_object_is_read_as_a_path_is():
    buffer = io.BytesIO()
    np.savez(buffer, x=np.arange(6.0).reshape(2, 3), state=np.array("text"))
    arrays = read_npz(io.BytesIO(buffer.getvalue()), name="model.keras")
    assert arrays["x"].tolist() == [[0, 1, 2], [3, 4, 5]] and str(arrays["state"]) == "text"
    with pytest.raises(NpzError, match="model.keras: no array named 'z'; it holds 'x', 'state'"):
        read_npz(io.BytesIO(buffer.getvalue()), name="model.keras", keys=["z"])


# --- data sources ------------------------------------------------------------------------------
def test_the_npz_source_refuses_the_hostile_archive(tmp_path):
    path = hostile_npz(tmp_path / "huge.npz")
    with pytest.raises(ValueError, match=re.escape(HUGE)):
        load_source("npz", path=path)


def val_sample(n):
    """A sample index that the default split (seed 0) puts in the validation part."""
    order = train_val_test_split(ArrayDataset(np.arange(n), np.arange(n)), seed=0)
    return int(order[1].features[0])


@pytest.mark.parametrize("part", ["train", "val"])
@pytest.mark.parametrize("value, shown", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_nan_and_inf_in_npz_features_name_file_sample_and_feature(tmp_path, part, value, shown):
    sample = 17 if part == "train" else val_sample(40)
    path = tmp_path / "x.npz"
    np.savez(path, x=with_value((40, 5), sample, 3, value), y=np.arange(40) % 2)
    with pytest.raises(ValueError, match=f"x.npz: array 'x' has {shown} at sample {sample}, "
                                         "feature 3; clean the data or drop those samples"):
        load_source("npz", path=path)


def test_nan_in_npz_labels_is_refused(tmp_path):
    path = tmp_path / "t.npz"
    np.savez(path, x=np.zeros((6, 2)), y=with_value((6,), 4, None, np.nan))
    with pytest.raises(ValueError, match="t.npz: array 'y' has nan at sample 4;"):
        load_source("npz", path=path)


def test_complex_features_are_refused(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, x=np.ones((4, 2)) * 1j, y=np.arange(4))
    with pytest.raises(ValueError, match="c.npz: array 'x' holds complex numbers"):
        load_source("npz", path=path)


@pytest.mark.parametrize("cell", ["nan", "inf", "-inf", "NaN"])
def test_nan_and_inf_in_a_csv_name_file_sample_and_feature(tmp_path, cell):
    path = tmp_path / "t.csv"
    rows = [[str(i), str(i + 1), str(i % 2)] for i in range(10)]
    rows[6][1] = cell
    path.write_text("a,b,label\n" + "\n".join(",".join(row) for row in rows) + "\n")
    message = f"t.csv: the feature array has {cell.lower()} at sample 6, feature 1; clean the"
    with pytest.raises(ValueError, match=message):
        load_source("csv", path=path)


def test_a_csv_with_a_header_and_no_rows_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("a,b,label\n")
    with pytest.raises(ValueError, match=r"empty.csv: a header row \(a, b, label\) but no data"):
        load_source("csv", path=path)


@pytest.mark.parametrize("data", [bytes(range(256)), b"1,2\n\xff\xfe,3\n", b"1,\x002\n"])
def test_a_binary_file_given_as_csv_is_refused_naming_it(tmp_path, data):
    path = tmp_path / "binary.csv"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="binary.csv: not a .*CSV file"):
        load_source("csv", path=path)


@pytest.mark.parametrize("source, options, fragment", [
    ("spirals", {"n_samples": 10**11}, "n_samples must be a whole number from 1 to 10000000"),
    ("spirals", {"n_samples": True}, "n_samples must be a whole number"),
    ("spirals", {"n_samples": 2.5}, "n_samples must be a whole number"),
    ("spirals", {"noise": float("nan")}, "noise must be a finite number at least 0, got nan"),
    ("spirals", {"noise": float("inf")}, "noise must be a finite number"),
    ("spirals", {"noise": -0.1}, "noise must be a finite number at least 0"),
    ("spirals", {"turns": float("nan")}, "turns must be a finite number"),
    ("moons", {"seed": -1}, "seed must be a whole number"),
    ("regression", {"n_features": 0}, "n_features must be a whole number from 1"),
    ("regression", {"n_samples": 10**7, "n_features": 100}, "n_samples \\* n_features"),
])
def test_synthetic_options_are_bounded(source, options, fragment):
    with pytest.raises(ValueError, match=f"data source '{source}': {fragment}"):
        load_source(source, **options)


# --- batch sizes -------------------------------------------------------------------------------
@pytest.mark.parametrize("size, error", [(2.7, TypeError), (2.0, TypeError), ("a", TypeError),
                                         (True, TypeError), (0, ValueError), (-3, ValueError)])
def test_batch_sizes_must_be_whole_and_positive(size, error):
    ds = load_source("spirals", n_samples=10)
    with pytest.raises(error, match=f"batch_size must be .*got {size!r}"):
        DataLoader(ds, batch_size=size)
    # tf.data converts batch_size to an int64 tensor: a float or bool does not convert
    match = ("Batch size must be greater than zero" if error is ValueError else
             f"Cannot convert {size!r} to EagerTensor of dtype int64")
    with pytest.raises(error, match=match):
        Dataset.range(4).batch(size)


def test_integer_batch_sizes_of_any_kind_work():
    ds = load_source("spirals", n_samples=10)
    assert len(DataLoader(ds, batch_size=np.int32(4))) == 3
    assert len(list(Dataset.range(4).batch(mt.constant(3)))) == 2


# --- weights -----------------------------------------------------------------------------------
def built_model():
    model = mt.Sequential([mt.layers.Dense(1)])
    model.build((None, 1))
    return model


def test_load_weights_refuses_the_hostile_archive(tmp_path):
    path = hostile_npz(tmp_path / "huge.npz")
    with pytest.raises(ValueError, match=re.escape(f"huge.npz: truncated or corrupt ({HUGE}")):
        built_model().load_weights(path)


def test_a_keras_archive_with_hostile_weights_is_refused(tmp_path):
    model = built_model()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = archive.read("config.json")
    write_zip(tmp_path / "bad.keras", {
        "config.json": config,
        "model.weights.npz": hostile_npz(tmp_path / "w.npz").read_bytes()})
    with pytest.raises(ValueError, match=re.escape(f"bad.keras: truncated or corrupt ({HUGE}")):
        mt.keras.models.load_model(tmp_path / "bad.keras")


# --- the command line --------------------------------------------------------------------------
CONFIG = """\
data: {{source: {source}, options: {{path: {path}}}}}
model:
  - Dense: {{units: 4, activation: relu}}
  - Dense: {{units: 2}}
loss: {{name: sparse_categorical_crossentropy, from_logits: true}}
optimizer: {{name: adam, learning_rate: 0.01}}
training: {{epochs: 1}}
"""


def train(tmp_path, source, path):
    config = tmp_path / "bad.yaml"
    config.write_text(CONFIG.format(source=source, path=path))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / "train.py"), "--config", str(config),
                           "--output", str(tmp_path / "run")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def nan_in_validation_csv(path):
    sample = val_sample(40)
    rows = [f"{i % 7},{i % 5},{i % 2}" for i in range(40)]
    rows[sample] = f"nan,{sample % 5},{sample % 2}"
    path.write_text("\n".join(rows) + "\n")
    return path, f"has nan at sample {sample}, feature 0"


@pytest.mark.parametrize("source, make", [
    ("npz", lambda p: (hostile_npz(p.with_suffix(".npz")), HUGE)),
    ("csv", lambda p: nan_in_validation_csv(p.with_suffix(".csv"))),
])
def test_the_cli_exits_2_naming_the_bad_file(tmp_path, source, make):
    path, fragment = make(tmp_path / "data")
    result = train(tmp_path, source, path)
    assert result.returncode == 2, result.stderr
    assert str(path.name) in result.stderr and fragment in result.stderr
    assert "Traceback" not in result.stderr
