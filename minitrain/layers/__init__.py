"""``mt.layers``: Keras's layers, built on one base class (``Layer``: build + call)."""
from .base import Layer
from .conv import (
    AveragePooling2D,
    AvgPool2D,
    Conv2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from .core import Activation, Dense, Dropout, Embedding, Flatten
from .normalization import BatchNormalization, LayerNormalization

__all__ = ["Activation", "AveragePooling2D", "AvgPool2D", "BatchNormalization", "Conv2D",
           "Dense", "Dropout", "Embedding", "Flatten", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "Layer", "LayerNormalization", "MaxPool2D", "MaxPooling2D"]
