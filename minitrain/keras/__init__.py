"""``mt.keras``: the Keras-like kit under Keras's names (``tf.keras``), re-exports only.

One implementation, two names: ``mt.keras.layers`` is ``mt.layers``, ``mt.keras.optimizers``
is ``mt.optimizers``, and so on, so ``mt.keras.layers.Dense is mt.layers.Dense``.
"""
from .. import activations, initializers, layers, losses, metrics, optimizers, regularizers
from ..keras_tensor import KerasTensor
from ..layers.input_layer import Input
from ..models import Model, Sequential
from ..training import keras_callbacks as callbacks
from . import backend, models, saving, utils

__all__ = ["Model", "Sequential", "activations", "backend", "initializers", "layers", "losses",
           "metrics", "optimizers", "utils"]
__all__ += ["callbacks", "regularizers"]
__all__ += ["Input", "KerasTensor"]
__all__ += ["models", "saving"]
