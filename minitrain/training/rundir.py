"""The run directory: everything a run leaves behind, each file written atomically.

    config.yaml     the resolved config (defaults filled in, overrides applied)
    train.log       the lines the run printed
    metrics.csv     one row per epoch: loss, metrics, validation metrics, learning rate, time
    metrics.json    the final test metrics, wall time, epochs and steps
    weights.npz     the final weights (``model.load_weights`` reads them)
    checkpoint.npz  the latest checkpoint, from which ``--resume`` continues
    preprocessing.npz  what the training split fitted (normaliser, feature shape, class
                    names): ``mt.load_run`` applies it to new raw data

A run holds the directory for its whole life (``open`` ... ``close``, or ``with``): an
operating-system lock keeps a second run out, a fresh run refuses a directory that holds a run
unless told to overwrite it, and no run file is written through a symbolic link.

In an MPI run only rank 0 writes, locks and prints; the other ranks hold a ``replica()``,
which reads the run's files (the checkpoint to resume from) and writes nothing.
"""
import csv
import glob
import io
import json
import re
import sys
import time
from pathlib import Path

import yaml
from tqdm import tqdm

from ..storage import DirectoryLock, append_line, atomic_write, remove_stale_temporaries
from . import checkpoint
from .checkpoint import CheckpointError


class RunDirectoryError(ValueError):
    """A run directory that this run may not use (the CLI exits with 2)."""


class RunDirectory:
    """The files of one run under ``path``; nothing is created until ``open``. ``source``
    (e.g. the option or config key that chose ``path``) prefixes the errors about it."""

    writes = True  # False for a replica

    def __init__(self, path, source=None):
        self.path, self.source = Path(path), source
        self.config = self.path / "config.yaml"
        self.log_file = self.path / "train.log"
        self.metrics_csv = self.path / "metrics.csv"
        self.metrics_json = self.path / "metrics.json"
        self.weights = self.path / "weights.npz"
        self.checkpoint = self.path / "checkpoint.npz"
        self.preprocessing = self.path / "preprocessing.npz"
        self.console = True
        self._lock = DirectoryLock(self.path)
        self._csv = None  # (columns, rows) that metrics.csv holds, once this run wrote it

    @property
    def files(self):
        return (self.config, self.log_file, self.metrics_csv, self.metrics_json, self.weights,
                self.checkpoint, self.preprocessing, self.path / "curves.png")

    def open(self, resume=False, overwrite=False):
        """Take the directory for this run: create it, lock it against other runs, refuse
        symbolic links among its files and, unless ``resume`` or ``overwrite``, a directory
        that already holds a run (``overwrite`` deletes that run's files). Then remove what
        writers killed mid-write left behind; no other run can be writing here any more."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise self._error(f"cannot use {self.path} as the run directory "
                              f"({err.strerror})") from None
        self._take_lock()
        try:
            self._refuse_links()
            if not resume and self.holds_run():
                if not overwrite:
                    raise self._error(
                        f"{self.path} holds a run{self._progress()}; continue it with --resume, "
                        "or choose another --output, or pass --overwrite to replace it")
                for file in self.files:
                    file.unlink(missing_ok=True)
            remove_stale_temporaries(self.path)
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        self._lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def holds_run(self):
        return any(file.exists() or file.is_symlink() for file in self.files)

    def _take_lock(self):
        try:
            self._lock.acquire()
        except BlockingIOError as err:
            holder = f" (pid {err.holder})" if getattr(err, "holder", None) else ""
            raise self._error(f"{self.path} is in use by another run{holder}; wait for it to "
                              "end, or choose another --output") from None
        except OSError as err:
            raise self._error(f"cannot lock the run directory {self.path} "
                              f"({err.strerror})") from None

    def _refuse_links(self):
        for file in self.files:
            if file.is_symlink():
                raise self._error(f"{file} is a symbolic link; a run writes its files only "
                                  "in place: remove the link")

    def _error(self, message):
        return RunDirectoryError(f"{self.source}: {message}" if self.source else message)

    def _progress(self):
        """' (step N)' from the run's checkpoint, or '' when it has none that reads."""
        try:
            return f" (step {int(checkpoint.load(self.checkpoint)['loop']['step'])})"
        except (CheckpointError, KeyError, TypeError, ValueError):
            return ""

    def remove_stale_temporaries(self):
        """Delete what writers killed mid-write left here (``open`` calls it)."""
        remove_stale_temporaries(self.path)

    @staticmethod
    def new_path(parent, name):
        """``parent/<name>-<date>-<time>``, with a suffix if a run started this second."""
        base = Path(parent) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return path

    @staticmethod
    def latest(parent, name):
        """The most recent run of config ``name`` under ``parent``, or None."""
        # <name>-<date>-<time>[-n] exactly: runs of a config named "<name>-big" are not ours
        stamp = re.compile(re.escape(name) + r"-\d{8}-\d{6}(-\d+)?")
        runs = [p for p in Path(parent).glob(f"{glob.escape(name)}-*")
                if stamp.fullmatch(p.name) and (p / "config.yaml").is_file()]
        return max(runs, key=lambda p: p.stat().st_mtime, default=None)

    def write_config(self, config):
        write_text(self.config, yaml.safe_dump(dict(config), sort_keys=False))

    def write_preprocessing(self, state):
        checkpoint.save(self.preprocessing, state)

    def write_history(self, history):
        """metrics.csv from the whole history: written whole (atomically) the first time and
        whenever its columns change, else only the new rows are appended, so that an epoch's
        cost does not grow with the run. A resumed run rewrites it from its checkpoint."""
        if not history:
            return
        columns = ["epoch", "step"] + [k for k in history[0] if k not in ("epoch", "step")]
        done = self._csv[1] if self._csv and self._csv[0] == columns else None
        new = history[done:] if done is not None and done <= len(history) else None
        if new is not None and all(set(row) == set(columns) for row in new):
            if new:
                append_line(self.metrics_csv, _csv_rows(columns, new))
        else:
            write_text(self.metrics_csv, _csv_rows(columns, history, header=True))
        self._csv = (columns, len(history))

    def write_summary(self, summary):
        write_text(self.metrics_json, json.dumps(summary, indent=2) + "\n")

    def write_weights(self, model):
        model.save_weights(self.weights)

    def replica(self):
        """This directory as a rank other than 0 of an MPI run sees it: read, never written."""
        return ReplicaDirectory(self.path, self.source)

    def log(self, line, console=True):
        """Print ``line`` (around a live progress bar) and append it to train.log."""
        if console and self.console:
            try:
                tqdm.write(line, file=sys.stdout)
            except BrokenPipeError:  # `train.py ... | head`: the reader left, the run goes on
                self.console = False
        append_line(self.log_file, line + "\n")


class ReplicaDirectory(RunDirectory):
    """A run directory that reads its files and writes, locks and prints nothing: what the
    ranks other than 0 of an MPI run use (rank 0 writes for all)."""

    writes = False

    def open(self, resume=False, overwrite=False):
        return self

    def close(self):
        pass

    def write_config(self, config):
        pass

    def write_preprocessing(self, state):
        pass

    def write_history(self, history):
        pass

    def write_summary(self, summary):
        pass

    def write_weights(self, model):
        pass

    def log(self, line, console=True):
        pass

    def replica(self):
        return self


def _csv_rows(columns, rows, header=False):
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return out.getvalue()


def write_text(path, text):
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
