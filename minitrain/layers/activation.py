"""Activation layers: LeakyReLU, ReLU, PReLU, ELU and Softmax, with Keras 3's arguments."""
from .. import initializers, nn, ops
from .base import Layer
from .input_spec import InputSpec
from .serializable import serialize


def _non_negative(value, what):
    if value is None or value < 0:
        raise ValueError(f"{what} must be a number >= 0, got {value!r}")
    return value


class _Elementwise(Layer):
    """An activation of the input alone: the output has the input's shape and dtype."""

    def compute_output_shape(self, input_shape):
        return input_shape


class LeakyReLU(_Elementwise):
    """x where x >= 0, else negative_slope * x (Keras 3's default slope: 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 3 still reads Keras 2's name for the slope
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(negative_slope, "LeakyReLU: negative_slope")

    def call(self, inputs):
        return nn.leaky_relu(inputs, alpha=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ReLU(_Elementwise):
    """min(x, max_value) where x > threshold, else negative_slope * (x - threshold)."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None:
            _non_negative(max_value, "ReLU: max_value")
        self.max_value = max_value
        self.negative_slope = _non_negative(negative_slope, "ReLU: negative_slope")
        self.threshold = _non_negative(threshold, "ReLU: threshold")

    def call(self, inputs):
        x = inputs
        y = nn.relu(x) if self.threshold == 0 else \
            ops.where(ops.greater(x, self.threshold), x, ops.zeros_like(x))
        if self.max_value is not None:
            y = ops.minimum(y, self.max_value)
        if self.negative_slope:
            y = y - self.negative_slope * nn.relu(self.threshold - x)
        return y

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class PReLU(_Elementwise):
    """relu(x) - alpha * relu(-x), alpha learnt per element (shared along ``shared_axes``)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        if alpha_regularizer is not None or alpha_constraint is not None:
            raise NotImplementedError("PReLU: alpha_regularizer and alpha_constraint are not "
                                      "supported yet; pass None")
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.shared_axes = (None if shared_axes is None else list(shared_axes)
                            if isinstance(shared_axes, (list, tuple)) else [shared_axes])

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            shape[axis - 1] = 1  # axes count from the batch axis, as in Keras
        self.alpha = self.add_weight("alpha", shape, self.alpha_initializer)
        # Keras's: alpha fixes the rank and the size of every axis it is not shared along
        shared = self.shared_axes or ()
        self.input_spec = InputSpec(ndim=len(input_shape), axes={
            i: input_shape[i] for i in range(1, len(input_shape)) if i not in shared})

    def call(self, inputs):
        return nn.relu(inputs) - self.alpha * nn.relu(-inputs)

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": serialize(self.alpha_initializer),
                "alpha_regularizer": None, "alpha_constraint": None,
                "shared_axes": self.shared_axes}


class ELU(_Elementwise):
    """x where x > 0, else alpha * (exp(x) - 1)."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        y = nn.elu(inputs)
        return y if self.alpha == 1 else ops.where(ops.greater(inputs, 0), y, y * self.alpha)

    def get_config(self):
        # Keras 3's ELU leaves alpha out of its config (so it is lost on reloading); kept here
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(_Elementwise):
    """exp(x) / sum(exp(x)) along ``axis`` (an int, or a list: the axes together)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        if isinstance(self.axis, (list, tuple)) and len(self.axis) > 1:
            return ops.exp(inputs - ops.reduce_logsumexp(inputs, self.axis, keepdims=True))
        axis = self.axis[0] if isinstance(self.axis, (list, tuple)) else self.axis
        return nn.softmax(inputs, axis=axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
