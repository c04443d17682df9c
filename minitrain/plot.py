"""Pictures of a run: its learning curves as ``curves.png`` beside its metrics, and several
runs overlaid in one picture (``minitrain plot RUN_DIR [RUN_DIR ...]``).

matplotlib is optional (``pip install 'minitrain[plot]'``) and imported only here, inside the
functions that draw: minitrain imports and trains without it. The figures are drawn with
``Figure`` and the Agg canvas, never pyplot, so no global state (no current figure, no
backend switch) is touched and nothing is left open.
"""
import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import yaml

from .storage import atomic_write

_NOT_PLOTTED = ("epoch", "step", "lr", "time")
_PIP_HINT = "plotting needs matplotlib: pip install 'minitrain[plot]'"
# inches: each panel, the margins and gaps around them, one legend row; fixed rather than
# found by a layout engine, which would cost more than the drawing itself
_PANEL = (4.6, 3.2)
_MARGIN = {"left": 0.85, "right": 0.3, "top": 0.85, "bottom": 0.65, "wspace": 0.85,
           "hspace": 0.8, "legend": 0.25}
_DPI = 100


class PlotError(ValueError):
    """A run directory that cannot be drawn, or no matplotlib (``minitrain plot`` exits 2)."""


def write_curves(run_dir, output=None):
    """Draw ``run_dir``'s metrics.csv as ``curves.png`` in it (or at ``output``): one panel
    per quantity (the loss, each metric), train and validation in each, the best epoch
    marked. Returns the path written, or None, doing nothing, without matplotlib."""
    mpl = _matplotlib()
    if mpl is None:
        return None
    run = read_run(run_dir)
    names = _quantities([run])
    fig = _figure(mpl, len(names), legend_rows=1)
    axes = _panels(mpl, fig, names)
    for name, ax in axes.items():
        _draw_run(ax, run, name, style=None)
    _axes_limits(mpl, axes, [run])
    _mark_best(axes, run)
    _title(fig, run["title"], run["subtitle"])
    _legend(mpl, fig, axes, ncol=3)
    return _save(fig, Path(output) if output else Path(run_dir) / "curves.png")


def compare_runs(run_dirs, output):
    """Overlay the curves of ``run_dirs`` in one picture at ``output``: one panel per
    quantity, one colour per run, train solid and validation dashed. Returns ``output``."""
    mpl = _matplotlib()
    if mpl is None:
        raise PlotError(_PIP_HINT)
    runs = [read_run(d) for d in run_dirs]
    (short, labels), names = _run_labels(runs), _quantities(runs)
    ncol = _legend_columns(labels + ["validation"], _width(_grid(len(names))[1]))
    fig = _figure(mpl, len(names), legend_rows=math.ceil((len(runs) + 2) / ncol))
    axes = _panels(mpl, fig, names)
    for i, run in enumerate(runs):
        for name, ax in axes.items():
            _draw_run(ax, run, name, style=(f"C{i % 10}", labels[i], short[i]))
    _axes_limits(mpl, axes, runs)
    _title(fig, f"{len(runs)} runs compared", "train solid, validation dashed")
    _legend(mpl, fig, axes, ncol=ncol, styles=True)
    return _save(fig, Path(output))


def read_run(run_dir):
    """What the pictures need from a run directory: its history (column -> float array,
    nan where a value is missing or not a number), title, subtitle and best epoch."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise PlotError(f"{run_dir}: no such run directory")
    history = _read_history(run_dir / "metrics.csv")
    if not _quantities([{"history": history}]):
        raise PlotError(f"{run_dir / 'metrics.csv'}: no loss or metric columns to draw")
    config = _read_mapping(run_dir / "config.yaml", yaml.safe_load)
    summary = _read_mapping(run_dir / "metrics.json", json.loads)
    name = str(config.get("name") or run_dir.name)
    settings = _settings(config)
    return {"dir": run_dir, "name": name, "history": history, "settings": settings,
            "title": f"{name}: {settings}" if settings else name,
            "subtitle": _subtitle(history, summary), "best": best_epoch(history, summary)}


def _read_history(path):
    try:
        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    except FileNotFoundError:
        raise PlotError(f"{path.parent}: no metrics.csv (not a run directory, or a run "
                        "that has not finished an epoch)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise PlotError(f"{path}: cannot be read ({err})") from None
    if not rows:
        raise PlotError(f"{path}: no epochs in it yet")
    history = {k: np.array([_number(row.get(k)) for row in rows]) for k in rows[0] if k}
    if "epoch" not in history or not np.isfinite(history["epoch"]).all():
        history["epoch"] = np.arange(1.0, len(rows) + 1)
    return history


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _read_mapping(path, parse):
    """A run's config or summary as a dict; {} when it is missing or unreadable (the
    picture then says less, but the curves are still drawn)."""
    try:
        value = parse(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return value if isinstance(value, dict) else {}


def _settings(config):
    """'adam lr=0.001, batch 32, 3 layers' from a resolved config; '' from an empty one."""
    opt = config.get("optimizer")
    opt = opt if isinstance(opt, dict) else {"name": opt}
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    parts = []
    if opt.get("name"):
        lr, schedule = opt.get("learning_rate"), opt.get("schedule")
        parts.append(str(opt["name"]) + ("" if lr is None else f" lr={lr:g}" if isinstance(
            lr, float | int) else f" lr={lr}"))
        if isinstance(schedule, dict) and schedule.get("name"):
            parts[-1] += f" ({schedule['name']})"
    if data.get("batch_size") is not None:
        parts.append(f"batch {data['batch_size']}")
    if isinstance(config.get("model"), list):
        parts.append(f"{len(config['model'])} layers")
    return ", ".join(parts)


def _subtitle(history, summary):
    """'60 epochs, 2400 steps; test loss 0.0369, accuracy 0.9916'."""
    epochs = int(np.nanmax(history["epoch"]))
    text = f"{epochs} epoch{'s' * (epochs != 1)}"
    if "step" in history and np.isfinite(history["step"][-1]):
        text += f", {int(history['step'][-1])} steps"
    tests = [f"{k[5:]} {v:.4g}" for k, v in summary.items()
             if k.startswith("test_") and isinstance(v, (int, float))]
    return text + ("; test " + ", ".join(tests) if tests else "")


def best_epoch(history, summary=None):
    """(epoch, monitor, value) of the best epoch: early stopping's, from metrics.json, or
    else the lowest val_loss (loss without validation); None when every value is nan."""
    summary = summary or {}
    if isinstance(summary.get("best_epoch"), int):
        return summary["best_epoch"], str(summary.get("monitor", "")), summary.get(
            "best_value")
    monitor = "val_loss" if "val_loss" in history else "loss"
    values = history.get(monitor)
    if values is None or not np.isfinite(values).any():
        return None
    i = int(np.nanargmin(np.where(np.isfinite(values), values, np.nan)))
    return int(history["epoch"][i]), monitor, float(values[i])


def _quantities(runs):
    """The quantities to draw, the loss first, each once: 'accuracy' for accuracy and
    val_accuracy."""
    names = []
    for run in runs:
        for column in run["history"]:
            name = column[4:] if column.startswith("val_") else column
            if name not in _NOT_PLOTTED and name not in names:
                names.append(name)
    return sorted(names, key=lambda n: n != "loss")


def _run_labels(runs):
    """(short, long) labels: each run's name, or its directory where names repeat (two
    runs of one config); the long ones add its settings where those differ between runs."""
    names = [run["name"] for run in runs]
    short = [run["name"] if names.count(run["name"]) == 1 else run["dir"].name
             for run in runs]
    short = [label if short.count(label) == 1 else str(run["dir"])
             for label, run in zip(short, runs)]
    settings = [run["settings"] for run in runs]
    if len(set(settings)) == 1:
        return short, short
    return short, [f"{label}: {s}" if s else label for label, s in zip(short, settings)]


def _matplotlib():
    """matplotlib's Figure and Agg canvas, or None when it is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.ticker import FuncFormatter, MaxNLocator, StrMethodFormatter
    except ImportError:
        return None
    return {"Figure": Figure, "Canvas": FigureCanvasAgg, "Line2D": Line2D,
            "MaxNLocator": MaxNLocator, "FuncFormatter": FuncFormatter,
            "StrMethodFormatter": StrMethodFormatter}


def _grid(n):
    """(rows, columns) for n panels: at most three a row, rows as even as possible."""
    rows = math.ceil(max(n, 1) / 3)
    return rows, math.ceil(max(n, 1) / rows)


def _width(cols):
    return _MARGIN["left"] + _MARGIN["right"] + cols * _PANEL[0] + (cols - 1) * _MARGIN["wspace"]


def _figure(mpl, n, legend_rows):
    """A Figure on an Agg canvas with room for n panels, the title and the legend."""
    (rows, cols), m = _grid(n), _MARGIN
    width = _width(cols)
    bottom = m["bottom"] + legend_rows * m["legend"]
    height = m["top"] + bottom + rows * _PANEL[1] + (rows - 1) * m["hspace"]
    fig = mpl["Figure"](figsize=(width, height), dpi=_DPI)
    mpl["Canvas"](fig)
    fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width,
                        top=1 - m["top"] / height, bottom=bottom / height,
                        wspace=m["wspace"] / _PANEL[0], hspace=m["hspace"] / _PANEL[1])
    return fig


def _panels(mpl, fig, names):
    """{quantity: its axes}, labelled, in a grid; the grid's unused cells hidden."""
    rows, cols = _grid(len(names))
    grid = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in grid[len(names):]:
        ax.set_visible(False)
    for name, ax in zip(names, grid):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(mpl["MaxNLocator"](integer=True))
        ax.grid(True, which="major", color="0.9", linewidth=0.8)
    return dict(zip(names, grid))


def _title(fig, title, subtitle):
    height = fig.get_figheight()
    fig.suptitle(title, fontsize=12, y=1 - 0.3 / height)
    fig.text(0.5, 1 - 0.58 / height, subtitle, ha="center", fontsize=9, color="0.35")


def _draw_run(ax, run, name, style):
    """The train and validation curves of ``name``; ``style`` (colour, legend label, short
    label) for a comparison, None for one run (train and validation in two colours)."""
    history, epochs = run["history"], run["history"]["epoch"]
    for column, val in ((name, False), (f"val_{name}", True)):
        if column not in history:
            continue
        values = np.where(np.isfinite(history[column]), history[column], np.nan)
        colour, label = style[:2] if style else (("C1" if val else "C0"),
                                                 "validation" if val else "train")
        ax.plot(epochs, values, color=colour, linestyle="--" if val and style else "-",
                linewidth=1.6, marker="o" if len(epochs) <= 15 else None, markersize=3.5,
                label=label)
        _note_nonfinite(ax, history[column], epochs, f"{style[2]} {column}" if style
                        else column)


def _note_nonfinite(ax, values, epochs, what):
    """Say, above the panel, where a curve stops: a diverged run's nan or inf leaves a gap
    (the note goes above rather than inside, where it could hide a curve)."""
    bad = ~np.isfinite(values)
    if bad.any():
        note = f"{what} not finite from epoch {int(epochs[bad.argmax()])}"
        title = ax.get_title()
        ax.set_title(f"{title}; {note}" if title else note, fontsize=8, color="C3", pad=3)


def _axes_limits(mpl, axes, runs):
    """Every panel over the same epochs, all of the runs' (a curve that turned nan does not
    shorten its panel); a single epoch is a single tick, not a span of fractions."""
    epochs = np.concatenate([run["history"]["epoch"] for run in runs])
    lo, hi = float(epochs.min()), float(epochs.max())
    pad = max(0.5, 0.04 * (hi - lo))
    for ax in axes.values():
        _scale(mpl, ax)
        ax.set_xlim(lo - pad, hi + pad)
        if hi - lo < 2:
            ax.set_xticks(np.arange(math.ceil(lo), math.floor(hi) + 1))


def _scale(mpl, ax):
    """A log scale where a positive quantity spans decades (a loss falling from 2 to 0.01),
    so that the late epochs are not a flat line at the bottom. Ticks read 0.01, not 10^-2,
    and over three decades at most 0.02 and 0.05 are labelled too."""
    values = np.concatenate([[np.nan], *(line.get_ydata() for line in ax.get_lines())])
    values = values[np.isfinite(values)]
    if not (values.size and values.min() > 0 and values.max() / values.min() > 20):
        return
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(mpl["StrMethodFormatter"]("{x:g}"))
    if values.max() / values.min() <= 1000:
        ax.yaxis.set_minor_formatter(mpl["FuncFormatter"](_two_and_five))


def _two_and_five(x, pos=None):
    """'0.02' at 2 x 10^k, '0.5' at 5 x 10^k, '' at the other minor ticks of a log axis."""
    mantissa = x / 10 ** math.floor(math.log10(x)) if x > 0 else 0
    return f"{x:g}" if any(abs(mantissa - m) < 1e-6 for m in (2, 5)) else ""


def _mark_best(axes, run):
    if run["best"] is None:
        return
    epoch, monitor, value = run["best"]
    label = f"best epoch {epoch}"
    if monitor and isinstance(value, (int, float)):
        label += f" ({monitor} {value:.4g})"
    for ax in axes.values():
        ax.axvline(epoch, color="0.45", linestyle=":", linewidth=1.4, label=label)


def _legend_columns(labels, width):
    """As many legend entries a row as fit in ``width`` inches (about 0.075 a character)."""
    entry = 0.8 + 0.075 * max(len(label) for label in labels)
    return max(1, min(len(labels), 5, int(width / entry)))


def _legend(mpl, fig, axes, ncol, styles=False):
    """One legend for all the panels, under them, so that it never covers a curve."""
    entries = {}
    for ax in axes.values():
        for line in ax.get_lines():
            entries.setdefault(line.get_label(), line)
    handles, labels = list(entries.values()), list(entries)
    if styles:
        line = mpl["Line2D"]
        handles += [line([], [], color="0.3"), line([], [], color="0.3", linestyle="--")]
        labels += ["train", "validation"]
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, fontsize=9,
               bbox_to_anchor=(0.5, 0.1 / fig.get_figheight()))


def _save(fig, path):
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=_DPI))
    except OSError as err:
        raise PlotError(f"cannot write {path} ({err.strerror or err})") from None
    return path


def plot_main(argv=None):
    """``minitrain plot RUN_DIR [RUN_DIR ...] [--output FILE]``: one run (re)draws its
    curves.png (or FILE), several are compared in FILE (compare.png here by default)."""
    parser = argparse.ArgumentParser(
        prog="minitrain plot", description="Draw the learning curves of runs.")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="a run directory")
    parser.add_argument("--output", "-o", help="the picture to write (default: RUN_DIR/"
                        "curves.png for one run, compare.png for several)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2, already printed)
        return stop.code if isinstance(stop.code, int) else 2
    try:
        if _matplotlib() is None:
            raise PlotError(_PIP_HINT)
        if len(args.run_dirs) == 1:
            path = write_curves(args.run_dirs[0], args.output)
        else:
            path = compare_runs(args.run_dirs, args.output or "compare.png")
    except PlotError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(path)
    return 0
