"""Atomic writes: every writer of minitrain's files keeps the old file whole when interrupted,
leaves temporaries that one cleanup finds, and honours the umask without touching it."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minitrain as mt
from minitrain import storage
from minitrain.training import RunDirectory, checkpoint

ROOT = Path(__file__).resolve().parents[1]


def _model():
    model = mt.Sequential([mt.layers.Dense(2)])
    model(np.zeros((1, 3), np.float32))
    return model


# each writer of a file, and how to read it back
WRITERS = {
    "weights": (lambda path: _model().save_weights(path), "w.npz"),
    "checkpoint": (lambda path: checkpoint.save(path, {"step": 3}), "c.npz"),
    "run file": (lambda path: RunDirectory(path.parent).write_summary({"loss": 1.0}),
                 "metrics.json"),
}


def _interrupt(fd):
    raise KeyboardInterrupt  # Ctrl-C with the bytes written, before the rename


@pytest.mark.parametrize("writer", WRITERS)
def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(
        tmp_path, monkeypatch, writer):
    write, name = WRITERS[writer]
    path = tmp_path / name
    path.write_bytes(b"the old file")
    monkeypatch.setattr(os, "fsync", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        write(path)
    assert path.read_bytes() == b"the old file"
    assert [p.name for p in tmp_path.iterdir()] == [name]


_KILLED_MID_WRITE = """
import os
import numpy as np
import minitrain as mt
from minitrain.training import RunDirectory, checkpoint
# the process dies with the bytes written: no handler runs, the temporary stays
os.fsync = lambda fd: os._exit(9)
"""


@pytest.mark.parametrize("writer, call", [
    ("weights", "m = mt.Sequential([mt.layers.Dense(2)]); m(np.zeros((1, 3)))\n"
                "m.save_weights(run + '/weights.npz')"),
    ("checkpoint", "checkpoint.save(run + '/checkpoint.npz', {'step': 1})"),
    ("run file", "RunDirectory(run).write_config({'epochs': 1})"),
])
def test_the_cleanup_finds_the_temporaries_of_every_writer(tmp_path, writer, call):
    script = f"{_KILLED_MID_WRITE}run = {str(tmp_path)!r}\n{call}\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 9, result.stderr
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].endswith(".tmp"), left
    (tmp_path / "keep.tmp").write_text("")  # not a temporary of ours: left alone
    RunDirectory(tmp_path).remove_stale_temporaries()
    assert [p.name for p in tmp_path.iterdir()] == ["keep.tmp"]


def test_importing_minitrain_neither_changes_nor_reads_the_umask():
    script = """
import os
real, calls = os.umask, []
os.umask = lambda mask: calls.append(mask) or real(mask)
real(0o077)
import minitrain, minitrain.saving, minitrain.storage, minitrain.training
import minitrain.training.checkpoint, minitrain.training.rundir, minitrain.training.run
print(calls, oct(real(0o077)))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "0o77"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
@pytest.mark.parametrize("writer", WRITERS)
def test_files_get_the_mode_the_umask_implies(tmp_path, writer, umask, mode):
    write, name = WRITERS[writer]
    old = os.umask(umask)
    try:
        write(tmp_path / name)
    finally:
        os.umask(old)
    assert (tmp_path / name).stat().st_mode & 0o777 == mode


def test_a_temporary_that_cannot_be_created_is_reported_under_the_target_name(tmp_path):
    target = tmp_path / "missing" / "f.txt"
    with pytest.raises(FileNotFoundError) as info:
        storage.atomic_write(target, lambda f: f.write(b"x"))
    assert info.value.filename == str(target)


def test_temporaries_are_unique_and_named_after_their_target(tmp_path):
    names = {storage.temporary_path(tmp_path / "a.npz").name for _ in range(100)}
    assert len(names) == 100
    assert all(n.startswith(".a.npz.") and n.endswith(".tmp") for n in names)
