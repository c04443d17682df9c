"""Feature normalisation whose statistics come from the training split only."""
import difflib

import numpy as np

from .dataset import ArrayDataset

METHODS = ("standard", "scale", "none")


class Normalizer:
    """Rescales features with statistics fitted on the training split.

    - ``"standard"``: ``(x - mean) / std`` per feature (per pixel for images);
    - ``"scale"``: ``x / scale``, with ``scale`` given (16 for the digits, 255 for MNIST) or,
      if None, the largest absolute value seen by ``fit``;
    - ``"none"``: values unchanged (only cast to float32).

    Fit on the training split, then apply the same normaliser to every split: statistics taken
    from validation or test data would leak them into training.
    """

    def __init__(self, method="standard", scale=None):
        if method not in METHODS:
            near = difflib.get_close_matches(str(method), METHODS, n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise ValueError(f"unknown normalisation '{method}'{hint} "
                             f"(choose one of {', '.join(METHODS)})")
        if scale is not None and not float(scale) > 0:
            raise ValueError(f"scale must be a positive number, got {scale}")
        self.method = method
        self.scale = None if scale is None else float(scale)
        self.mean = self.std = None

    @property
    def fitted(self):
        if self.method == "standard":
            return self.mean is not None
        return self.method == "none" or self.scale is not None

    def fit(self, data):
        """Take the statistics from ``data`` (an ArrayDataset or its features); returns self."""
        features = data.features if isinstance(data, ArrayDataset) else data
        x = np.asarray(features, dtype=np.float64)
        if not len(x):
            raise ValueError("cannot fit a Normalizer on an empty training split")
        if self.method == "standard":
            std = x.std(axis=0)
            # a constant feature (the digits' blank border pixels) is centred, not divided by 0
            self.mean, self.std = x.mean(axis=0), np.where(std > 0, std, 1.0)
        elif self.method == "scale" and self.scale is None:
            self.scale = float(np.abs(x).max()) or 1.0
        return self

    def transform(self, features):
        """The normalised features, float32."""
        if not self.fitted:
            raise RuntimeError(f"this '{self.method}' Normalizer has no statistics yet; "
                               "call fit(train_split) first")
        x = np.asarray(features, dtype=np.float64)
        if self.method == "standard":
            x = (x - self.mean) / self.std
        elif self.method == "scale":
            x = x / self.scale
        return x.astype(np.float32)

    def __call__(self, dataset):
        """An ArrayDataset with the same labels (and class names) and normalised features."""
        return ArrayDataset(self.transform(dataset.features), dataset.labels,
                            dataset.num_classes, dataset.origin,
                            class_names=dataset.class_names)

    def get_state(self):
        """The fitted statistics as plain values and arrays (a checkpoint can store them)."""
        return {"method": self.method, "scale": self.scale, "mean": self.mean, "std": self.std}

    def set_state(self, state):
        if state["method"] != self.method:
            raise ValueError(f"the saved normaliser is '{state['method']}', this one is "
                             f"'{self.method}'")
        self.scale = None if state["scale"] is None else float(state["scale"])
        self.mean, self.std = state["mean"], state["std"]
        return self
