"""DataLoader: an ArrayDataset in batches of mt Tensors, reshuffled each epoch, resumable,
and shardable across the processes of a data-parallel run."""
import copy
import math

import numpy as np

from .. import backend, random
from ..tensor import Tensor
from .dataset import ArrayDataset
from .elements import whole_number
from .pipeline import Dataset


class DataLoader:
    """Batches ``(x, y)`` of ``dataset``: x float32, y int32 (classes) or float32 (targets).

    Each ``iter(loader)`` is one epoch. With ``shuffle=True`` the order of epoch ``e`` is a
    permutation drawn from a generator seeded by ``(seed, e)`` alone, so it never depends on
    how many batches earlier epochs consumed, and ``get_state()``/``set_state()`` (plain ints)
    let a resumed run continue with exactly the batches the uninterrupted run would have seen.
    Without a seed, one is drawn from ``mt.random`` (so ``mt.random.set_seed`` fixes it).

    ``num_shards``, ``shard_index`` (or ``shard(num_shards, index)``): this loader serves shard
    ``index`` of every batch (data parallelism, one shard per rank): ``batch_size`` stays the
    global batch, and each batch is split by numpy.array_split's rule, so that shard i holds
    rows [i*b/N, (i+1)*b/N) of it (the first b % N shards one row longer, a shard empty where
    the batch has fewer rows than shards), the N shards being the N micro-batches of
    ``training.accumulate.split``. Every shard draws the same order from the same seed. (The
    tf.data-style ``Dataset.shard`` deals out whole elements instead, round robin.)
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, seed=None,
                 num_shards=1, shard_index=0):
        if isinstance(dataset, Dataset) and not isinstance(dataset, ArrayDataset):
            raise TypeError(f"DataLoader needs an in-memory ArrayDataset; a tf.data-style "
                            f"pipeline ({dataset!r}) batches itself: iterate it, after .batch(n)")
        if not isinstance(dataset, ArrayDataset):
            raise TypeError(f"DataLoader needs a minitrain.data.Dataset, got "
                            f"{type(dataset).__name__}; wrap arrays as Dataset(features, labels)")
        self.dataset, self.batch_size = dataset, _batch_size(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.seed = int(seed) if seed is not None else _seed_from_global()
        self.num_shards, self.shard_index = _shard(num_shards, shard_index)
        self.epoch = 0  # epochs begun
        self._batch = 0  # batches yielded in the latest epoch
        self._resume = False

    def shard(self, num_shards, index):
        """This loader's shard ``index`` of ``num_shards`` of every batch: a new loader with
        the same data, batch size, seed and position."""
        if self.num_shards > 1:
            raise ValueError(f"this DataLoader is already shard {self.shard_index} of "
                             f"{self.num_shards}; shard the unsharded loader instead")
        loader = copy.copy(self)
        loader.num_shards, loader.shard_index = _shard(num_shards, index)
        return loader

    def __len__(self):
        n, size = len(self.dataset), self.batch_size
        return n // size if self.drop_last else math.ceil(n / size)

    def order(self, epoch):
        """The sample indices of epoch ``epoch`` (counted from 0), in the order served."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def __iter__(self):
        # bookkeeping here, not in the generator, so the epoch counts from iter() itself
        if self._resume:
            self._resume = False
        else:
            self.epoch, self._batch = self.epoch + 1, 0
        return self._batches(self.order(self.epoch - 1), self._batch)

    def _batches(self, order, start):
        for b in range(start, len(self)):
            index = order[b * self.batch_size:(b + 1) * self.batch_size]
            if self.num_shards > 1:
                index = index[slice(*shard_bounds(len(index), self.num_shards,
                                                  self.shard_index))]
            self._batch = b + 1
            yield self._tensors(index)

    def _tensors(self, index):
        x, y = self.dataset[index]
        y_dtype = np.int32 if self.dataset.is_classification else np.float32
        # cast on the host, then one transfer to the current device (mt.device(...) scope)
        x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=y_dtype)
        return Tensor(backend.to_device(x)), Tensor(backend.to_device(y))

    def get_state(self):
        """Where the loader stands, as plain ints (for a checkpoint)."""
        return {"seed": self.seed, "epoch": self.epoch, "batch": self._batch}

    def set_state(self, state):
        """Continue from ``get_state()``: the next ``iter`` finishes an interrupted epoch,
        or starts the one after a finished epoch."""
        self.seed, self.epoch, self._batch = (int(state[k]) for k in ("seed", "epoch", "batch"))
        self._resume = self.epoch > 0 and self._batch < len(self)

    def __repr__(self):
        shard = (f", shard {self.shard_index} of {self.num_shards}" if self.num_shards > 1
                 else "")
        return (f"<DataLoader: {len(self)} batches of {self.batch_size}{shard}, shuffle="
                f"{self.shuffle}, drop_last={self.drop_last}, epoch={self.epoch}>")


def shard_bounds(n, num_shards, index):
    """(start, stop) of shard ``index`` of a batch of ``n`` rows: numpy.array_split's rule
    (the first n % num_shards shards one row longer, as training.accumulate.split)."""
    size, longer = divmod(n, num_shards)
    return index * size + min(index, longer), (index + 1) * size + min(index + 1, longer)


def _shard(num_shards, index):
    count, position = whole_number(num_shards), whole_number(index)
    if count is None or count < 1:
        raise ValueError(f"num_shards must be a whole number, 1 or more, got {num_shards!r}")
    if position is None or not 0 <= position < count:
        raise ValueError(f"shard_index must be a whole number from 0 to num_shards - 1 "
                         f"({count - 1}), got {index!r}")
    return count, position


def _batch_size(value):
    size = whole_number(value)
    if size is None:
        raise TypeError(f"batch_size must be a whole number (an int), got {value!r} "
                        f"({type(value).__name__}); pass e.g. batch_size=32")
    if size < 1:
        raise ValueError(f"batch_size must be 1 or more, got {value!r}")
    return size


def _seed_from_global():
    return int(random.uniform((), 0, 2**31 - 1, dtype="int64"))
