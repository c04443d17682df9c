"""The checks that need more than the schema: names, arguments and how the sections agree."""
from .. import backend, data
from . import names
from .errors import ConfigError, did_you_mean, format_path

# accuracy is resolved from the loss, as Keras's compile() does: argmax for class logits
ACCURACY_NAMES = ("accuracy", "acc")


def check(config):
    """Raise a ConfigError for the first unknown name, argument or inconsistency."""
    _check_device(config["device"])
    _check_data(config["data"])
    check_layers(config["model"], ("model",))
    _check_named(names.LOSSES, config["loss"], ("loss",), reserved=("name", "reduction"))
    _check_optimizer(config["optimizer"])
    for i, metric in enumerate(config["metrics"]):
        if metric["name"] not in ACCURACY_NAMES:
            _check_named(names.METRICS, metric, ("metrics", i), reserved=("name",))
        elif len(metric) > 1:
            raise ConfigError(f"metrics[{i}]: '{metric['name']}' takes no arguments (it "
                              "follows the loss)", ("metrics", i))
        elif names.accuracy_class(config["loss"]["name"]) is None:
            raise ConfigError(f"metrics[{i}]: accuracy needs a classification loss (a "
                              f"crossentropy), not '{config['loss']['name']}'", ("metrics", i))
    _check_monitor(config)


REPEAT = "repeat"  # the config's own block: ``- Repeat: {times: N, layers: [...]}``
MAX_REPEAT = 1000


def check_layers(items, path):
    """Each layer's name and arguments, inside blocks (Residual, Repeat) too."""
    for i, item in enumerate(items):
        (name, args), = item.items()
        where = (*path, i, name)
        if name.lower() == REPEAT:
            _check_repeat(args, where)
            check_layers(args["layers"], (*where, "layers"))
            continue
        cls = names.LAYERS.lookup(name, where)
        names.check_arguments(cls, {k: v for k, v in args.items() if k != "layers"}, where,
                              cls.__name__, reserved=("layers",) * ("layers" in args))
        if "layers" in args:
            check_layers(args["layers"], (*where, "layers"))


def _check_repeat(args, path):
    unknown = sorted(set(args) - {"times", "layers"})
    if unknown or "layers" not in args or "times" not in args:
        raise ConfigError(f"{format_path(path)} takes times (how many copies) and layers (the "
                          f"block), e.g. Repeat: {{times: 4, layers: [...]}}"
                          + (f"; unknown: {', '.join(unknown)}" if unknown else ""), path)
    times = args["times"]
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= MAX_REPEAT:
        raise ConfigError(f"{format_path((*path, 'times'))} must be a whole number from 1 to "
                          f"{MAX_REPEAT}, got {times!r}", (*path, "times"))


def _check_named(registry, spec, path, reserved=("name",)):
    cls = registry.lookup(spec["name"], (*path, "name"))
    args = {k: v for k, v in spec.items() if k != "name"}
    names.check_arguments(cls, args, path, f"{registry.kind} '{spec['name']}'", reserved)
    return cls


def _check_optimizer(spec):
    _check_named(names.OPTIMIZERS, {k: v for k, v in spec.items() if k != "schedule"},
                 ("optimizer",))
    schedule = spec.get("schedule")
    if schedule is None:
        return
    cls = names.SCHEDULES.lookup(schedule["name"], ("optimizer", "schedule", "name"))
    params, _ = names.parameters(cls)
    # the schedule starts from the optimizer's rate unless it names its own
    if "initial_learning_rate" in params and "initial_learning_rate" not in schedule:
        if "learning_rate" not in spec:
            raise ConfigError("missing required key 'learning_rate' in optimizer (the "
                              "schedule's initial_learning_rate)", ("optimizer",))
        schedule["initial_learning_rate"] = spec["learning_rate"]
    _check_named(names.SCHEDULES, schedule, ("optimizer", "schedule"))


def _check_data(spec):
    sources = data.available_sources()
    if data.registry.source_name(spec["source"]) is None:  # any case: CSV is csv
        raise ConfigError(f"unknown data source '{spec['source']}' in data"
                          f"{did_you_mean(spec['source'], sources)} (valid: "
                          f"{', '.join(sources)})", ("data", "source"))
    splits = spec["splits"]
    if splits["val"] + splits["test"] >= 1:
        raise ConfigError(f"data.splits: val ({splits['val']}) and test ({splits['test']}) "
                          "leave no training data; their sum must be below 1",
                          ("data", "splits"))
    normalize = spec["normalize"]
    if normalize["scale"] is not None and normalize["method"] != "scale":
        raise ConfigError(f"data.normalize: scale is only used by method 'scale', not "
                          f"'{normalize['method']}'", ("data", "normalize", "scale"))


def _check_device(device):
    try:
        backend.check_available(device)
    except backend.DeviceError as err:
        raise ConfigError(str(err), ("device",)) from None


def metric_names(config):
    """The names the logs use: 'loss', each metric as written in the config, and 'accuracy'
    where the loss is a crossentropy (it is then always reported)."""
    logged = ["loss"] + ["accuracy" if m["name"] in ACCURACY_NAMES else m["name"]
                         for m in config["metrics"]]
    if names.accuracy_class(config["loss"]["name"]) and "accuracy" not in logged:
        logged.append("accuracy")
    return logged


def _check_monitor(config):
    stopping = config["training"]["early_stopping"]
    if stopping is None:
        return
    monitor, path = stopping["monitor"], ("training", "early_stopping", "monitor")
    logged = metric_names(config)
    valid = logged + [f"val_{name}" for name in logged]
    if monitor not in valid:
        raise ConfigError(f"{format_path(path)}: '{monitor}' is not logged"
                          f"{did_you_mean(monitor, valid)} (logged: {', '.join(valid)})", path)
    if monitor.startswith("val_") and config["data"]["splits"]["val"] == 0:
        raise ConfigError(f"{format_path(path)}: '{monitor}' needs a validation split, but "
                          "data.splits.val is 0", path)
