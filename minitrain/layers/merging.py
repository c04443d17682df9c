"""Merging layers, called on a list of tensors: Concatenate, Add, Subtract, Multiply, Average,
Maximum and Minimum, and Keras's functions of the same names in lower case.

As in Keras, the element-wise merges broadcast, and an input of lower rank gets axes of size
1 inserted after its batch axis until the ranks agree.
"""
import functools

from .. import ops
from .base import Layer


def _broadcast_shapes(first, second):
    """Keras's element-wise output shape, aligned from the right; None is unknown."""
    if len(first) < len(second):
        first, second = second, first
    shape = list(first[:len(first) - len(second)])
    for i, j in zip(first[len(first) - len(second):], second):
        if i is not None and j is not None and 1 not in (i, j) and i != j:
            raise ValueError(f"inputs have incompatible shapes {tuple(first)} and "
                             f"{tuple(second)}")
        shape.append(None if None in (i, j) else j if i == 1 else i)
    return tuple(shape)


class _Merge(Layer):
    """Folds ``_merge(x, y)`` over the inputs, after raising every input to the top rank."""

    _least = 1  # how many inputs the layer takes at least

    def _check(self, shapes):
        name = type(self).__name__
        if not isinstance(shapes, (list, tuple)) or not all(
                isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(f"layer {name} should be called on a list of inputs, got "
                             f"{shapes!r}")
        if len(shapes) < self._least:
            raise ValueError(f"layer {name} should be called on a list of at least "
                             f"{self._least} inputs, got {len(shapes)}")
        if len({s[0] for s in shapes if s} - {None}) > 1:
            raise ValueError(f"{name}: cannot merge tensors with different batch sizes; got "
                             f"shapes {[tuple(s) for s in shapes]}")

    def build(self, input_shape):
        self._check(input_shape)
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s)[1:] for s in input_shape]
        batch = {s[0] for s in input_shape} - {None}
        return (batch.pop() if len(batch) == 1 else None,
                *functools.reduce(_broadcast_shapes, shapes))

    def call(self, inputs):
        self._check([x.shape for x in inputs] if isinstance(inputs, (list, tuple)) else inputs)
        top = max(x.ndim for x in inputs)
        inputs = [ops.reshape(x, (x.shape[0], *[1] * (top - x.ndim), *x.shape[1:]))
                  if x.ndim < top else x for x in inputs]
        return self._merge_all(inputs)

    def _merge_all(self, inputs):
        return functools.reduce(self._merge, inputs)


class Add(_Merge):
    """The sum of the inputs."""

    _merge = staticmethod(ops.add)


class Subtract(_Merge):
    """The first input minus the second (exactly two inputs)."""

    _least = 2
    _merge = staticmethod(ops.subtract)

    def _check(self, shapes):
        super()._check(shapes)
        if len(shapes) != 2:
            raise ValueError(f"a Subtract layer should be called on exactly 2 inputs, got "
                             f"{len(shapes)}")


class Multiply(_Merge):
    """The product of the inputs."""

    _merge = staticmethod(ops.multiply)


class Average(_Merge):
    """The mean of the inputs."""

    _merge = staticmethod(ops.add)

    def _merge_all(self, inputs):
        return super()._merge_all(inputs) / len(inputs)


class Maximum(_Merge):
    """The element-wise maximum of the inputs."""

    _merge = staticmethod(ops.maximum)


class Minimum(_Merge):
    """The element-wise minimum of the inputs."""

    _merge = staticmethod(ops.minimum)


class Concatenate(_Merge):
    """The inputs joined along ``axis``; every other axis must agree."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def compute_output_shape(self, input_shape):
        shapes = [list(s) for s in input_shape]
        axis = self.axis % len(shapes[0])
        if len({len(s) for s in shapes}) != 1 or len(
                {tuple(s[:axis] + s[axis + 1:]) for s in shapes}) != 1:
            raise ValueError("a Concatenate layer requires inputs with matching shapes except "
                             f"for the concatenation axis; got input_shape "
                             f"{[tuple(s) for s in shapes]} and axis={self.axis}")
        sizes = [s[axis] for s in shapes]
        shapes[0][axis] = None if None in sizes else sum(sizes)
        return tuple(shapes[0])

    def call(self, inputs):
        self._check([x.shape for x in inputs] if isinstance(inputs, (list, tuple)) else inputs)
        return ops.concat(list(inputs), self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _functional(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = merge.__qualname__ = cls.__name__.lower()
    merge.__doc__ = f"``{cls.__name__}(**kwargs)(inputs)``: Keras's functional form."
    return merge


add, subtract, multiply, average, maximum, minimum = map(
    _functional, (Add, Subtract, Multiply, Average, Maximum, Minimum))


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis, **kwargs)(inputs)``: Keras's functional form."""
    return Concatenate(axis=axis, **kwargs)(inputs)
