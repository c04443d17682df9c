"""Running train.py in a subprocess for the tests: with one BLAS thread, a timeout and, for
hostile inputs, a memory limit, so that a regression fails fast instead of eating the machine."""
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# tiny matrices: BLAS threads only contend with each other (and with parallel test runs)
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}

# a config that builds and trains in a fraction of a second
TINY = """\
data: {source: spirals, options: {n_samples: 100}}
model: [{Dense: {units: 2}}]
loss: {name: sparse_categorical_crossentropy, from_logits: true}
optimizer: adam
training: {epochs: 1}
"""

# a run of a few dozen steps for the Python API: dropout and Adam, so that a resume must
# restore the random generator and the optimizer's slots both ("training" is the test's own)
SMALL_RUN = {
    "seed": 3,
    "data": {"source": "spirals", "options": {"n_samples": 240}, "batch_size": 16},
    "model": [{"Dense": {"units": 16, "activation": "relu"}}, {"Dropout": {"rate": 0.2}},
              {"Dense": {"units": 2}}],
    "loss": {"name": "sparse_categorical_crossentropy", "from_logits": True},
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "metrics": ["accuracy"],
}


def _limit_memory(megabytes):
    def limit():
        size = megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    return limit


def train(*args, cwd=ROOT, timeout=120, memory_mb=None, script=ROOT / "train.py"):
    """``python train.py ARGS``, finished: the CompletedProcess (text stdout and stderr)."""
    command = [sys.executable, str(script), *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=timeout,
                          preexec_fn=None if memory_mb is None else _limit_memory(memory_mb))


def refused(result):
    """True when train.py refused its input as a user's mistake: exit 2, one error line."""
    return (result.returncode == 2 and "Traceback" not in result.stderr and
            result.stderr.startswith("error: "))
