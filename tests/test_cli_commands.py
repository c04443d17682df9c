"""The command line a user expects: ``minitrain`` and its subcommands, --help with the names,
--print-config, --dry-run, --threads, a resume that extends a run, data paths taken from the
config file's directory, and a regular (not editable) install that works from anywhere."""
import importlib.util
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml
from clirun import ENV, ROOT, TINY, refused, train

from minitrain.cli.common import blas_threads
from minitrain.training import RunDirectory


def minitrain(*args, cwd=ROOT, python=sys.executable):
    return subprocess.run([python, "-m", "minitrain", *map(str, args)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_the_command_lists_its_subcommands_and_suggests_for_a_typo():
    result = minitrain("--help")
    assert result.returncode == 0
    assert all(name in result.stdout for name in ("train", "predict", "plot"))
    typo = minitrain("trian")
    assert typo.returncode == 2 and "did you mean 'train'?" in typo.stderr
    assert minitrain().returncode == 2  # no command: the usage, and a mistake


def test_train_help_shows_examples_and_the_names_a_config_may_use():
    result = minitrain("train", "--help")
    assert result.returncode == 0
    for fragment in ("examples:", "--print-config", "--dry-run", "--threads", "cuda",
                     "data.source: csv, digits", "Dense", "sparse_categorical_crossentropy",
                     "adam", "exponential_decay"):
        assert fragment in result.stdout, fragment


def test_print_config_prints_the_resolved_config_and_writes_nothing(tmp_path, tiny):
    result = train("--config", tiny, "--set", "training.epochs=7", "--print-config",
                   "--output", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert printed["training"]["epochs"] == 7 and printed["threads"] == 1
    assert printed["data"]["batch_size"] == 32  # a default, filled in
    assert not (tmp_path / "run").exists()


def test_dry_run_builds_and_trains_one_batch_and_writes_nothing(tmp_path, tiny):
    result = train("--config", tiny, "--dry-run", "--output", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dry run: built, and one training step on a batch of 32")
    assert not (tmp_path / "run").exists()
    assert refused(train("--config", tiny, "--dry-run", "--set", "model.0.Dense.units=0"))


def test_threads_are_a_choice_recorded_in_the_run(tmp_path, tiny):
    assert train("--config", tiny, "--threads", "2", "--output", tmp_path / "run",
                 "--quiet").returncode == 0
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["threads"] == 2
    assert "2 BLAS threads" in (tmp_path / "run" / "train.log").read_text()
    bad = train("--config", tiny, "--threads", "0")
    assert bad.returncode == 2 and "threads" in bad.stderr


def test_blas_threads_sets_the_blas_librarys_own_count():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with blas_threads(1):
        counts = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                  if pool["user_api"] == "blas"]
    assert counts and all(count == 1 for count in counts)


def test_resume_extends_a_finished_run_exactly_as_a_longer_run(tmp_path, tiny):
    short, whole = tmp_path / "short", tmp_path / "whole"
    assert train("--config", tiny, "--output", short, "--quiet").returncode == 0
    result = train("--resume", "--output", short, "--set", "training.epochs=3", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "of training over all sessions" in result.stdout  # the run's total time
    assert train("--config", tiny, "--set", "training.epochs=3", "--output", whole,
                 "--quiet").returncode == 0
    assert yaml.safe_load((short / "config.yaml").read_text())["training"]["epochs"] == 3
    for name in ("weights.npz",):
        with np.load(short / name) as a, np.load(whole / name) as b:
            assert all(np.array_equal(a[k], b[k]) for k in a.files)
    rows = [line.split(",")[:2] for line in (short / "metrics.csv").read_text().splitlines()]
    assert rows[1:] == [["1", "3"], ["2", "6"], ["3", "9"]]


def test_resume_refuses_any_other_change_showing_both_values(tmp_path, tiny):
    out = tmp_path / "run"
    assert train("--config", tiny, "--output", out, "--quiet").returncode == 0
    result = train("--resume", "--output", out, "--set", "model.0.Dense.units=3")
    assert refused(result), result.stderr
    assert "'model[0].Dense.units' differs" in result.stderr
    assert "2 there, 3 here" in result.stderr


def test_ctrl_c_before_the_first_checkpoint_does_not_advise_resume(tmp_path):
    from minitrain.cli.train import _how_to_continue
    run_dir = RunDirectory(tmp_path).open()
    run_dir.write_config({"epochs": 1})
    assert "--resume" not in _how_to_continue(run_dir)
    assert "nothing to resume from" in _how_to_continue(run_dir)


def _npz_run_config(directory):
    directory.mkdir()
    rng = np.random.default_rng(0)
    x = rng.random((60, 3))
    np.savez(directory / "data.npz", x=x, y=(x.sum(axis=1) > 1.5).astype(np.int64))
    text = TINY.replace("{source: spirals, options: {n_samples: 100}}",
                        "{source: npz, options: {path: data.npz}}")
    (directory / "c.yaml").write_text(text)
    return directory / "c.yaml"


def test_a_data_path_is_taken_from_the_config_files_directory_and_saved_whole(tmp_path):
    config = _npz_run_config(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "run"
    assert train("--config", config, "--output", out, "--quiet",
                 cwd=elsewhere).returncode == 0
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["data"]["options"]["path"] == str(tmp_path / "project" / "data.npz")
    # resumed from yet another directory, with the saved config alone
    result = train("--resume", "--output", out, "--set", "training.epochs=2", "--quiet",
                   cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def _copy_of_the_project(target):
    """The project's files as a clone has them (no build outputs, no caches)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        source = ROOT / name
        if source.is_symlink() or source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                os.symlink(os.readlink(source), target / name)
            else:
                shutil.copy2(source, target / name)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the project's files")
def test_a_regular_install_runs_from_anywhere_with_the_shipped_digits(tmp_path):
    source, target = tmp_path / "source", tmp_path / "installed"
    _copy_of_the_project(source)
    # a regular (wheel) install into a directory of its own, with this environment's build
    # tools and dependencies: the copy is all the installed minitrain can come from
    # this environment's setuptools builds the wheel if it can (70.1 and later have
    # bdist_wheel); an older one, as a fresh venv may have, is replaced by pip's isolated build
    isolation = [] if importlib.util.find_spec("setuptools.command.bdist_wheel") is None else [
        "--no-build-isolation"]
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", *isolation,
                              "-q", "--target", target, source],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    shutil.rmtree(source)
    env = {**ENV, "PYTHONPATH": str(target)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*command):
        return subprocess.run(list(map(str, command)), cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=120)
    where = run(sys.executable, "-c", "import minitrain.data.images as i; "
                "print(i.DIGITS_PATH.resolve())")
    assert where.stdout.startswith(str(target)), where.stdout + where.stderr
    (elsewhere / "digits.yaml").write_text(
        "data: {source: digits}\nmodel: [{Dense: {units: 10}}]\n"
        "loss: {name: sparse_categorical_crossentropy, from_logits: true}\n"
        "optimizer: adam\ntraining: {epochs: 1}\n")
    trained = run(target / "bin" / "minitrain", "train", "--config", "digits.yaml",
                  "--output", "run", "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert "test_accuracy" in trained.stdout
    assert run(sys.executable, "-m", "minitrain", "--help").returncode == 0
    predicted = run(target / "bin" / "minitrain", "predict", "run", "--input",
                    target / "minitrain" / "datasets" / "digits.npz")
    assert predicted.returncode == 2 and "no array 'x'" in predicted.stderr  # images, labels


def test_names_match_in_any_case_wherever_a_name_is_accepted():
    from minitrain.config import build, load_config
    config = load_config(ROOT / "configs" / "mlp.yaml", [
        "data.source=DIGITS", "data.normalize.method=Scale", "training.checkpoint.unit=EPOCH",
        "training.early_stopping.mode=Min", "optimizer.name=Adam",
        "loss.name=Sparse_Categorical_Crossentropy", "model.0.Dense.activation=relu"])
    assert config["data"]["normalize"]["method"] == "scale"  # the canonical spelling is kept
    assert config["training"]["checkpoint"]["unit"] == "epoch"
    assert build(config).model.built
