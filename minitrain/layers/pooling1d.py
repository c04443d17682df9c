"""MaxPooling1D, AveragePooling1D and the global 1-D pooling layers (channels last: NWC)."""
from .. import ops
from ..ops import conv_more
from .base import Layer
from .conv_more import _check_rank, _data_format, _padding, _tuple


class _Pooling1D(Layer):
    """A window function along the steps; strides default to the pool size."""

    pool = None  # the ops.conv_more function a subclass pools with

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.pool_size = _tuple(pool_size, 1, f"{name}: pool_size")
        self.strides = _tuple(pool_size if strides is None else strides, 1, f"{name}: strides")
        self.padding = _padding(padding, name)
        self.data_format = _data_format(data_format, name)

    def compute_output_shape(self, input_shape):
        n, (k,), (s,) = input_shape[1], self.pool_size, self.strides
        steps = None if n is None else conv_more.conv_output_size(n, k, s, self.padding)
        return (input_shape[0], steps, input_shape[2])

    def call(self, inputs):
        _check_rank(self, inputs.shape, 3)
        return self.pool(inputs, self.pool_size[0], self.strides[0], self.padding.upper())

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(_Pooling1D):
    """The maximum of each window."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    pool = staticmethod(conv_more.max_pool1d)


class AveragePooling1D(_Pooling1D):
    """The mean of each window (over real steps only, with 'same' padding). Keras 3 gives
    pool_size no default here, unlike MaxPooling1D's 2."""

    pool = staticmethod(conv_more.avg_pool1d)


class _GlobalPooling1D(Layer):
    """A reduction over the steps: (N, W, C) -> (N, C), or (N, 1, C) with keepdims."""

    reduce = None  # the reduction a subclass pools with

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format, type(self).__name__)
        self.keepdims = keepdims

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + ((1,) if self.keepdims else ()) + (input_shape[2],)

    def call(self, inputs):
        _check_rank(self, inputs.shape, 3)
        return self.reduce(inputs, axis=1, keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the steps."""

    reduce = staticmethod(ops.reduce_mean)


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over the steps."""

    reduce = staticmethod(ops.reduce_max)


MaxPool1D, AvgPool1D = MaxPooling1D, AveragePooling1D
GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D
