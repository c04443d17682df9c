"""What ``fit``, ``evaluate`` and ``predict`` accept, as batches the Trainer iterates: numpy
arrays or tensors (in batches of ``batch_size``, 32 by default, as Keras), lists or dicts of
them (a model's several inputs or outputs), a batched ``mt.data.Dataset`` pipeline yielding
``(x, y)``, or a DataLoader (iterated as given)."""
import math

import numpy as np

from .. import backend, nest
from ..data.dataset import ArrayDataset
from ..data.loader import DataLoader
from ..data.pipeline import Dataset
from ..tensor import Tensor


def _array(value):
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def is_structure(value):
    """A dict, or a list/tuple of arrays: one array per input or output (a list of numbers
    is one array)."""
    return isinstance(value, dict) or (isinstance(value, (list, tuple)) and len(value) > 0 and
                                       all(hasattr(v, "shape") for v in value))


def _arrays(value):
    """``value`` with each leaf a numpy array (a structure keeps its shape)."""
    if is_structure(value):
        return nest.pack_sequence_as(value, [_array(v) for v in nest.flatten(value)])
    return _array(value)


def _take(value, index):
    if is_structure(value):
        return nest.pack_sequence_as(value, [v[index] for v in nest.flatten(value)])
    return value[index]


def _count(value):
    """The number of samples: the first axis, the same in every array of a structure."""
    sizes = {len(v) for v in (nest.flatten(value) if is_structure(value) else [value])}
    if len(sizes) != 1:
        raise ValueError(f"Data cardinality is ambiguous: the arrays have {sorted(sizes)} "
                         "samples. Make sure all arrays contain the same number of samples.")
    return sizes.pop()


def batch_size(x):
    """The samples in a batch: the first axis of its (first) input, as Keras counts them."""
    return (nest.flatten(x)[0] if nest.is_nested(x) else x).shape[0]


class _StructuredLoader(DataLoader):
    """A DataLoader over arrays in lists or dicts (several inputs or outputs): the same seeded
    order and resumable state; each batch is ``(x, y)`` in their structures, float arrays as
    float32 and integers as int32, as the DataLoader casts."""

    def __init__(self, x, y, batch_size, shuffle):
        n = _count([*nest.flatten(x), *nest.flatten(y)])
        super().__init__(ArrayDataset(np.arange(n), np.arange(n)), batch_size, shuffle=shuffle)
        self.x, self.y = x, y

    def _tensors(self, index):
        return _tensors(_take(self.x, index)), _tensors(_take(self.y, index))


def _tensors(value):
    def cast(a):
        a = a.astype(np.float32 if a.dtype.kind == "f" else
                     np.int32 if a.dtype.kind in "iub" else a.dtype)
        return Tensor(backend.to_device(a))
    return nest.pack_sequence_as(value, [cast(v) for v in nest.flatten(value)])


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
    if is_structure(x) or is_structure(y):
        return _StructuredLoader(_arrays(x), _arrays(y), batch_size or 32, shuffle)
    return DataLoader(ArrayDataset(_array(x), _array(y)), batch_size or 32, shuffle=shuffle)


def split(x, y, validation_split):
    """((x, y) for training, (x, y) for validation): the last ``validation_split`` of the
    samples, taken before any shuffling, as Keras takes them."""
    if is_batched(x) or isinstance(x, ArrayDataset):
        raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays, "
                         f"found following types in the input: {type(x).__name__}")
    x, y = _arrays(x), _arrays(y)
    n = _count(x)
    at = int(math.floor(n * (1.0 - validation_split)))
    if at == 0 or at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient "
                         f"to split it into a validation and training set as specified by "
                         f"`validation_split={validation_split}`. Either provide more data, or "
                         "a different value for the `validation_split` argument.")
    first, last = slice(None, at), slice(at, None)
    return (_take(x, first), _take(y, first)), (_take(x, last), _take(y, last))


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
    x, size = as_batch(_arrays(x)), batch_size or 32
    for start in range(0, _count(x), size):
        yield _take(x, slice(start, start + size))


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
    if is_structure(x):
        return nest.pack_sequence_as(x, [as_batch(v) for v in nest.flatten(x)])
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype.kind == "f" else x


def length(data):
    """Batches per epoch, or None when the data cannot tell (a generator, a filter)."""
    try:
        return len(data)
    except TypeError:
        return None
