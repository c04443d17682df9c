"""Activations by Keras name: ``get("relu")`` -> a function of one tensor.

A Keras activation is a function of one tensor, so the table holds ``mt.nn``'s own functions
wherever their signatures fit (gelu's ``approximate=False`` is Keras 3's default too); only
where Keras names an argument differently does a function of this module stand between.
"""
from . import nn
from .nn import elu, gelu, log_softmax, relu, relu6, sigmoid, silu, softmax, softplus, swish, tanh
from .ops import as_tensor


def linear(x):
    """The identity (Keras's activation=None)."""
    return as_tensor(x)


def leaky_relu(x, negative_slope=0.2):
    """x where x > 0, else negative_slope * x: Keras 3's name and default for tf.nn's alpha."""
    return nn.leaky_relu(x, alpha=negative_slope)


_BY_NAME = {f.__name__: f for f in (elu, gelu, leaky_relu, linear, log_softmax, relu, relu6,
                                    sigmoid, silu, softmax, softplus, tanh)}
_BY_NAME["swish"] = swish  # silu under its other name: it serializes as "silu", as in Keras 3


def get(identifier):
    """The activation function named ``identifier``; None is linear; a callable is itself."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"unknown activation {identifier!r}; valid names are "
                     f"{', '.join(sorted(_BY_NAME))} (or pass a function)")


def name_of(activation):
    """The name of a built-in activation function; None for any other (a user's own function
    named "relu" is not the built-in relu, and must not be fused as one)."""
    name = getattr(activation, "__name__", None)
    return name if _BY_NAME.get(name) is activation else None


def serialize(activation):
    """The name under which ``get`` finds ``activation`` (for summaries and configs)."""
    return name_of(activation) or getattr(activation, "__name__", repr(activation))
