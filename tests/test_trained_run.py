"""A run directory is a usable model: ``mt.load_run`` and ``minitrain predict`` apply the
preprocessing fitted on the training split to new raw data, and reach the run's numbers."""
import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from clirun import ENV, ROOT, train

import minitrain as mt
from minitrain.trained import RunError

# the raw test images of the mlp config's split (config: seed 0, val 0.1, test 0.2, stratified)
SPLIT = """
import minitrain as mt
images = mt.data.load_source("digits", flatten=False)  # uint8, 8x8x1: not what the run saw
train, val, test = mt.data.train_val_test_split(images, val=0.1, test=0.2, seed=0,
                                                stratify=True)
"""


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "mlp"
    result = train("--config", "configs/mlp.yaml", "--set", "training.epochs=5", "--output", out,
                   "--quiet")
    assert result.returncode == 0, result.stderr
    return out


def test_a_fresh_process_elsewhere_predicts_raw_images_at_the_runs_test_accuracy(
        digits_run, tmp_path):
    script = SPLIT + f"""
run = mt.load_run({str(digits_run)!r})
predictions = run.predict(test.features)
print(float((predictions.classes == test.labels).mean()))
print(run.evaluate(test.features, test.labels)["accuracy"])
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=ENV,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    accuracy, evaluated = map(float, result.stdout.split())
    expected = json.loads((digits_run / "metrics.json").read_text())["test_accuracy"]
    assert accuracy == pytest.approx(expected, abs=1e-6)
    assert evaluated == pytest.approx(expected, abs=1e-6)


def test_predictions_hold_classes_and_probabilities(digits_run):
    run = mt.load_run(digits_run)
    namespace = {}
    exec(SPLIT, namespace)
    predictions = run.predict(namespace["test"].features[:7])
    assert predictions.classes.shape == (7,) and predictions.classes.dtype == np.int64
    assert predictions.probabilities.shape == (7, 10)
    np.testing.assert_allclose(predictions.probabilities.sum(axis=1), 1, rtol=1e-5)
    assert np.array_equal(predictions.classes, predictions.probabilities.argmax(axis=1))
    assert np.array_equal(predictions.names, predictions.classes)  # the digits have no names
    with pytest.raises(ValueError, match=r"trained on samples of shape \(64,\)"):
        run.predict(np.zeros((2, 63)))


def test_minitrain_predict_writes_a_csv_and_reports_the_labelled_accuracy(digits_run,
                                                                          tmp_path):
    namespace = {}
    exec(SPLIT, namespace)
    test = namespace["test"]
    np.savez(tmp_path / "new.npz", x=test.features, y=test.labels)
    result = subprocess.run([sys.executable, "-m", "minitrain", "predict", digits_run,
                             "--input", tmp_path / "new.npz", "--output", tmp_path / "p.csv"],
                            cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text())))
    assert len(rows) == len(test) and list(rows[0])[:3] == ["class", "name", "p_0"]
    accuracy = np.mean([int(r["class"]) == y for r, y in zip(rows, test.labels)])
    expected = json.loads((digits_run / "metrics.json").read_text())["test_accuracy"]
    assert accuracy == pytest.approx(expected, abs=1e-6)
    assert f"accuracy {expected:.4f}  on {len(test)} labelled samples" in result.stderr


SPECIES = ["setosa", "versicolor", "virginica"]
IRIS_LIKE = "length,width,species\n" + "".join(
    f"{1 + i % 3 + 0.1 * (i % 5)},{2 + 0.2 * (i % 4)},{SPECIES[i % 3]}\n" for i in range(90))


def test_a_csv_run_with_class_names_predicts_names(tmp_path):
    (tmp_path / "flowers.csv").write_text(IRIS_LIKE)
    (tmp_path / "c.yaml").write_text(
        "data: {source: csv, options: {path: flowers.csv, label: species}}\n"
        "model: [{Dense: {units: 16, activation: relu}}, {Dense: {units: 3}}]\n"
        "loss: {name: sparse_categorical_crossentropy, from_logits: true}\n"
        "optimizer: {name: adam, learning_rate: 0.05}\ntraining: {epochs: 30}\n")
    assert train("--config", tmp_path / "c.yaml", "--output", tmp_path / "run",
                 "--quiet").returncode == 0
    run = mt.load_run(tmp_path / "run")
    assert run.class_names == ["setosa", "versicolor", "virginica"]
    predictions = run.predict([[1.0, 2.0], [3.4, 2.6]])
    assert set(predictions.names) <= set(run.class_names)
    scores = run.evaluate([[1.0, 2.0], [2.1, 2.2]], ["setosa", "versicolor"])
    assert set(scores) == {"loss", "accuracy"}
    with pytest.raises(ValueError, match="not among the run's classes"):
        run.evaluate([[1.0, 2.0]], ["rose"])
    # the command line reads the same CSV, label column and all, and names the classes
    result = subprocess.run([sys.executable, "-m", "minitrain", "predict", tmp_path / "run",
                             "--input", tmp_path / "flowers.csv"], cwd=tmp_path, env=ENV,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 90 and {r["name"] for r in rows} <= set(run.class_names)
    assert list(rows[0]) == ["class", "name", "p_setosa", "p_versicolor", "p_virginica"]
    assert "on 90 labelled samples" in result.stderr


def test_a_regression_run_predicts_values(tmp_path):
    assert train("--config", "configs/regression.yaml", "--set", "training.epochs=2",
                 "--output", tmp_path / "run", "--quiet").returncode == 0
    run = mt.load_run(tmp_path / "run")
    features = run.preprocessing["feature_shape"][0]
    predictions = run.predict(np.linspace(-1, 1, 5 * features).reshape(5, features))
    assert predictions.classes is None and predictions.outputs.shape == (5, 1)
    result = subprocess.run([sys.executable, "-m", "minitrain", "predict", tmp_path / "run",
                             "--input", _csv(tmp_path / "x.csv", np.zeros((3, features)))],
                            cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.splitlines()[0] == "prediction"


def _csv(path, rows):
    np.savetxt(path, rows, delimiter=",")
    return path


def test_a_directory_that_is_no_run_is_refused_naming_the_file(tmp_path):
    with pytest.raises(RunError, match="config.yaml is missing"):
        mt.load_run(tmp_path)
    result = subprocess.run([sys.executable, "-m", "minitrain", "predict", tmp_path, "--input",
                             "x.csv"], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
