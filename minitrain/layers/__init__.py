"""``mt.layers``: Keras's layers, built on one base class (``Layer``: build + call)."""
from .activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .attention import Attention, MultiHeadAttention
from .base import Layer
from .blocks import Residual, SelfAttention
from .conv import (
    AveragePooling2D,
    AvgPool2D,
    Conv2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from .conv_more import (
    Conv1D,
    Conv2DTranspose,
    Convolution2DTranspose,
    DepthwiseConv2D,
    SeparableConv2D,
)
from .core import Activation, Dense, Dropout, Embedding, Flatten
from .input_layer import Input, InputLayer
from .input_spec import InputSpec
from .merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .noise import GaussianNoise, SpatialDropout2D
from .normalization import BatchNormalization, LayerNormalization
from .pooling1d import (
    AveragePooling1D,
    AvgPool1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
)
from .position import PositionEmbedding
from .preprocessing import CategoryEncoding, Normalization, Rescaling
from .recurrent import GRU, LSTM, SimpleRNN
from .reshaping import Cropping2D, Permute, RepeatVector, Reshape, UpSampling2D, ZeroPadding2D
from .rnn_wrappers import Bidirectional, TimeDistributed
from .utility import Identity, Lambda

__all__ = ["Activation", "AveragePooling2D", "AvgPool2D", "BatchNormalization", "Conv2D",
           "Dense", "Dropout", "Embedding", "Flatten", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "Layer", "LayerNormalization", "MaxPool2D", "MaxPooling2D"]
__all__ += ["AveragePooling1D", "AvgPool1D", "Conv1D", "Conv2DTranspose", "Convolution2DTranspose",
            "DepthwiseConv2D", "GlobalAveragePooling1D", "GlobalAvgPool1D", "GlobalMaxPool1D",
            "GlobalMaxPooling1D", "MaxPool1D", "MaxPooling1D", "SeparableConv2D"]
__all__ += ["Add", "Average", "CategoryEncoding", "Concatenate", "Cropping2D", "ELU",
            "GaussianNoise", "Identity", "Lambda", "LeakyReLU", "Maximum", "Minimum", "Multiply",
            "Normalization", "PReLU", "Permute", "ReLU", "RepeatVector", "Rescaling", "Reshape",
            "Softmax", "SpatialDropout2D", "Subtract", "UpSampling2D", "ZeroPadding2D", "add",
            "average", "concatenate", "maximum", "minimum", "multiply", "subtract"]
__all__ += ["Input", "InputLayer", "InputSpec"]
__all__ += ["Bidirectional", "GRU", "LSTM", "SimpleRNN", "TimeDistributed"]
__all__ += ["Attention", "MultiHeadAttention", "PositionEmbedding", "Residual", "SelfAttention"]
