"""Conv2D and the 2-D pooling layers (channels last: NHWC inputs)."""
from .. import activations, initializers, nn, ops, regularizers
from ..ops.conv import conv2d_bias_activation, padding_mode, spatial_pair
from .base import Layer, positive_int
from .input_spec import InputSpec
from .serializable import serialize, serialize_function


def _padding(padding, name):
    return padding_mode(padding, name).lower()


class Conv2D(Layer):
    """activation(conv2d(inputs, kernel) + bias), kernel of shape (kh, kw, c_in, filters)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive_int(filters, "Conv2D: filters")
        self.kernel_size = spatial_pair(kernel_size, "Conv2D: kernel_size")
        self.strides = spatial_pair(strides, "Conv2D: strides")
        self.padding = _padding(padding, "Conv2D")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.input_spec = InputSpec(min_ndim=4)  # Keras's; build adds the channels

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"Conv2D '{self.name}' expects NHWC inputs (rank 4), got shape "
                             f"{input_shape}")
        self.input_spec = InputSpec(min_ndim=4, axes={-1: input_shape[-1]})
        shape = self.kernel_size + (input_shape[-1], self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def call(self, inputs):
        return conv2d_bias_activation(inputs, self.kernel, self.bias, self.strides,
                                      self.padding, self.activation,
                                      activations.name_of(self.activation))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "activation": serialize_function(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize(self.kernel_initializer),
                "bias_initializer": serialize(self.bias_initializer),
                "kernel_regularizer": serialize(self.kernel_regularizer),
                "bias_regularizer": serialize(self.bias_regularizer),
                "activity_regularizer": serialize(self.activity_regularizer)}


class _Pooling2D(Layer):
    """A window function over (pool_size) windows; strides default to the pool size."""

    pool = None  # the mt.nn function a subclass pools with

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.pool_size = spatial_pair(pool_size, f"{name}: pool_size")
        self.strides = spatial_pair(self.pool_size if strides is None else strides,
                                    f"{name}: strides")
        self.padding = _padding(padding, name)
        self.input_spec = InputSpec(ndim=4)  # Keras's

    def call(self, inputs):
        return self.pool(inputs, self.pool_size, self.strides, self.padding)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides}


class MaxPooling2D(_Pooling2D):
    """The maximum of each window."""

    pool = staticmethod(nn.max_pool2d)


class AveragePooling2D(_Pooling2D):
    """The mean of each window (over real pixels only, with 'same' padding)."""

    pool = staticmethod(nn.avg_pool2d)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


class _GlobalPooling2D(Layer):
    """A reduction over height and width: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with
    keepdims."""

    reduce = None  # the reduction a subclass pools with

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=4)  # Keras's

    def call(self, inputs):
        return self.reduce(inputs, axis=(1, 2), keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """The mean over height and width."""

    reduce = staticmethod(ops.reduce_mean)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """The maximum over height and width."""

    reduce = staticmethod(ops.reduce_max)
