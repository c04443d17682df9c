"""Evenly spaced values, identity matrices, coordinate grids and padding (TensorFlow's names).

linspace and meshgrid are compositions of differentiable ops; pad's CONSTANT mode is one op
whose gradient is a slice, its REFLECT and SYMMETRIC modes gathers of mirrored indices.
"""
import numpy as np

from .. import backend
from ..tensor import Tensor, as_dtype, float32, to_array
from .core import as_tensor, normalize_axis, register_gradient, run, xp_of
from .reduce import broadcast_to
from .selection import cast
from .shape import concat, expand_dims, getitem, reshape


def linspace(start, stop, num, name=None, axis=0):
    """``num`` evenly spaced values from start to stop (both included) along a new ``axis``;
    start and stop broadcast together, integers give float64, as in TensorFlow."""
    start = as_tensor(start)
    stop = as_tensor(stop, dtype=start.dtype)
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: num must be >= 0, got {num}")
    if start.dtype.kind in "iub":
        start, stop = cast(start, "float64"), cast(stop, "float64")
    shape = np.broadcast_shapes(start.shape, stop.shape)
    axis = normalize_axis(axis, len(shape) + 1, "linspace")
    first = expand_dims(broadcast_to(start, shape), axis)
    last = expand_dims(broadcast_to(stop, shape), axis)
    steps = xp_of(first).arange(1, max(num - 1, 1), dtype=first.dtype)
    steps = Tensor(steps.reshape((-1,) + (1,) * (len(shape) - axis)))
    values = concat([first, first + (last - first) / max(num - 1, 1) * steps, last], axis)
    return getitem(values, (slice(None),) * axis + (slice(0, num),))


def eye(num_rows, num_columns=None, batch_shape=None, dtype=float32, name=None):
    """Identity matrices of shape batch_shape + [num_rows, num_columns]."""
    rows = int(num_rows)
    columns = rows if num_columns is None else int(num_columns)
    if rows < 0 or columns < 0:
        raise ValueError(f"eye: num_rows and num_columns must be >= 0, got {rows} and {columns}")
    xp = backend.current_module()
    matrix = xp.eye(rows, columns, dtype=as_dtype(dtype))
    if batch_shape is None:
        return Tensor(matrix)
    batch = tuple(int(n) for n in to_array(batch_shape).reshape(-1))
    return Tensor(xp.broadcast_to(matrix, batch + matrix.shape).copy())


def meshgrid(*args, **kwargs):
    """Coordinate grids of the 1-D ``args``: with indexing 'xy' (the default) the first two
    output axes are swapped, as in numpy; 'ij' keeps the arguments' order."""
    indexing = kwargs.pop("indexing", "xy")
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"meshgrid: {sorted(kwargs)[0]!r} is an invalid keyword argument")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be either 'xy' or 'ij', got {indexing!r}")
    xs = [reshape(as_tensor(x), (-1,)) for x in args]
    sizes = [x.shape[0] for x in xs]
    if indexing == "xy" and len(xs) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, x in enumerate(xs):
        at = (1 - i if i < 2 else i) if indexing == "xy" and len(xs) > 1 else i
        shape = [1] * len(xs)
        shape[at] = -1
        grids.append(broadcast_to(reshape(x, shape), sizes))
    return grids


_MODES = ("CONSTANT", "REFLECT", "SYMMETRIC")


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """``tensor`` with paddings[d] = [before, after] entries added along each axis d: filled
    with constant_values, or mirrored without the edge (REFLECT) or with it (SYMMETRIC)."""
    x = as_tensor(tensor)
    pads = _paddings(paddings, x.shape)
    mode = str(mode).upper()
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be one of 'CONSTANT', 'REFLECT' or 'SYMMETRIC' "
                         f"(any case), got {mode!r}")
    if mode == "CONSTANT" and pads:
        value = backend.to_numpy(to_array(constant_values, x.dtype)).item()
        xp = xp_of(x)
        return run("pad", lambda a: xp.pad(a, pads, constant_values=value), (x,),
                   {"paddings": pads})
    for axis, (before, after) in enumerate(pads):
        if before or after:
            x = getitem(x, (slice(None),) * axis + (_mirror(mode, x.shape[axis], before, after),))
    return x


def _paddings(paddings, shape):
    """The paddings as one (before, after) pair of ints >= 0 per axis of ``shape``."""
    pads = np.asarray(backend.to_numpy(to_array(paddings)))
    if pads.size == 0 and not shape:  # a scalar has nothing to pad
        return ()
    if pads.shape != (len(shape), 2) or pads.dtype.kind not in "iu":
        raise ValueError(f"pad: paddings must be integers of shape ({len(shape)}, 2), one "
                         f"[before, after] pair per axis of the tensor of shape {tuple(shape)}; "
                         f"got {pads.tolist()}")
    if (pads < 0).any():
        raise ValueError(f"pad: paddings must be non-negative, got {pads.tolist()}")
    return tuple((int(b), int(a)) for b, a in pads)


def _mirror(mode, n, before, after):
    """The indices along an axis of size n that pad it by mirroring."""
    limit = n - 1 if mode == "REFLECT" else n
    if max(before, after) > limit:
        relation = "less than" if mode == "REFLECT" else "no greater than"
        raise ValueError(f"pad: {mode} paddings must be {relation} the dimension size {n}, got "
                         f"[{before}, {after}]")
    return np.pad(np.arange(n), (before, after), mode=mode.lower())


@register_gradient("pad")
def _pad_grad(op, grad):
    """the gradient's slice where the input sits"""
    pads = op.attrs["paddings"]
    return (getitem(grad, tuple(slice(b, b + n) for (b, _), n in zip(pads, op.inputs[0].shape))),)
