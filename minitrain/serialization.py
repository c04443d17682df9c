"""Layers and compile arguments as JSON-ready configs and back (Keras 3's serialization_lib).

A layer is ``{"module", "class_name", "config", "registered_name"}`` (and ``"build_config"``).
Reading one looks its class name up in ``custom_objects``, then among minitrain's own layer
classes (``layers.serializable``'s registry); a module named in a config is never imported,
and a serialized function is found only in ``custom_objects``, so a config runs no code.
"""
import inspect
import warnings

import numpy as np

from . import losses, metrics, optimizers
from .layers import serializable
from .layers.base import Layer, is_shape
from .optimizers import schedules
from .tensor import Tensor

_PLAIN = (str, int, float, bool, type(None))


# --- layers --------------------------------------------------------------------------------------
def serialize(layer):
    """The layer as Keras's entry; a class not among minitrain's names its registered_name."""
    cls = type(layer)
    own = serializable.registered(cls.__name__) is cls
    entry = {"module": cls.__module__, "class_name": cls.__name__,
             "config": layer.get_config(), "registered_name": None if own else cls.__name__}
    build_config = layer.get_build_config()
    if build_config is not None:
        entry["build_config"] = build_config
    return entry


def _refuse(what, entry):
    raise ValueError(f"refusing to load {what}: minitrain builds only its own layer classes "
                     f"and those passed in custom_objects, and never imports a module named "
                     f"in a file. Full object config: {entry}")


def find_class(entry, custom_objects=None):
    """The Layer class an entry names: from ``custom_objects``, else one of minitrain's."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        _refuse("an entry without a class name", entry)
    name, module = entry["class_name"], entry.get("module")
    if not name.isidentifier():
        _refuse(f"the class name '{name}', which is not a plain class name", entry)
    custom = (custom_objects or {}).get(entry.get("registered_name") or name)
    cls = custom if custom is not None else serializable.registered(name)
    if cls is None:
        raise TypeError(f"Could not locate class '{name}'. Make sure custom classes are passed "
                        f"as load_model(..., custom_objects={{'{name}': {name}}}). Full "
                        f"object config: {entry}")
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        _refuse(f"'{name}', which is not a layer class", entry)
    if custom is None and not str(module or "minitrain").startswith(("minitrain", "keras")):
        _refuse(f"the class '{name}' of the module '{module}'", entry)
    return cls


def _function(entry, custom_objects):
    if entry.get("class_name") == "__lambda__":
        raise ValueError("Requested the deserialization of a Python lambda. minitrain never "
                         "loads code (Keras's safe mode, which cannot be turned off here)")
    name = entry.get("config")
    if not isinstance(name, str) or name not in (custom_objects or {}):
        raise ValueError(f"the config calls the function {name!r}: pass it as "
                         f"custom_objects={{{name!r}: <the function>}}")
    return custom_objects[name]


def _resolve_functions(value, custom_objects):
    """The config with each serialized function replaced by the one in ``custom_objects``."""
    if isinstance(value, list):
        return [_resolve_functions(v, custom_objects) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") in ("function", "__lambda__"):
        return _function(value, custom_objects)
    return {k: _resolve_functions(v, custom_objects) for k, v in value.items()}


def deserialize(entry, custom_objects=None):
    """The layer an entry describes, built where the entry records its input shapes."""
    cls = find_class(entry, custom_objects)
    config = _resolve_functions(entry.get("config") or {}, custom_objects)
    if not isinstance(config, dict):
        _refuse("a config that is not a dict", entry)
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        layer = cls.from_config(config, custom_objects=custom_objects)
    else:
        layer = cls.from_config(config)
    shapes = (entry.get("build_config") or {}).get("input_shape")
    if shapes is not None and not layer.built:
        build(layer, shapes)
    return layer


def construct_model(cls, config):
    """``cls(**config)``, for a model class with a constructor of its own (Keras's error)."""
    try:
        return cls(**config)
    except TypeError as err:
        raise TypeError("Unable to revive model from config. When overriding the "
                        "`get_config()` method, make sure that the returned config contains "
                        f"all items used as arguments in the constructor to {cls}, which is "
                        "the default behavior. You can override this default behavior by "
                        "defining a `from_config(cls, config)` class method to specify how "
                        f"to create an instance of {cls.__name__} from its config.\n\n"
                        f"Received config={config}\n\nError encountered during "
                        f"deserialization: {err}") from err


def build(layer, shapes):
    """Build from recorded input shapes: ``build`` for one (which marks the layer built, with
    the shape), a call on zeros for several."""
    if is_shape(shapes):
        layer.build(tuple(shapes))
        return None

    def zeros(shape):
        return np.zeros([1 if n is None else n for n in shape], layer.dtype.name)
    if isinstance(shapes, dict):
        return layer({key: zeros(shape) for key, shape in shapes.items()})
    return layer([zeros(shape) for shape in shapes])


# --- compile() arguments -------------------------------------------------------------------
def _constructor_config(obj):
    """The constructor's arguments read back from the attributes of the same names, the
    base classes' too while a constructor passes ``**kwargs`` on."""
    config = {}
    for cls in type(obj).__mro__:
        if "__init__" not in vars(cls):
            continue
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        for p in parameters:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in config:
                attribute = "_learning_rate" if p.name == "learning_rate" else p.name
                if not hasattr(obj, attribute):
                    raise TypeError(f"{type(obj).__name__} keeps no attribute '{p.name}'")
                config[p.name] = _value(getattr(obj, attribute))
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return config


def _value(value):
    """A compile argument as JSON: plain values, structures, {"class_name", "config"}."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (np.generic, np.dtype)):
        return value.name if isinstance(value, np.dtype) else value.item()
    if isinstance(value, Tensor):
        return value.numpy().item()
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, type):
        raise TypeError(f"cannot write down the class {value.__name__}")
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        if value.__name__ == "<lambda>":
            raise TypeError(f"{value!r} is a Python lambda, and minitrain never stores code")
        return serializable.serialize_function(value)
    get_config = getattr(value, "get_config", None)
    config = get_config() if get_config is not None else _constructor_config(value)
    return {"class_name": type(value).__name__, "config": _value(config)}


def compile_config(model):
    """Keras's compile config: compile()'s arguments as given, each object as its class name
    and config; None if the model is not compiled, or holds an argument that cannot be written
    down (a warning says which)."""
    arguments = getattr(model, "_compile_arguments", None)
    if not model.compiled or arguments is None:
        return None
    try:
        return {key: _value(value) for key, value in arguments.items()}
    except (TypeError, NotImplementedError) as err:
        warnings.warn(f"model '{model.name}' is saved without its compile config (load it "
                      f"with compile=False, and compile it again): {err}", stacklevel=3)
        return None


def _revive(value, get, custom_objects):
    """A compile argument back: names stay names (compile reads them), {"class_name",
    "config"} dicts become objects through ``get``, structures are revived leaf by leaf."""
    if isinstance(value, list):
        return [_revive(v, get, custom_objects) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") in ("function", "__lambda__"):
        return _function(value, custom_objects)
    if "class_name" in value:
        custom = (custom_objects or {}).get(value["class_name"])
        return custom(**value.get("config", {})) if isinstance(custom, type) else get(value)
    return {key: _revive(v, get, custom_objects) for key, v in value.items()}


def _schedule(entry):
    classes = {cls.__name__: cls for cls in vars(schedules).values()
               if isinstance(cls, type) and issubclass(cls, schedules.LearningRateSchedule)}
    if entry.get("class_name") not in classes:
        raise ValueError(f"unknown learning-rate schedule {entry.get('class_name')!r}; "
                         f"valid: {', '.join(sorted(classes))}")
    return classes[entry["class_name"]].from_config(entry.get("config") or {})


def _optimizer(entry, custom_objects):
    if not isinstance(entry, dict):
        return entry
    config = dict(entry.get("config") or {})
    if isinstance(config.get("learning_rate"), dict):
        config["learning_rate"] = _schedule(config["learning_rate"])
    return _revive({**entry, "config": config}, optimizers.get, custom_objects)


def revive_compile_config(config, custom_objects=None):
    """compile()'s keyword arguments from a compile config."""
    kinds = {"loss": losses.get, "metrics": metrics.get, "weighted_metrics": metrics.get}
    revived = {key: _revive(value, kinds[key], custom_objects) if key in kinds else value
               for key, value in config.items()}
    if "optimizer" in config:
        revived["optimizer"] = _optimizer(config["optimizer"], custom_objects)
    return revived


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False):
    """Keras's ``clone_model`` for its default arguments: the model made again from its
    config, with new weights (the layers keep their names)."""
    given = {"input_tensors": input_tensors, "clone_function": clone_function,
             "call_function": call_function, "recursive": recursive or None}
    if any(value is not None for value in given.values()):
        raise NotImplementedError("clone_model: only the model argument is supported by "
                                  f"minitrain, got {[k for k, v in given.items() if v]}")
    known = {}  # the model's own classes and functions, as if passed in custom_objects
    for layer in model._flatten_layers():
        known[type(layer).__name__] = type(layer)
        known.update((f.__name__, f) for f in vars(layer).values() if inspect.isfunction(f))
    return deserialize(serialize(model), known)
