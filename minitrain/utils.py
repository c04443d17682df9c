"""Keras's utilities that TensorFlow programs reach for: seeds, one-hot labels, the fuzz factor.

Reachable as ``mt.keras.utils`` and ``mt.keras.backend`` (namespaces of re-exports).
"""
import random as _python_random

import numpy as np

from . import random as _random
from .layers import base as _layers_base

_EPSILON = 1e-7  # Keras's fuzz factor, the one the losses clip probabilities by


def set_random_seed(seed):
    """Seed Python's, numpy's and minitrain's generators at once, as keras.utils does."""
    _python_random.seed(seed)
    np.random.seed(seed)
    _random.set_seed(seed)


def to_categorical(x, num_classes=None):
    """Integer class labels as one-hot float32 rows (a numpy array, as Keras 3 returns).

    A trailing axis of size 1 is dropped first, as Keras does; ``num_classes`` defaults to the
    largest label plus one.
    """
    x = np.asarray(x, dtype="int64")
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must lie in [0, {num_classes}), got "
                         f"{x.min()}..{x.max()}")
    return np.eye(num_classes, dtype="float32")[x]


def epsilon():
    """The fuzz factor, 1e-7 (keras.backend.epsilon)."""
    return _EPSILON


def floatx():
    """The default float type, 'float32' (keras.backend.floatx)."""
    return "float32"


def clear_session():
    """Forget the layer names given so far, so that a new model's layers are named from
    'dense' again (keras.backend.clear_session); minitrain holds no graph to free."""
    _layers_base.reset_layer_names()
