"""What a run's files cost an epoch, early and late in a long run: the checkpoint and the
metrics.csv row written after each epoch, with the history stored as columns (today) beside
the history encoded as JSON and the whole metrics.csv rewritten (before), in the same run.

    python benchmarks/run_files.py [--epochs 2000] [--repeats 15]

Prints the median milliseconds an epoch's writes take after 10 and after ``--epochs`` epochs
(with the spread of the repeats) and the checkpoint's size.
"""
import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from minitrain.storage import atomic_write
from minitrain.training import RunDirectory, checkpoint
from minitrain.training.rundir import _csv_rows, write_text
from minitrain.training.state import columns

WEIGHTS = [np.zeros((30, 10), np.float32), np.zeros(10, np.float32)]  # a small model


def history(epochs):
    return [{"epoch": i + 1, "step": 30 * (i + 1), "loss": 1 / (i + 1), "accuracy": 0.5 + i / 1e5,
             "val_loss": 0.25 + i * 1e-7, "val_accuracy": 0.75, "lr": 1e-3, "time": 0.015 * i}
            for i in range(epochs)]


def write_now(run_dir, rows):
    run_dir.write_history(rows)
    checkpoint.save(run_dir.checkpoint, {"weights": WEIGHTS, "history": columns(rows)})


def write_before(run_dir, rows):
    """The former way: the whole CSV rewritten, the history a JSON string in the archive
    (a numpy unicode array, 4 bytes a character)."""
    keys = list(rows[0])
    write_text(run_dir.metrics_csv, _csv_rows(keys, rows, header=True))
    document = np.array(json.dumps({"history": rows}))
    atomic_write(run_dir.checkpoint, lambda f: np.savez(
        f, __state__=document, a0=WEIGHTS[0], a1=WEIGHTS[1]))


def epoch_cost(write, directory, rows, repeats):
    run_dir = RunDirectory(directory).open(overwrite=True)
    write(run_dir, rows[:-1])  # the run so far: the measured write adds one epoch
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        write(run_dir, rows)
        times.append(time.perf_counter() - start)
        run_dir._csv = (run_dir._csv[0], len(rows) - 1) if run_dir._csv else None
    run_dir.close()
    return times, run_dir.checkpoint.stat().st_size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"{'epochs so far':>14} {'writes':>8} {'ms an epoch (spread)':>22} {'checkpoint':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for epochs in (10, args.epochs):
            rows = history(epochs)
            for name, write in (("now", write_now), ("before", write_before)):
                times, size = epoch_cost(write, Path(tmp) / name, rows, args.repeats)
                ms = [t * 1e3 for t in times]
                print(f"{epochs:>14} {name:>8} {statistics.median(ms):>9.2f} "
                      f"({min(ms):.2f}-{max(ms):.2f}) {size / 1e3:>9.1f} kB")


if __name__ == "__main__":
    main()
