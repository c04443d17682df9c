"""The one module that knows which array library holds the data.

Ops never import numpy's twin directly: they ask the data, ``xp = array_module(x)``.
Only numpy (the CPU) is wired in here for now; a GPU array module plugs in at this seam.
"""
import numpy as np

CPU = "cpu"


def array_module(data):
    """The array library (numpy-compatible module) that owns ``data``."""
    return np


def current_module():
    """The array library of the device where new tensors are created."""
    return np


def device_of(data):
    """The name of the device that holds ``data``."""
    return CPU


def is_floating(dtype):
    """Whether values of ``dtype`` can carry gradients."""
    return dtype.kind in "fc"  # a numpy dtype: float or complex
