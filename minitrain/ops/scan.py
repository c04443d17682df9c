"""Scans along an axis (cumsum, cumprod), the product reduction, and sorting (sort, argsort,
top_k): TensorFlow's flags and orders, each gradient written with differentiable ops."""
import collections
import math

from .. import backend
from .core import as_tensor, normalize_axes, normalize_axis, register_gradient, run, run_cut, xp_of
from .reduce import _grad_to_input
from .selection import where
from .shape import getitem, reshape, transpose


def _scan(accumulate, identity, axis, exclusive, reverse):
    """An array forward for a scan: ``accumulate`` along ``axis`` (in its dtype: numpy would
    widen int32), shifted by one (``identity`` first) when exclusive, from the end when reverse."""

    def forward(a):
        xp = backend.array_module(a)
        if reverse:
            a = xp.flip(a, axis)
        y = accumulate(a, axis=axis, dtype=a.dtype)
        if exclusive and a.shape[axis]:
            head = (slice(None),) * axis
            shifted = xp.empty_like(y)
            shifted[head + (0,)] = identity
            shifted[head + (slice(1, None),)] = y[head + (slice(None, -1),)]
            y = shifted
        return xp.flip(y, axis) if reverse else y

    return forward


def _scan_op(name, x, axis, exclusive, reverse):
    x = as_tensor(x)
    axis = normalize_axis(axis, x.ndim, name)
    xp = xp_of(x)
    accumulate, identity = (xp.cumsum, 0) if name == "cumsum" else (xp.cumprod, 1)
    attrs = {"axis": axis, "exclusive": bool(exclusive), "reverse": bool(reverse)}
    return run(name, _scan(accumulate, identity, axis, exclusive, reverse), (x,), attrs)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """The running sum along ``axis``: [a, a + b, a + b + c] (exclusive: [0, a, a + b];
    reverse: [a + b + c, b + c, c])."""
    return _scan_op("cumsum", x, axis, exclusive, reverse)


@register_gradient("cumsum")
def _cumsum_grad(op, grad):
    """the running sum of grad in the opposite direction, with the same exclusivity"""
    a = op.attrs
    return (cumsum(grad, a["axis"], a["exclusive"], not a["reverse"]),)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """The running product along ``axis``: [a, a * b, a * b * c], with cumsum's flags."""
    return _scan_op("cumprod", x, axis, exclusive, reverse)


@register_gradient("cumprod")
def _cumprod_grad(op, grad):
    """C(grad * y) / x, with C the running sum in the opposite direction; at each zero of x,
    where that is 0 / 0, C(grad * y') instead, y' the scan of x with that zero set to 1.

    One extra scan per zero of the slice with the most: so the gradient is the product rule's
    polynomial wherever x has zeros, and its own derivatives are exact too. TensorFlow's
    (div_no_nan) gives 0 at a zero instead.
    """
    (x,), (y,) = op.inputs, op.outputs
    axis, exclusive, reverse = (op.attrs[k] for k in ("axis", "exclusive", "reverse"))
    zero = x._data == 0
    xp = backend.array_module(zero)
    # which zero of its slice each zero is, in scan order (1, 2, ...), and 0 elsewhere
    count = _scan(xp.cumsum, 0, axis, False, reverse)(zero.astype("int32")) * zero
    total = cumsum(grad * y, axis, exclusive, not reverse) / where(zero, 1, x)
    for m in range(1, int(count.max()) + 1 if count.size else 1):
        at = count == m
        skipping = cumprod(where(at, 1, x), axis, exclusive, reverse)
        total = where(at, cumsum(grad * skipping, axis, exclusive, not reverse), total)
    return (total,)


def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    """The product over ``axis`` (all axes when None), in the input's dtype."""
    x = as_tensor(input_tensor)
    axes = normalize_axes(axis, x.ndim, "reduce_prod")
    attrs = {"axes": axes, "keepdims": bool(keepdims)}
    return run("reduce_prod", lambda a: a.prod(axis=axes, keepdims=keepdims, dtype=a.dtype),
               (x,), attrs)


@register_gradient("reduce_prod")
def _reduce_prod_grad(op, grad):
    """grad times the product of the other reduced elements: with the reduced axes moved first
    and flattened, the exclusive running products from both ends, multiplied (no division,
    so exact with any zeros; TensorFlow's _ProdGrad)"""
    (x,) = op.inputs
    axes = op.attrs["axes"]
    kept = [i for i in range(x.ndim) if i not in axes]
    perm = list(axes) + kept
    moved = transpose(x, perm)
    sizes = [math.prod(x.shape[i] for i in part) for part in (axes, kept)]
    flat = reshape(moved, sizes)
    others = cumprod(flat, 0, exclusive=True) * cumprod(flat, 0, exclusive=True, reverse=True)
    back = sorted(range(x.ndim), key=perm.__getitem__)
    return (_grad_to_input(op, grad) * transpose(reshape(others, moved.shape), back),)


# --- sorting ---------------------------------------------------------------------------------
_DIRECTIONS = ("ASCENDING", "DESCENDING")


def _order(a, axis, descending):
    """Indices that sort ``a`` along ``axis``, ties in their original order either way (as
    TensorFlow's, a top_k, gives them)."""
    xp = backend.array_module(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    # a stable ascending sort of the reversed values, read backwards: descending, ties first
    backwards = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return a.shape[axis] - 1 - xp.flip(backwards, axis)


def _sorting(name, values, axis, direction):
    if direction not in _DIRECTIONS:
        raise ValueError(f"{name}: direction {direction!r} should be one of ASCENDING, "
                         "DESCENDING")
    x = as_tensor(values)
    return x, normalize_axis(axis, x.ndim, name)


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """The int32 indices that sort ``values`` along ``axis``; always stable, as TensorFlow's."""
    x, axis = _sorting("argsort", values, axis, direction)
    descending = direction == "DESCENDING"
    return run_cut("argsort", lambda a: _order(a, axis, descending).astype("int32"), (x,))


def sort(values, axis=-1, direction="ASCENDING", name=None):
    """``values`` sorted along ``axis``; the gradient goes back to where each value came from."""
    x, axis = _sorting("sort", values, axis, direction)
    return _take_along(x, _order(x._data, axis, direction == "DESCENDING"), axis)


def _take_along(x, indices, axis):
    """x's elements at ``indices`` along ``axis`` (an array of x's rank), as one getitem."""
    xp = backend.array_module(indices)
    index = tuple(indices if i == axis else
                  xp.arange(n).reshape((-1,) + (1,) * (x.ndim - 1 - i))
                  for i, n in enumerate(indices.shape))
    return getitem(x, index)


TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])


def top_k(input, k=1, sorted=True, index_type="int32", name=None):
    """(values, indices) of the k largest entries of each last-axis slice, largest first, ties
    lower index first; the values carry gradients, the int32 indices do not."""
    x = as_tensor(input)
    k = int(k)
    if x.ndim == 0:
        raise ValueError("top_k: input must have rank >= 1, got a scalar")
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k = {k} must lie in [0, {x.shape[-1]}], the size of the last "
                         f"axis of the input of shape {x.shape}")
    indices = run_cut("top_k", lambda a: _order(a, -1, True)[..., :k].astype(index_type), (x,))
    return TopKV2(_take_along(x, indices._data, x.ndim - 1), indices)
