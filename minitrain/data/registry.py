"""Data sources by name: ``load_source("digits", flatten=False)`` -> ArrayDataset.

A source is a function of keyword options that returns an ArrayDataset, registered under a
name (the name a YAML config uses; any case finds it: ``CSV`` and ``Digits`` are ``csv`` and
``digits``). Options are checked against the function's signature so a
misspelt option fails with the list of valid ones instead of a bare TypeError.
"""
import inspect

from ..naming import did_you_mean
from .dataset import ArrayDataset, check_values

_SOURCES = {}


def register_source(name):
    """Decorator: make ``fn(**options) -> ArrayDataset`` loadable as ``load_source(name)``."""
    def register(fn):
        if source_name(name) is not None:
            raise ValueError(f"a data source named '{source_name(name)}' is already registered")
        _SOURCES[name] = fn
        return fn
    return register


def available_sources():
    return sorted(_SOURCES)


def source_name(name):
    """The registered name that ``name`` spells in any case (``"CSV"`` -> ``"csv"``), or None
    if there is none: the one place where source names are compared."""
    if not isinstance(name, str):
        return None
    return next((known for known in _SOURCES if known.casefold() == name.casefold()), None)


def load_source(name, **options):
    """The ArrayDataset of source ``name`` (in any case), built with ``options``; its values
    checked (no nan, inf or complex numbers), so every source's bad data fails here, naming
    its origin."""
    if source_name(name) is None:
        raise ValueError(f"unknown data source '{name}'{did_you_mean(name, _SOURCES)} "
                         f"(available: {', '.join(available_sources())})")
    name = source_name(name)
    fn = _SOURCES[name]
    _check_options(name, fn, options)
    dataset = fn(**options)
    if isinstance(dataset, ArrayDataset):
        check_values(dataset, dataset.origin or _describe(name, options))
    return dataset


def _describe(name, options):
    given = ", ".join(f"{key}={value!r}" for key, value in options.items())
    return f"data source '{name}'" + (f" ({given})" if given else "")


def _check_options(name, fn, options):
    params = inspect.signature(fn).parameters
    valid = [p for p, spec in params.items() if spec.kind is spec.KEYWORD_ONLY or
             spec.kind is spec.POSITIONAL_OR_KEYWORD]
    for option in options:
        if option not in valid:
            raise ValueError(f"data source '{name}' has no option '{option}'"
                             f"{did_you_mean(option, valid)} (its options: {', '.join(valid)})")
    missing = [p for p in valid if params[p].default is params[p].empty and p not in options]
    if missing:
        raise ValueError(f"data source '{name}' needs the option(s) {', '.join(missing)}")
