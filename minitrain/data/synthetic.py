"""Synthetic sources: small 2-D classification problems and a linear regression.

Each is a pure function of its options: the same seed gives the same samples, bit for bit.
Samples come in random order, so a split without stratification still sees both classes.
"""
import numpy as np

from .dataset import ArrayDataset
from .registry import register_source


@register_source("spirals")
def spirals(n_samples=1000, noise=0.1, turns=1.5, seed=0):
    """Two interleaved spiral arms, classes 0 and 1, reaching radius 1."""
    rng, n_samples = _generator(n_samples, noise, seed)
    labels = rng.permutation(np.arange(n_samples) % 2)
    # the arm's length grows as the square of the angle: sqrt spreads points evenly along it
    t = np.sqrt(rng.uniform(size=n_samples))
    angle = 2 * np.pi * turns * t + np.pi * labels  # arm 1 is arm 0 turned by half a circle
    points = t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _classes(points + noise * rng.normal(size=points.shape), labels)


@register_source("moons")
def moons(n_samples=1000, noise=0.1, seed=0):
    """Two interleaving half circles, classes 0 (upper) and 1 (lower, shifted)."""
    rng, n_samples = _generator(n_samples, noise, seed)
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
    rng, n_samples = _generator(n_samples, noise, seed)
    if int(n_features) < 1:
        raise ValueError(f"n_features must be 1 or more, got {n_features}")
    x = rng.normal(size=(n_samples, int(n_features)))
    w, b = rng.normal(size=int(n_features)), rng.normal()
    y = x @ w + b + noise * rng.normal(size=n_samples)
    return ArrayDataset(x.astype(np.float32), y[:, None].astype(np.float32))


def _generator(n_samples, noise, seed):
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a whole number, 1 or more, got {n_samples}")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and cannot be negative, got {noise}")
    return np.random.default_rng(seed), int(n_samples)


def _classes(points, labels):
    return ArrayDataset(points.astype(np.float32), labels.astype(np.int64), num_classes=2)
