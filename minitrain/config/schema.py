"""The shape of a config: every section, key, type and default, checked before anything runs.

A checker is a function ``check(value, path) -> value`` that returns the value (with defaults
filled in) or raises a ConfigError naming ``path``. ``Section`` checks a mapping of known keys;
the open-ended parts (a layer's arguments, a data source's options) are mappings here and are
checked against the signature of what they build in ``names``.
"""
import math

from .errors import ConfigError, control_character, did_you_mean, format_path

REQUIRED = object()

_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
               list: "a list", dict: "a mapping (key: value lines)", type(None): "nothing"}


def _kind(value):
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def shown(value):
    """repr(value), cut to 40 characters (Python prints no int of more than 4300 digits)."""
    if isinstance(value, int) and value.bit_length() > 4000:
        return f"a number of {value.bit_length():,} bits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def expected(path, what, value):
    return ConfigError(f"{format_path(path)} must be {what}, got {shown(value)} "
                       f"({_kind(value)})", path)


def integer(minimum, maximum):
    """A whole number in [minimum, maximum]: every count has a bound, so a typo such as
    10000000000000 is an error here, not a 4 PiB allocation later."""
    def check(value, path):
        # bool is an int in Python, but `epochs: true` is a mistake
        if isinstance(value, bool) or not isinstance(value, int):
            raise expected(path, "a whole number", value)
        if value < minimum:
            raise ConfigError(f"{format_path(path)} must be {minimum} or more, got {shown(value)}",
                              path)
        if value > maximum:
            raise ConfigError(f"{format_path(path)} must be at most {maximum:,}, got "
                              f"{shown(value)}", path)
        return value
    return check


def number(minimum=None, below=None, positive=False):
    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise expected(path, "a number", value)
        # float(10**400) overflows: so large a whole number counts as infinite
        value = (math.inf if value > 0 else -math.inf) if abs(value) > 1e300 else float(value)
        bounds = ((minimum is not None and value < minimum) or (below is not None and
                  value >= below) or (positive and value <= 0) or not math.isfinite(value))
        if bounds:
            rule = ("above 0" if positive else
                    " and ".join(part for part in (
                        f"at least {minimum}" if minimum is not None else "",
                        f"below {below}" if below is not None else "") if part) or "finite")
            rule = rule if math.isfinite(value) else f"a finite number ({rule})"
            raise ConfigError(f"{format_path(path)} must be {rule}, got {value}", path)
        return value
    return check


def boolean(value, path):
    if not isinstance(value, bool):
        raise expected(path, "true or false", value)
    return value


def string(choices=None):
    def check(value, path):
        if not isinstance(value, str) or not value:
            raise expected(path, "a string" if choices is None else
                           f"one of {', '.join(choices)}", value)
        # the config's strings are names and paths, where a NUL or a newline is never meant
        char = control_character(value)
        if char is not None:
            raise ConfigError(f"{format_path(path)} holds the control character '{char}', got "
                              f"{shown(value)}; remove it", path)
        if choices is None:
            return value
        # a choice is a name, and names match in any case (Standard, EPOCH), as layers' do
        chosen = next((c for c in choices if c.lower() == value.lower()), None)
        if chosen is None:
            raise ConfigError(f"{format_path(path)} must be one of {', '.join(choices)}, got "
                              f"'{value}'{did_you_mean(value, choices)}", path)
        return chosen
    return check


def optional(checker):
    """``checker``, or None (written ``null``, ``~`` or left empty in YAML)."""
    def check(value, path):
        return None if value is None else checker(value, path)
    return check


def mapping(value, path):
    """A mapping of string keys whose values are checked elsewhere (options, arguments)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise expected(path, "a mapping (key: value lines)", value)
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"{format_path(path)}: key {key!r} must be a string", path)
    return dict(value)


def list_of(checker):
    def check(value, path):
        if not isinstance(value, list):
            raise expected(path, "a list", value)
        return [checker(item, (*path, i)) for i, item in enumerate(value)]
    return check


class Field:
    """One key of a section: its checker and its default (or REQUIRED)."""

    def __init__(self, checker, default=REQUIRED):
        self.checker, self.default = checker, default


class Section:
    """A mapping with a fixed set of keys; an unknown key is an error naming the closest."""

    def __init__(self, fields):
        self.fields = fields

    def __call__(self, value, path):
        value = mapping(value, path)
        where = f" in {format_path(path)}" if path else " at the top level"
        for key in value:
            if key not in self.fields:
                raise ConfigError(f"unknown key '{key}'{where}{did_you_mean(key, self.fields)}"
                                  f" (valid keys: {', '.join(self.fields)})", (*path, key))
        checked = {}
        for key, field in self.fields.items():
            if key in value:
                checked[key] = field.checker(value[key], (*path, key))
            elif field.default is REQUIRED:
                raise ConfigError(f"missing required key '{key}'{where}", (*path, key))
            else:
                # a section's default is checked like a value, so its own defaults fill in
                default = field.default
                checked[key] = field.checker(default, (*path, key)) if isinstance(
                    default, dict) else default
        return checked
