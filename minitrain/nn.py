"""``mt.nn``: activations, softmax and losses under TensorFlow's ``tf.nn`` names."""
from .ops import sigmoid, tanh
from .ops.nn import (
                     bias_add,
                     elu,
                     gelu,
                     l2_loss,
                     leaky_relu,
                     log_softmax,
                     relu,
                     relu6,
                     sigmoid_cross_entropy_with_logits,
                     silu,
                     softmax,
                     softmax_cross_entropy_with_logits,
                     softplus,
                     sparse_softmax_cross_entropy_with_logits,
                     swish,
)

__all__ = ["bias_add", "elu", "gelu", "l2_loss", "leaky_relu", "log_softmax", "relu", "relu6",
           "sigmoid", "sigmoid_cross_entropy_with_logits", "silu", "softmax",
           "softmax_cross_entropy_with_logits", "softplus",
           "sparse_softmax_cross_entropy_with_logits", "swish", "tanh"]
