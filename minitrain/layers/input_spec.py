"""InputSpec: what a layer accepts (rank, axis sizes, dtype, shape), checked at each call.

Keras 3's (``keras.layers.InputSpec``): a layer sets ``self.input_spec`` in ``__init__`` (a
rank it needs) and again in ``build`` (the feature sizes its weights were made for), and
``Layer.__call__`` checks the first argument against it before ``call``, so a built layer
given the wrong feature count says which layer and which counts, not what an op inside
failed on. A ``None`` in a shape (a KerasTensor's batch) matches any size. The messages are
Keras 3's, with what to do after them.
"""
from .. import nest
from ..tensor import Tensor, as_dtype


class InputSpec:
    """The rank, dtype and shape an input must have; None leaves that property free."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = as_dtype(dtype)
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.allow_last_axis_squeeze, self.name, self.optional = (
            allow_last_axis_squeeze, name, optional)
        self.axes = _int_keys(axes or {})
        top = self.ndim if self.ndim is not None else self.max_ndim
        if self.axes and top is not None and max(self.axes) > top - 1:
            raise ValueError(f"Axis {max(self.axes)} is greater than the maximum allowed "
                             f"value: {top - 1}")

    def __repr__(self):
        spec = [f"{key}={value}" for key, value in (
            ("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
            ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim), ("axes", self.axes))
            if value]
        return f"InputSpec({', '.join(spec)})"

    def get_config(self):
        return {"dtype": None if self.dtype is None else self.dtype.name, "shape": self.shape,
                "ndim": self.ndim, "max_ndim": self.max_ndim, "min_ndim": self.min_ndim,
                "axes": self.axes, "optional": self.optional}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _int_keys(axes):
    try:
        return {int(k): v for k, v in axes.items()}
    except (AttributeError, ValueError, TypeError):
        raise TypeError(f"Argument `axes` must be a dict with integer keys. Received: "
                        f"axes={axes}") from None


def assert_input_compatibility(input_spec, inputs, layer_name):
    """Raise Keras's ValueError where ``inputs`` do not meet ``input_spec`` (a spec, or a
    structure of them, one per input)."""
    if type(input_spec) is InputSpec and isinstance(inputs, Tensor):
        data = inputs._data  # the hot path: a numpy shape is a plain tuple
        check_input(input_spec, data.shape, data.dtype, 0, layer_name)
        return
    specs, inputs = nest.flatten(input_spec), nest.flatten(inputs)
    if len(inputs) != len(specs):
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it '
                         f"received {len(inputs)} input tensors. Inputs received: {inputs}")
    for index, (spec, x) in enumerate(zip(specs, inputs)):
        if spec is None or x is None and spec.optional:
            continue
        if not hasattr(x, "shape"):
            raise ValueError(f"Inputs to a layer should be tensors. Got '{x}' (of type "
                             f"{type(x)}) as input for layer '{layer_name}'.")
        check_input(spec, tuple(x.shape), x.dtype, index, layer_name)


def check_input(spec, shape, dtype, index, layer_name):
    """One input's shape and dtype against one spec; each test is a compare on a tuple."""
    ndim = len(shape)
    if spec.ndim is not None and ndim != spec.ndim and not spec.allow_last_axis_squeeze:
        _incompatible(index, layer_name, f"expected ndim={spec.ndim}, found ndim={ndim}. "
                      f"Full shape received: {tuple(shape)}")
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        _incompatible(index, layer_name, f"expected max_ndim={spec.max_ndim}, found "
                      f"ndim={ndim}")
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        _incompatible(index, layer_name, f"expected min_ndim={spec.min_ndim}, found "
                      f"ndim={ndim}. Full shape received: {tuple(shape)}")
    if spec.dtype is not None and dtype != spec.dtype:
        _incompatible(index, layer_name, f"expected dtype={spec.dtype.name}, found "
                      f"dtype={as_dtype(dtype).name}")
    for axis, value in spec.axes.items():  # the common test, inline: one compare per axis
        if value is not None and not (-ndim <= axis < ndim and shape[axis] in (value, None)):
            _axis_error(axis, value, shape, index, layer_name)
    if spec.shape is not None:
        _check_shape(spec, shape, index, layer_name)


def _axis_error(axis, value, shape, index, layer_name):
    if not -len(shape) <= axis < len(shape):
        _incompatible(index, layer_name, f"axis {axis} is out of bounds for an input with "
                      f"ndim={len(shape)}. Full shape received: {tuple(shape)}")
    _incompatible(index, layer_name, f"expected axis {axis} of input shape to have value "
                  f"{value}, but received input with shape {tuple(shape)}")


def _check_shape(spec, shape, index, layer_name):
    expected, shape = spec.shape, tuple(shape)
    if spec.allow_last_axis_squeeze:  # rank N+1 with a last axis of 1 meets rank N, and back
        if len(shape) == len(expected) + 1 and shape[-1] == 1:
            shape = shape[:-1]
        elif len(expected) == len(shape) + 1 and expected[-1] == 1:
            expected = expected[:-1]
    for want, got in zip(expected, shape):
        if want is not None and got is not None and want != got:
            _incompatible(index, layer_name, f"expected shape={spec.shape}, found "
                          f"shape={shape}")


def _incompatible(index, layer_name, detail):
    raise ValueError(f'Input {index} of layer "{layer_name}" is incompatible with the layer: '
                     f"{detail}")  # Keras 3's text; the layer adds what to do
