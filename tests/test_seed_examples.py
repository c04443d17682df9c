"""The issue's seed examples run verbatim, as TensorFlow code, after `import minitrain as tf`."""
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "seed_examples.py"

# The script exactly as the issue gives it; the comments state the expected output.
SEED = """\
x = tf.constant(3.0)
y = tf.constant(2.0)
tape = tf.GradientTape()
tape.watch(x)
z = x * y
gradient = tape.gradient(z, x)
print(gradient.numpy())  # Output should be 2.0

w = tf.Variable(5.0)
tape = tf.GradientTape()
tape.watch(w)
y = w * w
grad = tape.gradient(y, w)
print(grad.numpy())  # Output should be 10.0

x = tf.Variable(3.0)
with tf.GradientTape() as t1:
    with tf.GradientTape() as t2:
        y = x * x * x
    dy_dx = t2.gradient(y, x)
    d2y_dx2 = t1.gradient(dy_dx, x)
print(dy_dx.numpy())   # Output should be 27.0
print(d2y_dx2.numpy()) # Output should be 18.0
"""

EXPECTED = ["2.0", "10.0", "27.0", "18.0"]


def _run(args):
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_expected_output_is_the_one_the_comments_state():
    stated = [line.split("should be")[1].strip() for line in SEED.splitlines()
              if "should be" in line]
    assert stated == EXPECTED


@pytest.mark.parametrize("how", ["inline", "example file"])
def test_seed_examples_print_the_tensorflow_results(how):
    if how == "inline":
        lines = _run(["-c", "import minitrain as tf\n" + SEED])
    else:
        lines = _run([str(EXAMPLE)])
    assert lines == EXPECTED


def test_example_file_holds_the_seed_script_verbatim():
    text = EXAMPLE.read_text()
    assert "import minitrain as tf\n" in text
    assert SEED in text
