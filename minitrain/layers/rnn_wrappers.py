"""Bidirectional and TimeDistributed: Keras 3's wrappers of a layer, over the time axis.

Bidirectional runs a copy of a recurrent layer forwards and another backwards (made from the
layer's config, so fresh weights, as Keras does), flips the backward outputs back into time
order when it returns sequences, and merges the two; its weights are the forward layer's
then the backward layer's. TimeDistributed applies one layer to each time step, in a loop over
the steps as Keras 3 does when their number is known (so a Dropout inside draws per step).
"""
import inspect

from .. import ops
from ..keras_tensor import KerasTensor, output_spec
from . import serializable
from .base import Layer
from .input_spec import InputSpec

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _copy(layer, name, **changes):
    """A fresh layer of the same class and config, renamed (Keras's serialize round trip);
    a layer given no dtype leaves its copy free to learn one from its inputs, as it would."""
    config = {**layer.get_config(), **changes, "name": name}
    if layer._dtype is None:
        del config["dtype"]
    return type(layer).from_config(config)


def _takes(layer, argument):
    return argument in inspect.signature(layer.call).parameters


def _build_inner(layer, shape, dtype):
    """Build a held layer for ``shape`` in the wrapper's dtype, as its first call would."""
    if not layer.built:
        if layer._dtype is None:
            object.__setattr__(layer, "_dtype", dtype)
        layer.build(tuple(shape))  # which marks it built, with the shape


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """merge(forward(x), reverse(backward(x))): concat (the default), sum, mul, ave, or None
    for the two as a tuple; with return_state, the forward states then the backward ones."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a "
                             f"`keras.layers.Layer` instance. Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `keras.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should "
                             'be one of {"sum", "mul", "ave", "concat", None}')
        super().__init__(**kwargs)
        self.forward_layer = _copy(layer, "forward_" + _strip(layer.name, "forward_"))
        self.backward_layer = backward_layer if backward_layer is not None else _copy(
            layer, "backward_" + _strip(layer.name, "backward_"), go_backwards=True)
        self._verify()
        for inner in (self.forward_layer, self.backward_layer):
            if hasattr(inner, "zero_output_for_mask"):  # Keras: masked steps give zeros
                inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = weights
        self.stateful, self.return_sequences, self.return_state = (
            layer.stateful, layer.return_sequences, layer.return_state)
        self.input_spec = InputSpec(ndim=3)

    def _verify(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError("Forward layer and backward layer should have different "
                             "`go_backwards` value. Received: forward_layer.go_backwards "
                             f"{forward.go_backwards}, backward_layer.go_backwards="
                             f"{backward.go_backwards}")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, a) != getattr(backward, a):
                raise ValueError("Forward layer and backward layer are expected to have the "
                                 f'same value for attribute "{a}", got "{getattr(forward, a)}" '
                                 f'for forward layer and "{getattr(backward, a)}" for backward '
                                 "layer")

    def build(self, sequences_shape, initial_state_shape=None):
        _build_inner(self.forward_layer, sequences_shape, self.dtype)
        _build_inner(self.backward_layer, sequences_shape, self.dtype)
        if self._initial_weights:
            half = len(self._initial_weights) // 2
            self.forward_layer.set_weights(self._initial_weights[:half])
            self.backward_layer.set_weights(self._initial_weights[half:])
            self._initial_weights = None

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask if self.return_sequences else None

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {"training": training}
        if mask is not None and _takes(self.forward_layer, "mask"):
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:  # the first half to the forward layer, as Keras
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states, y, y_rev = tuple(y[1:]) + tuple(y_rev[1:]), y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.reverse(y_rev, [1])
        output = self._merge(y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else (output,)) + states
        return output

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return ops.concat([y, y_rev], -1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return (y, y_rev)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states = ()
        if self.return_state:
            shape, states = shape[0], tuple(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (shape[-1] * 2,)
        elif self.merge_mode is None:
            shape = (shape, shape)
        if self.return_state:
            head = shape if self.merge_mode is None else (shape,)
            return tuple(head) + states + states
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serializable.layer_entry(self.forward_layer),
                "backward_layer": serializable.layer_entry(self.backward_layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = serializable.layer_from_entry(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = serializable.layer_from_entry(config["backward_layer"])
        return super().from_config(config)


class TimeDistributed(Layer):
    """The same layer on every time step: (batch, time, ...) -> (batch, time, ...')."""

    supports_masking = True  # each time step on its own: a mask passes through

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a "
                             f"`keras.layers.Layer` instance. Received: {layer}")
        super().__init__(**kwargs)
        self.layer = layer

    def _child_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with "
                             f"at least 3 dimensions, received: {input_shape}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        _build_inner(self.layer, self._child_shape(input_shape), self.dtype)

    def call(self, inputs, training=None, mask=None):
        self._child_shape(tuple(inputs.shape))
        kwargs = {"training": training}
        takes_mask = mask is not None and _takes(self.layer, "mask")
        steps = []
        for t in range(inputs.shape[1]):
            if takes_mask:
                kwargs["mask"] = mask[:, t]
            steps.append(self.layer(inputs[:, t], **kwargs))
        return ops.stack(steps, axis=1)

    def compute_output_shape(self, input_shape):
        child_shape = self._child_shape(input_shape)
        if hasattr(self.layer, "compute_output_shape"):
            child = self.layer.compute_output_shape(child_shape)
        else:  # the shape of the layer's output on zeros, as the functional API finds it
            child = output_spec(self.layer, KerasTensor(child_shape, self.dtype)).shape
        return (child[0], input_shape[1]) + tuple(child[1:])

    def get_config(self):
        return {**super().get_config(), "layer": serializable.layer_entry(self.layer)}

    @classmethod
    def from_config(cls, config):
        layer = serializable.layer_from_entry(config["layer"])
        return super().from_config({**config, "layer": layer})
