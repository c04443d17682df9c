"""Validated config -> the objects of a run: data loaders, model, loss, optimizer, metrics.

Everything is built, and the model run once on a batch, before the first step: a layer that
does not fit the data or a loss that does not fit the model is a config error (exit 2), not
a crash in the middle of training.
"""
import contextlib
import re
import warnings

import numpy as np

from .. import activations, data, layers, metrics, models, random
from ..training import EarlyStopping, Experiment
from . import names
from .errors import ConfigError, ConfigWarning, format_path
from .validate import ACCURACY_NAMES, REPEAT

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
    check_micro_batches(config)
    random.set_seed(config["seed"])
    train, validation, test, preprocessing = build_data(config["data"], config["seed"])
    model = build_model(config["model"])
    loss = build_named(names.LOSSES, config["loss"], ("loss",))
    metric_objects = build_metrics(config)
    probe(model, loss, metric_objects, train, config["loss"], config["model"])
    optimizer = build_optimizer(config["optimizer"])
    training = config["training"]
    stopping = training["early_stopping"]
    return Experiment(
        model=model, optimizer=optimizer, loss=loss, metrics=metric_objects, train=train,
        validation=validation, test=test, epochs=training["epochs"],
        callbacks=[EarlyStopping(**stopping)] if stopping else [],
        checkpoint_every=training["checkpoint"]["every"],
        checkpoint_unit=training["checkpoint"]["unit"],
        micro_batches=training["micro_batches"], config=config, preprocessing=preprocessing)


def check_micro_batches(config):
    """A batch split into more parts than it has samples is a mistake, not a plan."""
    parts, size = config["training"]["micro_batches"], config["data"]["batch_size"]
    if parts > size:
        raise ConfigError(f"training.micro_batches is {parts}, more than data.batch_size "
                          f"({size}): each batch is split into micro_batches parts, so it can "
                          "be at most batch_size; lower it or raise batch_size",
                          ("training", "micro_batches"))


def build_data(spec, seed):
    """(train, validation, test) DataLoaders, validation and test None when empty, and the
    preprocessing that the training split fitted (what mt.load_run applies to new data)."""
    with building(("data", "options")):
        dataset = data.load_source(spec["source"], **spec["options"])
    splits = spec["splits"]
    # stratifying needs one class per sample; for regression targets it does not apply
    stratify = splits["stratify"] and dataset.is_classification and dataset.labels.ndim == 1
    # ordered data (a text's windows) is cut by position: train, then val, then test
    with building(("data", "splits")):
        parts = data.train_val_test_split(dataset, val=splits["val"], test=splits["test"],
                                          seed=seed, stratify=stratify)
    if dataset.ordered:  # token ids are names, not magnitudes: never rescaled
        normalizer = data.Normalizer("none")
        train, val, test = parts
    else:
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
    preprocessing = preprocessing_of(dataset, normalizer)
    if dataset.ordered and dataset.is_classification:
        preprocessing["unigram_loss"] = unigram_losses(train, val, test)
    return loader, *evaluation, preprocessing


def preprocessing_of(dataset, normalizer):
    """What turns raw features into the model's inputs, and its outputs into classes."""
    return {"normalizer": normalizer.get_state(), "feature_shape": list(dataset.feature_shape),
            "feature_dtype": dataset.features.dtype.name,
            "num_classes": dataset.num_classes,
            "class_names": getattr(dataset, "class_names", None)}


def unigram_losses(train, val, test):
    """{split: the loss of predicting each token by its training frequency} for a language
    model's splits: the baseline its val_loss is read against."""
    return {name: data.text.unigram_loss(train, part) for name, part in
            (("train", train), ("val", val), ("test", test)) if len(part)}


def build_model(spec):
    layers = build_layers(spec, ("model",))
    with building(("model",), "the layers do not fit together: "):  # an Input builds at once
        return models.Sequential(layers)


def build_layers(spec, path):
    """The layers of a (checked) list, as ``expanded`` lists them; a Residual gets its own
    layers built."""
    built = []
    for where, args in expanded(spec, path):
        if "layers" in args:
            args = {**args, "layers": build_layers(args["layers"], (*where, "layers"))}
        with building(where, args=args):
            built.append(names.LAYERS.lookup(where[-1], where)(**args))
    return built


def expanded(spec, path):
    """(config path, arguments) of each layer a list makes, in order: a Repeat stands for
    ``times`` copies of its block (each built afresh, with weights of its own)."""
    for i, item in enumerate(spec):
        (name, args), = item.items()
        where = (*path, i, name)
        if name.lower() != REPEAT:
            yield where, args
            continue
        for _ in range(args["times"]):
            yield from expanded(args["layers"], (*where, "layers"))


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


def probe(model, loss, metric_objects, train, loss_spec, model_spec=None):
    """Run the model, the loss and the metrics once on training samples (builds the model).

    The samples are those with the smallest and largest label, so a last layer with fewer
    outputs than the data has classes fails here rather than at some later step. The
    model's outputs are checked against the data's classes, and its last activation against
    the loss's from_logits (a ConfigWarning), before the loss runs.
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
    last = _last_layers(model, model_spec)
    _check_classes(last, dataset, loss_spec, tuple(y_pred.shape))
    _check_from_logits(last, loss_spec)
    with building(("loss",), f"the loss does not fit the model's output (shape "
                             f"{tuple(y_pred.shape)}, labels {tuple(y.shape)}): "):
        loss(y, y_pred)
    for name, metric in metric_objects.items():
        with building(("metrics",), f"'{name}' does not fit the model's output: "):
            metric.update_state(y, y_pred)
            metric.reset_state()


# layers that hand their input on unchanged when the model predicts
_PASSTHROUGH = (layers.Dropout, layers.GaussianNoise, layers.SpatialDropout2D, layers.Identity)
# layers whose outputs have their inputs' shape
_SAME_SHAPE = (*_PASSTHROUGH, layers.Activation, layers.Softmax, layers.ReLU, layers.LeakyReLU,
               layers.ELU, layers.PReLU)


def _last_layers(model, model_spec):
    """(config path, args, layer) of every layer, last first: the path as a message names
    it (``('model', 2, 'Dense')``), from the config's own keys where it is given."""
    specs = list(expanded(model_spec or [], ("model",)))
    found = []
    for i, layer in enumerate(model.layers):
        where, args = specs[i] if i < len(specs) else (("model", i, type(layer).__name__), {})
        found.append((where, args, layer))
    return found[::-1]


def _check_classes(last, dataset, loss_spec, shape):
    """A last layer with too few outputs for the classes (or more than one for a binary
    crossentropy) is a ConfigError naming the layer that sets the number of outputs."""
    accuracy = names.accuracy_class(loss_spec["name"])
    # a class per position: labels (n, T), outputs (batch, T, k), as a language model's
    per_position = len(shape) >= 3 and len(shape) == dataset.labels.ndim + 1
    if accuracy is None or not last or not (
            per_position or len(shape) == 2 and dataset.labels.ndim <= 2):
        return
    outputs, k = shape[-1], dataset.num_classes
    one_hot = not per_position and dataset.labels.ndim == 2 and dataset.labels.shape[1] > 1
    if accuracy is metrics.BinaryAccuracy and not one_hot and outputs > 1:
        fix = ("set units: 1" if k <= 2 else f"use loss sparse_categorical_crossentropy with "
               f"units: {k}")
        _wrong_outputs(last, f"{outputs} outputs, but {loss_spec['name']} takes one output "
                             f"(the probability of class 1) per 0/1 label: {fix}")
    if accuracy is metrics.SparseCategoricalAccuracy and not one_hot and outputs < k:
        binary = " (or loss binary_crossentropy, for one output per 0/1 label)" if (
            outputs == 1 and k == 2) else ""
        _wrong_outputs(last, f"{outputs} outputs, but the data has {k} classes (labels "
                             f"0..{k - 1}): set units: {k}{binary}")
    if accuracy is metrics.CategoricalAccuracy and one_hot and outputs != dataset.labels.shape[1]:
        k = dataset.labels.shape[1]
        _wrong_outputs(last, f"{outputs} outputs, but the labels are one-hot over {k} "
                             f"classes: set units: {k}")


def _wrong_outputs(last, message):
    """Raise ``message`` about the layer that sets the number of outputs: the last one, or
    the one before the layers that keep its shape (a Softmax, a Dropout)."""
    path, args, _ = next((item for item in last if not isinstance(item[2], _SAME_SHAPE)),
                         last[0])
    raise ConfigError(f"{format_path(path)}: {message}",
                      (*path, "units") if "units" in args else path)


def _check_from_logits(last, loss_spec):
    """Warn where the loss's from_logits contradicts the last activation: a softmax or
    sigmoid gives probabilities, any other built-in activation gives logits."""
    if names.accuracy_class(loss_spec["name"]) is None or not last:
        return
    path, activation = _output_activation(last)
    if activation is None:  # a function of the user's, or a layer that could be either
        return
    loss = f"loss '{loss_spec['name']}'"
    where = f"the last layer, {format_path(path)}"
    probabilities = activation in ("softmax", "sigmoid")
    if loss_spec.get("from_logits", False) and probabilities:
        warnings.warn(ConfigWarning(
            f"{loss} has from_logits: true, but {where}, ends in a {activation}, so the "
            f"model outputs probabilities, not logits: drop the {activation} (the loss "
            "applies it) or set loss.from_logits: false", ("loss", "from_logits")), stacklevel=3)
    elif not loss_spec.get("from_logits", False) and not probabilities:
        warnings.warn(ConfigWarning(
            f"{loss} expects probabilities (from_logits is false), but {where}, has no "
            f"softmax or sigmoid (its activation: {activation}), so the model outputs "
            "logits: set loss.from_logits: true", ("loss", "from_logits")), stacklevel=3)


def _output_activation(last):
    """(path, name) of the activation the model's outputs come from, passing over layers
    that change nothing at prediction; the name is None where it cannot be told."""
    for path, _, layer in last:
        if isinstance(layer, _PASSTHROUGH):
            continue
        if isinstance(layer, layers.Softmax):
            return path, "softmax"
        if hasattr(layer, "activation") and not isinstance(layer, layers.Lambda):
            return path, activations.name_of(layer.activation)
        return path, None
    return last[0][0], None
