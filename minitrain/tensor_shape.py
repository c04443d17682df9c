"""TensorShape: a tensor's shape as TensorFlow gives it, a tuple with TensorFlow's methods.

Being a tuple, it is what numpy takes and compares with: ``x.shape == (2, 3)``,
``x.shape[0]``, ``np.zeros(x.shape)``; and it answers ``as_list()``, ``rank`` and the rest as
``tf.TensorShape`` does. A dimension may be None (unknown) in a shape a user builds, as in a
``TensorSpec``; a tensor's own shape is always fully known.
"""
import math
import operator


class TensorShape(tuple):
    """``tf.TensorShape``: ``TensorShape([2, None])``; a known rank only."""

    __slots__ = ()

    def __new__(cls, dims=()):
        if dims is None:
            raise ValueError("TensorShape(None): minitrain shapes have a known rank; give the "
                             "dimensions, with None for an unknown one")
        if isinstance(dims, int):
            dims = (dims,)
        return super().__new__(cls, (None if d is None else operator.index(d) for d in dims))

    @property
    def rank(self):
        return len(self)

    ndims = rank

    @property
    def dims(self):
        return list(self)

    def as_list(self):
        return list(self)

    def num_elements(self):
        """The number of elements, or None when a dimension is unknown."""
        return None if None in self else math.prod(self)

    def is_fully_defined(self):
        return None not in self

    def is_compatible_with(self, other):
        """Same rank, and each pair of dimensions equal or one of them unknown."""
        other = TensorShape(other)
        return len(self) == len(other) and all(
            a is None or b is None or a == b for a, b in zip(self, other))

    def concatenate(self, other):
        return TensorShape(tuple(self) + tuple(TensorShape(other)))

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return tuple.__new__(TensorShape, item) if isinstance(index, slice) else item

    def __str__(self):
        return tuple.__repr__(self)  # (2, 3), as TensorFlow prints a shape

    def __repr__(self):
        return f"TensorShape({list(self)})"


def shape_of(dims):
    """A TensorShape of ints already checked (an array's shape): no per-dimension work."""
    return tuple.__new__(TensorShape, dims)
