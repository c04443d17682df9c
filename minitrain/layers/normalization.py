"""BatchNormalization and LayerNormalization (Keras's defaults and numerics)."""
from .. import initializers, nn, ops
from ..ops.batch_norm import batch_norm_training
from ..ops.core import normalize_axes
from .base import Layer
from .input_spec import InputSpec
from .serializable import serialize


def _parameter_shape(input_shape, axes):
    """The shape of gamma/beta: the normalized-over axes' sizes, others broadcast."""
    return tuple(n if i in axes else 1 for i, n in enumerate(input_shape))


class _Normalization(Layer):
    """gamma * (x - mean) / sqrt(variance + epsilon) + beta, gamma and beta along ``axis``."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon, self.center, self.scale = axis, epsilon, center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def build(self, input_shape):
        self.axes = normalize_axes(self.axis, len(input_shape), type(self).__name__)
        shape = tuple(input_shape[a] for a in self.axes)
        self.gamma = self.add_weight("gamma", shape, self.gamma_initializer) \
            if self.scale else None
        self.beta = self.add_weight("beta", shape, self.beta_initializer) \
            if self.center else None
        # the sizes along the normalized axes, named as the user gave the axes (-1, as Keras)
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        self.input_spec = InputSpec(axes={int(a): input_shape[a] for a in axes})

    def _parameters(self, shape):
        """(gamma, beta) reshaped to broadcast against the input, None where left out."""
        return tuple(None if p is None else ops.reshape(p, shape) for p in (self.gamma, self.beta))

    def _normalize(self, x, mean, variance):
        gamma, beta = self._parameters(_parameter_shape(x.shape, self.axes))
        return nn.batch_normalization(x, mean, variance, beta, gamma, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": serialize(self.beta_initializer),
                "gamma_initializer": serialize(self.gamma_initializer)}


class BatchNormalization(_Normalization):
    """Normalizes with the batch's statistics in training, with moving averages otherwise.

    In training, moving = momentum * moving + (1 - momentum) * batch statistic (the biased
    variance, as Keras 3). A frozen layer (trainable=False) always uses the moving statistics.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(axis, epsilon, center, scale, **kwargs)
        self.momentum = momentum
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        super().build(input_shape)
        # Keras's: the rank too (the statistics are kept for these axes)
        self.input_spec = InputSpec(ndim=len(input_shape), axes=self.input_spec.axes)
        shape = tuple(input_shape[a] for a in self.axes)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, trainable=False)

    def call(self, inputs, training=False):
        reduced = [i for i in range(inputs.ndim) if i not in self.axes]
        shape = _parameter_shape(inputs.shape, self.axes)
        if not (training and self.trainable):
            mean = ops.reshape(self.moving_mean, shape)
            variance = ops.reshape(self.moving_variance, shape)
            return self._normalize(inputs, mean, variance)
        y, mean, variance = batch_norm_training(inputs, *self._parameters(shape), reduced,
                                                self.epsilon)
        self._update(self.moving_mean, ops.reshape(mean, self.moving_mean.shape))
        self._update(self.moving_variance, ops.reshape(variance, self.moving_variance.shape))
        return y

    def _update(self, moving, value):
        # the statistics are state, not part of the differentiated computation
        value = ops.stop_gradient(value)
        moving.assign(moving * self.momentum + value * (1 - self.momentum))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum,
                "moving_mean_initializer": serialize(self.moving_mean_initializer),
                "moving_variance_initializer": serialize(self.moving_variance_initializer)}


class LayerNormalization(_Normalization):
    """Normalizes each example over ``axis`` (the last by default) with its own statistics."""

    supports_masking = True  # each time step on its own: a mask passes through

    def call(self, inputs):
        mean, variance = nn.moments(inputs, self.axes, keepdims=True)
        return self._normalize(inputs, mean, variance)
