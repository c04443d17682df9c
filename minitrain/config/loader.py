"""Reading a config: YAML text -> plain data (safe_load only) -> --set overrides -> schema.

Errors keep their origin: a key from the file is reported with the file name and its line,
a key from an override with the ``--set`` option that introduced it.

A config is small, so the text is held to bounds before anything is built from it: its size,
its nesting depth and the nodes its aliases add (a few hundred bytes of "billion laughs"
expands to 10**9 nodes). Every later pass over the data (``fix_numbers``, ``_line_map``, the
schema) may then recurse freely.
"""
import re
from pathlib import Path

import yaml

from .errors import ConfigError, control_character, format_path, set_option

MAX_CHARS = 1_000_000  # a config is a few kB; a megabyte is a data file given by mistake
MAX_DEPTH = 50  # nesting levels, counted through aliases; a config uses about 5
MAX_ALIAS_NODES = 10_000  # nodes that aliases may add, each alias counted at its full size

# PyYAML follows YAML 1.1, where `1e-3` (no dot) is a string; every user means a number
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
_INDEX = re.compile(r"[0-9]+")  # ASCII only: '²'.isdigit() is true, but int('²') fails


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that measures each node as it is composed, before anything is constructed:
    its height and its size once aliases are expanded (shared by every alias of it), so an
    alias bomb or a deep nest is refused after reading its text, not after expanding it."""

    def __init__(self, text, max_depth=MAX_DEPTH):
        super().__init__(text)
        self.max_depth, self.depth, self.alias_nodes = max_depth, 0, 0
        self.measures = {}  # id(node) -> (height, size with aliases expanded)

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            return self._alias(self.peek_event())
        if self.depth >= self.max_depth:
            raise _too_deep(self.peek_event().start_mark, self.max_depth)
        self.depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        self.measures[id(node)] = _measure(node, self.measures)
        return node

    def _alias(self, event):
        node = self.anchors.get(event.anchor)
        if node is None:
            return super().compose_node(None, None)  # PyYAML's own "undefined alias" error
        if id(node) not in self.measures:  # measured once composed: it is still open
            raise yaml.MarkedYAMLError(problem=f"alias *{event.anchor} refers to a node that "
                                       "contains it (a loop); write the value out instead",
                                       problem_mark=event.start_mark)
        height, size = self.measures[id(node)]
        self.alias_nodes += size
        if self.depth + height > self.max_depth:
            raise _too_deep(event.start_mark, self.max_depth)
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise yaml.MarkedYAMLError(
                problem=f"the aliases (*name) expand to more than {MAX_ALIAS_NODES} values; "
                "a config needs few: write the values out, or use fewer aliases",
                problem_mark=event.start_mark)
        self.get_event()
        return node

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python reads no int of more than 4300 digits (a CPU-time bound)
            raise yaml.MarkedYAMLError(problem=f"the number {node.value[:20]}... has "
                                       f"{len(node.value):,} digits; a config's numbers are "
                                       "far shorter", problem_mark=node.start_mark) from None


# SafeLoader finds its constructors in a table by tag, not by method name
_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _measure(node, measures):
    """(height, size) of a node whose children are measured, aliases counted in full."""
    if isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    else:
        return 1, 1
    parts = [measures[id(child)] for child in children]
    return 1 + max((h for h, _ in parts), default=0), 1 + sum(s for _, s in parts)


def _too_deep(mark, limit):
    return yaml.MarkedYAMLError(problem=f"the values nest more than {limit} levels deep; a "
                                "config needs a few: flatten the lists and mappings",
                                problem_mark=mark)


def load_yaml(text, max_depth=MAX_DEPTH):
    """(data, node): ``text`` as safe_load reads it, and its composed node tree (None for an
    empty document), its depth and aliases held to the bounds above. Raises yaml.YAMLError."""
    loader = _BoundedLoader(text, max_depth)
    try:
        node = loader.get_single_node()
        return (None if node is None else loader.construct_document(node)), node
    finally:
        loader.dispose()


def read_yaml(path):
    """The file's content as plain data, and a map from key paths to line numbers."""
    if not str(path).strip():  # Path("") would be ".", the current directory
        raise ConfigError("no config file given: name a YAML file, e.g. --config "
                          "configs/mlp.yaml", source=f"--config {str(path)!r}")
    path = Path(path)
    source = str(path)
    data, node = _parse(_read_text(path), source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("a config must be a mapping of sections (seed:, data:, model:, ...), "
                          f"found {type(data).__name__}", source=source, line=1)
    try:
        lines = _line_map(node) if node is not None else {}
    except yaml.YAMLError as err:
        raise _syntax_error(err, source) from None
    return fix_numbers(data), lines


def _read_text(path):
    source = str(path)
    try:
        _check_file(path, source)
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = (err.strerror if isinstance(err, OSError) else
                  f"it is not UTF-8 text (byte {err.start} is {err.object[err.start]:#04x}); "
                  "save it as UTF-8")
        raise ConfigError(f"cannot read the config file: {reason}", source=source) from None


def _check_file(path, source):
    """Raise a ConfigError unless ``path`` is a regular file of a config's size."""
    char = control_character(source)
    if char is not None:  # a NUL would make every file call raise ValueError
        raise ConfigError(f"the file name holds the control character '{char}'; remove it",
                          source=source)
    if path.is_dir():
        inside = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
        hint = f" such as {inside[0]}" if inside else ""
        raise ConfigError(f"this is a directory, not a config file; give a YAML file{hint}",
                          source=source)
    if path.exists() and not path.is_file():  # /dev/zero or a pipe would never end
        raise ConfigError("this is not a regular file (a device or a pipe?); give a YAML file",
                          source=source)
    if not path.is_file():
        raise ConfigError("config file not found" + ("" if path.parent.is_dir() else
                          f" (no directory {path.parent})"), source=source)
    if path.stat().st_size > 4 * MAX_CHARS:  # refused unread: UTF-8 is <= 4 bytes a char
        raise ConfigError(f"the file holds {path.stat().st_size:,} bytes, far more than a "
                          "config; is it a data file? Name it in data.options instead",
                          source=source)


def _parse(text, source, max_depth=MAX_DEPTH):
    """load_yaml for the text of a file or a --set value, every bound checked."""
    if len(text) > MAX_CHARS:
        raise ConfigError(f"the text is {len(text):,} characters long, more than a config's "
                          f"{MAX_CHARS:,}; is it a data file? Data sources read those",
                          source=source)
    try:
        return load_yaml(text, max_depth)
    except yaml.YAMLError as err:
        raise _syntax_error(err, source) from None


def _syntax_error(err, source):
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    if isinstance(err, yaml.constructor.ConstructorError):
        # safe_load builds plain data only: a tag such as !!python/object is refused
        message = f"YAML tag not allowed (a config holds plain data only): {problem}"
    elif source.startswith("--set"):  # one line of text: its line number says nothing
        return ConfigError(f"the value is not valid YAML: {problem}", source=source)
    else:
        message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return ConfigError(message, source=source, line=None if mark is None else mark.line + 1)


def _line_map(node, path=(), lines=None):
    """{key path: line} for every key and list item, from the composed YAML node tree."""
    lines = {} if lines is None else lines
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue  # a list as a key: the schema refuses it, naming the mapping
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
    source = set_option(text)
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError("expected key.path=value (e.g. optimizer.learning_rate=0.01)",
                          source=source)
    path = tuple(int(p) if _INDEX.fullmatch(p) else p for p in key.strip().split("."))
    if any(p == "" for p in path):
        raise ConfigError(f"empty part in the key path '{key}'", source=source)
    if len(path) >= MAX_DEPTH:
        raise ConfigError(f"the key path has {len(path)} parts; a config's keys nest a few "
                          "levels deep", source=source)
    # the value nests below the key: together they stay within the file's bound
    value, _ = _parse(raw, source, MAX_DEPTH - len(path)) if raw.strip() else (None, None)
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
