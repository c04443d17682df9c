"""Dense, Activation, Flatten, Dropout and Embedding."""
import math

import numpy as np

from .. import activations, initializers, nn, ops, regularizers
from ..ops.nn import bias_add_activation
from .base import Layer, positive_int
from .input_spec import InputSpec
from .serializable import serialize, serialize_function


class Dense(Layer):
    """activation(inputs @ kernel + bias), over the last axis of the inputs."""

    supports_masking = True  # each time step on its own: a mask passes through

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = positive_int(units, "Dense: units")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.input_spec = InputSpec(min_ndim=2)  # Keras's, here and in build

    def build(self, input_shape):
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_shape[-1]})
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer,
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def call(self, inputs):
        y = ops.matmul(inputs, self.kernel)
        return bias_add_activation(y, self.bias, self.activation,
                                   activations.name_of(self.activation))

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": serialize_function(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize(self.kernel_initializer),
                "bias_initializer": serialize(self.bias_initializer),
                "kernel_regularizer": serialize(self.kernel_regularizer),
                "bias_regularizer": serialize(self.bias_regularizer)}


class Activation(Layer):
    """An activation by name ("relu", ...) or a function, as a layer."""

    supports_masking = True  # each time step on its own: a mask passes through

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": serialize_function(self.activation)}


class Flatten(Layer):
    """(batch, ...) -> (batch, product of the rest); channels last only."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten: only data_format 'channels_last' is supported, got "
                             f"{data_format!r}")
        self.data_format = "channels_last"
        self.input_spec = InputSpec(min_ndim=1)  # Keras's

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs and scales the rest by 1 / (1 - rate), in
    training only.

    With a ``seed``, the layer draws its masks from a generator of its own: a reproducible
    sequence of different masks. Without, they come from ``mt.random``'s global generator.
    """

    supports_masking = True  # each time step on its own: a mask passes through

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self._seeds = None if seed is None else np.random.default_rng(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        seed = None if self._seeds is None else int(self._seeds.integers(2**31))
        return nn.dropout(inputs, self.rate, self.noise_shape, seed)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


class Embedding(Layer):
    """Row ``i`` of the ``(input_dim, output_dim)`` embeddings matrix for each index ``i``."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # indices stay integers, as in Keras
        self.mask_zero = bool(mask_zero)  # index 0 is padding: the layers after skip it
        self.input_dim = positive_int(input_dim, "Embedding: input_dim")
        self.output_dim = positive_int(output_dim, "Embedding: output_dim")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer)

    def call(self, inputs):
        indices = inputs if inputs.dtype.kind in "iu" else ops.cast(inputs, "int64")
        if math.prod(indices.shape):
            low, high = int(ops.reduce_min(indices)), int(ops.reduce_max(indices))
            if low < 0 or high >= self.input_dim:
                raise ValueError(f"Embedding '{self.name}': indices must be in [0, "
                                 f"{self.input_dim}), got values {low}..{high}")
        return ops.gather(self.embeddings, indices)

    def compute_mask(self, inputs, previous_mask=None):
        return ops.not_equal(inputs, 0) if self.mask_zero else None

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim, "mask_zero": self.mask_zero,
                "embeddings_initializer": serialize(self.embeddings_initializer),
                "embeddings_regularizer": serialize(self.embeddings_regularizer)}
