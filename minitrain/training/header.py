"""What a run says before its first epoch: where it writes, the data, the model, how it trains
and on what. ``describe`` gives the lines; the run logs each (console and train.log).

    run directory runs/mlp-20250101-120000
    data digits: input (64,) float32, 10 classes
      train  1,258 samples, 40 batches of 32, shuffled
      ...
"""
from ..backend import current_device
from .callbacks import EarlyStopping


def describe(experiment, run_dir, threads=None, resumed_from=None):
    """The header of a run, as lines. ``run_dir``: a RunDirectory or a path; ``threads``: the
    BLAS threads (None: not said); ``resumed_from``: what a resumed run continues from (e.g.
    its checkpoint and step), None for a fresh run."""
    lines = [f"run directory {getattr(run_dir, 'path', run_dir)}"]
    if resumed_from is not None:
        lines.append(f"resumed from {resumed_from}")
    splits = {"train": experiment.train, "val": experiment.validation, "test": experiment.test}
    lines += data_lines(experiment.config.get("data", {}).get("source"), splits)
    lines += model_lines(experiment.model)
    lines += [training_line(experiment), optimizer_line(experiment)]
    lines.append(f"device {current_device()}" + (
        "" if threads is None else f", {threads} BLAS thread{'s' * (threads != 1)}"))
    return lines


def data_lines(source, splits):
    """'data <source>: input (64,) float32, 10 classes', then a line per split."""
    lines = []
    first = next((loader for loader in splits.values() if loader is not None), None)
    dataset = getattr(first, "dataset", None)
    if dataset is not None:
        features, labels = dataset.features, dataset.labels
        target = (f"{dataset.num_classes} classes" if dataset.is_classification else
                  f"targets {labels.shape[1:]} {labels.dtype}")
        lines.append(f"data {source or type(dataset).__name__}: input {features.shape[1:]} "
                     f"{features.dtype}, {target}")
    else:
        lines.append(f"data {source or type(first).__name__}")
    for name, loader in splits.items():
        lines.append(f"  {name:<5}  {split_text(loader)}")
    return lines


def split_text(loader):
    """'1,258 samples, 40 batches of 32, shuffled', or 'none'."""
    if loader is None:
        return "none"
    try:
        batches = len(loader)
    except TypeError:  # a pipeline that does not know its length
        return "batches of unknown number"
    text = f"{batches:,} batch{'es' * (batches != 1)}"
    if hasattr(loader, "dataset"):
        text = f"{len(loader.dataset):>6,} samples, {text} of {loader.batch_size}"
        text += ", shuffled" if loader.shuffle else ""
        text += ", last partial batch dropped" if loader.drop_last and (
            len(loader.dataset) % loader.batch_size) else ""
    return text


def model_lines(model, line_length=60):
    """The model's own ``summary()`` without its rules, its totals on its first line."""
    text = []
    model.summary(line_length=line_length, print_fn=text.append)
    rows, totals = [], {}
    for line in "\n".join(text).splitlines()[1:]:  # after 'Model: "name"'
        key, found, value = line.partition(" params: ")
        if found:
            totals[key] = value
        elif line.strip("_="):
            rows.append("  " + line)
    frozen = totals.get("Non-trainable", "0")
    trainable = "all trainable" if frozen == "0" else (
        f"{totals.get('Trainable')} trainable, {frozen} not")
    return [f"model {model.name}: {totals.get('Total')} parameters ({trainable})", *rows]


def training_line(experiment):
    """'training 60 epochs x 40 steps (2,400); early stopping on val_loss, ...'"""
    try:
        epochs, steps = experiment.epochs, len(experiment.train)
        text = f"training {epochs} epochs x {steps} steps ({epochs * steps:,})"
    except TypeError:  # a pipeline that does not know its length
        text = f"training {experiment.epochs} epochs"
    for callback in experiment.callbacks:
        if isinstance(callback, EarlyStopping):
            restore = "restores the best" if callback.restore_best else "keeps the last"
            text += (f"; early stopping on {callback.monitor}, patience {callback.patience}, "
                     f"{restore}")
    return text


def optimizer_line(experiment):
    """'optimizer adam, learning rate 0.001; loss ...; metrics accuracy'"""
    config = experiment.config.get("optimizer", {})
    text = f"optimizer {config.get('name', type(experiment.optimizer).__name__)}"
    rate = getattr(experiment.optimizer, "learning_rate", None)
    if rate is not None:
        schedule = (config.get("schedule") or {}).get("name")
        text += f", learning rate {float(rate):.3g}" + (f" ({schedule})" if schedule else "")
    loss = experiment.config.get("loss", {}).get("name", type(experiment.loss).__name__)
    text += f"; loss {loss}"
    return text + (f"; metrics {', '.join(experiment.metrics)}" if experiment.metrics else "")
