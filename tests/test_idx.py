"""The IDX reader, on small files built byte by byte from the format's definition."""
import gzip
import struct

import numpy as np
import pytest

from minitrain.data import parse_idx, read_idx


def idx_bytes(values, type_code=0x08, big_endian=">u1"):
    """An IDX file: 0x0000, type code, ndim, big-endian uint32 dims, big-endian values."""
    values = np.asarray(values)
    header = bytes([0, 0, type_code, values.ndim]) + struct.pack(f">{values.ndim}I", *values.shape)
    return header + values.astype(big_endian).tobytes()


IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10


@pytest.mark.parametrize("gzipped", [False, True])
def test_reads_uint8_images_plain_and_gzipped(tmp_path, gzipped):
    raw = idx_bytes(IMAGES)
    path = tmp_path / ("images.gz" if gzipped else "images")
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, IMAGES)


def test_known_bytes_decode_to_known_values():
    # hand-written: uint8, 1 dimension of length 3, values 7 8 9
    assert parse_idx(b"\x00\x00\x08\x01\x00\x00\x00\x03\x07\x08\x09").tolist() == [7, 8, 9]


@pytest.mark.parametrize("code, big_endian, values", [
    (0x09, ">i1", [-3, 4]),
    (0x0B, ">i2", [-300, 1000]),
    (0x0C, ">i4", [-70000, 2**30]),
    (0x0D, ">f4", [1.5, -2.25]),
    (0x0E, ">f8", [1e-300, 3.0]),
])
def test_other_types_are_read_big_endian(code, big_endian, values):
    out = parse_idx(idx_bytes(values, code, big_endian))
    assert out.dtype.isnative and out.tolist() == values


def test_result_is_writable():
    out = parse_idx(idx_bytes(IMAGES))
    out[0, 0, 0] = 1
    assert out[0, 0, 0] == 1


@pytest.mark.parametrize("raw, match", [
    (b"\x00\x00\x08", "not an IDX file"),
    (b"\x01\x02\x08\x01" + b"\x00" * 8, "magic number 01020801"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "magic number"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated IDX header"),
    (idx_bytes(IMAGES)[:-5], r"promises shape \(2, 3, 4\)"),
    (idx_bytes(IMAGES) + b"\x00", "holds 25"),
])
def test_corrupt_bytes_are_rejected(raw, match):
    with pytest.raises(ValueError, match=match):
        parse_idx(raw, "file.idx")


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(idx_bytes(IMAGES)[:-1])
    with pytest.raises(ValueError, match="short-idx3-ubyte.*download it again"):
        read_idx(path)


def test_damaged_gzip_is_reported(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(IMAGES))[:-10])
    with pytest.raises(ValueError, match="images.gz: damaged gzip"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here")
