"""DataLoader: an ArrayDataset in batches of mt Tensors, reshuffled each epoch, resumable."""
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
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, seed=None):
        if isinstance(dataset, Dataset) and not isinstance(dataset, ArrayDataset):
            raise TypeError(f"DataLoader needs an in-memory ArrayDataset; a tf.data-style "
                            f"pipeline ({dataset!r}) batches itself: iterate it, after .batch(n)")
        if not isinstance(dataset, ArrayDataset):
            raise TypeError(f"DataLoader needs a minitrain.data.Dataset, got "
                            f"{type(dataset).__name__}; wrap arrays as Dataset(features, labels)")
        self.dataset, self.batch_size = dataset, _batch_size(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.seed = int(seed) if seed is not None else _seed_from_global()
        self.epoch = 0  # epochs begun
        self._batch = 0  # batches yielded in the latest epoch
        self._resume = False

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
        return (f"<DataLoader: {len(self)} batches of {self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, epoch={self.epoch}>")


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
