"""GaussianNoise and SpatialDropout2D: noise in training only, the identity otherwise.

With a ``seed``, a layer draws from a generator of its own (a reproducible sequence of
different draws, one per call), as Dropout does; without, from ``mt.random``'s generator.
"""
import numpy as np

from .. import nn, random
from .base import Layer
from .core import Dropout
from .reshaping import data_format_of


def _next_seed(seeds):
    return None if seeds is None else int(seeds.integers(2**31))


class GaussianNoise(Layer):
    """inputs + normal(0, stddev) noise, in training only."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= stddev <= 1:
            raise ValueError(f"GaussianNoise: stddev must be a number in [0, 1], got "
                             f"{stddev!r}")
        self.stddev, self.seed = stddev, seed
        self._seeds = None if seed is None else np.random.default_rng(seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = random.normal(inputs.shape, stddev=self.stddev, dtype=inputs.dtype,
                              seed=_next_seed(self._seeds))
        return inputs + noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class SpatialDropout2D(Dropout):
    """Dropout of whole feature maps: one draw per example and channel, in training only."""

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = data_format_of(data_format, "SpatialDropout2D")

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, inputs, training=False):
        if inputs.ndim != 4:
            raise ValueError(f"SpatialDropout2D expects 4-D inputs, got shape {inputs.shape}")
        if not training or self.rate == 0:
            return inputs
        n, channels = inputs.shape[0], inputs.shape[3 if self.data_format ==
                                                    "channels_last" else 1]
        shape = (n, 1, 1, channels) if self.data_format == "channels_last" else \
            (n, channels, 1, 1)
        return nn.dropout(inputs, self.rate, shape, _next_seed(self._seeds))

    def get_config(self):
        # Keras's keys exactly: no "trainable"
        return {"rate": self.rate, "seed": self.seed, "name": self.name,
                "dtype": self.dtype.name, "data_format": self.data_format}
