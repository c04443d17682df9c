"""``mt.nn``: activations, convolution, pooling, normalization, dropout and losses (``tf.nn``)."""
from .ops import sigmoid, tanh
from .ops.conv import avg_pool2d, conv2d, max_pool2d
from .ops.conv_more import (
    avg_pool1d,
    conv1d,
    conv2d_transpose,
    depthwise_conv2d,
    max_pool1d,
    separable_conv2d,
)
from .ops.nn import (
    bias_add,
    bias_relu,
    elu,
    gelu,
    l2_loss,
    leaky_relu,
    log_softmax,
    relu,
    relu6,
    selu,
    sigmoid_cross_entropy_with_logits,
    silu,
    softmax,
    softmax_cross_entropy_with_logits,
    softplus,
    softsign,
    sparse_softmax_cross_entropy_with_logits,
    swish,
)
from .ops.normalization import batch_normalization, dropout, moments
from .ops.norms import l2_normalize
from .ops.scan import top_k

__all__ = [name for name in dir() if not name.startswith("_")]
