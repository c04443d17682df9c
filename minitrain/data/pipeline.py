"""tf.data's input pipeline, run eagerly: ``Dataset.from_tensor_slices((x, y)).shuffle(1024)
.batch(64)``, iterated by ``for x, y in dataset`` as mt Tensors in the element's structure.

Names, defaults, cardinalities and error texts are tf.data's, looked up in TensorFlow's
``python/data/ops`` (``dataset_ops.py``, the ``*_op.py`` files and their docstrings):

- an element is a tensor or a (nested) tuple or dict of them; a Python list is one tensor, not
  a structure (``from_tensor_slices([[1, 2], [3, 4]])`` slices a 2x2 tensor);
- numpy arrays keep their dtype (float64 stays float64), Python floats become float32 and
  Python ints int32 (TF's docstring: ``from_tensor_slices([1, 2, 3])`` is int32); ``range``
  and the counter of ``enumerate`` are int64;
- ``map`` and ``filter`` call ``fn(*element)`` when the element is a plain tuple, else
  ``fn(element)``; a list returned by ``fn`` is taken as a tuple;
- ``len()`` raises TypeError "The dataset is infinite." (after ``repeat()``) or "The dataset
  length is unknown." (after ``filter`` or ``unbatch``); ``cardinality()`` gives -1 / -2.

One concept per name: ``Dataset`` is tf.data's Dataset, a sequence of elements. minitrain's
in-memory (features, labels) dataset, the one that sources, splits, the Normalizer and the
DataLoader use, is one kind of it, ``ArrayDataset`` (dataset.py), whose element ``i`` is
``(features[i], labels[i])``. TF's Dataset cannot be constructed directly, so
``Dataset(features, labels)`` keeps the meaning it had before the pipeline and builds an
ArrayDataset, as ``pathlib.Path(...)`` builds a PosixPath.

Deliberate differences: everything runs eagerly in Python (``map`` calls ``fn`` on each
element; nothing is traced); ``prefetch`` and ``num_parallel_calls`` are accepted and change
nothing; ``cache`` keeps the elements in memory only; shapes are not tracked, so ``unbatch``
has an unknown length even where TF's static batch size would give one.
"""
import itertools
import math

import numpy as np

from .. import random
from ..tensor import Tensor, int64
from . import elements

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2
_INFINITE, _UNKNOWN = INFINITE_CARDINALITY, UNKNOWN_CARDINALITY
_COUNT_NAMES = {_INFINITE: "infinite", _UNKNOWN: "unknown"}


class Dataset:
    """A sequence of elements, produced afresh by each ``iter()``.

    A subclass fills two hooks: ``_elements()``, a new iterator of elements whose leaves are
    arrays (numpy or CuPy), and ``_cardinality()``: the number of elements, or -1 (infinite)
    or -2 (unknown). Iterating hands the leaves out as Tensors on the current device.
    """

    _kind = "Dataset"

    def __new__(cls, *args, **kwargs):
        if cls is Dataset:  # Dataset(features, labels): see the module docstring
            return object.__new__(_dataset.ArrayDataset)  # Python then runs its __init__
        return object.__new__(cls)

    def _elements(self):
        raise NotImplementedError(f"{type(self).__name__} does not produce elements")

    def _cardinality(self):
        return _UNKNOWN

    def __iter__(self):
        return (elements.map_leaves(elements.tensor, element) for element in self._elements())

    def as_numpy_iterator(self):
        """The elements with host numpy arrays for leaves (a scalar as a numpy scalar)."""
        return (elements.map_leaves(elements.host, element) for element in self._elements())

    def cardinality(self):
        """The number of elements as an int64 scalar Tensor: -1 if infinite, -2 if unknown."""
        return Tensor(np.asarray(self._cardinality(), int64))

    def __len__(self):
        n = self._cardinality()
        if n == _INFINITE:
            raise TypeError("The dataset is infinite.")
        if n == _UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self):
        return True  # as TF's: otherwise bool() would ask __len__, which may raise

    def __repr__(self):
        n = self._cardinality()
        return f"<{self._kind} cardinality={_COUNT_NAMES.get(n, n)}>"

    # --- sources -------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """The slices of ``tensors`` (a tensor, tuple or dict) along their first axis."""
        tensors = elements.map_leaves(elements.copied_array, tensors)
        arrays = elements.leaves(tensors)
        if not arrays:
            raise ValueError("Invalid `element`. `element` should not be empty.")
        if any(a.ndim == 0 for a in arrays):
            raise ValueError("Unbatching a tensor is only supported for rank >= 1")
        n = elements.common_length(arrays, "Dimensions {} and {} are not compatible: "
                                   "from_tensor_slices needs the same first dimension in every "
                                   "component")
        return _Pipeline(lambda: elements.rows(tensors, n), n, "TensorSliceDataset")

    @staticmethod
    def from_tensors(tensors, name=None):
        """A dataset of one element, ``tensors``."""
        element = elements.map_leaves(elements.copied_array, tensors)
        return _Pipeline(lambda: iter([element]), 1, "TensorDataset")

    @staticmethod
    def range(*args, output_type=int64, name=None):
        """``range(*args)`` as scalars of ``output_type`` (int64 by default)."""
        values = range(*args)
        return _Pipeline(lambda: (np.asarray(v, output_type) for v in values), len(values),
                         "RangeDataset")

    @staticmethod
    def zip(*args, datasets=None, name=None):
        """Elements of several datasets side by side, in their structure (a tuple or dict);
        as long as the shortest."""
        if not args and datasets is None:
            raise TypeError("Must pass at least one dataset to `zip`.")
        if args and datasets is not None:
            raise TypeError("Both `*args` and `datasets` cannot be set.")
        if args:
            datasets = args[0] if len(args) == 1 else args
        members = elements.leaves(datasets)
        for ds in members:
            if not isinstance(ds, Dataset):
                raise TypeError(_NOT_A_DATASET.format(
                    "Python `list` is not supported and you should use `tuple` instead"
                    if isinstance(ds, list) else f"but encountered object of type {type(ds)}"))
        return _Pipeline(lambda: elements.zipped(datasets, [ds._elements() for ds in members]),
                         _zip_cardinality(members), "ZipDataset")

    # --- transformations ----------------------------------------------------------------------
    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        """Consecutive elements stacked on a new first axis; the last batch may be smaller."""
        size = elements.whole_number(batch_size)
        if size is None:  # TF converts batch_size to an int64 tensor, which refuses a float
            raise TypeError(f"Cannot convert {batch_size!r} to EagerTensor of dtype int64: "
                            "batch_size must be a whole number (an int)")
        if size <= 0:
            raise ValueError(f"Batch size must be greater than zero. Got {batch_size}.")
        n = self._cardinality()
        count = n if n < 0 else n // size if drop_remainder else math.ceil(n / size)
        return _Pipeline(lambda: elements.batches(self._elements(), size, drop_remainder), count,
                         "BatchDataset")

    def unbatch(self, name=None):
        """The inverse of ``batch``: each element split along its first axis."""
        return _Pipeline(lambda: elements.unbatched(self._elements()), _UNKNOWN,
                         "UnbatchDataset")

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """``map_func`` applied to every element (unpacked when it is a tuple)."""
        return _Pipeline(lambda: (elements.mapped(map_func, e) for e in self._elements()),
                         self._cardinality(), "MapDataset")

    def filter(self, predicate, name=None):
        """The elements for which ``predicate`` (a scalar bool) holds."""
        return _Pipeline(lambda: (e for e in self._elements() if elements.kept(predicate, e)),
                         _UNKNOWN, "FilterDataset")

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None, name=None):
        """Elements drawn at random from a buffer of ``buffer_size`` (see _Shuffle)."""
        reshuffle = reshuffle_each_iteration is None or bool(reshuffle_each_iteration)
        return _Shuffle(self, buffer_size, seed, reshuffle)

    def repeat(self, count=None, name=None):
        """The elements ``count`` times over; forever if ``count`` is None or -1."""
        count = -1 if count is None else int(count)
        n = self._cardinality()
        if count < 0:
            total = 0 if n == 0 else _INFINITE
        elif count == 0 or n >= 0:
            total = count * n
        else:
            total = n  # infinite or unknown stays so
        return _Pipeline(lambda: elements.repeated(self._elements, count), total, "RepeatDataset")

    def take(self, count, name=None):
        """The first ``count`` elements (all of them if ``count`` is -1)."""
        count, n = int(count), self._cardinality()
        total = n if n == _UNKNOWN or count < 0 else count if n == _INFINITE else min(n, count)
        stop = None if count < 0 else count
        return _Pipeline(lambda: itertools.islice(self._elements(), stop), total, "TakeDataset")

    def skip(self, count, name=None):
        """All but the first ``count`` elements (none if ``count`` is -1)."""
        count, n = int(count), self._cardinality()
        total = n if n < 0 else 0 if count < 0 else max(0, n - count)
        start, stop = (count, None) if count >= 0 else (0, 0)
        return _Pipeline(lambda: itertools.islice(self._elements(), start, stop), total,
                         "SkipDataset")

    def shard(self, num_shards, index, name=None):
        """Every ``num_shards``-th element from the ``index``-th: element i is kept where
        i % num_shards == index (tf.data's; a DataLoader's ``shard`` splits each batch
        instead). A ValueError where TensorFlow raises InvalidArgumentError."""
        num_shards, index = int(num_shards), int(index)
        if num_shards < 1:
            raise ValueError(f"Number of shards must be greater than zero (currently "
                             f"num_shards = {num_shards}).")
        if not 0 <= index < num_shards:
            raise ValueError(f"Index must be between 0 and {num_shards - 1} (currently index "
                             f"= {index}).")
        n = self._cardinality()
        total = n if n < 0 else n // num_shards + (index < n % num_shards)
        return _Pipeline(lambda: itertools.islice(self._elements(), index, None, num_shards),
                         total, "ShardDataset")

    def enumerate(self, start=0, name=None):
        """``(index, element)`` pairs, the index an int64 scalar counting from ``start``."""
        start = int(start)
        return _Pipeline(lambda: elements.enumerated(start, self._elements()),
                         self._cardinality(), "EnumerateDataset")

    def concatenate(self, dataset, name=None):
        """This dataset's elements, then ``dataset``'s."""
        a, b = self._cardinality(), dataset._cardinality()
        total = _INFINITE if _INFINITE in (a, b) else _UNKNOWN if _UNKNOWN in (a, b) else a + b
        return _Pipeline(lambda: itertools.chain(self._elements(), dataset._elements()), total,
                         "ConcatenateDataset")

    def cache(self, filename="", name=None):
        """The elements kept in memory after the first complete pass, replayed from then on."""
        if filename:
            raise NotImplementedError(f"cache({filename!r}): minitrain caches in memory only; "
                                      "call cache() without a file name")
        return _Cache(self)

    def prefetch(self, buffer_size, name=None):
        """Accepted for TF programs; elements are made when asked for, so nothing changes."""
        return self


class _Pipeline(Dataset):
    """A source or a transformation: ``make()`` starts a new pass over the elements."""

    def __init__(self, make, cardinality, kind):
        self._make, self._count, self._kind = make, cardinality, kind

    def _elements(self):
        return self._make()

    def _cardinality(self):
        return self._count


class _Shuffle(Dataset):
    """TF's buffered shuffle (elements.buffered_shuffle); a buffer as large as the dataset
    gives a uniform permutation. Pass ``p`` over the data draws from a generator seeded by
    ``(seed, p)``, ``p`` staying 0 without reshuffling, so a seed fixes every pass. Without a
    seed, ``shuffle()`` draws one from ``mt.random``, which ``mt.random.set_seed`` fixes."""

    _kind = "ShuffleDataset"

    def __init__(self, source, buffer_size, seed, reshuffle):
        self._source, self._size = source, int(buffer_size)
        if self._size <= 0:
            raise ValueError(f"buffer_size must be greater than zero. Got {buffer_size}.")
        seed = int(random.uniform((), 0, 2**31 - 1, dtype="int64")) if seed is None else seed
        self._seed, self._reshuffle, self._passes = int(seed) % 2**64, reshuffle, 0

    def _elements(self):
        rng = np.random.default_rng([self._seed, self._passes if self._reshuffle else 0])
        self._passes += 1
        return elements.buffered_shuffle(self._source._elements(), self._size, rng)

    def _cardinality(self):
        return self._source._cardinality()


class _Cache(Dataset):
    """The first pass that runs to the end records the elements; later passes replay them."""

    _kind = "CacheDataset"

    def __init__(self, source):
        self._source, self._stored = source, None

    def _elements(self):
        return iter(self._stored) if self._stored is not None else self._record()

    def _record(self):
        seen = []
        for element in self._source._elements():
            seen.append(element)
            yield element
        self._stored = seen

    def _cardinality(self):
        return self._source._cardinality()


def _zip_cardinality(members):
    counts = [ds._cardinality() for ds in members]
    if _UNKNOWN in counts:
        return _UNKNOWN
    finite = [n for n in counts if n != _INFINITE]
    return min(finite) if finite else _INFINITE


_NOT_A_DATASET = ("Invalid `datasets`. `datasets` is expected to be a (nested) structure of "
                  "`tf.data.Dataset` objects {}.")


# The one back-reference of this package (see DESIGN.md): Dataset(features, labels) builds the
# ArrayDataset of dataset.py, which builds on Dataset. Imported last, so that dataset.py finds
# Dataset defined whichever of the two modules is imported first.
from . import dataset as _dataset  # noqa: E402
