"""Conv2DTranspose, DepthwiseConv2D, SeparableConv2D and Conv1D (and what 1-D pooling shares).

Channels last only. The constructors take Keras 3's arguments, in its order, with its
defaults, regularizers included; ``data_format`` may only be "channels_last" (or None) and
``dilation_rate`` only 1, and constraints are not taken. ``get_config`` gives Keras's keys for
the arguments taken, so ``type(layer).from_config(layer.get_config())`` makes the layer again.
"""
from .. import activations, initializers, ops, regularizers
from ..ops import conv_more
from ..ops.conv import padding_mode
from ..ops.nn import bias_add_activation
from .base import Layer, positive_int
from .input_spec import InputSpec
from .serializable import serialize, serialize_function


# --- arguments, as Keras standardizes them ----------------------------------------------------
def _tuple(value, rank, name, allow_zero=False):
    """An int or a sequence of ``rank`` ints, as a tuple (Keras's standardize_tuple)."""
    values = (value,) * rank if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != rank or min(values) < (0 if allow_zero else 1):
        raise ValueError(f"{name} must be an int or a tuple of {rank} ints, each "
                         f"{'0' if allow_zero else '1'} or more, got {value!r}")
    return values


def _padding(padding, name, allow_causal=False):
    if allow_causal and str(padding).lower() == "causal":
        return "causal"
    return padding_mode(padding, name).lower()


def _data_format(data_format, name):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{name}: only data_format 'channels_last' is supported, got "
                         f"{data_format!r}")
    return "channels_last"


def _dilation_rate(value, rank, name):
    rate = _tuple(value, rank, f"{name}: dilation_rate")
    if rate != (1,) * rank:
        raise ValueError(f"{name}: dilation_rate other than 1 is not supported, got {value!r}")
    return rate


def _check_rank(layer, input_shape, rank):
    if len(input_shape) != rank:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' expects channels-last inputs "
                         f"of rank {rank}, got shape {input_shape}")


class _Conv(Layer):
    """What the convolutions share: window geometry, activation, bias and their config."""

    rank = 2  # the spatial axes

    def __init__(self, kernel_size, strides, padding, data_format, dilation_rate, activation,
                 use_bias, bias_initializer, bias_regularizer, allow_causal=False, **kwargs):
        super().__init__(**kwargs)
        name, rank = type(self).__name__, self.rank
        self.kernel_size = _tuple(kernel_size, rank, f"{name}: kernel_size")
        self.strides = _tuple(strides, rank, f"{name}: strides")
        self.padding = _padding(padding, name, allow_causal)
        self.data_format = _data_format(data_format, name)
        self.dilation_rate = _dilation_rate(dilation_rate, rank, name)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.input_spec = InputSpec(min_ndim=rank + 2)  # Keras's; build adds the channels

    def _expect(self, input_shape, rank):
        """Check the rank ``build`` supports; later calls must bring the same channels."""
        _check_rank(self, input_shape, rank)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={-1: input_shape[-1]})

    def _spatial_shape(self, sizes):
        """The output's spatial sizes (None stays None); causal keeps ceil(n / s), as same."""
        padding = "same" if self.padding == "causal" else self.padding
        return tuple(None if n is None else conv_more.conv_output_size(n, k, s, padding)
                     for n, k, s in zip(sizes, self.kernel_size, self.strides))

    def _bias(self, size):
        self.bias = (self.add_weight("bias", (size,), self.bias_initializer,
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def _finish(self, y):
        return bias_add_activation(y, self.bias, self.activation,
                                   activations.name_of(self.activation))

    def get_config(self):
        own = {**super().get_config(), "kernel_size": self.kernel_size, "strides": self.strides,
               "padding": self.padding, "data_format": self.data_format,
               "dilation_rate": self.dilation_rate,
               "activation": serialize_function(self.activation), "use_bias": self.use_bias}
        # the kernel_, depthwise_, pointwise_ and bias_ initializers and regularizers it holds
        held = {key: serialize(value) for key, value in vars(self).items()
                if key.endswith(("_initializer", "_regularizer")) and not key.startswith("_")}
        return {**own, **held, "activity_regularizer": serialize(self.activity_regularizer)}


class Conv2DTranspose(_Conv):
    """activation(conv2d_transpose(inputs, kernel) + bias), kernel (kh, kw, filters, c_in).

    The output's size per axis is Keras's: valid gives (n - 1) * s + max(k, s), same gives
    n * s; with output_padding p, (n - 1) * s + k + p and (n - 1) * s + k % 2 + p.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive_int(filters, "Conv2DTranspose: filters")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.output_padding = None if output_padding is None else _tuple(
            output_padding, 2, "Conv2DTranspose: output_padding", allow_zero=True)
        if self.output_padding and any(p >= s for p, s in zip(self.output_padding,
                                                               self.strides)):
            raise ValueError(f"Conv2DTranspose: output_padding must be < strides, got "
                             f"output_padding={self.output_padding}, strides={self.strides}")

    def build(self, input_shape):
        self._expect(input_shape, 4)
        shape = self.kernel_size + (self.filters, input_shape[-1])
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self._bias(self.filters)

    def compute_output_shape(self, input_shape):
        padding = self.output_padding or (None, None)
        return (input_shape[0],) + tuple(
            None if n is None else conv_more.conv_transpose_output_size(n, k, s, self.padding, p)
            for n, k, s, p in zip(input_shape[1:3], self.kernel_size, self.strides, padding)
        ) + (self.filters,)

    def call(self, inputs):
        y = conv_more.conv2d_transpose(inputs, self.kernel,
                                       self.compute_output_shape(inputs.shape),
                                       self.strides, self.padding.upper())
        return self._finish(y)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "output_padding": self.output_padding}


class DepthwiseConv2D(_Conv):
    """activation(depthwise_conv2d(inputs, kernel) + bias), kernel (kh, kw, c_in,
    depth_multiplier): c_in * depth_multiplier output channels."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = positive_int(depth_multiplier,
                                             "DepthwiseConv2D: depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)

    def build(self, input_shape):
        self._expect(input_shape, 4)
        shape = self.kernel_size + (input_shape[-1], self.depth_multiplier)
        self.kernel = self.add_weight("kernel", shape, self.depthwise_initializer,
                                      regularizer=self.depthwise_regularizer)
        self._bias(input_shape[-1] * self.depth_multiplier)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1] * self.depth_multiplier
        return (input_shape[0],) + self._spatial_shape(input_shape[1:3]) + (channels,)

    def call(self, inputs):
        y = conv_more.depthwise_conv2d(inputs, self.kernel, self.strides, self.padding)
        return self._finish(y)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier}


class SeparableConv2D(_Conv):
    """A DepthwiseConv2D without its bias, then a 1 x 1 convolution to ``filters`` channels:
    weights depthwise_kernel (kh, kw, c_in, m), pointwise_kernel (1, 1, c_in * m, filters)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive_int(filters, "SeparableConv2D: filters")
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depth_multiplier = positive_int(depth_multiplier,
                                             "SeparableConv2D: depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)

    def build(self, input_shape):
        self._expect(input_shape, 4)
        c, m = input_shape[-1], self.depth_multiplier
        self.depthwise_kernel = self.add_weight("depthwise_kernel", self.kernel_size + (c, m),
                                                self.depthwise_initializer,
                                                regularizer=self.depthwise_regularizer)
        self.pointwise_kernel = self.add_weight("pointwise_kernel", (1, 1, c * m, self.filters),
                                                self.pointwise_initializer,
                                                regularizer=self.pointwise_regularizer)
        self._bias(self.filters)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_shape(input_shape[1:3]) + (self.filters,)

    def call(self, inputs):
        y = conv_more.separable_conv2d(inputs, self.depthwise_kernel, self.pointwise_kernel,
                                       self.strides, self.padding)
        return self._finish(y)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "depth_multiplier": self.depth_multiplier}


class Conv1D(_Conv):
    """activation(conv1d(inputs, kernel) + bias), kernel (k, c_in, filters); padding "causal"
    pads (k - 1) steps before the sequence, so output t sees inputs up to t only."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, allow_causal=True,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive_int(filters, "Conv1D: filters")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        if groups != 1:
            raise ValueError(f"Conv1D: groups other than 1 are not supported, got {groups!r}")
        self.groups = 1
        self.kernel_initializer = initializers.get(kernel_initializer)

    def build(self, input_shape):
        self._expect(input_shape, 3)
        shape = self.kernel_size + (input_shape[-1], self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self._bias(self.filters)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_shape(input_shape[1:2]) + (self.filters,)

    def call(self, inputs):
        padding = self.padding
        if padding == "causal":
            inputs = ops.pad(inputs, [[0, 0], [self.kernel_size[0] - 1, 0], [0, 0]])
            padding = "valid"
        y = conv_more.conv1d(inputs, self.kernel, self.strides[0], padding.upper())
        return self._finish(y)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups}


Convolution2DTranspose = Conv2DTranspose
