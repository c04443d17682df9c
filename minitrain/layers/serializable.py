"""What ``Layer.get_config`` / ``from_config`` rest on: the registry of minitrain's own layer
classes by name, Keras 3's automatic config of a constructor's plain arguments, and the
serialized form of the objects a config holds.

A saved config names classes; loading looks each name up here (or in the ``custom_objects``
the caller passes), never imports a module a file names, so a file cannot run code.
"""
import inspect

from .. import activations

_CLASSES = {}  # class name: one of minitrain's own public Layer classes
_PLAIN = (str, int, float, bool, type(None))


def register(cls):
    """Record ``cls`` if it is one of minitrain's public classes (a user's class is found
    only through ``custom_objects``, as Keras needs it registered or passed)."""
    if cls.__module__.startswith("minitrain.") and not cls.__name__.startswith("_"):
        _CLASSES.setdefault(cls.__name__, cls)


def registered(name):
    """The class registered under ``name``, or None."""
    return _CLASSES.get(name)


def _plain(value):
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return isinstance(value, _PLAIN)


def auto_config(cls, args, kwargs):
    """Keras 3's auto-config: the constructor's arguments (defaults included, ``name`` left
    to the base config), where every value is a plain one; otherwise None."""
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    config = {}
    for name, parameter in list(bound.signature.parameters.items())[1:]:
        if parameter.kind is parameter.VAR_POSITIONAL:
            if bound.arguments.get(name):
                return None
        elif parameter.kind is parameter.VAR_KEYWORD:
            config.update(bound.arguments.get(name, {}))
        elif parameter.kind is not parameter.POSITIONAL_ONLY:
            config[name] = bound.arguments[name]
    config.pop("name", None)
    return config if _plain(config) else None


def not_serializable(cls):
    """Keras 3's error for a class whose constructor took values it cannot write down."""
    return NotImplementedError(
        f"Object {cls.__name__} was created by passing non-serializable argument values in "
        "`__init__()`, and therefore the object must override `get_config()` in order to be "
        "serializable. Please implement `get_config()`.")


def serialize(value):
    """An initializer, regularizer or schedule as Keras's {"class_name", "config"}; None
    stays None."""
    if value is None:
        return None
    return {"class_name": type(value).__name__, "config": value.get_config()}


def serialize_function(fn):
    """A built-in activation by its name; another function as Keras writes one (found again
    through ``custom_objects``); a lambda as Keras's "__lambda__", which cannot be saved."""
    name = activations.name_of(fn)
    if name is not None:
        return name
    name = getattr(fn, "__name__", None)
    if name is None or name == "<lambda>":
        return {"class_name": "__lambda__", "config": repr(fn)}
    return {"module": getattr(fn, "__module__", None), "class_name": "function",
            "config": name, "registered_name": "function"}


# --- a layer inside a layer's config (wrappers, blocks) ---------------------------------------
def layer_entry(layer):
    """The inner layer as Keras's serialized entry (what ``serialization.serialize`` writes)."""
    cls = type(layer)
    own = registered(cls.__name__) is cls
    return {"module": cls.__module__, "class_name": cls.__name__, "config": layer.get_config(),
            "registered_name": None if own else cls.__name__}


def layer_from_entry(entry):
    """The layer an entry describes: a layer itself passes through; minitrain's own classes
    only."""
    if not isinstance(entry, dict):
        return entry
    cls = registered(entry.get("class_name"))
    if cls is None:
        raise ValueError(f"cannot rebuild the wrapped layer {entry.get('class_name')!r}: only "
                         "minitrain's own layer classes are known here")
    return cls.from_config(entry["config"])
