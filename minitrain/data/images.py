"""Image sources: the shipped UCI digits, and MNIST / Fashion-MNIST from their IDX files.

``flatten=True`` gives one feature vector per image (for an MLP); ``flatten=False`` gives
images of shape (height, width, 1), channels last as in TensorFlow (for a CNN). Pixels keep
their stored uint8 values (0..16 for the digits, 0..255 for MNIST): a Normalizer rescales them.
"""
from pathlib import Path

import numpy as np

from ..npzfile import read_npz
from .dataset import ArrayDataset
from .idx import read_idx
from .registry import register_source

# the repository's datasets/, which the package holds as minitrain/datasets (a link to it in a
# clone, package data in an installed copy: pyproject.toml ships it)
DIGITS_PATH = Path(__file__).resolve().parents[1] / "datasets" / "digits.npz"

IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
SPLITS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}


@register_source("digits")
def digits(flatten=True, path=None):
    """The UCI handwritten digits: 1,797 images 8x8, values 0..16, 10 classes."""
    path = Path(path) if path is not None else DIGITS_PATH
    if not path.is_file():
        raise FileNotFoundError(
            f"the digits dataset is missing: {path}. It ships with minitrain (the repository's "
            "datasets/, rebuilt by datasets/make_digits.py); reinstall, or pass path= to a copy")
    arrays = read_npz(path, keys=("images", "labels"))
    return _image_dataset(arrays["images"], arrays["labels"], flatten, origin=path)


@register_source("mnist")
def mnist(path="data/mnist", split="train", flatten=True):
    """MNIST's 28x28 handwritten digits from the four IDX files in directory ``path``."""
    return _idx_dataset("MNIST", path, split, flatten)


@register_source("fashion_mnist")
def fashion_mnist(path="data/fashion_mnist", split="train", flatten=True):
    """Fashion-MNIST's 28x28 clothing images from the four IDX files in directory ``path``."""
    return _idx_dataset("Fashion-MNIST", path, split, flatten)


def _image_dataset(images, labels, flatten, origin=None):
    features = images.reshape(len(images), -1) if flatten else images[..., None]
    return ArrayDataset(features, labels, num_classes=10, origin=origin)


def _idx_dataset(title, path, split, flatten):
    if split not in SPLITS:
        raise ValueError(f"{title}: split must be one of {', '.join(SPLITS)}, got {split!r}")
    directory = Path(path)
    stems = [stem for part in SPLITS[split] for stem in IDX_FILES[part]]
    found = {stem: _find_idx(directory, stem) for stem in stems}
    missing = [stem for stem, file in found.items() if file is None]
    if missing:
        every = ", ".join(stem for pair in IDX_FILES.values() for stem in pair)
        absent = "" if directory.is_dir() else " (no such directory)"
        raise FileNotFoundError(
            f"{title}: missing {', '.join(missing)} in {directory.resolve()}{absent}. Put the "
            f"{title} IDX files there, gzipped (.gz) or not: {every}; or set path= to the "
            "directory that holds them")
    pairs = [(found[images], found[labels]) for images, labels in
             (IDX_FILES[part] for part in SPLITS[split])]
    images, labels = zip(*(_read_pair(*pair) for pair in pairs))
    return _image_dataset(np.concatenate(images), np.concatenate(labels), flatten)


def _find_idx(directory, stem):
    # the files circulate as "train-images-idx3-ubyte" and as "train-images.idx3-ubyte"
    for name in (stem, stem.replace("-idx", ".idx")):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _read_pair(images_path, labels_path):
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{images_path} (shape {images.shape}) and {labels_path} (shape "
                         f"{labels.shape}) are not a matching set of images and labels")
    return images, labels
