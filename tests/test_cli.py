"""train.py end to end, in subprocesses: exit statuses, messages, the shipped configs, the
run directory, and a run killed with SIGKILL and resumed."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from minitrain.config import load_config

ROOT = Path(__file__).resolve().parents[1]
# tiny matrices: BLAS threads only contend with each other (and with parallel test runs)
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def train(*args, cwd=ROOT, wait=True):
    command = [sys.executable, str(ROOT / "train.py"), *map(str, args)]
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
    return subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("name", ["mlp", "cnn", "spirals", "regression"])
def test_each_shipped_config_runs_an_epoch_and_fills_the_run_directory(tmp_path, name):
    out = tmp_path / "run"
    result = train("--config", f"configs/{name}.yaml", "--set", "training.epochs=1",
                   "--output", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads((out / "metrics.json").read_text())
    assert np.isfinite(summary["test_loss"]) and summary["wall_time_s"] > 0
    assert ("test_accuracy" in summary) == (name != "regression")
    assert f"test_loss {summary['test_loss']:.4f}" in result.stdout
    assert str(out) in result.stdout.splitlines()[-1]  # the summary names the run directory
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[0].startswith("epoch,step,loss")
    assert (out / "weights.npz").is_file() and (out / "checkpoint.npz").is_file()
    assert "epoch 1/1" in (out / "train.log").read_text()
    # the saved config is the resolved one, and valid as it stands
    saved = load_config(out / "config.yaml")
    assert saved["training"]["epochs"] == 1 and saved["name"] == name


def _write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


GOOD = """\
data: {source: spirals, options: {n_samples: 100}}
model:
  - Dense: {units: 8, activation: relu}
  - Dense: {units: 2}
loss: {name: sparse_categorical_crossentropy, from_logits: true}
optimizer:
  name: adam
  learning_rate: 0.01
training: {epochs: 1}
"""

# (what is wrong, the file's text, extra arguments, fragments the message must hold)
ERRORS = [
    ("misspelt key", GOOD.replace("learning_rate", "learnin_rate"), [],
     ["bad.yaml, line 8", "unknown key 'learnin_rate' in optimizer; did you mean "
      "'learning_rate'?"]),
    ("wrong type", GOOD.replace("epochs: 1", "epochs: ten"), [],
     ["bad.yaml, line 9", "training.epochs must be a whole number, got 'ten'"]),
    ("missing field", GOOD.replace("training: {epochs: 1}", "training: {}"), [],
     ["bad.yaml, line 9", "missing required key 'epochs' in training"]),
    ("missing section", GOOD.replace("loss: {name: sparse_categorical_crossentropy, "
                                     "from_logits: true}\n", ""), [],
     ["bad.yaml", "missing required key 'loss' at the top level"]),
    ("unknown layer", GOOD.replace("- Dense: {units: 2}", "- Dens: {units: 2}"), [],
     ["bad.yaml, line 4", "unknown layer 'Dens' in model[1]; did you mean 'Dense'?"]),
    ("layer argument", GOOD.replace("units: 2", "unit: 2"), [],
     ["line 4", "unknown key 'unit' in model[1].Dense; did you mean 'units'?"]),
    ("unknown optimizer", GOOD.replace("name: adam", "name: adma"), [],
     ["line 7", "unknown optimizer 'adma' in optimizer; did you mean 'adam'?"]),
    ("unknown loss", GOOD.replace("categorical_crossentropy", "categorical_crossentopy"), [],
     ["line 5", "unknown loss 'sparse_categorical_crossentopy'", "did you mean "
      "'sparse_categorical_crossentropy'?"]),
    ("unknown dataset", GOOD.replace("source: spirals", "source: spiral"), [],
     ["line 1", "unknown data source 'spiral' in data; did you mean 'spirals'?"]),
    ("YAML syntax", GOOD.replace("{epochs: 1}", "{epochs: 1"), [],
     ["bad.yaml, line 10", "YAML syntax error"]),
    ("bad override key", GOOD, ["--set", "optimizer.learnin_rate=0.1"],
     ["--set optimizer.learnin_rate=0.1: unknown key 'learnin_rate' in optimizer; did you "
      "mean 'learning_rate'?"]),
    ("bad override type", GOOD, ["--set", "data.batch_size=many"],
     ["--set data.batch_size=many: data.batch_size must be a whole number"]),
    ("override without =", GOOD, ["--set", "training.epochs"],
     ["--set training.epochs: expected key.path=value"]),
    ("unknown device", GOOD, ["--device", "tpu"], ["--device tpu: unknown device 'tpu'"]),
]


@pytest.mark.parametrize("text, args, fragments", [case[1:] for case in ERRORS],
                         ids=[case[0] for case in ERRORS])
def test_a_config_mistake_exits_2_with_one_clear_message(tmp_path, text, args, fragments):
    result = train("--config", _write(tmp_path, text), *args, "--output", tmp_path / "run")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert not (tmp_path / "run").exists()  # nothing ran


def test_a_missing_config_file_exits_2(tmp_path):
    result = train("--config", tmp_path / "nope.yaml")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "nope.yaml: config file not found" in result.stderr


def test_help_describes_every_option():
    result = train("--help")
    assert result.returncode == 0
    for option in ("--config", "--set", "--device", "--resume", "--output", "--quiet"):
        assert option in result.stdout


def test_a_diverging_run_exits_1_naming_the_step_and_checkpoint(tmp_path):
    result = train("--config", "configs/regression.yaml", "--set", "optimizer.name=sgd",
                   "--set", "optimizer.learning_rate=10", "--set", "training.epochs=3",
                   "--set", "training.checkpoint.unit=step", "--set",
                   "training.checkpoint.every=2", "--output", tmp_path / "run")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "training stopped:" in message and " at step " in message
    assert f"last good checkpoint is {tmp_path / 'run' / 'checkpoint.npz'}" in message
    assert "RuntimeWarning" not in result.stderr
    assert message[len("error: "):] in (tmp_path / "run" / "train.log").read_text()


LONG = ["--set", "training.epochs=30", "--set", "training.checkpoint.unit=step",
        "--set", "training.checkpoint.every=5", "--set", "data.options.n_samples=400",
        "--quiet"]


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    process = train("--config", "configs/spirals.yaml", *LONG, "--output", killed, wait=False)
    deadline = time.monotonic() + 60
    while not (killed / "checkpoint.npz").exists() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL  # killed mid-run, not finished
    assert not (killed / "weights.npz").exists()
    result = train("--resume", "--output", killed, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "resumed from" in result.stdout
    assert train("--config", "configs/spirals.yaml", *LONG, "--output", whole).returncode == 0
    with np.load(whole / "weights.npz") as a, np.load(killed / "weights.npz") as b:
        assert a.files == b.files
        for key in a.files:
            assert np.array_equal(a[key], b[key])
    assert (json.loads((whole / "metrics.json").read_text())["test_loss"]
            == json.loads((killed / "metrics.json").read_text())["test_loss"])


def test_resume_refuses_a_different_config(tmp_path):
    out = tmp_path / "run"
    assert train("--config", "configs/regression.yaml", "--set", "training.epochs=1",
                 "--output", out).returncode == 0
    result = train("--config", "configs/regression.yaml", "--set", "training.epochs=1",
                   "--set", "optimizer.learning_rate=0.5", "--resume", "--output", out)
    assert result.returncode == 2
    assert "'optimizer.learning_rate' differs from the run's saved config" in result.stderr


def test_the_default_run_directory_is_named_after_the_config(tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "regression.yaml").read_text())
    config["output"]["dir"] = str(tmp_path / "runs")
    config["training"]["epochs"] = 1
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(config))
    result = train("--config", path)
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("regression-") and (run / "metrics.json").is_file()


def test_the_mlp_config_reaches_its_documented_test_accuracy(tmp_path):
    result = train("--config", "configs/mlp.yaml", "--quiet", "--output", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert summary["test_accuracy"] >= 0.97
