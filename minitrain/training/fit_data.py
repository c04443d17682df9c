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
    """A DataLoader over ``parts``, (x, y) or (x, y, sample_weight), each an array or arrays in
    a list or dict (several inputs or outputs): the same seeded order and resumable state;
    each batch is a tuple of the parts, float arrays as float32 and integers as int32, as the
    DataLoader casts."""

    def __init__(self, parts, batch_size, shuffle):
        n = _count([leaf for part in parts for leaf in nest.flatten(part)])
        super().__init__(ArrayDataset(np.arange(n), np.arange(n)), batch_size, shuffle=shuffle)
        self.parts = parts

    def _tensors(self, index):
        return tuple(_tensors(_take(part, index)) for part in self.parts)


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


def batches(x, y, batch_size, shuffle, what, sample_weight=None):
    """An iterable of (x, y) batches, or (x, y, sample_weight) ones, re-iterable once per
    epoch."""
    if sample_weight is not None:
        if is_batched(x) or isinstance(x, ArrayDataset) or is_structure(sample_weight):
            raise NotImplementedError(f"{what}: minitrain takes `sample_weight` as one array "
                                      "beside array inputs (not per output, nor with a "
                                      "dataset, which yields (x, y, sample_weight) itself)")
        parts = (_arrays(x), _arrays(y), _array(sample_weight))
        return _StructuredLoader(parts, batch_size or 32, shuffle)
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
        return _StructuredLoader((_arrays(x), _arrays(y)), batch_size or 32, shuffle)
    return DataLoader(ArrayDataset(_array(x), _array(y)), batch_size or 32, shuffle=shuffle)


def class_weights(y, class_weight, sample_weight, what):
    """Each sample's weight from its class (integer labels, or one-hot rows: their argmax), as
    Keras's class_weight, times ``sample_weight`` where one is given too."""
    if is_batched(y) or is_structure(y) or y is None:
        raise NotImplementedError(f"{what}: minitrain takes `class_weight` beside one array of "
                                  "targets (not per output, nor with a dataset)")
    labels = np.asarray(_array(y))
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(len(labels), -1)[:, 0].astype("int64")
    missing = sorted(set(labels.tolist()) - set(class_weight))
    if missing:
        raise ValueError(f"{what}: `class_weight` has no weight for the classes {missing}")
    weights = np.array([class_weight[c] for c in labels.tolist()], dtype="float32")
    return weights if sample_weight is None else weights * np.asarray(_array(sample_weight))


def split(x, y, sample_weight, validation_split):
    """((x, y, sample_weight) for training, the same for validation): the last
    ``validation_split`` of the samples, taken before any shuffling, as Keras takes them."""
    if is_batched(x) or isinstance(x, ArrayDataset):
        raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays, "
                         f"found following types in the input: {type(x).__name__}")
    parts = (_arrays(x), _arrays(y), None if sample_weight is None else _array(sample_weight))
    n = _count(parts[0])
    at = int(math.floor(n * (1.0 - validation_split)))
    if at == 0 or at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient "
                         f"to split it into a validation and training set as specified by "
                         f"`validation_split={validation_split}`. Either provide more data, or "
                         "a different value for the `validation_split` argument.")
    return tuple(tuple(None if part is None else _take(part, cut) for part in parts)
                 for cut in (slice(None, at), slice(at, None)))


def validation(data, batch_size):
    """``validation_data`` as batches: (x_val, y_val), (x_val, y_val, weights) or a dataset."""
    if data is None:
        return None
    if isinstance(data, (tuple, list)):
        weights = data[2] if len(data) == 3 else None
        return batches(data[0], data[1], batch_size, False, "validation_data", weights)
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
