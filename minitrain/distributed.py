"""Data-parallel training on MPI, ChainerMN's design: ``mpiexec -n N`` starts the processes,
mpi4py carries the collectives, and each rank reduces CPU gradients with one Allreduce of a flat
buffer per step.

``init()`` looks for an MPI launch (the launcher's environment: ``PMI_SIZE`` from MPICH's
hydra or Intel MPI, ``OMPI_COMM_WORLD_SIZE`` from Open MPI, ``MV2_COMM_WORLD_SIZE`` from
MVAPICH) and only then imports mpi4py; otherwise, and before ``init()``, this process is a world
of one and every function here is an identity that communicates nothing. ``import minitrain``
never imports mpi4py, nor does this module on its own.

A custom loop (examples/distributed_loop.py has a complete one)::

    distributed.init()
    loader = DataLoader(train, 64, shuffle=True, seed=0).shard(distributed.world_size(),
                                                               distributed.rank())
    model(x0)                                            # built, then the same on every rank:
    distributed.broadcast_variables(model.variables)
    for x, y in loader:
        with GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(distributed.all_reduce_gradients(grads),
                                      model.trainable_variables))

The module imports only the lowest layers (backend, tensor), so that the Trainer may use it.
Its one piece of state is the MPI world of this process, as MPI's own COMM_WORLD is.
"""
import contextlib
import os
import signal
import sys
import threading
import time
import traceback

import numpy as np

from . import backend
from .tensor import Tensor, to_array

# the environment an MPI launcher gives each process: MPICH / Intel MPI, Open MPI, MVAPICH
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


class PeerFailure(RuntimeError):
    """Another rank failed before training began; ``status`` is its exit status."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.status = max(self.statuses)
        failed = ", ".join(str(r) for r, s in enumerate(self.statuses) if s)
        super().__init__(f"rank {failed} of {len(self.statuses)} failed before training began "
                         f"(exit status {self.status}); nothing was trained")


class World:
    """The processes of this run: ``rank``, ``size``, the communicator (None for a world of
    one) and the buffers that its collectives reuse from step to step."""

    def __init__(self, comm=None, mpi=None):
        self.comm, self.mpi = comm, mpi
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.statuses = None  # what settle() agreed
        self.interrupted = False  # a Ctrl-C held back by deferred_interrupts
        self._buffers = {}

    def buffer(self, dtype, size):
        """A flat array of ``size`` ``dtype`` values, the same one for the same request."""
        key = (np.dtype(dtype), size)
        if key not in self._buffers:
            self._buffers[key] = np.empty(size, dtype)
        return self._buffers[key]


_ALONE = World()
_world = None


def launched_size(environ=os.environ):
    """The process count an MPI launcher gave this process (1 without one)."""
    for name in SIZE_VARIABLES:
        value = environ.get(name, "")
        if value.isdecimal():
            return int(value)
    return 1


def init():
    """The world of this process: MPI's, when ``mpiexec`` started more than one process
    (mpi4py is imported then, and only then), else a world of one. Idempotent."""
    global _world
    if _world is None:
        _world = _mpi_world() if launched_size() > 1 else _ALONE
    return _world


def _mpi_world():
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError("this process was started by mpiexec, but data-parallel training "
                           "needs mpi4py: pip install 'minitrain[mpi]'") from None
    return World(MPI.COMM_WORLD, MPI)


def world():
    """The world ``init()`` made; a world of one before it."""
    return _world or _ALONE


def rank():
    return world().rank


def world_size():
    return world().size


def is_primary():
    """Whether this is rank 0: the process that writes files and prints."""
    return world().rank == 0


# --- collectives ---------------------------------------------------------------------------
def _ops(w):
    return {"sum": w.mpi.SUM, "mean": w.mpi.SUM, "max": w.mpi.MAX, "min": w.mpi.MIN}


def all_reduce(arrays, op="mean"):
    """The element-wise ``op`` (sum, mean, max or min) over the ranks of each of ``arrays``
    (host numpy arrays of floats), as new arrays: packed into one flat buffer per dtype (one
    for a model of one dtype), reduced in place by one Allreduce, unpacked. In a world of one,
    ``arrays`` themselves."""
    if op not in ("sum", "mean", "max", "min"):
        raise ValueError(f"all_reduce: op must be 'sum', 'mean', 'max' or 'min', got {op!r}")
    arrays = [_host_float(a) for a in arrays]
    w = world()
    if w.size == 1:
        return arrays
    out = [None] * len(arrays)
    for dtype in dict.fromkeys(a.dtype for a in arrays):
        index = [i for i, a in enumerate(arrays) if a.dtype == dtype]
        buf = _pack(w, [arrays[i] for i in index], dtype)
        w.comm.Allreduce(w.mpi.IN_PLACE, buf, op=_ops(w)[op])
        if op == "mean":
            buf /= w.size
        for i, part in zip(index, _unpack(buf, [arrays[i] for i in index])):
            out[i] = part.copy()  # the buffer is reused by the next reduction
    return out


def _host_float(array):
    if not isinstance(array, (np.ndarray, np.generic)):
        if backend.is_device_array(array):
            raise NotImplementedError(
                "all_reduce of GPU arrays needs NCCL, which minitrain does not implement yet: "
                "under mpiexec, train on the CPU (device: cpu)")
        raise TypeError(f"all_reduce takes numpy arrays, got {type(array).__name__}")
    array = np.asarray(array)
    if array.dtype.kind != "f":
        raise TypeError(f"all_reduce reduces floats, got an array of {array.dtype.name}")
    return array


def _pack(w, arrays, dtype):
    buf = w.buffer(dtype, sum(a.size for a in arrays))
    if arrays:
        np.concatenate([a.reshape(-1) for a in arrays], out=buf)
    return buf


def _unpack(buf, like):
    stops = np.cumsum([a.size for a in like])
    return [buf[stop - a.size:stop].reshape(a.shape) for a, stop in zip(like, stops)]


def all_reduce_gradients(grads, weight=None):
    """The gradients of a data-parallel step, as every rank applies them: their mean over the
    ranks, or with ``weight`` (this rank's share of the global batch, part size / batch size)
    the sum over the ranks of weight * gradient, which is the global batch's gradient when each
    rank's is that of its part's mean loss (exact for parts of unequal sizes). One Allreduce;
    a None (an unconnected variable, None on every rank alike) stays None; the others come
    back as Tensors. In a world of one, the gradients (times ``weight``)."""
    grads = [g if weight is None or g is None else g * weight for g in grads]
    if world_size() == 1:
        return grads
    present = [i for i, g in enumerate(grads) if g is not None]
    reduced = all_reduce([to_array(grads[i]) for i in present],
                         "mean" if weight is None else "sum")
    out = [None] * len(grads)
    for i, g in zip(present, reduced):
        out[i] = Tensor(g)
    return out


def broadcast_variables(variables, root=0):
    """Give every rank ``root``'s values of ``variables`` (model.variables: built, the same
    list on every rank): their bytes in one flat buffer, one Bcast."""
    variables = list(variables)
    w = world()
    if w.size == 1 or not variables:
        return
    values = [np.ascontiguousarray(v.numpy()) for v in variables]
    buf = w.buffer(np.uint8, sum(a.nbytes for a in values))
    if w.rank == root:
        np.concatenate([a.reshape(-1).view(np.uint8) for a in values], out=buf)
    w.comm.Bcast(buf, root=root)
    if w.rank != root:
        stops = np.cumsum([a.nbytes for a in values])
        for v, a, stop in zip(variables, values, stops):
            v.assign(buf[stop - a.nbytes:stop].view(a.dtype).reshape(a.shape).copy())


def agree(flag, op="or"):
    """``flag`` decided by every rank together: true if it is on any rank (``op="or"``) or on
    all (``"and"``). For what must stop every rank at once: a nan, early stopping, Ctrl-C."""
    if op not in ("or", "and"):
        raise ValueError(f"agree: op must be 'or' or 'and', got {op!r}")
    w = world()
    if w.size == 1:
        return bool(flag)
    buf = np.array([1 if flag else 0], np.int32)
    w.comm.Allreduce(w.mpi.IN_PLACE, buf, op=w.mpi.MAX if op == "or" else w.mpi.MIN)
    return bool(buf[0])


def all_gather(values):
    """Every rank's ``values`` (a flat float64 vector, as long on every rank), as an array of
    one row per rank, in rank order."""
    values = np.ascontiguousarray(values, np.float64).reshape(-1)
    w = world()
    if w.size == 1:
        return values[None, :]
    out = np.empty((w.size, values.size), np.float64)
    w.comm.Allgather(values, out)
    return out


def gather_object(obj, root=0):
    """A list of every rank's ``obj`` (plain data, such as a generator's state) on ``root``,
    None on the others."""
    w = world()
    return [obj] if w.size == 1 else w.comm.gather(obj, root=root)


def barrier():
    w = world()
    if w.size > 1:
        w.comm.Barrier()


# --- starting and stopping together ----------------------------------------------------------
def settle(status=0):
    """Every rank's exit status so far (0: ready to train), agreed once, before the first
    collective of training: a rank that failed while setting up calls it on its way out, so
    that the others learn of it instead of waiting for it. Later calls return the first answer
    without communicating; a world of one communicates nothing."""
    w = world()
    if w.size == 1:
        return [int(status)]
    if w.statuses is None:
        w.statuses = []  # set first: an interrupt during the collective must not call it twice
        w.statuses = [int(s) for s in all_gather([status])[:, 0]]
    return w.statuses


def abort(error, status=1):
    """Report ``error`` (this rank's alone: a file that rank 0 could not write, a bug) and end
    every rank: the others may be waiting in a collective for this one."""
    w = world()
    report = f"error on rank {w.rank} of {w.size}: " + "".join(traceback.format_exception(error))
    _write_whole(report)
    # the launcher forwards a rank's output from a pipe as it reads it; Abort tears the pipes
    # down, and on a loaded machine a report written just before was lost (a CI run's stderr
    # came back empty): give it a moment to be read
    time.sleep(_FORWARD_SECONDS)
    w.comm.Abort(status)
    os._exit(status)  # MPI_Abort may return before the launcher ends this process


_FORWARD_SECONDS = 0.5


def _write_whole(text):
    """text on standard error in one write: Abort ends every rank at once, and a report
    written in pieces could reach the launcher cut after its first line."""
    sys.stderr.flush()
    try:
        os.write(sys.stderr.fileno(), text.encode(errors="replace"))
    except (AttributeError, OSError, ValueError):  # a stream with no descriptor (captured)
        sys.stderr.write(text)
        sys.stderr.flush()


@contextlib.contextmanager
def deferred_interrupts():
    """Ctrl-C held back until the ranks agree on it: inside the block, SIGINT (which mpiexec
    forwards to every rank) only sets ``world().interrupted``, which the training loop shares
    each step, so that every rank stops at the same step rather than one leaving the others in
    a collective. (Pressing Ctrl-C twice makes mpiexec kill them all.) A no-op in a world of
    one, or off the main thread."""
    w = world()
    if w.size == 1 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def hold(signum, frame):
        w.interrupted = True
    w.interrupted = False
    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
