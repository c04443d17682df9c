"""Synthetic sources: small 2-D classification problems and a linear regression.

Each is a pure function of its options: the same seed gives the same samples, bit for bit.
Samples come in random order, so a split without stratification still sees both classes.
"""
import math
from numbers import Integral, Real

import numpy as np

from .dataset import ArrayDataset
from .registry import register_source

# far beyond a toy problem, and small enough to fit in memory (float64 while generating)
MAX_SAMPLES, MAX_FEATURES, MAX_VALUES = 10**7, 10**4, 10**8


@register_source("spirals")
def spirals(n_samples=1000, noise=0.1, turns=1.5, seed=0):
    """Two interleaved spiral arms, classes 0 and 1, reaching radius 1."""
    rng, n_samples = _generator("spirals", n_samples, noise, seed)
    turns = _real("spirals", "turns", turns, 0, 1000)
    labels = rng.permutation(np.arange(n_samples) % 2)
    # the arm's length grows as the square of the angle: sqrt spreads points evenly along it
    t = np.sqrt(rng.uniform(size=n_samples))
    angle = 2 * np.pi * turns * t + np.pi * labels  # arm 1 is arm 0 turned by half a circle
    points = t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _classes(points + noise * rng.normal(size=points.shape), labels)


@register_source("moons")
def moons(n_samples=1000, noise=0.1, seed=0):
    """Two interleaving half circles, classes 0 (upper) and 1 (lower, shifted)."""
    rng, n_samples = _generator("moons", n_samples, noise, seed)
    labels = rng.permutation(np.arange(n_samples) % 2)
    angle = rng.uniform(0, np.pi, size=n_samples)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    points = np.where(labels[:, None] == 0, upper, lower)
    return _classes(points + noise * rng.normal(size=points.shape), labels)


@register_source("regression")
def regression(n_samples=1000, n_features=1, noise=0.1, seed=0):
    """``y = x @ w + b + noise * N(0, 1)`` with x, w, b drawn from N(0, 1).

    Targets have shape (n_samples, 1), the shape of a ``Dense(1)`` output, so a loss never
    broadcasts (n,) against (n, 1) into an (n, n) matrix.
    """
    rng, n_samples = _generator("regression", n_samples, noise, seed)
    n_features = _whole("regression", "n_features", n_features, 1, MAX_FEATURES)
    if n_samples * n_features > MAX_VALUES:
        raise ValueError(f"data source 'regression': n_samples * n_features = "
                         f"{n_samples * n_features} values, more than the {MAX_VALUES} allowed; "
                         "lower n_samples or n_features")
    x = rng.normal(size=(n_samples, n_features))
    w, b = rng.normal(size=n_features), rng.normal()
    y = x @ w + b + noise * rng.normal(size=n_samples)
    return ArrayDataset(x.astype(np.float32), y[:, None].astype(np.float32))


def _generator(source, n_samples, noise, seed):
    """(generator, n_samples) after checking the options every source shares."""
    n_samples = _whole(source, "n_samples", n_samples, 1, MAX_SAMPLES)
    _real(source, "noise", noise, 0, math.inf)  # a standard deviation
    return np.random.default_rng(_whole(source, "seed", seed, 0, 2**63 - 1)), n_samples


def _whole(source, option, value, low, high):
    # bool is an Integral, and True samples is a typo, not a size
    whole = isinstance(value, Integral) or (isinstance(value, Real) and float(value).is_integer())
    if isinstance(value, bool) or not whole or not low <= value <= high:
        raise ValueError(f"data source '{source}': {option} must be a whole number from {low} "
                         f"to {high}, got {value!r}")
    return int(value)


def _real(source, option, value, low, high):
    if isinstance(value, bool) or not isinstance(value, Real) or not low <= value < high:
        bound = f"at least {low}" + (f" and below {high}" if high < math.inf else "")
        raise ValueError(f"data source '{source}': {option} must be a finite number {bound}, "
                         f"got {value!r}")
    return float(value)


def _classes(points, labels):
    return ArrayDataset(points.astype(np.float32), labels.astype(np.int64), num_classes=2)
