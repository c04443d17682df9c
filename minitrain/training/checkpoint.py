"""Checkpoint files: nested state (arrays, numbers, strings) as one ``.npz``, written atomically.

Arrays are stored as arrays; everything else goes into one JSON document (stored in the archive
as UTF-8 bytes) that refers to the arrays by key. Loading uses ``allow_pickle=False``: a checkpoint
holds data only, and a file from elsewhere cannot run code. Python's JSON keeps floats exactly
(shortest round-trip repr) and integers of any size (the generator's 128-bit state).
"""
import json

import numpy as np

from ..npzfile import NpzError, read_npz
from ..storage import atomic_write

FORMAT = "minitrain-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or state that cannot be stored."""


def save(path, state):
    """Write the nested ``state`` to ``path`` (a ``.npz``), atomically."""
    arrays = {}
    document = json.dumps({"format": FORMAT, "state": _encode(state, arrays)})
    arrays["__state__"] = np.frombuffer(document.encode("utf-8"), np.uint8)
    atomic_write(path, lambda f: _write_npz(f, arrays))


def _write_npz(file, arrays):
    np.savez(file, **arrays)


def load(path):
    """The nested state saved by ``save``; a CheckpointError if the file is not one."""
    try:
        arrays = read_npz(path)
    except NpzError as err:  # it names the file
        raise CheckpointError(f"not a readable checkpoint: {err}") from None
    try:
        document = json.loads(_text(arrays.pop("__state__")))
        if document.get("format") != FORMAT:
            raise KeyError("format")
        return _decode(document["state"], arrays)
    except RecursionError:
        raise CheckpointError(f"{path}: not a minitrain checkpoint (its state is nested too "
                              "deeply)") from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"{path}: not a minitrain checkpoint ({err})") from None


def _text(document):
    # UTF-8 bytes; checkpoints of earlier versions held a unicode string (4 bytes a character)
    return document.tobytes().decode("utf-8") if document.dtype == np.uint8 else str(document)


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


def mismatch(expected, found, where="state"):
    """Where the structure of ``found`` (a loaded checkpoint's state) first differs from
    ``expected`` (the state of the run that would continue it), told in words; else None.
    Arrays must agree in shape and dtype, dicts in keys, lists in length, scalars in kind;
    None on either side is state not there yet (a callback before its first epoch)."""
    if expected is None or found is None:
        return None
    if isinstance(expected, (np.ndarray, np.generic)):
        if not isinstance(found, (np.ndarray, np.generic)):
            return f"{where} is {_kind(found)}, not an array"
        if found.shape != expected.shape or found.dtype != expected.dtype:
            return (f"{where} has shape {found.shape} ({found.dtype}) where this run's has "
                    f"{expected.shape} ({expected.dtype})")
        return None
    if isinstance(expected, dict):
        if not isinstance(found, dict) or found.keys() != expected.keys():
            keys = sorted(map(str, found)) if isinstance(found, dict) else _kind(found)
            return f"{where} holds {keys} where this run has {sorted(map(str, expected))}"
        return next((m for k in expected
                     if (m := mismatch(expected[k], found[k], f"{where}.{k}"))), None)
    if isinstance(expected, (list, tuple)):
        if not isinstance(found, (list, tuple)) or len(found) != len(expected):
            size = len(found) if isinstance(found, (list, tuple)) else _kind(found)
            return f"{where} holds {size} items where this run has {len(expected)}"
        return next((m for i, (e, f) in enumerate(zip(expected, found))
                     if (m := mismatch(e, f, f"{where}[{i}]"))), None)
    if _kind(found) != _kind(expected) and not (_kind(expected) == "float" and
                                                 _kind(found) == "int"):
        return f"{where} is {found!r:.40} ({_kind(found)}) where this run has {_kind(expected)}"
    return None


def _kind(value):
    return type(value).__name__


def name_weight(problem, names):
    """'state.weights[3] ...' with the name of weight 3 added, from ``names``."""
    prefix = "state.weights["
    if problem.startswith(prefix):
        index = problem[len(prefix):].split("]", 1)[0]
        if index.isdecimal() and int(index) < len(names):
            problem = problem.replace(f"[{index}]", f"[{index}] ({names[int(index)]})", 1)
    return problem.removeprefix("state.")
