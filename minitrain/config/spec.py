"""The config's sections and keys, with their defaults: the reference the README documents."""
from .errors import ConfigError, format_path
from .schema import (
    Field,
    Section,
    boolean,
    expected,
    integer,
    list_of,
    mapping,
    number,
    optional,
    string,
)

MAX_EPOCHS = 1_000_000  # beyond this, a run never ends: a typo, not a plan
MAX_NAME = 100  # characters in a run's name: the directory's name adds a date to it


def named(kind):
    """``adam`` or ``{name: adam, <its arguments>}``, both read as ``{"name": "adam", ...}``."""
    def check(value, path):
        if isinstance(value, str):
            return {"name": string()(value, path)}
        if not isinstance(value, dict):
            raise expected(path, f"a {kind} name, or a mapping with 'name' and its arguments",
                           value)
        value = mapping(value, path)
        if "name" not in value:
            raise ConfigError(f"missing required key 'name' in {format_path(path)} (which "
                              f"{kind} to use)", (*path, "name"))
        string()(value["name"], (*path, "name"))
        return value
    return check


def optimizer(value, path):
    value = named("optimizer")(value, path)
    if value.get("schedule") is not None:
        value["schedule"] = named("learning-rate schedule")(value["schedule"], (*path, "schedule"))
    return value


def layer(value, path):
    """``- Dense: {units: 64}`` (a layer name and its arguments) or a bare ``- Flatten``."""
    if isinstance(value, str):
        return {value: {}}
    if isinstance(value, dict) and len(value) == 1:
        (name, args), = value.items()
        if isinstance(name, str):
            args = mapping(args, (*path, name))
            if "layers" in args:  # a block (Residual, Repeat): the layers it holds, checked alike
                args["layers"] = layers(args["layers"], (*path, name, "layers"))
            return {name: args}
    if isinstance(value, dict) and len(value) > 1:
        raise ConfigError(f"{format_path(path)} names {len(value)} layers ("
                          f"{', '.join(map(repr, value))}); give one layer per list item, its "
                          "arguments indented below it", path)
    raise expected(path, "a layer: a name with its arguments (`- Dense: {units: 64}`) or a "
                   "bare name (`- Flatten`)", value)


def run_name(value, path):
    """A run's name becomes a directory's: one path component, never a path."""
    value = string()(value, path)  # refuses control characters (a NUL) too
    if "/" in value or "\\" in value or value in (".", ".."):
        raise ConfigError(f"{format_path(path)} names the run directories, so it cannot hold "
                          f"'/' or be '.' or '..', got {value!r}; output.dir says where they go",
                          path)
    if len(value) > MAX_NAME:
        raise ConfigError(f"{format_path(path)} names the run directories: at most {MAX_NAME} "
                          f"characters, got {len(value)}; shorten it", path)
    return value


def layers(value, path):
    value = list_of(layer)(value, path)
    if not value:
        raise ConfigError("model must list at least one layer", path)
    return value


SPLITS = Section({
    "val": Field(number(minimum=0.0, below=1.0), 0.1),
    "test": Field(number(minimum=0.0, below=1.0), 0.2),
    "stratify": Field(boolean, True),
})

NORMALIZE = Section({
    "method": Field(string(("standard", "scale", "none")), "standard"),
    "scale": Field(optional(number(positive=True)), None),
})

DATA = Section({
    "source": Field(string()),
    "options": Field(mapping, {}),
    "splits": Field(SPLITS, {}),
    "normalize": Field(NORMALIZE, {}),
    "batch_size": Field(integer(1, 2**20), 32),
    "shuffle": Field(boolean, True),
    "drop_last": Field(boolean, False),
})

EARLY_STOPPING = Section({
    "monitor": Field(string(), "val_loss"),
    "mode": Field(string(("auto", "min", "max")), "auto"),
    "patience": Field(integer(0, MAX_EPOCHS), 5),
    "min_delta": Field(number(minimum=0.0), 0.0),
    "restore_best": Field(boolean, True),
})

CHECKPOINT = Section({
    "every": Field(integer(0, 2**31 - 1), 1),
    "unit": Field(string(("epoch", "step")), "epoch"),
})

TRAINING = Section({
    "epochs": Field(integer(1, MAX_EPOCHS)),
    "early_stopping": Field(optional(EARLY_STOPPING), None),
    "checkpoint": Field(CHECKPOINT, {}),
    # gradient accumulation: each batch in this many parts, one update from their gradients
    "micro_batches": Field(integer(1, 4096), 1),
})

OUTPUT = Section({
    "dir": Field(string(), "runs"),
})

CONFIG = Section({
    "name": Field(optional(run_name), None),
    "seed": Field(integer(0, 2**32 - 1), 0),
    "device": Field(string(), "cpu"),
    # BLAS threads: one is the fast choice for these models on a shared machine (see README)
    "threads": Field(integer(1, 1024), 1),
    "data": Field(DATA),
    "model": Field(layers),
    "loss": Field(named("loss")),
    "optimizer": Field(optimizer),
    "metrics": Field(list_of(named("metric")), []),
    "training": Field(TRAINING),
    "output": Field(OUTPUT, {}),
})
