"""The Trainer's data-parallel half (``mpiexec -n N``, after ``distributed.init()``).

It is the Trainer's step with the parts of each batch on N processes: each rank takes its shard
of every global batch (a DataLoader's ``shard``), computes its part's gradients, weights them
by its share of the global batch and all ranks sum them in one Allreduce, so that every rank
applies the same update. The losses, sizes and metric states of the parts are gathered and
combined in rank order, as one process combines its micro-batches, so the logs are the global
batch's. The weights start as rank 0's; rank r then draws (dropout) from a stream of its own,
seeded by (a draw of the run's seed, r). A BatchNormalization layer normalises by its rank's
part; its moving statistics are rank 0's, given to every rank at the end of each epoch, so that
every rank evaluates the same model. A checkpoint holds every rank's generator and resumes only
on the process count that wrote it.
"""
import numpy as np

from .. import backend, distributed, random
from . import checkpoint as ckpt
from .accumulate import warn_frozen


class DataParallel:
    """The steps and set-up of a Trainer run on several processes (a mixin of Trainer)."""

    def parallel_step(self, x, y):
        """One data-parallel update from this rank's part (x, y) of the global batch; returns
        (the global batch's loss, its size). One gather of the parts' sizes, losses, metric
        states, gradient presence and Ctrl-C flags, then one Allreduce of the gradients."""
        variables, metric_vars = self.model.trainable_variables, self._metric_variables()
        before = [v.numpy().copy() for v in metric_vars]
        for v, value in zip(metric_vars, before):  # the part's own counts, from zero
            v.assign(np.zeros_like(value))
        n_part = len(x)
        if n_part == 0:  # a batch of fewer rows than ranks
            loss, grads = 0.0, [None] * len(variables)
        elif self.micro_batches > 1 and n_part > 1:
            loss, grads = self.accumulated_gradients(x, y)
        else:
            loss, grads = self.part_gradients(x, y)
        world = distributed.world()
        mine = [n_part, loss, world.interrupted, *[g is not None for g in grads],
                *[value for v in metric_vars for value in v.numpy().reshape(-1)]]
        rows = distributed.all_gather(mine)
        if rows[:, 2].any():
            rows = rows[:0]  # the metrics as they were before the step
        self._add_metric_parts(metric_vars, before, rows[:, 3 + len(grads):])
        if not len(rows):
            raise KeyboardInterrupt  # on every rank at once: no one is left in a collective
        n = int(rows[:, 0].sum())
        present = rows[:, 3:3 + len(grads)].any(axis=0)  # None on every rank stays None
        grads = [g if g is not None or not p else np.zeros(v.shape, v.dtype)
                 for g, p, v in zip(grads, present, variables)]
        if variables:
            self.optimizer.apply_gradients(zip(
                distributed.all_reduce_gradients(grads, weight=n_part / n), variables))
        else:
            warn_frozen()
        # rank order, from 0.0: the sum one process makes of its micro-batches' losses
        return sum(size / n * part for size, part in rows[:, :2].tolist() if size), n

    def _metric_variables(self):
        return [v for metric in self.metrics.values() for v in metric.variables]

    @staticmethod
    def _add_metric_parts(variables, before, parts):
        """Each metric variable: its value before the step plus every rank's part, in rank
        order (the sums of minitrain's metrics, totals and counts, add up across parts)."""
        for i, (v, value) in enumerate(zip(variables, before)):
            v.assign(value)
            start = sum(b.size for b in before[:i])
            for part in parts[:, start:start + value.size]:
                v.assign_add(part.reshape(value.shape))

    def _join_world(self, train):
        """Check that this rank trains on its own shard, on the CPU; the first time, give
        every rank rank 0's weights and a random stream of its own (a resume restored both)."""
        world = distributed.world()
        if getattr(train, "num_shards", None) != world.size:
            raise ValueError(
                f"fit() under MPI ({world.size} processes) needs this rank's shard of the "
                "training data: a DataLoader(..., num_shards=distributed.world_size(), "
                f"shard_index=distributed.rank()), or loader.shard(...); got {train!r}")
        if backend.current_device() != backend.CPU:
            raise NotImplementedError(
                f"data-parallel training on {backend.current_device()} needs NCCL, which "
                "minitrain does not implement yet: under mpiexec, train on the CPU")
        if self._joined:
            return
        if not self.model.weights:
            raise ValueError("under MPI the model must be built before fit() (call it on a "
                             "batch, or start it with an Input), so that rank 0's weights can "
                             "be given to every rank")
        distributed.broadcast_variables(self.model.weights)
        # the same draw on every rank (one seed), then a stream per rank
        base = int(random.uniform((), 0, 2**31 - 1, dtype="int64"))
        random.set_seed([base, world.rank])
        self._joined = True


def this_rank(state, path):
    """The checkpoint's state as this rank continues it: its own generator. A checkpoint
    continues only on the process count that wrote it, so that it continues bit for bit."""
    world = state.pop("world", None) if isinstance(state, dict) else None
    size = distributed.world_size()
    try:
        saved = 1 if world is None else int(world["size"])
        own = None if world is None or saved != size else world["rng"][distributed.rank()]
    except (KeyError, TypeError, ValueError, IndexError):
        raise ckpt.CheckpointError(f"{path}: not a minitrain checkpoint (its 'world' is not a "
                                   "process count and generators)") from None
    if saved != size:
        how = f"mpiexec -n {saved} python train.py" if saved > 1 else "python train.py alone"
        raise ckpt.CheckpointError(
            f"{path} was written by a run of {_processes(saved)} and this run has "
            f"{_processes(size)}: a run resumes only on the process count that wrote it (each "
            f"process's random stream is in the checkpoint); resume it with {how}")
    if own is not None:
        state["rng"] = own
    return state


def _processes(n):
    return "1 process" if n == 1 else f"{n} MPI processes"
