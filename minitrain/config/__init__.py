"""Configs: a YAML file (and --set overrides) -> validated plain data -> the built run.

```python
config = load_config("configs/mlp.yaml", overrides=["training.epochs=3"])
experiment = build(config)        # minitrain.training.Experiment
```
A mistake raises ConfigError, whose message names the file (or the --set option), the key
path or line, and the closest valid key or name.
"""
import copy
import os
from pathlib import Path

from . import spec, validate
from .build import build
from .errors import ConfigError, set_option
from .loader import apply_override, parse_override, read_yaml
from .resume import resume_config


class Config(dict):
    """A validated config (plain data), which remembers where each key came from so that a
    later error (while building) names the file line or --set option too."""

    def __init__(self, data, source, lines, applied):
        super().__init__(data)
        self._where = (source, lines, applied)

    def locate(self, err):
        return _locate(err, *self._where)


def load_config(path=None, overrides=(), data=None, device=None, threads=None):
    """The validated config from the YAML file at ``path`` (or the mapping ``data``), with
    each ``overrides`` item ('key.path=value') applied, then ``device`` and ``threads`` if
    given; defaults filled in. A relative data path is taken from the config file's directory
    (from the current one where an override gave it) and kept absolute, so that the saved
    config works from anywhere."""
    source = str(path) if path is not None else "config"
    if data is None:
        data, lines = read_yaml(path)
    else:
        data, lines = copy.deepcopy(dict(data)), {}
    applied = []
    for text in overrides:
        key, value = parse_override(text)
        apply_override(data, key, value, set_option(text))
        applied.append((key, set_option(text)))
    for key, value in (("device", device), ("threads", threads)):
        if value is not None:
            data[key] = value
            applied.append(((key,), f"--{key} {value}"))
    _absolute_data_path(data, path, applied)
    try:
        config = Config(spec.CONFIG(data, ()), source, lines, applied)
        validate.check(config)
    except ConfigError as err:
        raise _locate(err, source, lines, applied) from None
    if config["name"] is None:
        config["name"] = Path(path).stem if path is not None else "run"
    return config


def _absolute_data_path(data, path, applied):
    options = data.get("data", {}).get("options") if isinstance(data.get("data"), dict) else None
    if not isinstance(options, dict) or not isinstance(options.get("path"), str):
        return
    key = ("data", "options", "path")
    overridden = any(key[:len(k)] == k for k, _ in applied)
    base = Path.cwd() if overridden or path is None else Path(path).parent
    if options["path"] and not Path(options["path"]).is_absolute():
        options["path"] = os.path.abspath(base / options["path"])


def _locate(err, source, lines, applied):
    """The error, told from the --set option that set its key, or from the file's line."""
    if err.source is not None:
        return err
    path = tuple(err.path or ())
    for key, option in reversed(applied):
        if path and (path[:len(key)] == key or key[:len(path)] == path):
            return err.located(option)
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return err.located(source, lines[path[:end]])
    return err.located(source)


__all__ = ["Config", "ConfigError", "build", "load_config", "resume_config"]
