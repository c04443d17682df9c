"""A run directory protects itself: it is locked for the life of a run, a fresh run refuses one
that holds a run, no run file is written through a link, a config error leaves nothing behind,
stale temporaries go, and a checkpoint stays small and refuses to continue another run."""
import errno
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from clirun import ROOT, TINY, refused, train

from minitrain import storage
from minitrain.training import RunDirectory, RunDirectoryError, checkpoint
from minitrain.training.state import columns, rows


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture
def run(tmp_path, tiny):
    """A finished run of the tiny config."""
    out = tmp_path / "run"
    assert train("--config", tiny, "--output", out, "--quiet").returncode == 0
    return out


def _contents(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name != ".lock"}


# --- a fresh run never overwrites a run -------------------------------------------------------
def test_a_fresh_run_refuses_a_directory_that_holds_a_run_and_changes_nothing(run, tiny):
    before = _contents(run)
    result = train("--config", tiny, "--output", run, "--quiet")
    assert refused(result), result.stderr
    assert f"{run} holds a run (step 3); continue it with --resume" in result.stderr
    assert "--overwrite" in result.stderr
    assert _contents(run) == before


def test_overwrite_starts_afresh_and_the_log_holds_only_the_new_run(run, tiny):
    (run / "notes.txt").write_text("mine")  # not a run file: left alone
    result = train("--config", tiny, "--output", run, "--quiet", "--overwrite",
                   "--set", "training.epochs=2")
    assert result.returncode == 0, result.stderr
    log = (run / "train.log").read_text()
    assert log.count("done:") == 1 and "2 epochs" in log
    assert (run / "notes.txt").read_text() == "mine"


def test_resume_and_overwrite_together_are_refused(run):
    result = train("--resume", "--overwrite", "--output", run)
    assert refused(result) and "give one" in result.stderr


def test_the_python_api_refuses_too(run):
    with pytest.raises(RunDirectoryError, match="holds a run"):
        RunDirectory(run).open()
    RunDirectory(run).open(resume=True).close()  # what --resume does


# --- one run at a time --------------------------------------------------------------------------
def test_a_second_run_is_refused_naming_the_holder_and_leaves_its_temporaries(tmp_path, tiny):
    out = tmp_path / "run"
    with RunDirectory(out).open():
        in_flight = storage.temporary_path(out / "checkpoint.npz")
        in_flight.write_bytes(b"the first run is writing this")
        result = train("--config", tiny, "--output", out, "--quiet", "--overwrite")
        assert refused(result), result.stderr
        assert f"in use by another run (pid {os.getpid()})" in result.stderr
        assert in_flight.read_bytes() == b"the first run is writing this"


def test_a_run_killed_with_sigkill_leaves_no_lock_behind(tmp_path, tiny):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from minitrain.training import RunDirectory;"
         f"RunDirectory({str(out)!r}).open(); print('locked', flush=True); time.sleep(60)"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    assert "in use by another run" in train("--config", tiny, "--output", out).stderr
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    assert train("--config", tiny, "--output", out, "--quiet").returncode == 0


# --- no write through a link ----------------------------------------------------------------
def test_a_link_among_the_run_files_is_refused_and_its_target_untouched(run, tmp_path):
    target = tmp_path / "bashrc"
    target.write_text("export PATH\n")
    (run / "train.log").unlink()
    (run / "train.log").symlink_to(target)
    result = train("--resume", "--output", run, "--quiet")
    assert refused(result), result.stderr
    assert "train.log is a symbolic link" in result.stderr
    assert target.read_text() == "export PATH\n"


def test_appending_never_follows_a_link(tmp_path):
    target = tmp_path / "target"
    target.write_text("kept\n")
    (tmp_path / "log").symlink_to(target)
    with pytest.raises(OSError, match="symbolic link"):
        storage.append_line(tmp_path / "log", "written\n")
    assert target.read_text() == "kept\n"


# --- a config error leaves nothing behind ---------------------------------------------------
@pytest.mark.parametrize("mistake", ["model.0.Dense.units=0", "loss.name=nope",
                                     "data.options.n_samples=-1"])
def test_a_config_error_creates_no_run_directory(tmp_path, tiny, mistake):
    result = train("--config", tiny, "--set", mistake, "--set", f"output.dir={tmp_path / 'runs'}")
    assert refused(result), result.stderr
    explicit = train("--config", tiny, "--set", mistake, "--output", tmp_path / "out")
    assert refused(explicit), explicit.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()


def test_an_empty_config_option_is_refused(tmp_path):
    assert refused(train("--config", "", "--output", tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_ctrl_c_while_importing_exits_130_without_a_traceback(tmp_path):
    (tmp_path / "minitrain").mkdir()  # a package whose import is interrupted
    (tmp_path / "minitrain" / "__init__.py").write_text("raise KeyboardInterrupt\n")
    script = tmp_path / "train.py"
    script.write_text((ROOT / "train.py").read_text())
    result = train("--config", "x.yaml", script=script, cwd=tmp_path)
    assert result.returncode == 130 and result.stderr == "", result.stderr


# --- stale temporaries ----------------------------------------------------------------------
def test_resume_removes_the_stale_temporaries_of_every_run_file(run):
    stale = [storage.temporary_path(run / name) for name in
             ("metrics.csv", "weights.npz", "checkpoint.npz", "config.yaml", "metrics.json")]
    for path in stale:
        path.write_bytes(b"left by a killed writer")
    assert train("--resume", "--output", run, "--quiet").returncode == 0
    assert not any(path.exists() for path in stale)


# --- checkpoints stay small, and fit only their own run -------------------------------------
HISTORY = [{"epoch": i + 1, "step": 30 * (i + 1), "loss": 1 / (i + 1), "accuracy": 0.5,
            "val_loss": 0.25 + i * 1e-7, "val_accuracy": 0.75, "lr": 1e-3, "time": 0.015 * i}
           for i in range(2000)]


def test_a_long_history_is_stored_as_columns_and_restored_exactly(tmp_path):
    state = {"loop": {"history": columns(HISTORY)}}
    checkpoint.save(tmp_path / "c.npz", state)
    # 8 numbers an epoch at 8 bytes each, and little else (a JSON history took 1.8 MB)
    assert (tmp_path / "c.npz").stat().st_size < 2000 * 8 * 8 + 10_000
    restored = rows(checkpoint.load(tmp_path / "c.npz")["loop"]["history"])
    assert restored == HISTORY
    assert all(type(row["epoch"]) is int and type(row["loss"]) is float for row in restored)


def test_a_history_that_is_not_a_table_is_kept_as_it_is():
    ragged = [{"loss": 1.0}, {"loss": 0.5, "extra": "text"}]
    assert rows(columns(ragged)) == ragged
    assert rows(columns([{"loss": np.float32(0.5)}])) == [{"loss": np.float32(0.5)}]


def test_a_checkpoint_of_an_earlier_version_still_loads(tmp_path):
    state = checkpoint._encode({"step": 3, "history": [{"loss": 1.0}]}, {})
    document = json.dumps({"format": checkpoint.FORMAT, "state": state})
    np.savez(tmp_path / "old.npz", __state__=np.array(document))  # a unicode string
    state = checkpoint.load(tmp_path / "old.npz")
    assert state["step"] == 3 and rows(state["history"]) == [{"loss": 1.0}]


def test_metrics_csv_is_appended_not_rewritten(tmp_path):
    run_dir = RunDirectory(tmp_path / "run").open()
    run_dir.write_history(HISTORY[:1])
    first = run_dir.metrics_csv.stat().st_ino
    for n in range(2, 6):
        run_dir.write_history(HISTORY[:n])
    assert run_dir.metrics_csv.stat().st_ino == first  # the same file, grown: no rewrite
    fresh = RunDirectory(tmp_path / "fresh").open()
    fresh.write_history(HISTORY[:5])
    assert run_dir.metrics_csv.read_text() == fresh.metrics_csv.read_text()


def test_resuming_with_a_checkpoint_of_another_run_names_the_first_mismatch(run, tmp_path):
    other = tmp_path / "other"
    assert train("--config", tmp_path / "tiny.yaml", "--set", "model.0.Dense.units=3",
                 "--output", other, "--quiet").returncode == 0
    (run / "checkpoint.npz").write_bytes((other / "checkpoint.npz").read_bytes())
    result = train("--resume", "--output", run, "--quiet")
    assert refused(result), result.stderr
    assert f"{run / 'checkpoint.npz'} does not fit this run: weights[0] (" in result.stderr
    assert "has shape (2, 3) (float32) where this run's has (2, 2) (float32)" in result.stderr


def _edit_checkpoint(path, edit):
    state = checkpoint.load(path)
    edit(state)
    checkpoint.save(path, state)


@pytest.mark.parametrize("edit, told", [
    (lambda s: s["loop"].update(step="x"), "loop.step is 'x' (str) where this run has int"),
    (lambda s: s["loop"].update(epoch=-1), "a negative step, epoch or batch count"),
    (lambda s: s["loop"].update(history=7), "loop.history: not a training history"),
    (lambda s: s.pop("optimizer"), "state holds"),
    (lambda s: s["weights"].pop(), "weights holds 1 items where this run has 2"),
])
def test_a_tampered_checkpoint_is_refused_before_anything_changes(run, edit, told):
    _edit_checkpoint(run / "checkpoint.npz", edit)
    result = train("--resume", "--output", run, "--quiet")
    assert refused(result) and told in result.stderr, result.stderr
    assert "does not fit this run" in result.stderr


def test_a_deeply_nested_checkpoint_is_refused(tmp_path):
    nested = "[" * 100_000 + "]" * 100_000
    document = f'{{"format": "{checkpoint.FORMAT}", "state": {nested}}}'
    np.savez(tmp_path / "deep.npz", __state__=np.frombuffer(document.encode(), np.uint8))
    with pytest.raises(checkpoint.CheckpointError, match="nested too deeply"):
        checkpoint.load(tmp_path / "deep.npz")


# --- a full disk --------------------------------------------------------------------------------
def test_a_full_disk_names_the_file_the_intact_checkpoint_and_how_to_continue(
        tmp_path, tiny, monkeypatch, capsys):
    from test_review_kit import _train_module
    cli = _train_module()
    writes = []

    def full_after_one(file, arrays):
        writes.append(b'"loop"' in arrays["__state__"].tobytes())  # a checkpoint's state
        if sum(writes) > 1:  # the second checkpoint
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        np.savez(file, **arrays)
    monkeypatch.setattr(checkpoint, "_write_npz", full_after_one)
    out = tmp_path / "run"
    args = ["--config", str(tiny), "--output", str(out), "--quiet", "--set", "training.epochs=3"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert f"cannot write {out / 'checkpoint.npz'}: No space left on device" in err
    assert f"The checkpoint {out / 'checkpoint.npz'} is intact" in err
    assert f"python train.py --resume --output {out}" in err
    assert checkpoint.load(out / "checkpoint.npz")["loop"]["epoch"] == 1

