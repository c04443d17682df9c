"""The one module that knows which array library holds the data: numpy (CPU) or CuPy (GPU).

Ops never import an array library themselves: they ask the data, ``xp = array_module(x)``.
CuPy is imported here only, and only when a GPU is first asked for (it is an optional extra,
and slow to import). Devices are named "cpu" and "gpu:N" ("gpu" means "gpu:0").
"""
import contextlib
import functools
import math
import re

import numpy as np

CPU = "cpu"
_scope = []  # devices named by the enclosing mt.device(...) blocks, innermost last
_cupy = None


class DeviceError(RuntimeError):
    """A device that is not there, or tensors on two devices meeting in one op."""


def array_module(data):
    """The array library (numpy or cupy) that owns ``data``."""
    if type(data) is np.ndarray or isinstance(data, np.generic):  # the first test is cheapest
        return np
    return _cupy if _cupy is not None else np


def sum_in_dtype(data, axes, keepdims):
    """The sum over ``axes`` in the data's own dtype (numpy's add.reduce skips the Python
    wrapper of ndarray.sum: microseconds, on a hot path of the sweep)."""
    if type(data) is np.ndarray:
        if _rows_of_floats(data, axes):
            return _column_sums(data, keepdims)
        return np.add.reduce(data, axis=axes, keepdims=keepdims, dtype=data.dtype)
    return data.sum(axis=axes, keepdims=keepdims, dtype=data.dtype)


def mean_in_dtype(data, axes, keepdims):
    """The mean over ``axes`` (a tuple) of floating data: numpy's own sum and division, without
    the Python of ndarray.mean (microseconds, on every loss)."""
    if type(data) is np.ndarray and data.dtype.kind == "f":
        count = math.prod(data.shape[a] for a in axes)
        return np.add.reduce(data, axis=axes, keepdims=keepdims) / count
    return data.mean(axis=axes, keepdims=keepdims)


def along_channels(ufunc, a, vector, out=None):
    """ufunc(a, vector, out=out) for a vector of a's last axis's size that broadcasts along
    it (a bias, a batch normalization's scale): on numpy, with a's rows taken r at a time and
    the vector tiled r times, so that the ufunc's inner loop runs over r * C values, not C (a
    bias on (64, 28, 28, 6): 0.53 -> 0.28 ms; on (64, 32, 32, 32), 10% less)."""
    r = _rows_per_run(a, vector, out)
    if r == 1:
        return ufunc(a, vector, out=out)
    width = r * a.shape[-1]
    tiled = np.empty((r, a.shape[-1]), vector.dtype)  # np.tile's Python takes twice as long
    tiled[...] = vector.reshape(-1)
    runs = ufunc(a.reshape(-1, width), tiled.reshape(-1),
                 out=None if out is None else out.reshape(-1, width))
    return runs.reshape(a.shape)


_RUN_VALUES = 1024  # an inner loop this long costs its setup no more than a long one
_TILED_BELOW = 64  # from 64 channels on, a row is loop enough: tiling only costs its copy


def _rows_per_run(a, vector, out):
    """How many of a's rows along_channels takes at a time: a power of 2 that divides the
    number of rows, 1 where tiling does not pay or apply."""
    if type(a) is not np.ndarray or a.size < 4096 or a.shape[-1] >= _TILED_BELOW or \
            not a.flags.c_contiguous or \
            vector.size != a.shape[-1] or vector.shape[-1] != a.shape[-1] or \
            (out is not None and not out.flags.c_contiguous):
        return 1
    rows, r = a.size // a.shape[-1], 1
    while r * a.shape[-1] < _RUN_VALUES and rows % (2 * r) == 0:
        r *= 2
    return r


def max_with_zero(a, out=None):
    """max(a, 0), a ReLU (NaN where a is NaN), into ``out`` if given. On numpy, against a row
    of zeros rather than the scalar 0: numpy vectorises maximum's loop over two arrays but
    not over an array and a scalar (a (64, 32, 32, 32) ReLU: 1.0 -> 0.2 ms; 2.5x faster
    from 8k values on)."""
    if type(a) is not np.ndarray or a.dtype not in _FLOATS or not a.ndim or \
            not a.flags.c_contiguous or out is not None and not _same_layout(a, out):
        return array_module(a).maximum(a, 0, out=out)
    out = np.empty_like(a) if out is None else out
    zeros = _ZERO_ROWS[a.dtype]
    flat, flat_out, width = a.reshape(-1), out.reshape(-1), zeros.size
    whole = flat.size - flat.size % width  # whole rows of zeros, then the rest
    if whole:
        np.maximum(flat[:whole].reshape(-1, width), zeros,
                   out=flat_out[:whole].reshape(-1, width))
    np.maximum(flat[whole:], zeros[:flat.size - whole], out=flat_out[whole:])
    return out


def _same_layout(a, out):
    """Whether ``out`` takes a's values one for one: its shape, dtype and contiguous memory,
    which is a's own or none of it (the two products below read a in two parts: an ``out``
    overlapping a by an offset would overwrite the second part before it is read)."""
    if out is a:
        return True
    return (type(out) is np.ndarray and out.shape == a.shape and out.dtype == a.dtype
            and out.flags.c_contiguous
            and (out.__array_interface__["data"][0] == a.__array_interface__["data"][0]
                 or not np.may_share_memory(a, out)))


def copy_runs(dst, src):
    """dst[...] = src, for arrays of one shape whose last axis is a run of contiguous values
    in both: on numpy each run moves as one item (a void scalar), one memcpy, where numpy's
    strided copy loops over its values (VGG's first conv's windows, runs of 12 floats: 0.56
    -> 0.32 ms)."""
    if type(dst) is np.ndarray and type(src) is np.ndarray and src.size and all(
            a.strides[-1] == a.itemsize for a in (dst, src)) and dst.dtype == src.dtype:
        np.copyto(runs_as_items(dst), runs_as_items(src))
    else:
        dst[...] = src
    return dst


def runs_as_items(a):
    """numpy a (..., r), its last axis contiguous, as (...) void items of r values on a's
    memory: numpy copies such an item as one memcpy."""
    return a.view(np.dtype((np.void, a.shape[-1] * a.itemsize)))[..., 0]


def as_strided(a, shape, strides):
    """A view of a's memory with ``shape`` and ``strides`` (bytes; within a's memory): for a
    C-contiguous numpy array, the ndarray constructor on a's buffer, without numpy's
    as_strided's Python (5 against 0.8 us: a convolution makes several such views an op)."""
    if type(a) is np.ndarray and a.flags.c_contiguous:
        return np.ndarray(shape, a.dtype, a, 0, strides)
    return array_module(a).lib.stride_tricks.as_strided(a, shape, strides)


def sum_of_products(a, b, axes):
    """sum(a * b) over ``axes``, kept as dims, for a and b of one shape: over the rows of
    contiguous numpy arrays (every axis but the last) without the product's array (einsum:
    one pass, 1.9 -> 1.05 ms on 2M floats; a batch normalization's gradient)."""
    if type(a) is np.ndarray and _rows_of_floats(a, axes) and b.flags.c_contiguous:
        channels = a.shape[-1]
        rows = np.einsum("ij,ij->j", a.reshape(-1, channels), b.reshape(-1, channels))
        return rows.reshape((1,) * (a.ndim - 1) + (channels,))
    return sum_in_dtype(a * b, axes, True)


def _rows_of_floats(data, axes):
    """Whether the sum is over every axis but the last, of a large contiguous float array: a
    bias's gradient, the sum of a batch's rows."""
    return (data.size >= 4096 and data.ndim >= 2 and data.dtype in _FLOATS
            and axes == _LEADING.get(data.ndim, "any rank") and data.flags.c_contiguous
            and data.shape[-1] > 0)


_LEADING = {n: tuple(range(n - 1)) for n in range(2, 9)}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# 16k values: a row long enough that its loop's setup is paid back (4k: 1.5x slower)
_ZERO_ROWS = {dtype: np.zeros(1 << 14, dtype) for dtype in _FLOATS}


def _column_sums(data, keepdims):
    """ones @ rows, one BLAS matrix-vector product: 10x numpy's reduction over the leading
    axes when the rows are short (a (64, 28, 28, 6) gradient: 0.05 ms against 0.6), and no
    less exact (numpy adds row after row there; the BLAS keeps several partial sums)."""
    rows = data.reshape(-1, data.shape[-1])
    total = np.ones(rows.shape[0], data.dtype) @ rows
    return total.reshape((1,) * (data.ndim - 1) + total.shape) if keepdims else total


def transposed_matmul(a, b):
    """a^T @ b over the last two axes, for tall a (..., m, p) and b (..., m, q): the GEMM of
    a filter's gradient, a sum over many rows into a small (p, q) result.

    OpenBLAS's AVX-512 kernels run that shape at half their speed or less when m is long and
    p small (a (65536, 27)^T @ (65536, 32) product: 5.2 ms against 3.1; p = 25: 2.1x), so
    where numpy's OpenBLAS runs them, the rows of such a product go through in chunks of
    _ROW_CHUNK, one batched product of short GEMMs, and the chunks' results are summed: on
    an AVX-512 AMD EPYC the chunks were 1.4x faster at p = 36, 1.3x at 54, 1.2x at 90, 1.1x
    at 64; on a Sapphire Rapids one GEMM was as fast from p = 64 on. OpenBLAS's AVX2 kernels
    (Haswell's, an AVX2 EPYC's) run the one GEMM faster: there the chunks took 1.2-1.7x as
    long (VGG's first conv's (32768, 37)^T @ (32768, 64): 3.0 against 1.8 ms; Winograd's
    (36, 4096, 32) products of its second: 8.3 against 6.1 ms)."""
    m, p = a.shape[-2:]
    if type(a) is not np.ndarray or m < 4 * _ROW_CHUNK or p > _FEW_COLUMNS or \
            not avx512_blas():
        return array_module(a).matmul(a.swapaxes(-1, -2), b)
    whole = m - m % _ROW_CHUNK
    total = np.matmul(_row_chunks(a, whole).swapaxes(-1, -2), _row_chunks(b, whole)).sum(-3)
    if whole < m:
        total += a[..., whole:, :].swapaxes(-1, -2) @ b[..., whole:, :]
    return total


_ROW_CHUNK = 128
_FEW_COLUMNS = 96  # the widest a whose product chunks are measured to pay (above)
_AVX512_KERNELS = ("skylakex", "cooperlake", "sapphirerapids")  # OpenBLAS's core names


@functools.cache
def avx512_blas():
    """Whether numpy's BLAS runs AVX-512 kernels of OpenBLAS (threadpoolctl reads which): the
    shapes its GEMMs run fastest at differ from its AVX2 kernels' (here, and the bands'
    GEMMs, ops/bands.py)."""
    import warnings

    from threadpoolctl import threadpool_info

    with warnings.catch_warnings():  # its notes on the OpenMP runtimes loaded are not ours
        warnings.simplefilter("ignore")
        return runs_avx512_openblas(threadpool_info())


def runs_avx512_openblas(libraries):
    """Whether numpy's OpenBLAS, among threadpoolctl's ``libraries`` (dicts), runs AVX-512
    kernels: the one that numpy's wheel bundles where there is one (another package may have
    loaded an OpenBLAS of its own), else any OpenBLAS."""
    blas = [info for info in libraries if info.get("internal_api") == "openblas"]
    bundled = [info for info in blas if "numpy" in str(info.get("filepath", ""))]
    return any(str(info.get("architecture")).lower() in _AVX512_KERNELS
               for info in bundled or blas)


def _row_chunks(a, whole):
    """The first ``whole`` rows of a as (..., whole // _ROW_CHUNK, _ROW_CHUNK, p)."""
    return a[..., :whole, :].reshape(a.shape[:-2] + (whole // _ROW_CHUNK, _ROW_CHUNK,
                                                     a.shape[-1]))


def min_max(data):
    """The smallest and the largest element (through the ufuncs on numpy, as sum_in_dtype)."""
    if type(data) is np.ndarray:
        return np.minimum.reduce(data, axis=None), np.maximum.reduce(data, axis=None)
    return data.min(), data.max()


def is_device_array(value):
    """Whether ``value`` is a GPU (CuPy) array."""
    return type(value).__module__.partition(".")[0] == "cupy"


def quiet_overflow():
    """A context in which numpy does not warn of results that overflow to inf (CuPy never does):
    for formulas whose infinities are intended, like 1 / (1 + exp(-x)) at very negative x."""
    return np.errstate(over="ignore")


def is_floating(dtype):
    """Whether values of ``dtype`` can carry gradients."""
    return dtype.kind in "fc"  # a numpy dtype: float or complex


def device_of(data):
    """The name of the device that holds ``data``."""
    if isinstance(data, (np.ndarray, np.generic)):
        return CPU
    return f"gpu:{data.device.id}"


_canonical = {CPU: CPU}  # names already parsed: devices are named on hot paths


def canonical(device):
    """'cpu', 'CPU:0', '/device:GPU:1', 'gpu', 'cuda:1' ... as 'cpu' or 'gpu:N'."""
    known = _canonical.get(device)
    if known is not None:
        return known
    match = re.fullmatch(r"/?(?:device:)?(cpu|gpu|cuda)(?::(\d+))?", str(device).strip().lower())
    if match is None:
        raise DeviceError(f"unknown device {device!r}: use 'cpu', 'gpu' or 'gpu:N'")
    kind, index = match.groups()
    name = CPU if kind == "cpu" else f"gpu:{int(index or 0)}"
    if isinstance(device, str) and len(_canonical) < 64:
        _canonical[device] = name
    return name


def cupy_module():
    """CuPy, imported on first use; a DeviceError saying what is missing otherwise."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError:
            raise DeviceError("a GPU was asked for, but CuPy is not installed: install it "
                              "with pip install -e '.[gpu]' (or use device 'cpu')") from None
        _cupy = cupy
    return _cupy


def gpu_count():
    """How many GPUs CuPy can see (0 without CuPy, a driver or a GPU)."""
    try:
        return cupy_module().cuda.runtime.getDeviceCount()
    except Exception:  # no CuPy, no driver, no device: all mean "no GPU here"
        return 0


def list_devices():
    """The devices this machine offers: ['cpu', 'gpu:0', ...]."""
    return [CPU] + [f"gpu:{i}" for i in range(gpu_count())]


def check_available(device):
    """``device`` in canonical form, or a DeviceError saying what is missing."""
    device = canonical(device)
    if device == CPU:
        return device
    cupy = cupy_module()
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:
        raise DeviceError(f"CuPy is installed but cannot reach a GPU ({error}); "
                          "check the NVIDIA driver, or use device 'cpu'") from None
    index = int(device.split(":")[1])
    if index >= count:
        raise DeviceError(f"device {device!r} does not exist: CuPy sees {count} GPU(s); "
                          f"available: {list_devices()}")
    return device


def current_device():
    """Where new tensors are created: the innermost mt.device(...) block, else the CPU."""
    return _scope[-1] if _scope else CPU


def current_module():
    """The array library of the current device (CuPy allocates on its own current GPU)."""
    return np if current_device() == CPU else cupy_module()


@contextlib.contextmanager
def device(name):
    """``with mt.device("gpu"):`` creates new tensors and variables on that device."""
    name = check_available(name)
    _scope.append(name)
    try:
        if name == CPU:
            yield name
        else:
            with cupy_module().cuda.Device(int(name.split(":")[1])):
                yield name
    finally:
        _scope.pop()


def to_device(data, device=None):
    """``data`` (any array) on ``device`` (default: the current one); copied only if needed."""
    device = current_device() if device is None else canonical(device)
    if device == CPU:
        return to_numpy(data)
    if isinstance(data, (np.ndarray, np.generic)):
        source = None
    else:
        source = device_of(data)
        if source == device:
            return data
    cupy = cupy_module()
    with cupy.cuda.Device(int(device.split(":")[1])):
        # asarray would hand back an array of another GPU as it is: copy it across explicitly
        return cupy.asarray(data) if source is None else cupy.array(data, copy=True)


def to_numpy(data):
    """A host numpy array (or numpy scalar) holding ``data``."""
    if isinstance(data, (np.ndarray, np.generic)):
        return data
    return data.get()


def check_same_device(name, a, b):
    """Raise if two arrays meet in op ``name`` from different devices (nothing is copied)."""
    da, db = device_of(a), device_of(b)
    if da != db and not (isinstance(a, np.generic) or isinstance(b, np.generic)):
        raise DeviceError(f"{name}: inputs are on different devices, {da} and {db}; move one "
                          f"with x.to('{da}') or x.to('{db}') first")


# --- host memory -----------------------------------------------------------------------------
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_KEPT = 1 << 30  # bytes: blocks up to this size come from (and return to) malloc's heap
_DOCUMENTED_MAX = 32 << 20  # the largest M_MMAP_THRESHOLD mallopt(3) promises on 64 bits


def keep_freed_memory(environ=None):
    """Tell glibc's malloc to keep freed blocks for reuse; the largest block size it keeps
    (1 GiB, or 32 MiB where the C library refuses more), 0 where nothing was done.

    numpy takes every array from malloc, which by default serves a block above a threshold
    (128 kB, rising to at most 32 MB as such blocks are freed) with fresh pages from the
    system and returns them at free, and trims its heap's free top beyond 128 kB. A training
    step's large arrays (a convolution's patches, a batch's activations) are the same sizes
    step after step, so each step got new pages and faulted every 4 kB page in anew: 1500
    faults and 3 of the 11 ms of a LeNet-5 step (benchmarks/cnn_step.py). With the thresholds
    raised, the next step reuses the blocks; the process holds what it needed at its peak.
    A caching allocator does the same (CuPy's memory pool on the GPU); numpy offers no hook for
    one from Python. Nothing is done off glibc, or with MINITRAIN_KEEP_FREED_MEMORY=0.
    """
    import ctypes
    import os
    import sys

    environ = os.environ if environ is None else environ
    if environ.get("MINITRAIN_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith(
            "linux"):
        return 0
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a C library other than glibc (musl has no mallopt)
        return 0
    kept = next((size for size in (_KEPT, _DOCUMENTED_MAX)
                 if mallopt(_M_MMAP_THRESHOLD, size)), 0)
    return kept if kept and mallopt(_M_TRIM_THRESHOLD, _KEPT) else 0
