"""``minitrain predict RUN_DIR --input data.csv|data.npz [--output predictions.csv]``.

Raw features in (a CSV of rows, or an .npz's array), the run's preprocessing applied, one row
of predictions out per sample: the class, its name and every class's probability for a
classifier, the outputs for a regression. Where the input also holds labels (the run's label
column of a CSV, the labels array of an .npz), the run's metrics on them go to stderr.
"""
import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from ..data.files import is_number
from ..npzfile import NpzError, read_npz
from ..storage import atomic_write
from .common import fail


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="minitrain predict", description="Predict with a trained run on new raw data "
        "(the run's normalisation is applied, as in training).",
        epilog="example:\n  minitrain predict runs/mlp --input new.csv --output predictions.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", metavar="RUN_DIR", help="a run directory written by training")
    parser.add_argument("--input", required=True, metavar="FILE",
                        help="the samples: a .csv (one row each) or an .npz (array 'x', or "
                        "the run's features array)")
    parser.add_argument("--output", metavar="FILE",
                        help="where the predictions go, as CSV (default: standard output)")
    parser.add_argument("--features", metavar="NAME", help="an .npz's array of features "
                        "(default: the run's, else 'x')")
    parser.add_argument("--labels", metavar="NAME", help="an .npz's array of labels, to "
                        "report the run's metrics on (default: the run's, else 'y', if there)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from ..trained import RunError, load_run  # after --help: it builds a model
    try:
        run = load_run(args.run)
        features, labels = read_input(Path(args.input), run, args.features, args.labels)
        predictions = run.predict(features)
        table = predictions_csv(predictions, run)
        if args.output:
            atomic_write(args.output, lambda f: f.write(table.encode("utf-8")))
        else:
            sys.stdout.write(table)
        if labels is not None:
            scores = run.evaluate(features, labels)
            print("  ".join(f"{k} {v:.4f}" for k, v in scores.items()) +
                  f"  on {len(labels)} labelled samples", file=sys.stderr)
    except OSError as err:
        return fail(f"{err.filename or args.output}: {err.strerror or err}")
    except (RunError, NpzError, ValueError) as err:  # a config or checkpoint error too
        return fail(err)
    return 0


def read_input(path, run, features=None, labels=None):
    """(features, labels or None) from a .csv or an .npz (``features`` and ``labels`` name
    the .npz's arrays)."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.suffix.lower() == ".npz":
        return _from_npz(path, run, features, labels)
    if path.suffix.lower() == ".csv":
        return _from_csv(path, run)
    raise ValueError(f"{path}: give a .csv or an .npz file")


def _from_npz(path, run, features=None, labels=None):
    options = run.config["data"]["options"]
    arrays = read_npz(path)
    key = features or next((k for k in (options.get("features"), "x") if k in arrays), "x")
    if key not in arrays:
        raise ValueError(f"{path}: no array '{key}' of features (it holds "
                         f"{', '.join(map(repr, arrays)) or 'none'}): name it with --features")
    if labels is not None and labels not in arrays:
        raise ValueError(f"{path}: no array '{labels}' of labels")
    return arrays[key], arrays.get(labels or options.get("labels", "y"))


def _from_csv(path, run):
    try:
        rows = [row for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))
                if row]
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text CSV file") from None
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    header = None if all(is_number(cell) for cell in rows[0]) else rows.pop(0)
    width = int(np.prod(run.preprocessing["feature_shape"]))
    label = _label_column(header, len(rows[0]) if rows else 0, width, run)
    features, labels = [], []
    for line, row in enumerate(rows, start=2 if header else 1):
        cells = [c for i, c in enumerate(row) if i != label]
        if len(cells) != width:
            raise ValueError(f"{path}, line {line}: {len(cells)} features where the run takes "
                             f"{width}")
        try:
            features.append([float(c) for c in cells])
        except ValueError:
            raise ValueError(f"{path}, line {line}: a feature that is not a number") from None
        if label is not None:
            labels.append(row[label])
    return np.array(features), None if label is None else _labels(labels)


def _label_column(header, columns, width, run):
    """The index of the run's label column in this file, if it has one."""
    if columns != width + 1:
        return None
    label = run.config["data"]["options"].get("label", -1)
    if isinstance(label, str):
        return header.index(label) if header and label in header else None
    return label % columns


def _labels(cells):
    try:
        values = np.array([float(c) for c in cells])
        return values.astype(np.int64) if np.all(values == np.round(values)) else values
    except ValueError:
        return np.array(cells)  # class names


def predictions_csv(predictions, run):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if predictions.classes is None:
        outputs = predictions.outputs.reshape(len(predictions.outputs), -1)
        writer.writerow(["prediction"] if outputs.shape[1] == 1 else
                        [f"prediction_{i}" for i in range(outputs.shape[1])])
        writer.writerows([repr(float(v)) for v in row] for row in outputs)
        return out.getvalue()
    probabilities = predictions.probabilities.reshape(len(predictions.classes), -1)
    names = run.class_names or [str(i) for i in range(max(probabilities.shape[1], 2))]
    if probabilities.shape[1] == 1:  # binary: the probability of class 1 gives both
        probabilities = np.concatenate([1 - probabilities, probabilities], axis=1)
    writer.writerow(["class", "name", *(f"p_{name}" for name in names)])
    for cls, name, row in zip(predictions.classes, predictions.names, probabilities):
        writer.writerow([int(cls), name, *(f"{p:.6g}" for p in row)])
    return out.getvalue()
