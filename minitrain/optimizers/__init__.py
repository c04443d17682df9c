"""``mt.optimizers``: Keras 3's optimizers, names, defaults and update formulas."""
from .. import identifiers
from . import schedules
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer from its name ("adam", "SGD", ...) with Keras's defaults, from a
    ``{"class_name", "config"}`` dict, or an Optimizer (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    return identifiers.resolve(identifier, _BY_NAME, "optimizer")


__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "get", "schedules"]
