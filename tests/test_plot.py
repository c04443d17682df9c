"""minitrain.plot: curves.png for a run, a comparison of runs, ``minitrain plot``; and
minitrain without matplotlib (importing, training and plotting, which then does nothing).

A picture is checked by what it is made of (``picture_problems``: a PNG of a sensible size,
ink in a sensible share of it, each expected line colour present, a title at the top), so a
blank or broken picture fails; the checker itself is shown to catch a blank one.
"""
import json
import math
import struct
import subprocess
import sys

import numpy as np
import pytest
from clirun import ENV, ROOT, train

from minitrain import plot

TRAIN, VAL = (0.122, 0.467, 0.706), (1.0, 0.498, 0.055)  # matplotlib's C0 and C1
COLUMNS = ["epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"]


def write_run(path, rows, columns=COLUMNS, config=None, summary=None):
    """A run directory written by hand: metrics.csv from ``rows``, and optionally
    config.yaml and metrics.json."""
    path.mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns)] + [",".join(map(repr, row)) for row in rows]
    (path / "metrics.csv").write_text("\n".join(lines) + "\n")
    if config is not None:
        (path / "config.yaml").write_text(config)
    if summary is not None:
        (path / "metrics.json").write_text(json.dumps(summary))
    return path


def history(epochs=20, val=True, floor=0.1):
    """A run that learns: the loss falls from 2 towards ``floor``, the accuracy rises."""
    rows = []
    for e in range(1, epochs + 1):
        loss, acc = floor + (2 - floor) / e, 1 - floor / 2 - 0.45 / e
        row = [e, 10 * e, loss, acc] + ([loss * 1.2, acc - 0.02] if val else []) + [0.01, 0.1]
        rows.append(row)
    return rows


CONFIG = """\
name: toy
optimizer: {name: adam, learning_rate: 0.001}
data: {batch_size: 32}
model: [{Dense: {units: 8}}, {Dropout: {rate: 0.1}}, {Dense: {units: 2}}]
"""


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, after checking its signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def picture_problems(path, colours=(), line_pixels=500):
    """What is wrong with the picture at ``path``: [] for a plausible plot (even empty
    axes ink 1.5% of it; a curve in each of ``colours`` takes ``line_pixels`` or more)."""
    width, height = png_size(path)
    problems = [] if 600 <= width <= 3000 and 300 <= height <= 3000 else [
        f"size {width}x{height}"]
    image = pytest.importorskip("matplotlib.image").imread(path)[..., :3]
    inked = (image < 0.9).any(axis=-1)
    if not 0.015 <= inked.mean() <= 0.4:
        problems.append(f"{inked.mean():.3f} of the pixels inked")
    if not inked[: height // 12].any():
        problems.append("no title")
    for colour in colours:
        if (np.abs(image - colour).max(axis=-1) < 0.06).sum() < line_pixels:
            problems.append(f"no line in colour {colour}")
    return problems


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def test_a_real_run_draws_its_curves(mpl, tmp_path):
    run = tmp_path / "run"
    result = train("--config", ROOT / "configs/spirals.yaml", "--set", "training.epochs=3",
                   "--output", run, "--quiet")
    assert result.returncode == 0, result.stderr
    path = plot.write_curves(run)
    assert path == run / "curves.png"
    assert picture_problems(path, colours=(TRAIN, VAL)) == []
    assert not list(run.glob(".*.tmp"))  # written through atomic_write, nothing left over


def test_a_known_history_gives_a_known_picture(mpl, tmp_path):
    run = write_run(tmp_path / "run", history(), config=CONFIG)
    path = plot.write_curves(run)
    width, height = png_size(path)
    assert (width, height) == (1120, 495)  # two panels side by side, at 100 dpi
    assert picture_problems(path, colours=(TRAIN, VAL)) == []
    title = plot.read_run(run)["title"]
    assert title == "toy: adam lr=0.001, batch 32, 3 layers"


def test_the_checker_catches_a_blank_picture(mpl, tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    fig.savefig(tmp_path / "blank.png")
    problems = picture_problems(tmp_path / "blank.png", colours=(TRAIN,))
    assert any("inked" in p for p in problems) and "no title" in problems
    assert any("colour" in p for p in problems)


NO_VAL = ["epoch", "step", "loss", "accuracy", "lr", "time"]


@pytest.mark.parametrize("rows, columns, colours, line_pixels", [
    (history(1), COLUMNS, (TRAIN, VAL), 50),  # one point a curve: dots, and the legend's
    (history(1, val=False), NO_VAL, (TRAIN,), 50),
    ([[1, 10, 2.3, 0.1, 2.2, 0.1, 0.5, 0.0], [2, 20, 9.0, 0.1, math.nan, 0.1, 0.5, 0.1],
      [3, 30, math.nan, 0.1, math.inf, 0.1, 0.5, 0.2]], COLUMNS, (TRAIN, VAL), 300),
    (history(40, val=False), NO_VAL, (TRAIN,), 500),
], ids=["one-row", "one-row-no-validation", "diverged", "no-validation"])
def test_odd_histories_still_draw(mpl, tmp_path, rows, columns, colours, line_pixels):
    run = write_run(tmp_path / "run", rows, columns)
    path = plot.write_curves(run)
    assert picture_problems(path, colours, line_pixels) == []
    if VAL not in colours:
        image = mpl.image.imread(path)[..., :3]
        assert (np.abs(image - VAL).max(axis=-1) < 0.06).sum() == 0


def test_the_best_epoch(tmp_path):
    rows = history(10)
    rows[4][4] = 0.01  # the lowest val_loss, at epoch 5
    hist = plot.read_run(write_run(tmp_path / "a", rows))["history"]
    assert plot.best_epoch(hist) == (5, "val_loss", 0.01)
    early = {"best_epoch": 7, "best_value": 0.3, "monitor": "val_accuracy"}
    assert plot.best_epoch(hist, early) == (7, "val_accuracy", 0.3)
    no_val = plot.read_run(write_run(tmp_path / "b", history(6, val=False), NO_VAL))
    assert no_val["best"] == (6, "loss", pytest.approx(0.1 + 1.9 / 6))
    diverged = [[1, 1, math.nan, 0.1, math.nan, 0.1, 0.1, 0.1]]
    assert plot.read_run(write_run(tmp_path / "c", diverged))["best"] is None


def test_metrics_json_gives_the_best_epoch_and_the_test_results(tmp_path):
    summary = {"test_loss": 0.25, "test_accuracy": 0.9, "best_epoch": 3, "best_value": 0.5,
               "monitor": "val_loss"}
    run = plot.read_run(write_run(tmp_path / "run", history(5), summary=summary))
    assert run["best"] == (3, "val_loss", 0.5)
    assert run["subtitle"] == "5 epochs, 50 steps; test loss 0.25, accuracy 0.9"
    assert run["title"] == "run"  # no config.yaml: the directory's name alone


def test_compare_runs(mpl, tmp_path):
    a = write_run(tmp_path / "a", history(20), config=CONFIG)
    b = write_run(tmp_path / "b", history(30, floor=0.3),
                  config=CONFIG.replace("0.001", "0.01"))
    out = plot.compare_runs([a, b], tmp_path / "compare.png")
    assert out == tmp_path / "compare.png"
    assert picture_problems(out, colours=(TRAIN, VAL)) == []  # run a in C0, run b in C1


def test_compare_labels_runs_apart():
    runs = [{"name": "mlp", "dir": plot.Path(f"runs/{d}"), "settings": s}
            for d, s in (("x", "adam lr=0.1"), ("y", "adam lr=0.01"), ("z", "adam lr=0.01"))]
    short, labels = plot._run_labels(runs)
    assert short == ["x", "y", "z"]  # one name three times: the directories tell them apart
    assert labels == ["x: adam lr=0.1", "y: adam lr=0.01", "z: adam lr=0.01"]


def test_plot_main(mpl, tmp_path, monkeypatch, capsys):
    a = write_run(tmp_path / "a", history(5))
    b = write_run(tmp_path / "b", history(8))
    monkeypatch.chdir(tmp_path)
    assert plot.plot_main([str(a)]) == 0
    assert capsys.readouterr().out.strip() == str(a / "curves.png")
    assert png_size(a / "curves.png")
    assert plot.plot_main([str(a), str(b)]) == 0
    assert capsys.readouterr().out.strip() == "compare.png"
    assert png_size(tmp_path / "compare.png")
    assert plot.plot_main([str(a), "--output", str(tmp_path / "one.png")]) == 0
    assert png_size(tmp_path / "one.png")


@pytest.mark.parametrize("make, message", [
    (lambda d: d.mkdir(), "no metrics.csv"),
    (lambda d: None, "no such run directory"),
    (lambda d: (d.mkdir(), (d / "metrics.csv").write_text("epoch,step\n")), "no epochs"),
    (lambda d: (d.mkdir(), (d / "metrics.csv").write_text("epoch,step\n1,2\n")),
     "no loss or metric"),
])
def test_plot_main_refuses_what_is_not_a_run(mpl, tmp_path, capsys, make, message):
    make(tmp_path / "bad")
    assert plot.plot_main([str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "bad" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_plot_main_refuses_an_output_it_cannot_write(mpl, tmp_path, capsys):
    run = write_run(tmp_path / "run", history(3))
    assert plot.plot_main([str(run), "-o", str(tmp_path / "missing" / "x.png")]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot write {tmp_path}")


def without_matplotlib(monkeypatch):
    """Make every ``import matplotlib...`` fail, as where it is not installed."""
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_without_matplotlib_nothing_is_drawn(tmp_path, monkeypatch, capsys):
    run = write_run(tmp_path / "run", history(3))
    without_matplotlib(monkeypatch)
    assert plot.write_curves(run) is None
    assert not (run / "curves.png").exists()
    assert plot.plot_main([str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pip install 'minitrain[plot]'" in err
    assert err.count("\n") == 1
    with pytest.raises(plot.PlotError, match=r"minitrain\[plot\]"):
        plot.compare_runs([run, run], tmp_path / "c.png")


def test_minitrain_imports_and_trains_without_matplotlib(tmp_path):
    """In a fresh process where matplotlib cannot be imported: import minitrain (which must
    not import matplotlib by itself), train a tiny run, and plot it (which does nothing)."""
    code = f"""
import sys
sys.modules["matplotlib"] = None
import minitrain, minitrain.plot
sys.argv = ["train.py", "--config", {str(ROOT / "configs/spirals.yaml")!r}, "--set",
            "training.epochs=1", "--output", {str(tmp_path / "run")!r}, "--quiet"]
import runpy
try:
    runpy.run_path({str(ROOT / "train.py")!r}, run_name="__main__")
except SystemExit as stop:
    assert not stop.code, stop.code
assert minitrain.plot.write_curves({str(tmp_path / "run")!r}) is None
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "metrics.csv").exists()
    assert not (tmp_path / "run" / "curves.png").exists()


def test_importing_minitrain_does_not_import_matplotlib():
    code = "import sys, minitrain, minitrain.plot; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
