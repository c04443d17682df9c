"""What TensorFlow's eager runtime offers beside the ops: ``tf.print``, ``tf.executing_eagerly``.

minitrain always runs eagerly (see ``mt.function``), so these are plain Python.
"""
import builtins
import sys

import numpy as np

from .tensor import Tensor


def executing_eagerly():
    """True: minitrain has no graphs, and ``mt.function`` runs its function eagerly."""
    return True


def print(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None):
    """Print ``inputs`` as TensorFlow's ``tf.print`` does: tensors as their values, long axes
    summarized by their first and last ``summarize`` elements (-1 or None: all), nested lists,
    tuples and dicts shown with the tensors inside them; to stderr unless told otherwise."""
    text = sep.join(_text(x, summarize, top=True) for x in inputs)
    builtins.print(text, end=end, file=sys.stderr if output_stream is None else output_stream)


def _text(value, summarize, top=False):
    if isinstance(value, Tensor):
        return _tensor_text(value.numpy(), summarize)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_text(k, summarize)}: {_text(v, summarize)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_text(v, summarize) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, np.ndarray):
        return _tensor_text(value, summarize)
    return str(value) if top or not isinstance(value, str) else repr(value)


def _tensor_text(array, summarize):
    """The value with each number as TensorFlow writes it (2.0 as 2, 0.1 as 0.1)."""
    if array.ndim == 0:
        return _number(array[()])
    everything = summarize is None or summarize < 0
    return np.array2string(
        array, separator=" ", formatter={"all": _number},
        threshold=sys.maxsize if everything else 2 * summarize,
        edgeitems=array.size if everything else summarize)


def _number(x):
    """TensorFlow's StrCat of a number: the shortest of 6 (float32) or 15 (float64)
    significant digits that reads back as the same number, else 9 or 17 digits."""
    if isinstance(x, (np.floating, float)):
        short, full = (6, 9) if np.asarray(x).dtype.itemsize <= 4 else (15, 17)
        text = f"{x:.{short}g}"
        return text if type(x)(text) == x else f"{x:.{full}g}"
    if isinstance(x, (np.bool_, bool)):
        return "1" if x else "0"
    return str(x)
