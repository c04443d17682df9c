"""Configs: a YAML file (and --set overrides) -> validated plain data -> the built run.

```python
config = load_config("configs/mlp.yaml", overrides=["training.epochs=3"])
experiment = build(config)        # minitrain.training.Experiment
```
A mistake raises ConfigError, whose message names the file (or the --set option), the key
path or line, and the closest valid key or name.
"""
import copy
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


def load_config(path=None, overrides=(), data=None, device=None):
    """The validated config from the YAML file at ``path`` (or the mapping ``data``), with
    each ``overrides`` item ('key.path=value') applied, then ``device`` if given; defaults
    filled in."""
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
    if device is not None:
        data["device"] = device
        applied.append((("device",), f"--device {device}"))
    try:
        config = Config(spec.CONFIG(data, ()), source, lines, applied)
        validate.check(config)
    except ConfigError as err:
        raise _locate(err, source, lines, applied) from None
    if config["name"] is None:
        config["name"] = Path(path).stem if path is not None else "run"
    return config


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
