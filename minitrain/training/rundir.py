"""The run directory: everything a run leaves behind, each file written atomically.

    config.yaml     the resolved config (defaults filled in, overrides applied)
    train.log       the lines the run printed
    metrics.csv     one row per epoch: loss, metrics, validation metrics, learning rate, time
    metrics.json    the final test metrics, wall time, epochs and steps
    weights.npz     the final weights (``model.load_weights`` reads them)
    checkpoint.npz  the latest checkpoint, from which ``--resume`` continues
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

from ..storage import atomic_write, remove_stale_temporaries


class RunDirectory:
    def __init__(self, path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.config = self.path / "config.yaml"
        self.log_file = self.path / "train.log"
        self.metrics_csv = self.path / "metrics.csv"
        self.metrics_json = self.path / "metrics.json"
        self.weights = self.path / "weights.npz"
        self.checkpoint = self.path / "checkpoint.npz"
        self.console = True

    def remove_stale_temporaries(self):
        """Delete what writers killed mid-write left here (call before the run writes)."""
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

    def write_history(self, history):
        """metrics.csv from the whole history (so a resumed run's file is complete)."""
        if not history:
            return
        columns = ["epoch", "step"] + [k for k in history[0] if k not in ("epoch", "step")]
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
        write_text(self.metrics_csv, out.getvalue())

    def write_summary(self, summary):
        write_text(self.metrics_json, json.dumps(summary, indent=2) + "\n")

    def log(self, line, console=True):
        """Print ``line`` (around a live progress bar) and append it to train.log."""
        if console and self.console:
            try:
                tqdm.write(line, file=sys.stdout)
            except BrokenPipeError:  # `train.py ... | head`: the reader left, the run goes on
                self.console = False
        with open(self.log_file, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def write_text(path, text):
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
