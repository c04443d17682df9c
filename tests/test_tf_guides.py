"""TensorFlow's guides, run as a TensorFlow user wrote them, print TensorFlow's numbers.

Each program in examples/tf_guides/ is one guide's code cells in order, with
`import minitrain as tf` (its docstring says what was skipped or stood in, and why). It runs
once, in a subprocess; what it prints is compared with what the guide's page shows for
TensorFlow, word by word, whitespace aside, in this notation:

- text must be the same; a number must equal the page's within 1e-6 (relative): exact,
  since the maths is deterministic, to a few float32 roundings;
- `{v±t}`: a number within t of v (randomness, or data that stand in for a download);
  `{a..b}`: a number from a to b;
- `#`: any number; `…`: anything, up to what follows it.

The outputs are tensorflow.org's pages as they stood on 2024-08-15; for the autodiff guide a
transcription of its page, and for the basic training loops, whose noise changes every run,
a run of the same notebook.

A test marked xfail fails for a gap in minitrain's TensorFlow surface: its reason names the
API, the program's first line that fails and the error.
"""
import functools
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDES = Path(__file__).resolve().parents[1] / "examples" / "tf_guides"

NUMBER = r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
EXPECTED_TOKEN = re.compile(rf"(?P<spec>\{{[^{{}}]*\}})|(?P<any>…)|(?P<wild>#)|(?P<num>{NUMBER})")
ACTUAL_TOKEN = re.compile(NUMBER)
ANY = ("any",)


# --- the comparison --------------------------------------------------------------------------

def _words(text):
    return [("text", word) for word in text.split()]


def expected_tokens(text):
    tokens, at = [], 0
    for m in EXPECTED_TOKEN.finditer(text):
        tokens += _words(text[at:m.start()])
        at = m.end()
        if m["any"]:
            tokens.append(ANY)
        elif m["wild"]:
            tokens.append(("range", -math.inf, math.inf, "#"))
        elif m["num"]:
            value = float(m["num"])
            tolerance = 1e-6 * max(1.0, abs(value))
            tokens.append(("range", value - tolerance, value + tolerance, m["num"]))
        else:
            spec = m["spec"][1:-1]
            if "±" in spec:
                value, tolerance = (float(part) for part in spec.split("±"))
                low, high = value - tolerance, value + tolerance
            else:
                low, high = (float(part) for part in spec.split(".."))
            tokens.append(("range", low, high, m["spec"]))
    return tokens + _words(text[at:])


def actual_tokens(stdout):
    """(token, line number) pairs: each number alone, the text between split at whitespace."""
    tokens = []
    for number, line in enumerate(stdout.splitlines(), 1):
        at = 0
        for m in ACTUAL_TOKEN.finditer(line):
            tokens += [(word, number) for word in _words(line[at:m.start()])]
            tokens.append((("number", float(m[0]), m[0]), number))
            at = m.end()
        tokens += [(word, number) for word in _words(line[at:])]
    return tokens


def _matches(want, got):
    if want[0] == "text":
        return got == want
    return got[0] == "number" and want[1] <= got[1] <= want[2]


def _shown(token):
    return token[1] if token[0] == "text" else token[-1]


def mismatch(expected, stdout):
    """None when `stdout` reads as `expected`; else where and how it differs."""
    want, got = expected_tokens(expected), actual_tokens(stdout)
    lines = stdout.splitlines()
    i = j = 0
    while i < len(want):
        if want[i] is ANY:
            i += 1
            if i == len(want):
                return None
            while j < len(got) and not _matches(want[i], got[j][0]):
                j += 1
            continue
        context = " ".join(_shown(t) for t in want[i:i + 8] if t is not ANY)
        if j == len(got):
            return f"the output ends where the guide goes on with: {context}"
        token, line = got[j]
        if not _matches(want[i], token):
            return (f"output line {line}: {lines[line - 1]!r}\n"
                    f"  has {_shown(token)!r} where the guide has {_shown(want[i])!r} "
                    f"(the guide goes on: {context})")
        i, j = i + 1, j + 1
    if j < len(got):
        line = got[j][1]
        return f"output line {line} is more than the guide prints: {lines[line - 1]!r}"
    return None


# TensorFlow draws fresh noise and weights each run where a guide sets no seed, and so does
# minitrain; the run starts from a fixed global seed so that CI is not a draw. The bands
# below still cover the spread over many unseeded runs, and a guide's own set_seed wins.
_SEEDED = "import runpy, sys, minitrain; minitrain.random.set_seed(0); " \
          "sys.argv = [sys.argv[1]]; runpy.run_path(sys.argv[0], run_name='__main__')"


@functools.cache
def run(guide):
    return subprocess.run([sys.executable, "-c", _SEEDED, str(GUIDES / f"{guide}.py")],
                          capture_output=True, text=True, timeout=600, cwd=GUIDES.parents[1])


def failing_line(guide, stderr):
    """The program's own line where it failed, and the error, from its traceback."""
    path = GUIDES / f"{guide}.py"
    frames = re.findall(rf'File "{re.escape(str(path))}", line (\d+)', stderr)
    error = stderr.strip().splitlines()[-1] if stderr.strip() else "(no traceback)"
    if not frames:
        return error
    number = int(frames[-1])
    return f"line {number}: {path.read_text().splitlines()[number - 1].strip()}\n  {error}"


def check(guide, expected, extra=None):
    done = run(guide)
    problem = mismatch(expected, done.stdout)
    if done.returncode != 0:
        pytest.fail(f"{guide}.py failed (exit {done.returncode}) at "
                    f"{failing_line(guide, done.stderr)}\n"
                    f"its output until then: {problem or 'as the guide prints'}")
    assert problem is None, problem
    if extra is not None:
        extra(done.stdout)


def test_the_comparison_reads_numbers_tolerances_and_wildcards():
    assert mismatch("x: 6.0\n[  4. 108.]", "x: 6\n[4. 108.]") is None
    assert mismatch("loss={1.0±0.1} W = #", "loss=1.05 W = -3e-2") is None
    assert mismatch("TensorFlow version: …\nok {0..1}", "TensorFlow version: 0.1.0\nok 0.5") is None
    assert "has '7.0' where the guide has '6.0'" in mismatch("x: 6.0", "x: 7.0")
    assert "has 'Tensor' where the guide has 'EagerTensor'" in mismatch(
        "EagerTensor : None", "Tensor : None")
    assert "has 'None'" in mismatch("grad: {0..1}", "grad: None")
    assert "ends where the guide goes on with: 7.0" in mismatch("6.0 7.0", "6.0")
    assert "more than the guide prints" in mismatch("6.0", "6.0\n7.0")
    assert expected_tokens("dtype=float32") == [("text", "dtype=float32")]  # 32: no number


# --- the guides ------------------------------------------------------------------------------

AUTODIFF = """\
6.0
(3, 2)
(3, 2)
<tf.Tensor: shape=(2,), dtype=float32, numpy=array([#, #], dtype=float32)>
tf.Tensor(6.0, shape=(), dtype=float32)
None
None
None
['x0:0']
6.0
dy/dx0: None
dy/dx1: 0.9999546
18.0
[  4. 108.]
[2. 6.]
4.0
-0.25
3.75
7.0
tf.Tensor(1.0, shape=(), dtype=float32)
None
None
None
Variable : tf.Tensor(1.0, shape=(), dtype=float32)
Tensor : None
None
None
None
LookupError: gradient registry has no entry for: AdjustContrastv2
tf.Tensor([0. 0.], shape=(2,), dtype=float32)
"""

ADVANCED_AUTODIFF = """\
dz/dx: tf.Tensor(4.0, shape=(), dtype=float32)
dz/dy: None
dz/dx: tf.Tensor(4.0, shape=(), dtype=float32)
dz/dy: None
dz/dx: tf.Tensor(4.0, shape=(), dtype=float32)
dz/dy: None
tf.Tensor(2.0, shape=(), dtype=float32)
tf.Tensor(2.0, shape=(), dtype=float32)
1.0
0.25
dy_dx: 3.0
d2y_dx2: 6.0
[TensorShape([5, 10]), TensorShape([10])]
(201,)
(201,)
TensorShape([7, 10])
TensorShape([5, 10])
TensorShape([7, 10, 5, 10])
g.shape: (5, 10)
delta: {0..0.001}
layer.kernel.shape: (5, 8)
h.shape: (5, 8, 5, 8)
TensorShape([7, 6])
TensorShape([7, 6, 7, 5])
(7, 6, 5)
(7, 6, 5)
TensorShape([7, 6, 5])
{0..0.001}
j.shape: (7, 6, 7, 5)
jb.shape: (7, 6, 5)
"""
# The page prints delta: 2.3841858e-07 and error 0.0; the guide asserts both under 1e-3.

# Unseeded, the noise is drawn anew each run, and with it the least-squares line the
# training nears (the test runs it from seed 0):
# over 300 unseeded runs W and b strayed from the page by up to 0.06 and 0.05 after the first
# epoch, growing to 0.23 and 0.22 after the tenth; the loss started from 8.97 to 11.84 and
# strayed by up to 1.04 in the first epoch and 0.30 in the last.
_PAGE = [(4.46, 0.41, 6.54779), (4.06, 0.73, 4.23360), (3.77, 0.99, 2.89734),
         (3.56, 1.20, 2.11946), (3.40, 1.36, 1.66289), (3.29, 1.50, 1.39272),
         (3.21, 1.60, 1.23158), (3.15, 1.69, 1.13473), (3.10, 1.76, 1.07610),
         (3.07, 1.81, 1.04036)]
BASIC_TRAINING_LOOPS = """\
Variables: (<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=0.0>, \
<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=5.0>)
Current loss: {10.587563±2.5}
Starting:
     W = 5.00, b = 0.00, loss={10.58756±2.5}
""" + "".join(f"""\
Epoch {epoch:2d}:
     W = {{{w}±{0.1 + 0.03 * epoch:.2f}}}, b = {{{b}±{0.1 + 0.03 * epoch:.2f}}}, \
loss={{{loss}±{1.5 if epoch < 5 else 0.5}}}
""" for epoch, (w, b, loss) in enumerate(_PAGE)) + """\
Current loss: {1.040360±0.5}
"""

_CONVERGENCE = """\
{name}: learning rate=0.001
-------------------------------
Exceeded maximum of 2000 iterations. Test terminated.

{name}: learning rate=0.01
-------------------------------
{second}

{name}: learning rate=0.1
-------------------------------
{third}
"""
OPTIMIZERS_CORE = "…\n" + "".join(_CONVERGENCE.format(name=name, second=second, third=third)
                                  for name, second, third in [
    ("Gradient descent optimizer", "Exceeded maximum of 2000 iterations. Test terminated.",
     "Gradient exploded at iteration 6"),
    ("Gradient descent optimizer", "Converged in 80 iterations",
     "Gradient exploded at iteration 6"),
    ("Adam", "Exceeded maximum of 2000 iterations. Test terminated.",
     "Converged in 1156 iterations")])

# The digits stand in for the Auto MPG table: the page's losses (step 0: 2.866 ... 90: 0.176;
# final 0.177 and 0.157) are a linear model's of the cars; a least-squares fit of the digits
# reaches 0.41, which the last losses must approach.
QUICKSTART_CORE = """\
TensorFlow version: …
array([[…dtype=float32)
array([#], dtype=float32)
Mean squared error for step 0: #
Mean squared error for step 10: #
Mean squared error for step 20: #
Mean squared error for step 30: #
Mean squared error for step 40: #
Mean squared error for step 50: #
Mean squared error for step 60: #
Mean squared error for step 70: #
Mean squared error for step 80: #
Mean squared error for step 90: {0.3..0.6}

Final train loss: {0.3..0.6}
Final test loss: {0.2..0.7}
array([…], dtype=float32)
"""

# The 4s and 9s of the digits stand in for the tumours (the page: 427 and 142 of them).
LOGISTIC_REGRESSION_CORE = """\
…
271
90
array([{0..1}, {0..1}, {0..1}, {0..1}, {0..1}], dtype=float32)
Epoch: 0, Training log loss: #
Epoch: 20, Training log loss: #
Epoch: 40, Training log loss: #
Epoch: 60, Training log loss: #
Epoch: 80, Training log loss: #
Epoch: 100, Training log loss: #
Epoch: 120, Training log loss: #
Epoch: 140, Training log loss: #
Epoch: 160, Training log loss: #
Epoch: 180, Training log loss: #
Final training log loss: {0.089±0.05}
Final testing log Loss: {0.077±0.05}
Final training accuracy: {0.968±0.03}
Final testing accuracy: {0.979±0.03}
array([…], dtype=float32)
"""

# The digits stand in for MNIST; the page's last epoch and test accuracy, within margins.
MLP_CORE = "…\n" + "".join(f"""\
Epoch: {epoch}
Training loss: #, Training accuracy: #
Validation loss: #, Validation accuracy: #
""" for epoch in range(9)) + """\
Epoch: 9
Training loss: {0.013±0.1}, Training accuracy: {0.996±0.03}
Validation loss: {0.107±0.2}, Validation accuracy: {0.979±0.07}
Test Accuracy: {0.979±0.05}
Accuracy breakdown by digit:
---------------------------
…
"""


def _digit_breakdown(stdout):
    """The page lists all ten digits (0.969 to 0.992); on the digits' 36 test images a digit
    each, equal accuracies share the guide's dict key, so fewer lines can come, and one
    digit can fall to 0.78 (seed 22)."""
    rows = re.findall(r"^Digit (\d): (\S+)$", stdout.split("---------------------------")[-1],
                      re.MULTILINE)
    assert rows and len({digit for digit, _ in rows}) == len(rows), stdout
    accuracies = [float(accuracy) for _, accuracy in rows]
    assert accuracies == sorted(accuracies) and min(accuracies) > 0.6, rows


# The digits stand in for the penguins, and unseeded the model's weights are drawn anew each
# run (the test runs it from seed 0); the page's penguin numbers are not compared, only the
# form of each line and that the accuracies end high (over 20 unseeded runs: 95.6% to 98.5% on
# the training data, 87.2% to 94.4% on the test).
CUSTOM_TRAINING_WALKTHROUGH = """\
TensorFlow version: …
tf.Tensor(
[[…]], shape=(32, 64), dtype=float32)
tf.Tensor([…], shape=(32,), dtype=int64)
<tf.Tensor: shape=(5, 10), dtype=float32, numpy=
array([[…]], dtype=float32)>
<tf.Tensor: shape=(5, 10), dtype=float32, numpy=
array([[…]], dtype=float32)>
Prediction: […]
    Labels: […]
Loss test: #
Step: 0, Initial Loss: #
Step: 1,         Loss: #
Epoch 000: Loss: #, Accuracy: #%
Epoch 050: Loss: #, Accuracy: #%
Epoch 100: Loss: #, Accuracy: #%
Epoch 150: Loss: #, Accuracy: #%
Epoch 200: Loss: {0..0.3}, Accuracy: {90..100}%
Test set accuracy: {80..100}%
<tf.Tensor: shape=(10, 2), dtype=int64, numpy=
array([[…]])>
Example 0 prediction: # (#%)
Example 1 prediction: # (#%)
Example 2 prediction: # (#%)
"""

# The one line where minitrain's output differs from the guide's on purpose: the autodiff
# guide prints type(x).__name__ of a variable and a constant, which TensorFlow gives as its
# implementation classes, ResourceVariable and EagerTensor; minitrain's are Variable and Tensor.
# The expected text above has minitrain's names there; every number is TensorFlow's.
GAPS = {}  # guide: why its test is expected to fail, while minitrain lacks something


def _case(guide, expected, extra=None):
    marks = [pytest.mark.xfail(strict=False, reason=GAPS[guide])] if guide in GAPS else []
    return pytest.param(guide, expected, extra, id=guide, marks=marks)


@pytest.mark.parametrize("guide, expected, extra", [
    _case("autodiff", AUTODIFF),
    _case("advanced_autodiff", ADVANCED_AUTODIFF),
    _case("basic_training_loops", BASIC_TRAINING_LOOPS),
    _case("optimizers_core", OPTIMIZERS_CORE),
    _case("quickstart_core", QUICKSTART_CORE),
    _case("logistic_regression_core", LOGISTIC_REGRESSION_CORE),
    _case("mlp_core", MLP_CORE, _digit_breakdown),
    _case("custom_training_walkthrough", CUSTOM_TRAINING_WALKTHROUGH),
])
def test_guide_prints_tensorflows_numbers(guide, expected, extra):
    check(guide, expected, extra)


def test_every_guide_program_is_tested():
    tested = {"autodiff", "advanced_autodiff", "basic_training_loops", "optimizers_core",
              "quickstart_core", "logistic_regression_core", "mlp_core",
              "custom_training_walkthrough"}
    assert {path.stem for path in GUIDES.glob("*.py")} == tested
