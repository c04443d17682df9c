"""What ``fit``, ``evaluate`` and ``predict`` accept, as batches the Trainer iterates: numpy
arrays or tensors (in batches of ``batch_size``, 32 by default, as Keras), a batched
``mt.data.Dataset`` pipeline yielding ``(x, y)``, or a DataLoader (iterated as given)."""
import math

import numpy as np

from ..data.dataset import ArrayDataset
from ..data.loader import DataLoader
from ..data.pipeline import Dataset


def _array(value):
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def is_batched(x):
    """A DataLoader or a pipeline: it makes its own batches."""
    return isinstance(x, DataLoader) or (isinstance(x, Dataset) and
                                         not isinstance(x, ArrayDataset))


def batches(x, y, batch_size, shuffle, what):
    """An iterable of (x, y) batches, re-iterable once per epoch."""
    if isinstance(x, ArrayDataset):
        return DataLoader(x, batch_size or 32, shuffle=shuffle)
    if is_batched(x):
        if y is not None:
            raise ValueError(f"{what}: `y` must be None when `x` is a dataset or a loader, "
                             "which yields (x, y) itself")
        return x
    if y is None:
        raise ValueError(f"{what} needs targets: pass `y`, or an `x` that yields (x, y) "
                         "batches (a batched mt.data.Dataset or a DataLoader)")
    return DataLoader(ArrayDataset(_array(x), _array(y)), batch_size or 32, shuffle=shuffle)


def split(x, y, validation_split):
    """((x, y) for training, (x, y) for validation): the last ``validation_split`` of the
    samples, taken before any shuffling, as Keras takes them."""
    if is_batched(x) or isinstance(x, ArrayDataset):
        raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays, "
                         f"found following types in the input: {type(x).__name__}")
    x, y = _array(x), _array(y)
    at = int(math.floor(len(x) * (1.0 - validation_split)))
    if at == 0 or at == len(x):
        raise ValueError(f"Training data contains {len(x)} samples, which is not sufficient "
                         f"to split it into a validation and training set as specified by "
                         f"`validation_split={validation_split}`. Either provide more data, or "
                         "a different value for the `validation_split` argument.")
    return (x[:at], y[:at]), (x[at:], y[at:])


def validation(data, batch_size):
    """``validation_data`` as batches: (x_val, y_val), (x_val, y_val, weights) or a dataset."""
    if data is None:
        return None
    if isinstance(data, (tuple, list)):
        if len(data) == 3 and data[2] is not None:
            raise NotImplementedError("validation sample weights are not supported by "
                                      "minitrain: pass validation_data=(x_val, y_val)")
        return batches(data[0], data[1], batch_size, False, "validation_data")
    return batches(data, None, batch_size, False, "validation_data")


def inputs(x, batch_size):
    """The batches of inputs ``predict`` runs on: slices of arrays, or a dataset's x."""
    if is_batched(x) or isinstance(x, ArrayDataset):
        source = DataLoader(x, batch_size or 32) if isinstance(x, ArrayDataset) else x
        for element in source:
            yield element[0] if isinstance(element, (tuple, list)) else element
        return
    x, size = as_batch(_array(x)), batch_size or 32
    for start in range(0, len(x), size):
        yield x[start:start + size]


def unpack(data):
    """(x, y, sample_weight) from a batch, as Keras's ``unpack_x_y_sample_weight``."""
    if isinstance(data, (tuple, list)):
        return tuple(data) + (None,) * (3 - len(data)) if 1 <= len(data) <= 3 else (
            data, None, None)
    return data, None, None


def as_batch(x):
    """One batch for the ``*_on_batch`` methods: float arrays as float32, as Keras casts."""
    if x is None or hasattr(x, "numpy"):
        return x
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype.kind == "f" else x


def length(data):
    """Batches per epoch, or None when the data cannot tell (a generator, a filter)."""
    try:
        return len(data)
    except TypeError:
        return None
