"""mt.image.adjust_contrast: TensorFlow's values, shapes and dtypes, and its missing gradient."""
import numpy as np
import pytest
from gradcases import Inputs

import minitrain as mt
from minitrain import image

rng = Inputs(seed=8)
u = rng.uniform


def _contrast(images, factor):
    """The reference: (x - mean) * factor + mean, the mean over height and width."""
    mean = images.mean(axis=(-3, -2), keepdims=True)
    return (images - mean) * factor + mean


def test_its_gradient_is_tensorflows_lookup_error_as_the_autodiff_guide_shows():
    image_ = mt.Variable([[[0.5, 0.0, 0.0]]])
    delta = mt.Variable(0.1)
    with mt.GradientTape() as tape:
        new_image = image.adjust_contrast(image_, delta)
    with pytest.raises(LookupError, match="gradient registry has no entry for: AdjustContrastv2"):
        tape.gradient(new_image, [image_, delta])


def test_tensorflow_documentation_example():
    x = [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]]
    y = image.adjust_contrast(x, 2.0)
    assert y.dtype == mt.float32 and y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y.numpy(), [[[-3.5, -2.5, -1.5], [2.5, 3.5, 4.5]],
                                              [[8.5, 9.5, 10.5], [14.5, 15.5, 16.5]]])


@pytest.mark.parametrize("shape", [(4, 5, 3), (2, 4, 5, 3), (2, 3, 4, 5, 1)])
def test_each_image_and_channel_has_its_own_mean(shape):
    x = u(*shape)
    y = image.adjust_contrast(x, 0.3).numpy()
    np.testing.assert_allclose(y, _contrast(x, 0.3), rtol=1e-12)
    np.testing.assert_allclose(y.mean(axis=(-3, -2)), x.mean(axis=(-3, -2)), rtol=1e-12)


def test_a_batch_is_its_images_one_by_one():
    x = u(3, 4, 4, 2)
    batch = image.adjust_contrast(x, 1.5).numpy()
    for k in range(3):
        np.testing.assert_array_equal(batch[k], image.adjust_contrast(x[k], 1.5).numpy())


def test_factor_one_is_identity_and_zero_is_the_mean():
    x = u(3, 3, 2)
    np.testing.assert_allclose(image.adjust_contrast(x, 1.0).numpy(), x, rtol=1e-12)
    flat = image.adjust_contrast(x, 0.0).numpy()
    np.testing.assert_allclose(flat, np.broadcast_to(x.mean(axis=(0, 1)), x.shape), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_images_keep_their_dtype(dtype):
    x = u(3, 3, 2).astype(dtype)
    y = image.adjust_contrast(x, 2.0)
    assert y.dtype == dtype
    np.testing.assert_allclose(y.numpy(), _contrast(x.astype(np.float64), 2.0),
                               rtol=1e-2 if dtype == np.float16 else 1e-6, atol=1e-2)


def test_integer_images_convert_as_tensorflow_does():
    """uint8 -> float32 / 255, adjusted, * 255.5, clipped to [0, 255] and truncated."""
    x = np.random.default_rng(0).integers(0, 256, size=(2, 4, 4, 3)).astype(np.uint8)
    y = image.adjust_contrast(x, 1.4)
    assert y.dtype == np.uint8
    flt = x.astype(np.float32) * np.float32(1 / 255)
    adjusted = _contrast(flt, np.float32(1.4)).astype(np.float32) * np.float32(255.5)
    expected = np.clip(adjusted.astype(np.float64), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(y.numpy(), expected)


def test_a_float32_factor_tensor_serves_float64_images():
    x = u(2, 2, 1)
    y = image.adjust_contrast(mt.constant(x), mt.constant(2.0))
    assert y.dtype == mt.float64
    np.testing.assert_allclose(y.numpy(), _contrast(x, 2.0), rtol=1e-12)


def test_images_need_three_axes():
    with pytest.raises(ValueError, match=r"adjust_contrast: images must be at least 3-D.*\(4, 4\)"):
        image.adjust_contrast(u(4, 4), 2.0)


def test_the_factor_is_a_scalar():
    with pytest.raises(ValueError, match=r"contrast_factor must be scalar: \[2\]"):
        image.adjust_contrast(u(2, 2, 2), [1.0, 2.0])
