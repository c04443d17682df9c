"""Shared fixtures: the devices every op and tape table runs on.

GPU cases carry the ``gpu`` marker and skip, saying why, where CuPy or a GPU is missing (as in
CI). On a machine with both, ``pytest -m gpu`` runs just them.
"""
import os
import random as python_random

import numpy as np
import pytest

from minitrain import backend
from minitrain import random as mt_random

try:
    from hypothesis import settings
except ImportError:  # only the fuzzing tests need it
    settings = None
if settings is not None:
    # "ci": the same examples every run, so a test never fails by chance; "explore": new ones.
    # No deadline in either: an example's time is the machine's load, not the code's behaviour
    # (speed is measured by benchmarks/), and a slow shared machine failed a 500 ms deadline.
    settings.register_profile("ci", derandomize=True, database=None, deadline=None)
    settings.register_profile("explore", deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _gpu_missing():
    """Why GPU tests cannot run here, or None if they can."""
    try:
        backend.cupy_module()
    except backend.DeviceError:
        return "CuPy is not installed (pip install -e '.[gpu]')"
    if backend.gpu_count() == 0:
        return "CuPy is installed but sees no GPU"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _gpu_missing()
    if reason is None:
        return
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same seeds (minitrain's global generator, numpy's and
    Python's), whatever tests ran before it: a test that draws without seeding, as a Keras
    user's program does, gives the same numbers each run, so it never passes or fails by
    chance. (A fixture of module or session scope is set up before this one: one that draws
    would see the generator as the tests before left it. None draws today.)"""
    mt_random.set_seed(0)
    np.random.seed(0)
    python_random.seed(0)


DEVICES = ["cpu", pytest.param("gpu", marks=pytest.mark.gpu)]


@pytest.fixture(params=DEVICES)
def device(request):
    """Run the test with new tensors created on each device in turn."""
    with backend.device(request.param):
        yield request.param
