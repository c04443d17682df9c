"""The config of a run being resumed: the one saved in its directory, and no other.

A resumed run must take the steps the checkpoint was taken in, so a config given again (with
--config or --set) must equal the saved one. Where it runs (device, threads) may change, and
``training.epochs``, which extends a run (or ends it sooner) without changing its steps.
"""
from pathlib import Path

from .errors import ConfigError

MAY_DIFFER = ("device", "threads", "name", "output")


def resume_config(run_path, load, requested=None, overrides=()):
    """The saved config of the run at ``run_path``, loaded with ``load(path, overrides)``;
    a ConfigError if ``requested`` or ``overrides`` would change it."""
    saved_path = Path(run_path) / "config.yaml"
    if not saved_path.is_file():
        raise ConfigError(f"no run to resume in {run_path} (it has no config.yaml)",
                          source="--resume")
    saved = load(saved_path, ())
    requested = requested if requested is not None else load(saved_path, overrides)
    epochs = requested["training"]["epochs"]
    requested["training"]["epochs"] = saved["training"]["epochs"]
    for key in requested:
        path = None if key in MAY_DIFFER else difference(requested[key], saved[key], key)
        if path is not None:
            raise ConfigError(f"'{path}' differs from the run's saved config ({saved_path}): "
                              f"{_shown(value_at(saved, path))} there, "
                              f"{_shown(value_at(requested, path))} here; only training.epochs "
                              "(and device, threads) may change on --resume: resume with the "
                              "same config and overrides, or with no --config and no --set to "
                              "use the saved one", source="--resume")
    for key in MAY_DIFFER[:2]:
        saved[key] = requested[key]
    saved["training"]["epochs"] = epochs
    return saved


def value_at(config, path):
    """The value at a path as ``difference`` writes it ('model[0].Dense.units')."""
    node = config
    for part in path.replace("[", ".").replace("]", "").split("."):
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return "(not there)"
    return node


def _shown(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def difference(a, b, path):
    """The key path of the first difference between ``a`` and ``b``, or None."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return next((p for k in a if (p := difference(a[k], b[k], f"{path}.{k}"))), None)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return next((p for i, (x, y) in enumerate(zip(a, b))
                     if (p := difference(x, y, f"{path}[{i}]"))), None)
    return None if a == b else path
