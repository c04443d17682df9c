"""The names a config may use (layers, losses, optimizers, ...) and the arguments each takes.

Names are looked up in the kit's own modules, so a new layer or loss is usable from YAML as
soon as it exists. A name matches regardless of case and underscores ("SparseCategorical...",
"sparse_categorical_crossentropy"); arguments are checked against the ``__init__`` signature,
so a misspelt one is reported with the closest valid one before anything is built.
Every number an argument holds is held to a bound (``RULES``), so a value that would
allocate petabytes or train into NaN is a config error, told before anything runs.
"""
import inspect
import math

from .. import layers, losses, metrics, optimizers
from ..naming import canonical, did_you_mean, snake_case
from ..optimizers import schedules
from .errors import ConfigError, control_character, format_path
from .schema import REQUIRED, boolean, expected, shown


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


class Rule:
    """The numbers an argument may hold: whole ones or any, from ``low`` to ``high`` (either
    end left open by ``above`` / ``below``, either left out by None)."""

    def __init__(self, low=None, high=None, whole=False, above=False, below=False, text=None):
        self.low, self.high, self.whole, self.above, self.below = low, high, whole, above, below
        self.text = text

    def allows(self, x):
        if self.whole and (isinstance(x, bool) or not isinstance(x, int)):
            return False
        low = self.low is None or (x > self.low if self.above else x >= self.low)
        return low and (self.high is None or (x < self.high if self.below else x <= self.high))

    def __str__(self):
        if self.text:
            return self.text
        kind = "a whole number" if self.whole else "a number"
        if self.low is not None and self.high is not None:
            return (f"{kind} in {'(' if self.above else '['}{self.low:,}, {self.high:,}"
                    f"{')' if self.below else ']'}")
        if self.low is not None:
            return f"{kind} {'above' if self.above else 'at least'} {self.low:,}"
        return kind


MAX_SIZE = 2**20  # units, filters, ...: each allocates; a million is past any config's model
MAX_WHOLE = 2**31 - 1
_SIZE = Rule(1, MAX_SIZE, whole=True)
_WIDTH = Rule(0, MAX_SIZE, whole=True)
_FRACTION = Rule(0, 1, below=True)  # a share that must leave something: [0, 1)
_UNIT = Rule(0, 1)
_POSITIVE = Rule(0, above=True)
_NON_NEGATIVE = Rule(0)
RULES = {
    **dict.fromkeys(("units", "filters", "output_dim", "input_dim", "kernel_size", "pool_size",
                     "strides", "dilation_rate", "depth_multiplier", "n", "num_tokens", "size",
                     "groups", "batch_size", "shape", "batch_shape", "dims"), _SIZE),
    **dict.fromkeys(("padding", "cropping", "output_padding"), _WIDTH),
    "target_shape": Rule(-1, MAX_SIZE, whole=True),  # -1: the size that fits
    **dict.fromkeys(("axis", "shared_axes"), Rule(-MAX_WHOLE, MAX_WHOLE, whole=True)),
    "seed": Rule(0, 2**32 - 1, whole=True),
    # rates and decays: dropout's rate, Adam's betas, RMSprop's rho; 1 would keep nothing
    **dict.fromkeys(("rate", "beta_1", "beta_2", "rho"), _FRACTION),
    **dict.fromkeys(("momentum", "label_smoothing"), _UNIT),
    # 0 or less is meaningless: clipnorm: -1 would silently not clip, a negative decay_rate
    # makes the rate complex
    **dict.fromkeys(("learning_rate", "initial_learning_rate", "clipnorm", "clipvalue",
                     "global_clipnorm", "epsilon", "decay_rate", "delta"), _POSITIVE),
    **dict.fromkeys(("weight_decay", "warmup_steps", "warmup_target", "stddev", "max_value",
                     "initial_accumulator_value"), _NON_NEGATIVE),
    "decay_steps": Rule(1),
}
_WHOLE = Rule(0, MAX_WHOLE, whole=True)  # an argument whose default is a whole number
# anything else: finite, and within an int64, so no conversion overflows
_FINITE = Rule(-2.0**63, 2.0**63, text="a finite number, at most 2**63 in size")


def _rule(name, default):
    if name in RULES:
        return RULES[name]
    defaults = default if isinstance(default, (tuple, list)) else (default,)
    whole = bool(defaults) and all(isinstance(d, int) and not isinstance(d, bool)
                                   for d in defaults)
    return _WHOLE if whole else _FINITE


def _check_values(value, path, rule):
    """Every number in ``value`` (a scalar, or lists of them) within ``rule``, every string
    free of control characters."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_values(item, (*path, i), rule)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_values(item, (*path, key), rule)
    elif isinstance(value, str) and control_character(value):
        raise ConfigError(f"{format_path(path)} holds the control character "
                          f"'{control_character(value)}'; remove it", path)
    elif _is_number(value, rule) and not (_finite(value) and rule.allows(value)):
        raise ConfigError(f"{format_path(path)} must be {rule}, got {shown(value)}", path)


def _is_number(value, rule):
    # a boolean is no number, but in a size (units: true) it is a mistake all the same
    return isinstance(value, (int, float)) and (rule.whole or not isinstance(value, bool))


def _finite(value):
    return not isinstance(value, float) or math.isfinite(value)


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
        _check_values(args[key], (*path, key), _rule(key, signature[key]))
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
