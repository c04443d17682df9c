"""Activations by Keras name: ``get("relu")`` -> a function of one tensor."""
from . import nn
from .ops import as_tensor


def linear(x):
    """The identity (Keras's activation=None)."""
    return as_tensor(x)


def relu(x):
    return nn.relu(x)


def tanh(x):
    return nn.tanh(x)


def sigmoid(x):
    return nn.sigmoid(x)


def softmax(x, axis=-1):
    return nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return nn.log_softmax(x, axis=axis)


def gelu(x, approximate=False):
    """x * Phi(x); Keras 3's default is the exact form (erf)."""
    return nn.gelu(x, approximate=approximate)


def leaky_relu(x, negative_slope=0.2):
    return nn.leaky_relu(x, alpha=negative_slope)


def elu(x):
    return nn.elu(x)


def softplus(x):
    return nn.softplus(x)


def silu(x):
    return nn.silu(x)


def relu6(x):
    return nn.relu6(x)


_BY_NAME = {f.__name__: f for f in (elu, gelu, leaky_relu, linear, log_softmax, relu, relu6,
                                    sigmoid, silu, softmax, softplus, tanh)}
_BY_NAME["swish"] = silu


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
