"""Bugs found reviewing the kit and the command line, each pinned by a test."""
import io
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from clirun import ENV, ROOT, TINY, train

import minitrain as mt
from minitrain.config import ConfigError, load_config
from minitrain.training import RunDirectory, checkpoint


def _train_module():
    """What train.py runs: ``minitrain train``."""
    from minitrain.cli import train
    return train


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


# --- the command line -------------------------------------------------------------------------
@pytest.mark.parametrize("blocked", ["config.yaml", "checkpoint.npz", "train.log"])
def test_a_run_file_that_cannot_be_written_exits_2_naming_it(tmp_path, tiny, blocked):
    out = tmp_path / "run"
    (out / blocked).mkdir(parents=True)  # where the file should go, a directory sits
    result = train("--config", tiny, "--output", out, "--quiet", "--overwrite")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"cannot write {out / blocked}" in result.stderr


def test_an_unusable_output_dir_is_told_as_output_dir_not_as_the_option(tmp_path, tiny):
    (tmp_path / "file").write_text("")
    result = train("--config", tiny, "--set", f"output.dir={tmp_path / 'file'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: output.dir: cannot use"), result.stderr


def test_a_config_that_is_not_text_exits_2(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00\x81" * 8)
    result = train("--config", path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "not UTF-8" in result.stderr


def test_ctrl_c_before_the_run_directory_exists_exits_130_without_a_traceback(
        tiny, monkeypatch, capsys):
    cli = _train_module()

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "resolve", interrupted)
    assert cli.main(["--config", str(tiny)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "--resume" not in err


def test_ctrl_c_mid_run_exits_130_and_the_run_resumes(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, str(ROOT / "train.py"), "--config", "configs/mlp.yaml",
               "--set", "training.epochs=500", "--set", "training.early_stopping=null",
               "--output", str(out), "--quiet"]
    # a fresh process group's SIGINT is not ignored, whatever the test runner's is
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.npz").is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err, err
    assert f"python train.py --resume --output {out}" in err
    # what --resume reads is there and whole
    assert load_config(out / "config.yaml")["training"]["epochs"] == 500
    assert checkpoint.load(out / "checkpoint.npz")["loop"]["step"] > 0


def test_a_closed_stdout_does_not_stop_the_run(tmp_path, monkeypatch):
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr(sys, "stdout", Closed())
    run_dir = RunDirectory(tmp_path / "run").open()
    run_dir.log("epoch 1")  # `train.py ... | head -1`: the reader has gone
    run_dir.log("epoch 2")
    assert run_dir.log_file.read_text() == "epoch 1\nepoch 2\n"


# --- saving ----------------------------------------------------------------------------------
def _model():
    model = mt.Sequential([mt.layers.Dense(2)])
    model(np.zeros((1, 3), np.float32))
    return model


def test_saved_weights_are_readable_like_every_other_run_file(tmp_path):
    old = os.umask(0o022)
    try:
        _model().save_weights(tmp_path / "w.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "w.npz").stat().st_mode & 0o777 == 0o644


def test_saving_into_a_missing_directory_names_the_file_not_a_temporary(tmp_path):
    target = tmp_path / "nowhere" / "w.npz"
    with pytest.raises(FileNotFoundError, match="nowhere") as info:
        _model().save_weights(target)
    assert ".tmp" not in str(info.value) and str(target) in str(info.value)


# --- layer sizes -------------------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda: mt.layers.Dense(0), "Dense: units"),
    (lambda: mt.layers.Dense(-3), "Dense: units"),
    (lambda: mt.layers.Dense(2.5), "Dense: units"),
    (lambda: mt.layers.Conv2D(0, 3), "Conv2D: filters"),
    (lambda: mt.layers.Embedding(0, 4), "Embedding: input_dim"),
    (lambda: mt.layers.Embedding(4, -1), "Embedding: output_dim"),
])
def test_a_layer_size_below_1_is_refused_when_made(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_a_whole_float_size_is_accepted():
    assert mt.layers.Dense(np.int64(3)).units == 3 and mt.layers.Dense(4.0).units == 4


def test_a_negative_units_in_a_config_names_the_layer():
    with pytest.raises(ConfigError, match=r"model\[0\]\.Dense\.units must be a whole number"):
        load_config(data={**_tiny_data(), "model": [{"Dense": {"units": -1}}]})


# --- learning rates ----------------------------------------------------------------------------
@pytest.mark.parametrize("rate, error", [
    (-0.1, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
    ("abc", TypeError), (None, TypeError),
])
@pytest.mark.parametrize("cls", [mt.optimizers.SGD, mt.optimizers.Adam, mt.optimizers.RMSprop])
def test_a_learning_rate_that_is_not_a_rate_is_refused(cls, rate, error):
    with pytest.raises(error, match="learning_rate"):
        cls(learning_rate=rate)
    optimizer = cls(learning_rate=0.1)
    with pytest.raises(error, match="learning_rate"):
        optimizer.learning_rate = rate
    assert float(optimizer.learning_rate) == pytest.approx(0.1)


def test_a_negative_learning_rate_in_a_config_exits_2(tiny):
    result = train("--config", tiny, "--set", "optimizer={name: adam, learning_rate: -1}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "optimizer.learning_rate must be a number above 0" in result.stderr


def _tiny_data():
    return yaml.safe_load(TINY)


# --- config: argument types, duplicate keys ----------------------------------------------------
@pytest.mark.parametrize("override, message", [
    # a string where a number belongs failed at the first step, with a traceback
    ("optimizer={name: adam, epsilon: abc}", "optimizer.epsilon must be a number"),
    ("loss={name: huber, delta: abc}", "loss.delta must be a number"),
    # a string where a boolean belongs counted as true
    ("model=[{Dense: {units: 2, use_bias: maybe}}]", "model[0].Dense.use_bias must be true or"),
    ("optimizer={name: sgd, nesterov: 1}", "optimizer.nesterov must be true or false"),
    ("loss={name: sparse_categorical_crossentropy, from_logits: 'yes'}",
     "loss.from_logits must be true or false"),
])
def test_an_argument_of_the_wrong_type_is_a_config_error(tiny, override, message):
    result = train("--config", tiny, "--set", override, "--quiet")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr


def test_a_whole_number_is_a_number():
    data = {**_tiny_data(), "optimizer": {"name": "adam", "learning_rate": 1, "beta_1": 0}}
    assert load_config(data=data)["optimizer"]["learning_rate"] == 1


@pytest.mark.parametrize("text, line, key", [
    ("seed: 1\nseed: 2\n" + TINY, 2, "seed"),
    (TINY + "data: {source: moons}\n", 6, "data"),
    (TINY.replace("optimizer: adam", "optimizer: {name: adam, name: sgd}"), 4, "name"),
], ids=["top", "section", "nested"])
def test_a_key_given_twice_is_refused_not_silently_overwritten(tmp_path, text, line, key):
    path = tmp_path / "twice.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"line {line}: .*duplicate key '{key}'"):
        load_config(path)


@pytest.mark.parametrize("name", ["a/b", "../elsewhere", "..", "."])
def test_a_run_name_that_is_a_path_is_refused(name):
    # runs/<name>-<date>: 'a/b' made nested directories, '../x' a run outside output.dir
    with pytest.raises(ConfigError, match="name names the run directories"):
        load_config(data={**_tiny_data(), "name": name})


def test_resume_finds_this_configs_latest_run_not_one_of_a_longer_name(tmp_path):
    ours, theirs = tmp_path / "mlp-20250101-120000", tmp_path / "mlp-big-20250101-120001"
    for run in (ours, theirs):
        run.mkdir()
        (run / "config.yaml").write_text("")
    os.utime(theirs, (time.time() + 10, time.time() + 10))  # the other config ran later
    assert RunDirectory.latest(tmp_path, "mlp") == ours
    assert RunDirectory.latest(tmp_path, "mlp-big") == theirs
    (tmp_path / "mlp-20250101-120000-2").mkdir()  # a second run in the same second counts
    (tmp_path / "mlp-20250101-120000-2" / "config.yaml").write_text("")
    os.utime(tmp_path / "mlp-20250101-120000-2", (time.time() + 20, time.time() + 20))
    assert RunDirectory.latest(tmp_path, "mlp").name == "mlp-20250101-120000-2"
