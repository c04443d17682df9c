"""Validated config -> the objects of a run: data loaders, model, loss, optimizer, metrics.

Everything is built, and the model run once on a batch, before the first step: a layer that
does not fit the data or a loss that does not fit the model is a config error (exit 2), not
a crash in the middle of training.
"""
import contextlib

from .. import data, losses, metrics, models, random
from ..training import EarlyStopping, Experiment
from . import names
from .errors import ConfigError, format_path
from .validate import ACCURACY_NAMES

EVAL_BATCH = 256  # evaluation keeps no tape, so bigger batches cost nothing but speed up


@contextlib.contextmanager
def building(path, what=""):
    """Report a failure to build the part at ``path`` as a ConfigError naming it."""
    try:
        yield
    except ConfigError:
        raise
    except (ValueError, TypeError, KeyError, FileNotFoundError, IndexError) as err:
        message = str(err).strip("'\"") if isinstance(err, KeyError) else str(err)
        raise ConfigError(f"{format_path(path)}: {what}{message}", path) from None


def build(config):
    """The Experiment described by ``config`` (as returned by ``load_config``)."""
    random.set_seed(config["seed"])
    train, validation, test = build_data(config["data"], config["seed"])
    model = build_model(config["model"])
    loss = build_named(names.LOSSES, config["loss"], ("loss",))
    metric_objects = build_metrics(config, train.dataset.is_classification)
    probe(model, loss, metric_objects, train)
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
    with building(("data",), f"source '{spec['source']}': "):
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
        with building(("model", i, name), f"{name}: "):
            layers.append(names.LAYERS.lookup(name, ("model", i, name))(**args))
    return models.Sequential(layers)


def build_named(registry, spec, path):
    cls = registry.lookup(spec["name"], (*path, "name"))
    with building(path):
        return cls(**{k: v for k, v in spec.items() if k != "name"})


def build_optimizer(spec):
    args = {k: v for k, v in spec.items() if k not in ("name", "schedule")}
    if spec.get("schedule") is not None:
        args["learning_rate"] = build_named(names.SCHEDULES, spec["schedule"],
                                            ("optimizer", "schedule"))
    return build_named(names.OPTIMIZERS, {"name": spec["name"], **args}, ("optimizer",))


def build_metrics(config, classification):
    """{name: metric}; 'accuracy' follows the loss, and classification always reports it."""
    built = {}
    for i, spec in enumerate(config["metrics"]):
        if spec["name"] in ACCURACY_NAMES:
            built["accuracy"] = accuracy_for(config["loss"])
            if built["accuracy"] is None:
                raise ConfigError(f"metrics[{i}]: accuracy needs a classification loss (a "
                                  f"crossentropy), not '{config['loss']['name']}'", ("metrics", i))
        else:
            built[spec["name"]] = build_named(names.METRICS, spec, ("metrics", i))
    accuracy = accuracy_for(config["loss"])
    if classification and "accuracy" not in built and accuracy is not None:
        built["accuracy"] = accuracy
    return built


def accuracy_for(loss_spec):
    """The accuracy that matches the loss, as Keras's compile() picks it (None if none)."""
    loss = names.LOSSES.lookup(loss_spec["name"], ("loss", "name"))
    if issubclass(loss, losses.SparseCategoricalCrossentropy):
        return metrics.SparseCategoricalAccuracy(name="accuracy")
    if issubclass(loss, losses.CategoricalCrossentropy):
        return metrics.CategoricalAccuracy(name="accuracy")
    if issubclass(loss, losses.BinaryCrossentropy):
        # logits are thresholded at 0, where the sigmoid crosses 0.5
        logits = bool(loss_spec.get("from_logits", False))
        return metrics.BinaryAccuracy(name="accuracy", threshold=0.0 if logits else 0.5)
    return None


def probe(model, loss, metric_objects, train):
    """Run the model, the loss and the metrics once on a training batch (builds the model)."""
    x, y = next(iter(data.DataLoader(train.dataset, batch_size=2, seed=0)))
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
