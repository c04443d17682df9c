"""The names a config may use (layers, losses, optimizers, ...) and the arguments each takes.

Names are looked up in the kit's own modules, so a new layer or loss is usable from YAML as
soon as it exists. A name matches regardless of case and underscores ("SparseCategorical...",
"sparse_categorical_crossentropy"); arguments are checked against the ``__init__`` signature,
so a misspelt one is reported with the closest valid one before anything is built.
"""
import inspect

from .. import layers, losses, metrics, optimizers
from ..naming import canonical, did_you_mean, snake_case
from ..optimizers import schedules
from .errors import ConfigError, format_path
from .schema import REQUIRED, boolean, expected


class Registry:
    """Classes by name, from the public classes of ``module`` that subclass ``base``."""

    def __init__(self, kind, module, base, display=snake_case, getter=None, exclude=()):
        self.kind, self.getter, self.exclude = kind, getter, tuple(exclude)
        # attribute names, not class names: aliases (MaxPool2D = MaxPooling2D) count too
        found = {name: cls for name, cls in vars(module).items() if not name.startswith("_")
                 and isinstance(cls, type) and issubclass(cls, base) and cls is not base and
                 cls not in exclude}
        self.by_key = {canonical(name): cls for name, cls in found.items()}
        self.names = sorted({display(cls.__name__) for cls in found.values()})

    def lookup(self, name, path):
        cls = self.by_key.get(canonical(name)) or self._alias(name)
        if cls is None:
            raise ConfigError(f"unknown {self.kind} '{name}' in {format_path(path[:-1])}"
                              f"{did_you_mean(name, self.names)} (valid: "
                              f"{', '.join(self.names)})", path)
        return cls

    def _alias(self, name):
        # the module's own get() knows short aliases ("mse"); it builds with defaults
        try:
            cls = type(self.getter(name)) if self.getter else None
        except (ValueError, TypeError):
            return None
        return None if cls in self.exclude else cls


def _signature(cls):
    """{name: default} of the keyword arguments ``cls(...)`` accepts (``REQUIRED`` where
    ``cls`` itself has no default), following ``**kwargs`` up to the base classes."""
    found = {}
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        for p in params:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in found:
                found[p.name] = REQUIRED if p.default is p.empty and klass is cls else p.default
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return found


def parameters(cls):
    """(names, required): the keyword arguments ``cls(...)`` accepts, following ``**kwargs``
    up to the base classes that receive them."""
    found = _signature(cls)
    return list(found), [name for name, default in found.items() if default is REQUIRED]


def _check_type(value, default, path):
    """An argument whose default is a boolean must be one, a float default wants a number
    (a string such as 'abc' would otherwise fail at the first step, or count as true)."""
    if isinstance(default, bool):
        boolean(value, path)
    elif isinstance(default, float) and value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise expected(path, "a number", value)


def check_arguments(cls, args, path, what, reserved=()):
    """Raise a ConfigError for an argument ``cls`` does not take, or a required one missing."""
    signature = _signature(cls)
    names = [n for n in signature if n not in reserved]
    required = [n for n, default in signature.items() if default is REQUIRED]
    where = format_path(path)
    for key in args:
        if key not in names:
            raise ConfigError(f"unknown key '{key}' in {where}{did_you_mean(key, names)} "
                              f"({what} takes: {', '.join(names) or 'no arguments'})",
                              (*path, key))
        _check_type(args[key], signature[key], (*path, key))
    missing = [n for n in required if n not in args and n not in reserved]
    if missing:
        raise ConfigError(f"missing required key '{missing[0]}' in {where} ({what} needs "
                          f"{', '.join(missing)})", path)


LAYERS = Registry("layer", layers, layers.Layer, display=str)
LOSSES = Registry("loss", losses, losses.Loss, getter=losses.get,
                  exclude=(losses.LossFunctionWrapper,))
OPTIMIZERS = Registry("optimizer", optimizers, optimizers.Optimizer, display=str.lower,
                      getter=optimizers.get)
SCHEDULES = Registry("learning-rate schedule", schedules, schedules.LearningRateSchedule)
# Mean averages given values, not (labels, predictions): it has no place in a config
METRICS = Registry("metric", metrics, metrics.Metric, getter=metrics.get,
                   exclude=(metrics.MeanMetricWrapper, metrics.Mean))

# the accuracy that matches each classification loss, as Keras's compile() picks it
_ACCURACIES = ((losses.SparseCategoricalCrossentropy, metrics.SparseCategoricalAccuracy),
               (losses.CategoricalCrossentropy, metrics.CategoricalAccuracy),
               (losses.BinaryCrossentropy, metrics.BinaryAccuracy))


def accuracy_class(loss_name):
    """The accuracy metric class for the loss named ``loss_name``, or None (regression)."""
    loss = LOSSES.lookup(loss_name, ("loss", "name"))
    return next((acc for base, acc in _ACCURACIES if issubclass(loss, base)), None)
