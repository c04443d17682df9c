"""train.py on hostile and broken input, in subprocesses with a memory limit and a timeout:
every case is refused (exit 2, one line naming what is at fault, no traceback) quickly and
without eating the machine. Each row stands for a class of input that crashed, hung or was
accepted though meaningless before; the unit tests of each mechanism are beside its module's
tests (test_config_hostile.py, test_files_hostile.py, test_run_directory.py)."""
import io
import json
import time
import zipfile

import numpy as np
import pytest
from clirun import TINY, refused, train

MEMORY_MB = 1500  # a run of the tiny config needs a few hundred; a bomb needs gigabytes
SECONDS = 20  # each case is refused in well under a second of work once Python has started


def _alias_bomb(depth=9):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth)]
    return "\n".join(lines) + "\n"


def _flow_alias_bomb(depth=9):
    """The same bomb as one YAML flow mapping, for a --set value."""
    items = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    items += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth)]
    return "{" + ", ".join(items) + "}"


def _npz_declaring(shape, dtype="<f8"):
    """A tiny .npz whose one array's header declares ``shape``: numpy would allocate it all."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}"
    header = header.ljust(118) + "\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.npy", member + b"\0" * 80)
        archive.writestr("y.npy", member + b"\0" * 80)
    return buffer.getvalue()


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _with(text, old, new):
    assert old in text
    return text.replace(old, new)


NPZ_DATA = "data: {source: npz, options: {path: data.npz}}\n" + TINY.split("\n", 1)[1]
CSV_DATA = "data: {source: csv, options: {path: data.csv}}\n" + TINY.split("\n", 1)[1]
X, Y = np.random.default_rng(0).random((40, 2)), np.arange(40) % 2
NAN_X = X.copy()
NAN_X[17, 1] = np.nan

# id: (files to write, train.py arguments, what stderr must say)
CASES = {
    "yaml alias bomb": ({"c.yaml": _alias_bomb()}, ["--config", "c.yaml"], "c.yaml"),
    "alias bomb in --set": ({"c.yaml": TINY}, ["--config", "c.yaml", "--set",
                                               f"data.options={_flow_alias_bomb()}"], "--set"),
    "1000-deep config": ({"c.yaml": TINY + "x: " + "[" * 1000 + "]" * 1000 + "\n"},
                         ["--config", "c.yaml"], "c.yaml"),
    "1000-deep --set": ({"c.yaml": TINY}, ["--config", "c.yaml", "--set",
                                           "data.options=" + "{a: " * 1000 + "1" + "}" * 1000],
                        "--set"),
    "huge config": ({"c.yaml": TINY + "#" * 3_000_000 + "\n"}, ["--config", "c.yaml"], "c.yaml"),
    "a superscript digit in a key": ({"c.yaml": TINY}, ["--config", "c.yaml", "--set",
                                                        "model.²=1"], "--set"),
    "nul in the run name": ({"c.yaml": TINY}, ["--config", "c.yaml", "--set",
                                               'name="a\\0b"'], "name"),
    "empty --config": ({}, ["--config", ""], "config"),
    "a directory as --config": ({"d/c.yaml": TINY}, ["--config", "d"], "directory"),
    "binary config": ({"c.yaml": b"\xff\xfe\x00\x81" * 8}, ["--config", "c.yaml"], "c.yaml"),
    "units: .inf": ({"c.yaml": _with(TINY, "units: 2", "units: .inf")},
                    ["--config", "c.yaml"], "units"),
    "units: .nan": ({"c.yaml": _with(TINY, "units: 2", "units: .nan")},
                    ["--config", "c.yaml"], "units"),
    "units: 10**13": ({"c.yaml": _with(TINY, "units: 2", "units: 10000000000000")},
                      ["--config", "c.yaml"], "units"),
    "spirals n_samples: 10**11": ({"c.yaml": _with(TINY, "n_samples: 100",
                                                   "n_samples: 100000000000")},
                                  ["--config", "c.yaml"], "n_samples"),
    "spirals noise: .nan": ({"c.yaml": _with(TINY, "n_samples: 100", "n_samples: 100, "
                                             "noise: .nan")}, ["--config", "c.yaml"], "noise"),
    "negative decay_rate": ({"c.yaml": _with(TINY, "optimizer: adam", "optimizer: {name: adam, "
                                             "learning_rate: 0.1, schedule: {name: "
                                             "exponential_decay, decay_steps: 1, "
                                             "decay_rate: -0.5}}")},
                            ["--config", "c.yaml"], "decay_rate"),
    "nan learning rate": ({"c.yaml": _with(TINY, "optimizer: adam",
                                           "optimizer: {name: adam, learning_rate: .nan}")},
                          ["--config", "c.yaml"], "learning_rate"),
    "clipnorm: -1": ({"c.yaml": _with(TINY, "optimizer: adam",
                                      "optimizer: {name: adam, clipnorm: -1}")},
                     ["--config", "c.yaml"], "clipnorm"),
    "warmup_steps: -5": ({"c.yaml": _with(TINY, "optimizer: adam", "optimizer: {name: adam, "
                                          "learning_rate: 0.1, schedule: {name: cosine_decay, "
                                          "decay_steps: 10, warmup_target: 0.2, "
                                          "warmup_steps: -5}}")},
                         ["--config", "c.yaml"], "warmup_steps"),
    "npz declaring 745 GiB": ({"c.yaml": NPZ_DATA, "data.npz": _npz_declaring((10**11,))},
                              ["--config", "c.yaml"], "truncated or corrupt"),
    "npy as the data file": ({"c.yaml": NPZ_DATA, "data.npz": _npy(X)},
                             ["--config", "c.yaml"], "an .npy file"),
    "nan in an npz feature": ({"c.yaml": NPZ_DATA, "data.npz": _npz(x=NAN_X, y=Y)},
                              ["--config", "c.yaml"], "sample 17"),
    "complex features": ({"c.yaml": NPZ_DATA, "data.npz": _npz(x=X + 1j, y=Y)},
                         ["--config", "c.yaml"], "complex"),
    "nan in a csv cell": ({"c.yaml": CSV_DATA, "data.csv": "a,b,label\n1,2,0\n3,nan,1\n" * 20},
                          ["--config", "c.yaml"], "data.csv"),
    "header-only csv": ({"c.yaml": CSV_DATA, "data.csv": "a,b,label\n"},
                        ["--config", "c.yaml"], "data.csv"),
    "binary csv": ({"c.yaml": CSV_DATA, "data.csv": b"\x89PNG\r\n\x1a\n\xff\xfe" * 50},
                   ["--config", "c.yaml"], "data.csv"),
}


def _write(directory, files):
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_is_refused_quickly_in_bounded_memory(tmp_path, case):
    files, args, told = CASES[case]
    _write(tmp_path, files)
    start = time.monotonic()
    result = train(*args, "--output", tmp_path / "run", cwd=tmp_path, timeout=SECONDS,
                   memory_mb=MEMORY_MB)
    assert refused(result), result.stderr[-3000:]
    assert told in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    assert not (tmp_path / "run").exists()  # nothing built, nothing created
    assert time.monotonic() - start < SECONDS


def test_the_memory_limit_leaves_room_for_a_real_run(tmp_path):
    (tmp_path / "c.yaml").write_text(TINY)
    result = train("--config", "c.yaml", "--output", tmp_path / "run", "--quiet",
                   cwd=tmp_path, timeout=SECONDS * 3, memory_mb=MEMORY_MB)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def finished_run(tmp_path):
    (tmp_path / "c.yaml").write_text(TINY)
    assert train("--config", "c.yaml", "--output", "run", "--quiet", cwd=tmp_path,
                 memory_mb=MEMORY_MB).returncode == 0
    return tmp_path / "run"


@pytest.mark.parametrize("content, told", [
    (_npz_declaring((10**11,)), "truncated or corrupt"),
    (_npy(np.zeros(3)), "an .npy file"),
    (b"PK\x03\x04 half of a zip archive", "checkpoint.npz"),
    (b"", "checkpoint.npz"),
], ids=["declares 745 GiB", "an npy file", "half a zip", "empty"])
def test_a_hostile_checkpoint_is_refused_on_resume(finished_run, content, told):
    (finished_run / "checkpoint.npz").write_bytes(content)
    result = train("--resume", "--output", finished_run, "--quiet", timeout=SECONDS,
                   memory_mb=MEMORY_MB)
    assert refused(result) and told in result.stderr, result.stderr[-3000:]


def _replace_history(node, value):
    """The checkpoint document ``node`` with the loop's history replaced by ``value``."""
    if isinstance(node, list):
        if len(node) == 2 and node[0] == "history":
            return ["history", value]
        return [_replace_history(item, value) for item in node]
    if isinstance(node, dict):
        return {k: _replace_history(v, value) for k, v in node.items()}
    return node


def test_a_checkpoint_nested_1000_deep_is_refused_on_resume(finished_run):
    path = finished_run / "checkpoint.npz"
    with np.load(path) as archive:
        arrays = dict(archive)
    document = _replace_history(json.loads(arrays["__state__"].tobytes()), "DEEP")
    deep = json.dumps(document).replace('"DEEP"', "[" * 1000 + "0" + "]" * 1000)
    arrays["__state__"] = np.frombuffer(deep.encode(), np.uint8)
    np.savez(path, **arrays)
    result = train("--resume", "--output", finished_run, "--quiet", timeout=SECONDS,
                   memory_mb=MEMORY_MB)
    assert refused(result) and "checkpoint.npz" in result.stderr, result.stderr[-3000:]
