"""KerasTensor (a symbolic tensor: a shape whose batch size is None, a dtype, a name) and the
Node that records a layer called on such tensors, as in Keras 3's functional API.

A symbolic call computes nothing that is kept. The layer builds from the symbolic shapes; the
shape of its output is found as Keras's numpy backend finds it (``compute_output_spec``): the
layer runs on zeros with each None size filled in, twice with different sizes, and an output
size that differs between the two runs is None. Keras fills every None with 83, then 89; here
a None batch size (axis 0) is filled with 2, then 3, so probing a model costs a tiny batch.
"""
import itertools

from . import nest, ops
from .tensor import as_dtype

_tensor_count = itertools.count()
_FILLS = ((2, 83), (3, 89))  # (batch axis, any other axis), per probe


class KerasTensor:
    """A shape (None where the size is not known), a dtype and a name; no value."""

    def __init__(self, shape, dtype="float32", sparse=False, name=None):
        self._shape = tuple(None if n is None else int(n) for n in shape)
        self._dtype = as_dtype(dtype)
        self.sparse = bool(sparse)
        count = next(_tensor_count)
        self.name = name or ("keras_tensor" if count == 0 else f"keras_tensor_{count}")
        self._keras_history = None  # (layer, node index, tensor index), set by the Node

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def ndim(self):
        return len(self._shape)

    def __repr__(self):
        return (f"<KerasTensor shape={self._shape}, dtype={self._dtype}, "
                f"sparse={self.sparse}, name={self.name}>")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"KerasTensor '{self.name}' is symbolic: it has no value. Call layers "
                        "on it (an op, inside a layer's call), build mt.Model(inputs, outputs) "
                        "and call that on data")


class Node:
    """One call of ``layer`` on symbolic ``inputs`` (a structure) giving ``outputs``."""

    def __init__(self, layer, inputs, outputs, args=(), kwargs=None):
        self.layer, self.inputs, self.outputs = layer, inputs, outputs
        self.args, self.kwargs = tuple(args), dict(kwargs or {})
        self.input_tensors = [x for x in nest.flatten(inputs) if isinstance(x, KerasTensor)]
        self.output_tensors = nest.flatten(outputs)
        index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, tensor in enumerate(self.output_tensors):
            tensor._keras_history = (layer, index, i)

    @property
    def is_input(self):
        return not self.input_tensors

    @property
    def parent_nodes(self):
        return [x._keras_history[0]._inbound_nodes[x._keras_history[1]]
                for x in self.input_tensors]


def is_symbolic(structure):
    """Whether ``structure`` is a KerasTensor or holds one."""
    if isinstance(structure, KerasTensor):
        return True
    return isinstance(structure, (list, tuple, dict)) and any(
        isinstance(x, KerasTensor) for x in nest.flatten(structure))


def _zeros_like(x, fills):
    shape = [n if n is not None else fills[0] if axis == 0 else fills[1]
             for axis, n in enumerate(x.shape)]
    return ops.zeros(shape, x.dtype) if isinstance(x, KerasTensor) else x


def output_spec(fn, inputs):
    """KerasTensors, in the structure ``fn`` returns, for ``fn`` called on ``inputs``."""
    flat = nest.flatten(inputs)
    runs = 2 if any(None in x.shape for x in flat if isinstance(x, KerasTensor)) else 1
    outputs = [fn(nest.pack_sequence_as(inputs, [_zeros_like(x, fills) for x in flat]))
               for fills in _FILLS[:runs]]
    first, last = nest.flatten(outputs[0]), nest.flatten(outputs[-1])
    specs = [KerasTensor([n if n == m else None for n, m in zip(y.shape, z.shape)], y.dtype)
             for y, z in zip(first, last)]
    return nest.pack_sequence_as(outputs[0], specs)
