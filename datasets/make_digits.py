"""Build ``datasets/digits.npz`` from the copy of the UCI digits that scikit-learn bundles.

The source is ``sklearn/datasets/data/digits.csv.gz``: 1,797 rows of 65 comma-separated
integers, the 64 pixels of an 8x8 image (row-major, values 0..16) followed by the digit.
scikit-learn is not a dependency of minitrain: fetch its wheel once, without installing it,
and point this script at the wheel (it is read as a zip) or at a csv.gz taken out of it::

    pip download --no-deps --only-binary=:all: scikit-learn -d /tmp/skl
    python datasets/make_digits.py /tmp/skl/scikit_learn-*.whl

The result holds two arrays, nothing pickled: ``images`` uint8 (1797, 8, 8) and ``labels``
uint8 (1797,). The per-class counts are printed, and one image of each digit drawn as text,
so the conversion can be checked by eye.
"""
import argparse
import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "sklearn/datasets/data/digits.csv.gz"
N_SAMPLES, SIDE, N_CLASSES = 1797, 8, 10


def read_csv_gz_bytes(source):
    """The gzipped CSV, from a scikit-learn wheel (a zip) or from the .csv.gz itself."""
    source = Path(source)
    if not source.is_file():
        sys.exit(f"{source}: no such file; pass a scikit-learn wheel or digits.csv.gz")
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            if MEMBER not in wheel.namelist():
                sys.exit(f"{source}: the wheel has no {MEMBER}; is it scikit-learn's?")
            return wheel.read(MEMBER)
    return source.read_bytes()


def parse(csv_gz):
    """(images uint8 (n, 8, 8), labels uint8 (n,)) from the gzipped CSV, checked."""
    table = np.loadtxt(io.BytesIO(gzip.decompress(csv_gz)), delimiter=",")
    if table.shape != (N_SAMPLES, SIDE * SIDE + 1):
        raise ValueError(f"expected a {N_SAMPLES}x65 table, got {table.shape}")
    if not np.array_equal(table, np.round(table)):
        raise ValueError("the table holds non-integer values; is this the digits CSV?")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 16 or labels.min() < 0 or labels.max() > 9:
        raise ValueError("pixel values must lie in 0..16 and labels in 0..9")
    return pixels.reshape(-1, SIDE, SIDE).astype(np.uint8), labels.astype(np.uint8)


def draw(image):
    """An 8x8 image as text: darker characters for higher counts."""
    shades = " .:-=+*#%@"
    return "\n".join("".join(shades[v * 9 // 16] * 2 for v in row) for row in image)


def report(images, labels):
    counts = np.bincount(labels, minlength=N_CLASSES)
    print("per class:", dict(enumerate(counts.tolist())), "total:", int(counts.sum()))
    for digit in range(N_CLASSES):
        first = int(np.flatnonzero(labels == digit)[0])
        print(f"\nsample {first}, label {digit}:\n{draw(images[first])}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="scikit-learn wheel (.whl) or digits.csv.gz")
    parser.add_argument("--out", default=str(Path(__file__).with_name("digits.npz")),
                        help="where to write the .npz (default: next to this script)")
    args = parser.parse_args(argv)
    images, labels = parse(read_csv_gz_bytes(args.source))
    np.savez_compressed(args.out, images=images, labels=labels)
    report(images, labels)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
