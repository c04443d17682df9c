"""A run directory as a usable model: ``mt.load_run("runs/mlp")``.

A run saves, beside its weights, the preprocessing fitted on its training split
(``preprocessing.npz``: the normaliser's statistics, the features' shape and dtype, the class
names). ``load_run`` builds the model from the run's config, loads the weights and returns a
``TrainedRun`` whose ``predict`` and ``evaluate`` take raw features, as the data source gave
them (the digits' uint8 pixels, a CSV's rows), and apply that same preprocessing first.

```python
run = mt.load_run("runs/mlp")
predictions = run.predict(raw_images)        # .classes, .probabilities, .names
run.evaluate(raw_images, labels)             # {"loss": ..., "accuracy": ...}
```
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data
from .config import load_config
from .config.build import accuracy_for, build_metrics, build_model, build_named
from .config.names import LOSSES
from .training import Trainer, checkpoint
from .training.rundir import RunDirectory

EVAL_BATCH = 256


class RunError(ValueError):
    """A run directory that cannot be loaded as a model; the message names the file."""


@dataclass
class Predictions:
    """A model's outputs on raw features; for a classifier also the class of each sample,
    the probabilities of every class, and the classes' names where the data had names."""

    outputs: np.ndarray
    classes: np.ndarray = None
    probabilities: np.ndarray = None
    class_names: list = None

    @property
    def names(self):
        """Each sample's class as its name (its id where the data had no names)."""
        if self.classes is None:
            return None
        if self.class_names is None:
            return self.classes
        return np.asarray(self.class_names, dtype=object)[self.classes]


class TrainedRun:
    """The model of a run directory with its weights and its preprocessing."""

    def __init__(self, path, config, model, preprocessing):
        self.path, self.config, self.model = Path(path), config, model
        self.preprocessing = preprocessing
        self.normalizer = data.Normalizer(preprocessing["normalizer"]["method"]).set_state(
            preprocessing["normalizer"])

    @property
    def class_names(self):
        return self.preprocessing["class_names"]

    @property
    def is_classifier(self):
        return accuracy_for(self.config["loss"]) is not None

    def preprocess(self, features):
        """Raw features (one row or image per sample) as the model's input, float32."""
        features = np.asarray(features)
        if features.dtype.kind not in "biuf":
            raise ValueError(f"features must be numbers, got {features.dtype} values")
        shape = tuple(self.preprocessing["feature_shape"])
        per_sample = int(np.prod(shape))
        if features.ndim == 0 or not len(features) or features.size != (
                len(features) * per_sample):
            raise ValueError(f"the run was trained on samples of shape {shape} "
                             f"({per_sample} values each); got features of shape "
                             f"{features.shape}")
        # a flattened run accepts images, an image run flat rows: the same values per sample
        return self.normalizer.transform(features.reshape((len(features), *shape)))

    def predict(self, features, batch_size=EVAL_BATCH):
        """Predictions on raw ``features``, in batches."""
        x = self.preprocess(features)
        outputs = np.concatenate([self.model(x[i:i + batch_size], training=False).numpy()
                                  for i in range(0, len(x), batch_size)])
        if not self.is_classifier:
            return Predictions(outputs)
        probabilities = self._probabilities(outputs)
        if probabilities.shape[-1] == 1:  # binary: one probability, of class 1
            classes = (probabilities[..., 0] > 0.5).astype(np.int64)
        else:
            classes = probabilities.argmax(axis=-1)
        return Predictions(outputs, classes, probabilities, self.class_names)

    def _probabilities(self, outputs):
        if not self.config["loss"].get("from_logits", False):
            return outputs  # the last layer's softmax or sigmoid gave them already
        if outputs.shape[-1] == 1:
            return 1 / (1 + np.exp(-outputs))
        shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)

    def evaluate(self, features, labels, batch_size=EVAL_BATCH):
        """{'loss': ..., <metric>: ...} of the run's loss and metrics on raw features and
        labels (class names are taken where the data had names)."""
        x, y = self.preprocess(features), self._label_ids(labels)
        loss = build_named(LOSSES, self.config["loss"], ("loss",))
        trainer = Trainer(self.model, None, loss, build_metrics(self.config))
        return trainer.evaluate(data.DataLoader(data.ArrayDataset(x, y), batch_size))

    def _label_ids(self, labels):
        labels = np.asarray(labels)
        if labels.dtype.kind not in "OUS":
            return labels
        names = self.class_names or []
        index = {name: i for i, name in enumerate(names)}
        unknown = sorted({str(v) for v in labels.ravel()} - set(index))
        if unknown:
            raise ValueError(f"labels {unknown[:5]} are not among the run's classes "
                             f"({', '.join(names) or 'it has no class names'})")
        return np.array([index[str(v)] for v in labels.ravel()], np.int64).reshape(labels.shape)

    def __repr__(self):
        kind = (f"classifier of {self.preprocessing['num_classes']} classes"
                if self.is_classifier else "regression")
        shape = tuple(self.preprocessing["feature_shape"])
        return f"<TrainedRun {self.path}: {kind}, samples of shape {shape}>"


def load_run(run_dir, device="cpu"):
    """The trained model of ``run_dir``: built from its config.yaml, with its weights.npz (or,
    for a run that has not finished, its checkpoint's weights) and its preprocessing.
    ``device`` stands in for the config's (a run trained on a GPU loads on a machine without).
    """
    run = RunDirectory(run_dir)
    if not run.path.is_dir():
        raise RunError(f"{run.path}: no such run directory")
    for needed in (run.config, run.preprocessing):
        if not needed.is_file():
            raise RunError(f"{needed} is missing: {run.path} is not a finished run of this "
                           "version of minitrain (train it with minitrain train --config ...)")
    config = load_config(run.config, device=device)
    preprocessing = checkpoint.load(run.preprocessing)
    model = build_model(config["model"])
    shape, dtype = tuple(preprocessing["feature_shape"]), np.float32
    model(np.zeros((1, *shape), dtype), training=False)  # builds it, as the run's probe did
    if run.weights.is_file():
        model.load_weights(run.weights)
    elif run.checkpoint.is_file():
        model.set_weights(list(checkpoint.load(run.checkpoint)["weights"]))
    else:
        raise RunError(f"{run.path} holds neither weights.npz nor checkpoint.npz: the run "
                       "never trained")
    return TrainedRun(run.path, config, model, preprocessing)
