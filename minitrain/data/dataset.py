"""ArrayDataset: features and labels held as arrays, and its seeded splits."""
import numpy as np

from .pipeline import Dataset


class ArrayDataset(Dataset):
    """Samples as two arrays: sample ``i`` is ``(features[i], labels[i])``.

    Integer labels make a classification dataset (``num_classes`` is known: given, or the
    largest label + 1); float labels a regression one (``num_classes`` is None). Arrays keep
    their dtype here (the digits stay uint8); the DataLoader casts each batch.

    It is a tf.data-style Dataset whose elements are those ``(features[i], labels[i])`` pairs,
    in their own dtypes: ``load_source("digits").shuffle(2000).batch(64)`` is a pipeline.
    ``mt.data.Dataset(features, labels, num_classes)`` builds one (see pipeline.py).

    ``origin`` says where the arrays came from, for error messages: a string (the file), or a
    tuple of two strings naming the features' and the labels' array; subsets keep it.

    ``class_names`` (classification only) are the names the class ids stand for, in id order:
    a CSV's ``species`` column of words gives ``["setosa", "versicolor", ...]`` and labels
    0, 1, ...; predictions map back with ``class_names[id]``. None where labels are numbers.

    ``positions`` (``ordered`` data only, such as a text's windows) are the ``[start, stop)``
    of the source's positions that each sample reads, labels included, one row per sample in
    order: such samples overlap and come in an order that matters, so they are split by
    position (``split_contiguous``), never at random. None for independent samples.
    """

    def __init__(self, features, labels, num_classes=None, origin=None, class_names=None,
                 positions=None):
        features, labels = np.asarray(features), np.asarray(labels)
        if features.ndim == 0 or len(features) != len(labels):
            raise ValueError(
                f"features and labels must hold the same number of samples, got shapes "
                f"{features.shape} and {labels.shape}")
        self.features, self.labels, self.origin = features, labels, origin
        if class_names is not None:
            class_names = [str(name) for name in class_names]
            num_classes = len(class_names) if num_classes is None else num_classes
            if num_classes != len(class_names):
                raise ValueError(f"num_classes={num_classes} but {len(class_names)} class names")
        self.class_names = class_names
        self.positions = None if positions is None else _positions(positions, len(features))
        self.num_classes = _num_classes(labels, num_classes) if self.is_classification else None

    @property
    def is_classification(self):
        return self.labels.dtype.kind in "iub"

    @property
    def ordered(self):
        """Whether the samples are windows of one sequence, split by position only."""
        return self.positions is not None

    @property
    def feature_shape(self):
        """The shape of one sample's features, e.g. (64,) or (8, 8, 1)."""
        return self.features.shape[1:]

    def __len__(self):
        return len(self.features)

    def __getitem__(self, index):
        """``(features, labels)`` of one sample, a slice or an array of indices."""
        return self.features[index], self.labels[index]

    def _elements(self):
        return ((self.features[i, ...], self.labels[i, ...]) for i in range(len(self)))

    def _cardinality(self):
        return len(self)

    def subset(self, indices):
        """An ArrayDataset of the samples at ``indices``, keeping ``num_classes`` (and the
        class names and positions)."""
        positions = None if self.positions is None else self.positions[indices]
        return ArrayDataset(self.features[indices], self.labels[indices], self.num_classes,
                            self.origin, self.class_names, positions)

    def split(self, fractions, seed=0, stratify=False):
        """Disjoint random subsets with the given fractions (summing to 1), as a tuple.

        The same seed gives the same split. ``stratify=True`` keeps each class's share about
        the same in every part (classification only).
        """
        sizes = split_sizes(len(self), fractions)
        rng = np.random.default_rng(seed)
        if stratify:
            if not self.is_classification or self.labels.ndim != 1:
                raise ValueError("stratify=True needs one integer class label per sample; "
                                 "use stratify=False for regression targets")
            order = _stratified_order(self.labels, rng)
        else:
            order = rng.permutation(len(self))
        return tuple(self.subset(part) for part in np.split(order, np.cumsum(sizes)[:-1]))

    def split_contiguous(self, fractions):
        """Consecutive parts with the given fractions, in order (the first part first), for
        ``ordered`` data: each part but the last drops its samples that read positions of the
        next part (windows that straddle the cut), so no two parts share a position."""
        if not self.ordered:
            raise ValueError("split_contiguous needs ordered samples (positions); use split")
        bounds = np.cumsum(split_sizes(len(self), fractions))
        parts = [np.arange(start, stop) for start, stop in zip([0, *bounds[:-1]], bounds)]
        starts = [self.positions[part, 0].min() if len(part) else None for part in parts]
        for i, part in enumerate(parts[:-1]):
            later = [start for start in starts[i + 1:] if start is not None]
            if later:
                parts[i] = part[self.positions[part, 1] <= min(later)]
        return tuple(self.subset(part) for part in parts)

    def __repr__(self):
        kind = f"{self.num_classes} classes" if self.is_classification else "regression"
        return (f"<ArrayDataset: {len(self)} samples, features {self.feature_shape} "
                f"{self.features.dtype.name}, {kind}>")


def train_val_test_split(dataset, val=0.1, test=0.1, seed=0, stratify=False):
    """``(train, val, test)``: the dataset cut by a fixed seed; train gets what is left.
    ``ordered`` data (a text's windows) is cut by position instead: train, then val, then
    test, with no window in two parts (the seed and stratify do not apply)."""
    if dataset.ordered:
        return dataset.split_contiguous((1.0 - val - test, val, test))
    return dataset.split((1.0 - val - test, val, test), seed=seed, stratify=stratify)


def split_sizes(n, fractions):
    """Sizes summing to ``n``, in the ratio of ``fractions`` (largest remainders round up)."""
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or (fractions < 0).any() or abs(fractions.sum() - 1) > 1e-6:
        raise ValueError(f"split fractions must be non-negative and sum to 1, got "
                         f"{fractions.tolist()} (sum {fractions.sum():.6g})")
    exact = n * fractions
    sizes = np.floor(exact).astype(np.int64)
    # the few samples lost to flooring go to the parts that lost the most (ties: the first)
    remainder = n - sizes.sum()
    sizes[np.argsort(-(exact - sizes), kind="stable")[:remainder]] += 1
    return sizes


def check_values(dataset, origin):
    """Refuse features or labels no model can learn from: complex, non-numeric, nan or inf.

    Checked once, when a source is loaded, so a bad value is blamed on its file (``origin``,
    as ArrayDataset's) and not on the optimizer mid-training, nor missed in a validation split.
    """
    if not isinstance(origin, tuple):  # one file (a str or Path) for both arrays
        origin = (f"{origin}: the feature array", f"{origin}: the label array")
    _check_array(dataset.features, origin[0], "feature")
    _check_array(dataset.labels, origin[1], "column")


def _check_array(array, what, column):
    if array.dtype.kind == "c":
        raise ValueError(f"{what} holds complex numbers ({array.dtype}); a model takes real "
                         "ones: store the real part, or real and imaginary parts as two features")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{what} has dtype {array.dtype}, not numbers; store numeric arrays")
    if array.dtype.kind != "f":
        return
    bad = ~np.isfinite(array)
    if bad.any():
        sample, *rest = np.unravel_index(int(bad.argmax()), array.shape)  # the first bad value
        value = array[(sample, *rest)]
        where = f"sample {sample}" + (f", {column} {_position(rest)}" if rest else "")
        raise ValueError(f"{what} has {value} at {where}; clean the data or drop those samples")


def _position(index):
    return str(int(index[0])) if len(index) == 1 else str(tuple(int(i) for i in index))


def _stratified_order(labels, rng):
    """A permutation in which every class is spread evenly from start to end.

    Each sample gets its rank within its (shuffled) class as a fraction of the class size;
    sorting by that fraction interleaves the classes, so any contiguous chunk of the order
    holds each class in about its overall proportion, and the chunk sizes stay exact.
    """
    order = rng.permutation(len(labels))
    position = np.empty(len(labels))
    for c in np.unique(labels):
        members = order[labels[order] == c]
        position[members] = (np.arange(len(members)) + 0.5) / len(members)
    return order[np.argsort(position[order], kind="stable")]


def _positions(positions, n):
    positions = np.asarray(positions)
    if positions.shape != (n, 2) or positions.dtype.kind not in "iu":
        raise ValueError(f"positions must be integers of shape ({n}, 2), one [start, stop) "
                         f"per sample, got {positions.dtype} of shape {positions.shape}")
    return positions.astype(np.int64)


def _num_classes(labels, num_classes):
    if labels.size and labels.min() < 0:
        raise ValueError(f"class labels must be 0 or more, found {labels.min()}")
    seen = int(labels.max()) + 1 if labels.size else 0
    if num_classes is None:
        return seen
    if seen > num_classes:
        raise ValueError(f"num_classes={num_classes} but the labels go up to {seen - 1}")
    return int(num_classes)
