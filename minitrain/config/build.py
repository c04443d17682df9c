"""Validated config -> the objects of a run: data loaders, model, loss, optimizer, metrics.

Everything is built, and the model run once on a batch, before the first step: a layer that
does not fit the data or a loss that does not fit the model is a config error (exit 2), not
a crash in the middle of training.
"""
import contextlib
import re

import numpy as np

from .. import data, metrics, models, random
from ..training import EarlyStopping, Experiment
from . import names
from .errors import ConfigError, format_path
from .validate import ACCURACY_NAMES

EVAL_BATCH = 256  # evaluation keeps no tape, so bigger batches cost nothing but speed up


@contextlib.contextmanager
def building(path, what="", args=()):
    """Report a failure to build the part at ``path`` as a ConfigError naming it, and
    located at the argument (one of ``args``) that the message names, if any."""
    try:
        yield
    except ConfigError:
        raise
    # what a layer, loss or source raises when the config's values do not fit it; an
    # AttributeError or NotImplementedError from arguments that the kit cannot take, too
    except (ValueError, TypeError, KeyError, FileNotFoundError, IndexError, AttributeError,
            NotImplementedError, ArithmeticError) as err:
        message = str(err).strip("'\"") if isinstance(err, KeyError) else str(err)
        key = _named_argument(message, args)
        raise ConfigError(f"{format_path(path)}: {what}{message}",
                          path if key is None else (*path, key)) from None
    except MemoryError as err:  # sizes within their bounds can still multiply past memory
        raise ConfigError(f"{format_path(path)}: {what}too large for this machine's memory "
                          f"({err}); make it smaller", path) from None


def _named_argument(message, args):
    """The first of ``args`` that ``message`` names as a word: the line to point at."""
    return next((key for key in args if re.search(rf"\b{re.escape(key)}\b", message)), None)


def build(config):
    """The Experiment described by ``config`` (as returned by ``load_config``)."""
    try:
        return _build(config)
    except ConfigError as err:
        # told from the file line or --set option that gave the key, as load_config does
        raise (config.locate(err) if hasattr(config, "locate") else err) from None


def _build(config):
    random.set_seed(config["seed"])
    train, validation, test = build_data(config["data"], config["seed"])
    model = build_model(config["model"])
    loss = build_named(names.LOSSES, config["loss"], ("loss",))
    metric_objects = build_metrics(config)
    probe(model, loss, metric_objects, train, config["loss"])
    optimizer = build_optimizer(config["optimizer"])
    training = config["training"]
    stopping = training["early_stopping"]
    return Experiment(
        model=model, optimizer=optimizer, loss=loss, metrics=metric_objects, train=train,
        validation=validation, test=test, epochs=training["epochs"],
        callbacks=[EarlyStopping(**stopping)] if stopping else [],
        checkpoint_every=training["checkpoint"]["every"],
        checkpoint_unit=training["checkpoint"]["unit"], config=config)


def build_data(spec, seed):
    """(train, validation, test) DataLoaders; validation and test are None when empty."""
    with building(("data", "options")):
        dataset = data.load_source(spec["source"], **spec["options"])
    splits = spec["splits"]
    # stratifying needs one class per sample; for regression targets it does not apply
    stratify = splits["stratify"] and dataset.is_classification and dataset.labels.ndim == 1
    with building(("data", "splits")):
        parts = data.train_val_test_split(dataset, val=splits["val"], test=splits["test"],
                                          seed=seed, stratify=stratify)
    normalize = spec["normalize"]
    with building(("data", "normalize")):
        normalizer = data.Normalizer(normalize["method"], normalize["scale"]).fit(parts[0])
    train, val, test = (normalizer(part) for part in parts)
    # every loader gets the config's seed: the shuffles never depend on the global generator
    loader = data.DataLoader(train, spec["batch_size"], shuffle=spec["shuffle"],
                             drop_last=spec["drop_last"], seed=seed)
    if len(loader) == 0:
        raise ConfigError(f"data: {len(train)} training samples make no batch of "
                          f"{spec['batch_size']} with drop_last", ("data", "batch_size"))
    evaluation = [data.DataLoader(part, max(EVAL_BATCH, spec["batch_size"]), seed=seed)
                  if len(part) else None for part in (val, test)]
    return loader, *evaluation


def build_model(spec):
    layers = []
    for i, item in enumerate(spec):
        (name, args), = item.items()
        with building(("model", i, name), args=args):
            layers.append(names.LAYERS.lookup(name, ("model", i, name))(**args))
    with building(("model",), "the layers do not fit together: "):  # an Input builds at once
        return models.Sequential(layers)


def build_named(registry, spec, path):
    cls = registry.lookup(spec["name"], (*path, "name"))
    args = {k: v for k, v in spec.items() if k != "name"}
    with building(path, args=args):
        return cls(**args)


def build_optimizer(spec):
    args = {k: v for k, v in spec.items() if k not in ("name", "schedule")}
    if spec.get("schedule") is not None:
        args["learning_rate"] = build_named(names.SCHEDULES, spec["schedule"],
                                            ("optimizer", "schedule"))
    return build_named(names.OPTIMIZERS, {"name": spec["name"], **args}, ("optimizer",))


def build_metrics(config):
    """{name: metric}; 'accuracy' follows the loss, and a crossentropy always reports it."""
    built = {}
    for i, spec in enumerate(config["metrics"]):
        if spec["name"] in ACCURACY_NAMES:
            built["accuracy"] = accuracy_for(config["loss"])  # validated: not None
        else:
            built[spec["name"]] = build_named(names.METRICS, spec, ("metrics", i))
    if "accuracy" not in built and accuracy_for(config["loss"]) is not None:
        built["accuracy"] = accuracy_for(config["loss"])
    return built


def accuracy_for(loss_spec):
    """The accuracy that matches the loss (None for a regression loss)."""
    cls = names.accuracy_class(loss_spec["name"])
    if cls is metrics.BinaryAccuracy:
        # logits are thresholded at 0, where the sigmoid crosses 0.5
        logits = bool(loss_spec.get("from_logits", False))
        return cls(name="accuracy", threshold=0.0 if logits else 0.5)
    return None if cls is None else cls(name="accuracy")


def probe(model, loss, metric_objects, train, loss_spec):
    """Run the model, the loss and the metrics once on training samples (builds the model).

    The samples are those with the smallest and largest label, so a last layer with fewer
    outputs than the data has classes fails here rather than at some later step.
    """
    dataset = train.dataset
    if names.accuracy_class(loss_spec["name"]) and not dataset.is_classification:
        raise ConfigError(f"loss: '{loss_spec['name']}' needs class labels, but the data has "
                          f"regression targets ({dataset.labels.dtype.name}); use a regression "
                          "loss such as mean_squared_error", ("loss",))
    flat = dataset.labels.reshape(len(dataset), -1)
    picked = dataset.subset(np.unique([flat.min(axis=1).argmin(), flat.max(axis=1).argmax()]))
    x, y = next(iter(data.DataLoader(picked, batch_size=2, seed=0)))
    with building(("model",), f"the layers do not fit the data (a batch of shape "
                              f"{tuple(x.shape)}): "):
        y_pred = model(x, training=False)
    with building(("loss",), f"the loss does not fit the model's output (shape "
                             f"{tuple(y_pred.shape)}, labels {tuple(y.shape)}): "):
        loss(y, y_pred)
    for name, metric in metric_objects.items():
        with building(("metrics",), f"'{name}' does not fit the model's output: "):
            metric.update_state(y, y_pred)
            metric.reset_state()
