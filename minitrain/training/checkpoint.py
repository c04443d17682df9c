"""Checkpoint files: nested state (arrays, numbers, strings) as one ``.npz``, written atomically.

Arrays are stored as arrays; everything else goes into one JSON document (stored in the archive
as a string) that refers to the arrays by key. Loading uses ``allow_pickle=False``: a checkpoint
holds data only, and a file from elsewhere cannot run code. Python's JSON keeps floats exactly
(shortest round-trip repr) and integers of any size (the generator's 128-bit state).
"""
import json
import zipfile

import numpy as np

from ..storage import atomic_write

FORMAT = "minitrain-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or state that cannot be stored."""


def save(path, state):
    """Write the nested ``state`` to ``path`` (a ``.npz``), atomically."""
    arrays = {}
    document = json.dumps({"format": FORMAT, "state": _encode(state, arrays)})
    arrays["__state__"] = np.array(document)
    atomic_write(path, lambda f: _write_npz(f, arrays))


def _write_npz(file, arrays):
    np.savez(file, **arrays)


def load(path):
    """The nested state saved by ``save``; a CheckpointError if the file is not one."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({err})") from None
    try:
        document = json.loads(str(arrays.pop("__state__")))
        if document.get("format") != FORMAT:
            raise KeyError("format")
        return _decode(document["state"], arrays)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: not a minitrain checkpoint ({err})") from None


def _encode(value, arrays):
    """JSON-ready ``value``; arrays (and tensors) move into ``arrays`` under fresh keys."""
    if hasattr(value, "numpy") and not isinstance(value, (np.ndarray, np.generic)):
        value = value.numpy()  # a Tensor or Variable, possibly on a GPU
    if isinstance(value, (np.ndarray, np.generic)):
        key = f"a{len(arrays)}"
        arrays[key] = np.array(value)
        return {"__array__": key, "scalar": isinstance(value, np.generic)}
    if isinstance(value, dict):
        return {"__dict__": [[_encode_key(k), _encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(f"cannot store a {type(value).__name__} in a checkpoint; state must "
                          "be arrays, numbers, strings and lists or dicts of them")


def _encode_key(key):
    if key is None or isinstance(key, (bool, int, float, str)):
        return key
    raise CheckpointError(f"cannot store the dict key {key!r} in a checkpoint")


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        array = arrays[value["__array__"]]
        return array[()] if value["scalar"] else array
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    return {k: _decode(v, arrays) for k, v in value["__dict__"]}
