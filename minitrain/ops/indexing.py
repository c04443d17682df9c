"""Gathers and scatters by coordinates (gather_nd, scatter_nd, tensor_scatter_nd_*), masks and
segment sums: TensorFlow's shapes and checks, each built on getitem and scatter_add (each the
other's gradient), so every order of derivative comes with them."""
import numpy as np

from .. import backend
from ..tensor import to_array
from .core import as_pair, as_tensor, normalize_axis, register_gradient, run
from .reduce import broadcast_to, reduce_sum
from .shape import getitem, reshape, scatter_add, zeros_like


def _integers(indices, name, what="indices"):
    """``indices`` (a list, an array or a tensor) as an integer array."""
    data = to_array(indices)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{name}: {what} must be integers, got {data.dtype.name}")
    return data


def _coordinates(name, indices, shape, first=0):
    """The index arrays (one per coordinate) of ``indices``, whose last axis holds coordinates
    into axes ``first``, ``first + 1``, ... of ``shape``; each checked to lie in range."""
    idx = _integers(indices, name)
    if idx.ndim == 0:
        raise ValueError(f"{name}: indices must have rank >= 1, got a scalar")
    depth = idx.shape[-1]
    if depth > len(shape) - first:
        raise ValueError(f"{name}: indices of shape {tuple(idx.shape)} hold {depth} coordinates, "
                         f"more than the {len(shape) - first} axes of shape {tuple(shape)}")
    host = backend.to_numpy(idx)
    bad = ((host < 0) | (host >= np.array(shape[first:first + depth], dtype=np.int64))).any(-1)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise IndexError(f"{name}: indices{list(where)} = {host[where].tolist()} does not index "
                         f"into shape {tuple(shape)}")
    return idx, tuple(idx[..., i] for i in range(depth))


def gather_nd(params, indices, batch_dims=0, name=None):
    """params at the coordinates in the last axis of ``indices``: shape
    indices.shape[:-1] + params.shape[batch_dims + depth:]; the first ``batch_dims`` axes of
    params and indices are paired."""
    x = as_tensor(params)
    b = int(batch_dims)
    idx = _integers(indices, "gather_nd")
    if not 0 <= b < max(idx.ndim, 1) or tuple(x.shape[:b]) != tuple(idx.shape[:b]):
        raise ValueError(f"gather_nd: batch_dims = {b} needs params (shape {tuple(x.shape)}) "
                         f"and indices (shape {tuple(idx.shape)}) to share their first {b} axes, "
                         "with indices of higher rank")
    idx, parts = _coordinates("gather_nd", idx, x.shape, b)
    lead = tuple(idx.shape[:-1])
    xp = backend.array_module(idx)
    batch = tuple(xp.broadcast_to(xp.arange(n).reshape((-1,) + (1,) * (len(lead) - 1 - i)), lead)
                  for i, n in enumerate(lead[:b]))
    if not batch + parts:  # no coordinates: each index picks all of params
        return broadcast_to(reshape(x, (1,) * len(lead) + tuple(x.shape)), lead + tuple(x.shape))
    return getitem(x, batch + parts)


def scatter_nd(indices, updates, shape, name=None):
    """zeros(shape) with ``updates`` added at the coordinates in ``indices`` (repeated
    coordinates add up)."""
    u = as_tensor(updates)
    shape = tuple(int(n) for n in shape)
    idx, parts = _coordinates("scatter_nd", indices, shape)
    _check_updates("scatter_nd", idx, u, shape)
    if not parts:
        return reduce_sum(u, list(range(idx.ndim - 1)))
    return scatter_add(u, parts, shape)


def _check_updates(name, idx, u, shape):
    expected = tuple(idx.shape[:-1]) + tuple(shape[idx.shape[-1]:])
    if tuple(u.shape) != expected:
        raise ValueError(f"{name}: updates of shape {tuple(u.shape)} must have shape {expected} "
                         f"(indices.shape[:-1] + shape[{idx.shape[-1]}:]) for indices of shape "
                         f"{tuple(idx.shape)} into shape {tuple(shape)}")


def tensor_scatter_nd_update(tensor, indices, updates, name=None):
    """A copy of ``tensor`` with ``updates`` written at the coordinates in ``indices``."""
    x, u = as_pair(tensor, updates, "tensor_scatter_nd_update")
    idx, parts = _coordinates("tensor_scatter_nd_update", indices, x.shape)
    _check_updates("tensor_scatter_nd_update", idx, u, x.shape)
    return _scatter_update(x, parts, u)


def _scatter_update(x, index, u):
    def forward(a, b):
        out = a.copy()
        out[index] = b
        return out

    return run("tensor_scatter_nd_update", forward, (x, u), {"index": index})


@register_gradient("tensor_scatter_nd_update")
def _tensor_scatter_nd_update_grad(op, grad):
    """grad with zeros where the updates were written, and grad gathered there (TensorFlow's)"""
    index, u = op.attrs["index"], op.inputs[1]
    return _scatter_update(grad, index, zeros_like(u, dtype=grad.dtype)), getitem(grad, index)


def tensor_scatter_nd_add(tensor, indices, updates, name=None):
    """``tensor`` plus ``updates`` added at the coordinates in ``indices``."""
    x, u = as_pair(tensor, updates, "tensor_scatter_nd_add")
    return x + scatter_nd(indices, u, x.shape)


def tensor_scatter_nd_sub(tensor, indices, updates, name=None):
    """``tensor`` minus ``updates`` at the coordinates in ``indices``."""
    x, u = as_pair(tensor, updates, "tensor_scatter_nd_sub")
    return x - scatter_nd(indices, u, x.shape)


def boolean_mask(tensor, mask, axis=None, name=None):
    """The slices of ``tensor`` where ``mask`` (matching axes axis..axis+K-1) is True, those K
    axes flattened into one."""
    x = as_tensor(tensor)
    m = to_array(mask)
    m = m if m.dtype == bool else m != 0
    if m.ndim == 0:
        raise ValueError("boolean_mask: mask cannot be scalar.")
    axis = 0 if axis is None else normalize_axis(axis, x.ndim, "boolean_mask")
    if tuple(x.shape[axis:axis + m.ndim]) != tuple(m.shape):
        raise ValueError(f"boolean_mask: a mask of shape {tuple(m.shape)} does not match axes "
                         f"{axis}..{axis + m.ndim - 1} of the tensor of shape {tuple(x.shape)}")
    return getitem(x, (slice(None),) * axis + (m,))


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """Sums of the slices of ``data`` that share a segment id: shape
    [num_segments] + data.shape[segment_ids.ndim:]; a negative id drops its slice."""
    x = as_tensor(data)
    ids = _integers(segment_ids, "unsorted_segment_sum", "segment_ids")
    n = int(num_segments)
    if tuple(x.shape[:ids.ndim]) != tuple(ids.shape):
        raise ValueError(f"unsorted_segment_sum: segment_ids of shape {tuple(ids.shape)} must be "
                         f"a prefix of data's shape {tuple(x.shape)}")
    host = backend.to_numpy(ids)
    if (host >= n).any():
        where = tuple(int(i) for i in np.argwhere(host >= n)[0])
        raise IndexError(f"unsorted_segment_sum: segment_ids{list(where)} = {host[where]} is out "
                         f"of range [0, {n}) (num_segments = {n})")
    shape = (n,) + tuple(x.shape[ids.ndim:])
    keep = host >= 0
    if not keep.all():
        x, ids = getitem(x, keep), ids[backend.to_device(keep, backend.device_of(ids))]
    return scatter_add(x, (ids,), shape)


def segment_sum(data, segment_ids, name=None):
    """Sums of the rows of ``data`` in each segment; ids sorted, non-negative, one per row, and
    max(id) + 1 segments (an empty one sums to 0)."""
    x = as_tensor(data)
    ids = _integers(segment_ids, "segment_sum", "segment_ids")
    if ids.ndim != 1 or x.ndim == 0 or ids.shape[0] != x.shape[0]:
        raise ValueError(f"segment_sum: segment_ids (shape {tuple(ids.shape)}) should be a vector "
                         f"the size of dimension 0 of data (shape {tuple(x.shape)})")
    host = backend.to_numpy(ids)
    if (host < 0).any():
        raise ValueError(f"segment_sum: segment ids must be >= 0, got {host.tolist()}")
    if (np.diff(host) < 0).any():
        raise ValueError(f"segment_sum: segment ids are not increasing: {host.tolist()}")
    return unsorted_segment_sum(x, ids, int(host[-1]) + 1 if host.size else 0)
