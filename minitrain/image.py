"""``mt.image``: image ops under TensorFlow's ``tf.image`` names."""
from .ops.image import adjust_contrast

__all__ = ["adjust_contrast"]
