"""Reading a config: YAML text -> plain data (safe_load only) -> --set overrides -> schema.

Errors keep their origin: a key from the file is reported with the file name and its line,
a key from an override with the ``--set`` option that introduced it.
"""
import re
from pathlib import Path

import yaml

from .errors import ConfigError, format_path

# PyYAML follows YAML 1.1, where `1e-3` (no dot) is a string; every user means a number
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def read_yaml(path):
    """The file's content as plain data, and a map from key paths to line numbers."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found" + ("" if path.parent.is_dir() else
                          f" (no directory {path.parent})"), source=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "it is not UTF-8 text"
        raise ConfigError(f"cannot read the config file: {reason}", source=str(path)) from None
    try:
        data = yaml.safe_load(text)
        lines = _line_map(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as err:
        raise _syntax_error(err, str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("a config must be a mapping of sections (seed:, data:, model:, ...), "
                          f"found {type(data).__name__}", source=str(path), line=1)
    return fix_numbers(data), lines


def _syntax_error(err, source):
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    if isinstance(err, yaml.constructor.ConstructorError):
        # safe_load builds plain data only: a tag such as !!python/object is refused
        message = f"YAML tag not allowed (a config holds plain data only): {problem}"
    else:
        message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return ConfigError(message, source=source, line=None if mark is None else mark.line + 1)


def _line_map(node, path=(), lines=None):
    """{key path: line} for every key and list item, from the composed YAML node tree."""
    lines = {} if lines is None else lines
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            if sub in lines:  # safe_load keeps the last silently: the first would be ignored
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key '{key.value}' (first on line {lines[sub]}); "
                    "give each key once", problem_mark=key.start_mark)
            lines[sub] = key.start_mark.line + 1
            _line_map(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _line_map(item, (*path, i), lines)
    return lines


def fix_numbers(value):
    """``value`` with strings such as '1e-3' read as the numbers they are."""
    if isinstance(value, dict):
        return {k: fix_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fix_numbers(v) for v in value]
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)
    return value


def parse_override(text):
    """'optimizer.learning_rate=0.1' -> (('optimizer', 'learning_rate'), 0.1).

    The value is read as YAML (so 0.1 is a number, true a boolean, [1, 2] a list); a part of
    the key that is a whole number indexes a list (``model.0.Dense.units=128``).
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError("expected key.path=value (e.g. optimizer.learning_rate=0.01)",
                          source=f"--set {text}")
    path = tuple(int(p) if p.isdigit() else p for p in key.strip().split("."))
    if any(p == "" for p in path):
        raise ConfigError(f"empty part in the key path '{key}'", source=f"--set {text}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"the value is not valid YAML: {problem}",
                          source=f"--set {text}") from None
    return path, fix_numbers(value)


def apply_override(data, path, value, source):
    """Set ``data[path] = value``, creating mappings on the way (the schema then rejects a
    key that does not exist)."""
    node = data
    for depth, part in enumerate(path[:-1]):
        node = _child(node, part, path[:depth + 1], source)
    last = path[-1]
    if isinstance(node, list):
        _check_index(node, last, path, source)
    elif not isinstance(node, dict):
        parent = format_path(path[:-1])
        raise ConfigError(f"cannot set {format_path(path)}: {parent} is {node!r}, not a "
                          f"mapping; set {parent} whole instead (--set '{parent}=...')",
                          path, source)
    node[last] = value


def _child(node, part, path, source):
    if isinstance(node, list):
        _check_index(node, part, path, source)
        return node[part]
    if not isinstance(node, dict):
        parent = format_path(path[:-1])
        raise ConfigError(f"cannot set below {parent}: it is {node!r}, not a mapping; set "
                          f"{parent} whole instead (--set '{parent}=...')", path, source)
    if node.get(part) is None:
        node[part] = {}
    return node[part]


def _check_index(node, index, path, source):
    if not isinstance(index, int) or index >= len(node):
        raise ConfigError(f"{format_path(path[:-1])} is a list of {len(node)}; "
                          f"'{path[-1]}' is not one of its positions 0..{len(node) - 1}",
                          path, source)
