"""Ops that move elements around (reshape, transpose, indexing, joining) and constant makers."""

from .. import backend, tape
from ..tensor import Tensor, as_dtype, float32, to_array
from .core import as_tensor, normalize_axes, normalize_axis, register_gradient, run, xp_of


def _new():
    """The array module of the device where new tensors are made."""
    return backend.current_module()


def identity(input, name=None):
    x = as_tensor(input)
    return run("identity", lambda a: a, (x,))


@register_gradient("identity")
def _identity_grad(op, grad):
    return (grad,)


def copy_to_device(input, device, name=None):
    """The value copied to ``device``; the gradient is copied back."""
    x = as_tensor(input)
    device = backend.check_available(device)
    if x.device == device:
        return x
    return run("copy_to_device", lambda a: backend.to_device(a, device), (x,),
               {"device": x.device})


@register_gradient("copy_to_device")
def _copy_to_device_grad(op, grad):
    """the gradient, copied back to where the input lives"""
    return (copy_to_device(grad, op.attrs["device"]),)


def stop_gradient(input, name=None):
    """The same value, through which no gradient flows."""
    x = as_tensor(input)
    y = Tensor(x._data)
    if tape.active():
        tape.record("stop_gradient", (x,), (y,), cut="mt.stop_gradient")
    return y


def reshape(tensor, shape, name=None):
    x = as_tensor(tensor)
    shape = tuple(int(n) for n in shape)
    try:
        return run("reshape", lambda a: a.reshape(shape), (x,))
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x._data.size} elements) to {shape}") from None


@register_gradient("reshape")
def _reshape_grad(op, grad):
    return (reshape(grad, op.inputs[0].shape),)


def expand_dims(input, axis, name=None):
    x = as_tensor(input)
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"expand_dims: axis {axis} is out of range for a tensor of rank "
                         f"{x.ndim} (valid: {-x.ndim - 1}..{x.ndim})")
    axis = axis % (x.ndim + 1)
    shape = x._data.shape
    return reshape(x, shape[:axis] + (1,) + shape[axis:])


def squeeze(input, axis=None, name=None):
    x = as_tensor(input)
    if axis is None:
        axes = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        axes = set(normalize_axes(axis, x.ndim, "squeeze"))
        wide = [a for a in sorted(axes) if x.shape[a] != 1]
        if wide:
            raise ValueError(f"squeeze: axis {wide[0]} of shape {x.shape} has size "
                             f"{x.shape[wide[0]]}, not 1")
    return reshape(x, [n for i, n in enumerate(x.shape) if i not in axes])


def transpose(a, perm=None, name=None):
    x = as_tensor(a)
    perm = tuple(reversed(range(x.ndim))) if perm is None else tuple(int(p) for p in perm)
    if sorted(p % max(x.ndim, 1) for p in perm) != list(range(x.ndim)):
        raise ValueError(f"transpose: perm {perm} is not a permutation of the axes of {x.shape}")
    return run("transpose", lambda d: d.transpose(perm), (x,), {"perm": perm})


@register_gradient("transpose")
def _transpose_grad(op, grad):
    """transpose back with the inverse permutation"""
    perm = op.attrs["perm"]
    inverse = sorted(range(len(perm)), key=lambda i: perm[i] % len(perm))
    return (transpose(grad, inverse),)


def matrix_transpose(a, name=None):
    x = as_tensor(a)
    return transpose(x, list(range(x.ndim - 2)) + [x.ndim - 1, x.ndim - 2])


def concat(values, axis, name=None):
    xs = [as_tensor(v) for v in values]
    if not xs:
        raise ValueError("concat: needs at least one tensor to join")
    if len({x.dtype for x in xs}) > 1:
        raise TypeError(f"concat: inputs have different dtypes {[x.dtype.name for x in xs]}")
    xp = xp_of(xs[0])
    axis = normalize_axis(axis, xs[0].ndim, "concat")
    return run("concat", lambda *arrays: xp.concatenate(arrays, axis=axis), tuple(xs),
               {"axis": axis})


@register_gradient("concat")
def _concat_grad(op, grad):
    """each input takes back its own slice of the gradient"""
    axis, start, grads = op.attrs["axis"], 0, []
    for x in op.inputs:
        index = (slice(None),) * axis + (slice(start, start + x.shape[axis]),)
        grads.append(getitem(grad, index))
        start += x.shape[axis]
    return tuple(grads)


def stack(values, axis=0, name=None):
    xs = [as_tensor(v) for v in values]
    if not xs:
        raise ValueError("stack: needs at least one tensor to join")
    axis = normalize_axis(axis, xs[0].ndim + 1, "stack")
    return concat([expand_dims(x, axis) for x in xs], axis)


def unstack(value, num=None, axis=0, name=None):
    x = as_tensor(value)
    axis = normalize_axis(axis, x.ndim, "unstack")
    return [getitem(x, (slice(None),) * axis + (i,)) for i in range(x.shape[axis])]


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    """Pieces along ``axis``: ``num_or_size_splits`` equal ones, or pieces of the sizes listed
    (one size may be -1: what is left). Slices of the value, so gradients flow to it."""
    x = as_tensor(value)
    axis = normalize_axis(axis, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(num_or_size_splits, int):
        if num_or_size_splits <= 0 or length % num_or_size_splits:
            raise ValueError(f"split: {num_or_size_splits} equal pieces of a dimension of size "
                             f"{length} (axis {axis}) are not possible")
        sizes = [length // num_or_size_splits] * num_or_size_splits
    else:
        sizes = [int(n) for n in num_or_size_splits]
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = length - (sum(sizes) + 1)
        if sum(sizes) != length or min(sizes, default=0) < 0:
            raise ValueError(f"split: sizes {list(num_or_size_splits)} do not add up to the "
                             f"dimension's size {length} (axis {axis})")
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(start, start + n),)) for start, n in zip(starts, sizes)]


def reverse(tensor, axis, name=None):
    """The elements in reverse order along each axis of ``axis`` (a list, as TensorFlow's)."""
    x = as_tensor(tensor)
    axes = normalize_axes(axis, x.ndim, "reverse")
    return getitem(x, tuple(slice(None, None, -1) if i in axes else slice(None)
                            for i in range(x.ndim)))


# --- indexing --------------------------------------------------------------------------------
def _index_array(part):
    """One component of an index, as numpy understands it (tensors become arrays)."""
    if isinstance(part, Tensor):
        part = part._data
    if isinstance(part, list):
        part = to_array(part)
    return part


def _normalize_index(index):
    index = index if isinstance(index, tuple) else (index,)
    parts = []
    for part in map(_index_array, index):
        if getattr(part, "dtype", None) is not None and part.dtype == bool:
            parts.extend(part.nonzero())  # a mask is its coordinates; scatter-add needs those
        else:
            parts.append(part)
    return tuple(parts)


def _is_basic(index):
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in index)


def getitem(tensor, index):
    """numpy indexing: ints, slices with steps, None, Ellipsis, integer arrays and masks."""
    x = as_tensor(tensor)
    index = _normalize_index(index)
    try:
        return run("getitem", lambda a: a[index], (x,), {"index": index})
    except IndexError as error:
        raise IndexError(f"getitem: index {index} does not fit shape {x.shape}: {error}") from None


@register_gradient("getitem")
def _getitem_grad(op, grad):
    """scatter the gradient back into zeros of the input's shape"""
    return (scatter_add(grad, op.attrs["index"], op.inputs[0].shape),)


def scatter_add(updates, index, shape, name=None):
    """zeros(shape) with ``updates`` added at ``index`` (repeated indices accumulate)."""
    u = as_tensor(updates)
    xp = xp_of(u)

    def forward(a):
        out = xp.zeros(shape, dtype=a.dtype)
        if _is_basic(index):
            out[index] = a
        else:
            xp.add.at(out, index, a)
        return out

    return run("scatter_add", forward, (u,), {"index": index})


@register_gradient("scatter_add")
def _scatter_add_grad(op, grad):
    """each update receives the gradient at the place it was added"""
    return (getitem(grad, op.attrs["index"]),)


def gather(params, indices, axis=None, batch_dims=0, name=None):
    x = as_tensor(params)
    axis = batch_dims if axis is None else normalize_axis(axis, x.ndim, "gather")
    indices = to_array(_index_array(indices))
    n = x.shape[axis]
    if indices.size and (indices.min() < 0 or indices.max() >= n):  # numpy would wrap -1
        raise IndexError(f"gather: indices must lie in [0, {n}) for axis {axis} of params of "
                         f"shape {x.shape}, got values {indices.min()}..{indices.max()}")
    if batch_dims == 0:
        return getitem(x, (slice(None),) * axis + (indices,))
    if axis != batch_dims:
        raise NotImplementedError(
            "gather: batch_dims > 0 is supported only with axis == batch_dims")
    xp = backend.array_module(indices)
    batch = tuple(xp.arange(n).reshape((-1,) + (1,) * (indices.ndim - i - 1))
                  for i, n in enumerate(indices.shape[:batch_dims]))
    return getitem(x, batch + (indices,))


# --- constants -------------------------------------------------------------------------------
def zeros(shape, dtype=float32, name=None):
    return Tensor(_new().zeros(shape, dtype=as_dtype(dtype)))


def ones(shape, dtype=float32, name=None):
    return Tensor(_new().ones(shape, dtype=as_dtype(dtype)))


def fill(dims, value, name=None):
    value = to_array(value)
    return Tensor(_new().full(dims, value, dtype=value.dtype))


def zeros_like(input, dtype=None, name=None):
    x = as_tensor(input)
    return Tensor(xp_of(x).zeros_like(x._data, dtype=as_dtype(dtype)))


def ones_like(input, dtype=None, name=None):
    x = as_tensor(input)
    return Tensor(xp_of(x).ones_like(x._data, dtype=as_dtype(dtype)))


def one_hot(indices, depth, on_value=None, off_value=None, axis=-1, dtype=None, name=None):
    """One-hot rows; an index outside [0, depth) gives a row of off_value, as in TensorFlow."""
    i = as_tensor(indices)
    xp = xp_of(i)
    if dtype is None:  # as TensorFlow: on_value's dtype, else off_value's, else float32
        given = [v for v in (on_value, off_value) if v is not None]
        dtype = to_array(given[0]).dtype if given else float32
    dtype = as_dtype(dtype)
    hot = xp.expand_dims(i._data, -1) == xp.arange(depth)
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    out = xp.where(hot, xp.asarray(on, dtype=dtype), xp.asarray(off, dtype=dtype))
    return Tensor(xp.moveaxis(out, -1, axis) if axis != -1 else out)


def shape(input, out_type="int32", name=None):
    return Tensor(_new().asarray(as_tensor(input).shape, dtype=out_type))


def size(input, out_type="int32", name=None):
    return Tensor(_new().asarray(as_tensor(input)._data.size, dtype=out_type))


def rank(input, name=None):
    return Tensor(_new().asarray(as_tensor(input).ndim, dtype="int32"))


def range_(start, limit=None, delta=1, dtype=None, name=None):
    """mt.range: start, start + delta, ... below limit (float32 for float arguments, int32 for
    ints, int64 past int32's range), on the current device."""
    start, limit = (0, start) if limit is None else (start, limit)
    values = _new().arange(start, limit, delta)
    if dtype is None:
        dtype = float32 if values.dtype.kind == "f" else to_array([start, limit]).dtype
    dtype = as_dtype(dtype)
    if values.dtype.kind == "f" and dtype.kind in "iub":
        raise TypeError(f"range: float arguments ({start}, {limit}, {delta}) for dtype "
                        f"{dtype.name}; pass integers, or cast the result with mt.cast")
    return Tensor(values.astype(dtype))
