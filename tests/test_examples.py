"""The examples the README shows run, and do what they say."""
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_custom_training_loop_learns_the_digits():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_training_loop.py"), "--epochs", "4"],
        capture_output=True, text=True, timeout=120, check=True)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith("epoch  1")
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", lines[-1]).group(1))
    assert accuracy > 0.85, result.stdout


def test_the_dcgan_tutorial_trains_on_the_digits():
    """TensorFlow's DCGAN tutorial as a TF user writes it (two tapes, mt.keras), a few epochs."""
    result = subprocess.run(
        [sys.executable, "-W", "ignore", str(EXAMPLES / "dcgan.py"), "--epochs", "3"],
        capture_output=True, text=True, timeout=300, check=True)
    lines = result.stdout.strip().splitlines()
    losses = [tuple(map(float, re.search(r"gen_loss (\S+), disc_loss (\S+)", line).groups()))
              for line in lines[:-1]]
    assert len(losses) == 3 and all(0 < g < 10 and 0 < d < 10 for g, d in losses), result.stdout
    assert lines[-1].startswith("generated 16 images of shape (8, 8, 1)"), result.stdout
    low, high = map(float, re.search(r"\[(\S+), (\S+)\]", lines[-1]).groups())
    assert -1 <= low < high <= 1  # the generator's tanh


def test_the_keras_fit_example_learns_the_digits():
    result = subprocess.run([sys.executable, "-W", "ignore", str(EXAMPLES / "keras_fit.py")],
                            capture_output=True, text=True, timeout=300, check=True)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "Epoch 1/5" and "val_accuracy" in lines[1], result.stdout
    assert float(re.search(r"test accuracy (\S+)", lines[-2]).group(1)) > 0.8, result.stdout
    assert lines[-1] == "(2, 10)"
