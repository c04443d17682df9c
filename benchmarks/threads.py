"""Whole training runs of the shipped configs at each BLAS thread count, as the user runs them:

    python train.py --config configs/X.yaml --threads N --output <tmpdir> --quiet

Reports, per config and thread count, the median wall seconds of the whole process (min-max
over the repeats), the ratio to threads=1 and the test metric from the run's metrics.json.
Thread counts: 1, 2, os.cpu_count() when larger, and 4 when the machine has at least 4 cores.
All the (config, threads) runs alternate within every repeat, in an order shuffled anew each
repeat, so the machine's noise falls on all of them alike.

    python benchmarks/threads.py [--repeats 3] [--epochs E] [--configs mlp cnn ...]

--epochs shortens every run (--set training.epochs=E); by default each config's own epochs.
Results are bit-identical for the same thread count only: BLAS splits its reductions by
thread, so the metrics may differ across counts (the last line of each config says whether).
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("mlp", "cnn", "spirals", "regression")


def thread_counts():
    cores = os.cpu_count() or 1
    counts = {1, 2, cores}
    if cores >= 4:
        counts.add(4)
    return sorted(counts)


def train(config, threads, epochs, tmp):
    """Wall seconds of one whole run, and its test results ((name, value), ...) from
    metrics.json: the metric first, then test_loss."""
    output = Path(tempfile.mkdtemp(dir=tmp))
    command = [sys.executable, "train.py", "--config", f"configs/{config}.yaml",
               "--threads", str(threads), "--output", str(output / "run"), "--quiet"]
    if epochs:
        command += ["--set", f"training.epochs={epochs}"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    summary = json.loads((output / "run" / "metrics.json").read_text())
    names = sorted((k for k in summary if k.startswith("test_")), key=lambda k: k == "test_loss")
    return seconds, tuple((k, summary[k]) for k in names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="training.epochs for every run")
    parser.add_argument("--configs", nargs="+", default=CONFIGS, choices=CONFIGS)
    parser.add_argument("--seed", type=int, default=0, help="seeds the shuffled order")
    args = parser.parse_args()

    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"{name}={os.environ.get(name)!r}")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"os.cpu_count()={os.cpu_count()}  usable cores (nproc)={usable}"
          f"  repeats={args.repeats}  epochs={args.epochs or 'config'}")
    runs = [(config, n) for config in args.configs for n in thread_counts()]
    times = {run: [] for run in runs}
    metrics = {run: set() for run in runs}
    shuffle = random.Random(args.seed).shuffle
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            shuffle(runs)
            for run in runs:
                seconds, metric = train(*run, args.epochs, tmp)
                times[run].append(seconds)
                metrics[run].add(metric)

    print(f"\n{'config':<11} {'threads':>7} {'median s':>9} {'(min-max)':>15} {'ratio':>6}"
          "  test metric")
    for config in args.configs:
        base = statistics.median(times[config, 1])
        values = []
        for n in thread_counts():
            t = times[config, n]
            results, *others = sorted(metrics[config, n])
            flag = "" if not others else "  (differs between repeats!)"
            (name, value), values = results[0], values + [results]
            print(f"{config:<11} {n:>7} {statistics.median(t):>9.2f} "
                  f"{f'({min(t):.2f}-{max(t):.2f})':>15} {statistics.median(t) / base:>6.2f}"
                  f"  {name} {value:.6f}{flag}")
        spread = max(max(v[i][1] for v in values) - min(v[i][1] for v in values)
                     for i in range(len(values[0])))
        same = "bit-identical" if len(set(values)) == 1 else f"differ (max |diff| {spread:.3g})"
        print(f"{'':<11} test results ({', '.join(k for k, _ in values[0])}) across thread "
              f"counts: {same}")


if __name__ == "__main__":
    main()
