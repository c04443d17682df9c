"""Weights to and from ``.npz`` files, keyed by each variable's path in the model.

A path names the structure, not the objects: the attribute that holds a layer ("encoder"),
a list index ("layers/0") and the weight's name ("kernel"), e.g. "layers/0/kernel". So a model
built again by the same code loads the file, whatever names its layers got this time.
Files are written atomically and read with ``allow_pickle=False``: loading runs no code.
"""
import os

import numpy as np

from . import backend
from .storage import atomic_write


def _check_path(filepath):
    filepath = os.fspath(filepath)
    if not filepath.endswith(".npz"):
        raise ValueError(f"weights files are .npz files: the path must end in '.npz', "
                         f"got {filepath!r}")
    return filepath


def _named_weights(layer, action):
    named = dict(layer._named_weights())
    if not named:
        raise ValueError(f"cannot {action} the weights of '{layer.name}': it has none yet. "
                         "Build it first (call it on a batch, or model.build(input_shape))")
    return named


def save_weights(layer, filepath):
    """Write every weight of ``layer`` to ``filepath`` (.npz): a temporary file, then a rename."""
    filepath = _check_path(filepath)
    arrays = {path: backend.to_numpy(v._data) for path, v in
              _named_weights(layer, "save").items()}
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save weights to {filepath}: no directory {directory}")
    atomic_write(filepath, lambda f: np.savez(f, **arrays))


def load_weights(layer, filepath):
    """Assign the weights saved in ``filepath``; every name and shape is checked first."""
    filepath = _check_path(filepath)
    named = _named_weights(layer, "load")
    with np.load(filepath, allow_pickle=False) as saved:
        arrays = {key: saved[key] for key in saved.files}
    _check_match(named, arrays, filepath)
    for path, variable in named.items():
        variable.assign(arrays[path])


def _check_match(named, arrays, filepath):
    """Raise at the first difference: in the model's order, then the file's extra keys."""
    for path, variable in named.items():
        if path not in arrays:
            raise ValueError(f"{filepath}: the file has no weight '{path}', which the model "
                             f"needs (the file holds: {', '.join(arrays)})")
        if arrays[path].shape != variable.shape:
            raise ValueError(f"{filepath}: weight '{path}' has shape {arrays[path].shape} in "
                             f"the file but {variable.shape} in the model")
    for key in arrays:
        if key not in named:
            raise ValueError(f"{filepath}: the file holds a weight '{key}' that the model "
                             f"does not have (the model's weights: {', '.join(named)})")
