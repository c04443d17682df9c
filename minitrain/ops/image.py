"""Image adjustments (tf.image)."""
import numpy as np

from ..tensor import Tensor
from .core import as_tensor, run2
from .selection import cast, clip_by_value


def adjust_contrast(images, contrast_factor):
    """(x - mean) * contrast_factor + mean, the mean per image and channel over its height and
    width: the last three axes are [height, width, channels], any before them a batch.

    One op, TensorFlow's AdjustContrastv2, with no gradient, as in TensorFlow (up to 2.21):
    differentiating through it raises the LookupError that TensorFlow's autodiff guide shows.
    Integer images are converted as TensorFlow's convert_image_dtype does: to float32 in [0, 1],
    adjusted, then scaled back and saturated. Float images keep their dtype, and float64 its
    precision (TensorFlow computes it in float32).
    """
    x = as_tensor(images)
    if x.ndim < 3:
        raise ValueError(f"adjust_contrast: images must be at least 3-D, [height, width, "
                         f"channels] or [batch, height, width, channels]; got shape {x.shape}")
    if x.dtype.kind in "iu":
        scaled = cast(x, "float32") * (1 / np.iinfo(x.dtype).max)
        adjusted = _contrast(scaled, contrast_factor) * (np.iinfo(x.dtype).max + 0.5)
        return _saturate_cast(adjusted, x.dtype)
    return _contrast(x, contrast_factor)


def _contrast(x, factor):
    if np.ndim(factor) != 0:
        raise ValueError(f"adjust_contrast: contrast_factor must be scalar: "
                         f"{list(np.shape(factor))}")
    factor = cast(factor, x.dtype) if isinstance(factor, Tensor) else as_tensor(factor, x.dtype)

    def forward(a, f):
        mean = a.mean(axis=(-3, -2), keepdims=True)
        return (a - mean) * f + mean

    return run2("AdjustContrastv2", forward, x, factor)


def _saturate_cast(y, dtype):
    """TensorFlow's saturate_cast: clipped to the integer dtype's range, then truncated. The
    clip runs in float64, below the largest integer that float64 holds inside the range."""
    info = np.iinfo(dtype)
    high = float(info.max)
    if int(high) > info.max:  # int64: 2**63 - 1 rounds up to 2**63
        high = float(np.nextafter(high, 0))
    return cast(clip_by_value(cast(y, "float64"), float(info.min), high), dtype)
