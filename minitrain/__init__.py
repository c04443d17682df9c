"""minitrain: a small training framework with its own GradientTape, in TensorFlow's names."""
from . import (
    activations,
    data,
    image,
    initializers,
    keras,
    layers,
    linalg,
    losses,
    math,
    metrics,
    nest,
    nn,
    optimizers,
    random,
    regularizers,
)
from . import naming as _naming
from . import unsupported as _unsupported
from .backend import DeviceError, device, list_devices
from .backend import keep_freed_memory as _keep_freed_memory
from .backprop import GradientTape, UnconnectedGradients
from .custom_gradient import custom_gradient
from .eager import executing_eagerly, print  # noqa: A004  (TensorFlow's tf.print)
from .explain import UnconnectedGradientError
from .function import TensorSpec, function
from .keras_tensor import KerasTensor
from .layers.input_layer import Input
from .models import Model, Sequential
from .module import Module
from .ops import *  # noqa: F403  (the op set is the public API, as in `tf.*`)
from .ops import __all__ as _op_names
from .ops import range_ as range  # noqa: A001  (TensorFlow's name)
from .tensor import (
    Tensor,
    Variable,
    as_dtype,
    bool_,
    constant,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from .tensor_shape import TensorShape
from .training import keras_callbacks as callbacks

__version__ = "0.1.0"

__all__ = sorted(set(_op_names) - {"range_"}) + [
    "DeviceError", "GradientTape", "Tensor", "UnconnectedGradientError", "UnconnectedGradients",
    "Variable", "device", "list_devices",
    "as_dtype", "bool_", "constant", "custom_gradient", "float16", "float32", "float64", "int8",
    "int16", "int32", "int64", "math", "nest", "nn", "random", "range", "uint8"]
__all__ += ["Model", "Sequential", "activations", "initializers", "layers"]
__all__ += ["losses", "metrics", "optimizers"]
__all__ += ["Module", "TensorSpec", "function"]
__all__ += ["image", "linalg"]
__all__ += ["keras"]
__all__ += ["regularizers"]
__all__ += ["callbacks"]
__all__ += ["Input", "KerasTensor"]
__all__ += ["TensorShape", "executing_eagerly", "print"]

# a training step's arrays recur, size for size: reuse their memory instead of faulting it in
_KEPT_BLOCK_BYTES = _keep_freed_memory()


def __getattr__(name):
    """TensorFlow names that minitrain deliberately lacks answer with what to use instead;
    ``load_run`` is imported on first use (it needs the config machinery)."""
    if name == "load_run":
        from .trained import load_run
        return load_run
    if name in _unsupported.INSTEAD:
        return _unsupported.Unsupported(name)
    raise AttributeError(f"module 'minitrain' has no attribute '{name}'"
                         f"{_naming.did_you_mean(name, __all__)}")
