"""The elements of a tf.data pipeline: their nesting, their conversions, and the passes over
them that pipeline.py's transformations are made of (generators of elements).

tf.data nests elements in tuples (namedtuples too) and dicts only; a Python list is a leaf (one
tensor), so minitrain.nest, which walks into lists, is not used here. Dicts go by sorted key,
as in TF. Inside a pipeline the leaves are arrays (numpy or CuPy); they become Tensors only
where user code sees them: when iterated, and as the arguments of ``map`` and ``filter``.
"""
import itertools
import operator

import numpy as np

from .. import backend
from ..tensor import Tensor, int64, to_array


def whole_number(value):
    """``value`` as an int if it is one (an int, a numpy or Tensor integer), else None.

    A float is refused, even 2.0, and so is a bool: int(2.7) truncating to 2, or True meaning 1,
    would hide a mistake in a size."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


# --- structure ---------------------------------------------------------------------------------
def leaves(element):
    if isinstance(element, dict):
        return [leaf for key in sorted(element) for leaf in leaves(element[key])]
    if isinstance(element, tuple):
        return [leaf for item in element for leaf in leaves(item)]
    return [element]


def map_leaves(fn, element):
    if isinstance(element, dict):
        return {key: map_leaves(fn, element[key]) for key in sorted(element)}
    if isinstance(element, tuple):
        items = [map_leaves(fn, item) for item in element]
        return type(element)(*items) if hasattr(element, "_fields") else tuple(items)
    return fn(element)


def pack_as(structure, values):
    """``structure`` with its leaves replaced, in order, by ``values``."""
    values = iter(values)
    return map_leaves(lambda _: next(values), structure)


def common_length(arrays, mismatch):
    """The first dimension the arrays share, else ValueError(mismatch.format(n, m))."""
    n = arrays[0].shape[0]
    for a in arrays[1:]:
        if a.shape[0] != n:
            raise ValueError(mismatch.format(n, a.shape[0]))
    return n


# --- conversions -------------------------------------------------------------------------------
def copied_array(value):
    # a copy, as a TF tensor is one: later writes to the caller's array do not reach the dataset
    data = to_array(value)
    return backend.array_module(data).array(data, copy=True)


def tensor(data):
    return Tensor(backend.to_device(data))


def host(data):
    value = np.asarray(backend.to_numpy(data))
    return value[()] if value.ndim == 0 else value  # a scalar as a numpy scalar, as TF's


# --- passes ------------------------------------------------------------------------------------
def rows(element, n):
    """The ``n`` slices of ``element`` along the first axis of every leaf."""
    arrays = leaves(element)
    return (pack_as(element, [a[i, ...] for a in arrays]) for i in range(n))


def batches(elements, size, drop_remainder):
    while chunk := list(itertools.islice(elements, size)):
        if drop_remainder and len(chunk) < size:
            return
        columns = zip(*(leaves(e) for e in chunk))
        yield pack_as(chunk[0], [_stacked(k, arrays) for k, arrays in enumerate(columns)])


def _stacked(component, arrays):
    first = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != first:
            raise ValueError(f"Cannot batch tensors with different shapes in component "
                             f"{component}. First element had shape {list(first)} and element "
                             f"{i} had shape {list(a.shape)}.")
    return backend.array_module(arrays[0]).stack(arrays)


def unbatched(elements):
    for element in elements:
        arrays = leaves(element)
        if any(a.ndim == 0 for a in arrays):
            raise ValueError("Cannot unbatch an input with scalar components.")
        n = common_length(arrays, "`unbatch()` is only supported for datasets of elements "
                                  "whose components have a matching leading dimension. "
                                  "Encountered both {} and {}.")
        yield from rows(element, n)


def zipped(structure, iterators):
    for parts in zip(*iterators):
        yield pack_as(structure, parts)


def enumerated(start, elements):
    for i, element in zip(itertools.count(start), elements):
        yield np.asarray(i, int64), element


def repeated(make, count):
    """``count`` passes (forever if negative), each a fresh ``make()``."""
    for _ in itertools.count() if count < 0 else range(count):
        empty = True
        for element in make():
            empty = False
            yield element
        if empty:
            return  # as TF: an empty dataset repeated forever ends, rather than spinning


def buffered_shuffle(elements, size, rng):
    """TF's shuffle: the next ``size`` elements wait in a buffer; each output is drawn from it
    uniformly and its place taken by the next input element; at the end the buffer drains."""
    buffer = list(itertools.islice(elements, size))
    for element in elements:
        i = rng.integers(len(buffer))
        yield buffer[i]
        buffer[i] = element
    while buffer:
        i = rng.integers(len(buffer))
        buffer[i], buffer[-1] = buffer[-1], buffer[i]
        yield buffer.pop()


def _called(fn, element):
    """``fn`` on the element as Tensors, a plain tuple unpacked into arguments (as TF)."""
    args = map_leaves(tensor, element)
    return fn(*args) if type(args) is tuple else fn(args)


def mapped(fn, element):
    result = _called(fn, element)
    if isinstance(result, list):
        result = tuple(result)  # as TF: a returned list is several components, not one stack
    if result is None:
        raise TypeError("Unsupported return value from function passed to Dataset.map(): None.")
    return map_leaves(to_array, result)


def kept(predicate, element):
    result = _called(predicate, element)
    value = None if isinstance(result, (tuple, dict)) else to_array(result)
    if value is None or value.ndim != 0 or value.dtype != np.bool_:
        kind = type(result).__name__ if value is None else f"{value.dtype} {value.shape}"
        raise ValueError("Invalid `predicate`. `predicate` must return a `tf.bool` scalar "
                         f"tensor, but its return type is {kind}.")
    return bool(value)
