"""Reader for the IDX format of MNIST and Fashion-MNIST, gzipped or not.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
then each dimension as a big-endian uint32, then the values in row-major order, big-endian.
"""
import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

_GZIP_MAGIC = b"\x1f\x8b"
_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """The array stored in the IDX file at ``path`` (``.gz`` or plain; told apart by content)."""
    return parse_idx(_read_bytes(Path(path)), str(path))


def parse_idx(raw, name="<bytes>"):
    """The array encoded by the IDX bytes ``raw``; ``name`` says which file in errors."""
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _TYPES:
        raise ValueError(
            f"{name}: not an IDX file (magic number {raw[:4].hex() or 'missing'}; expected "
            f"0000, a type code in {sorted(_TYPES)} and the number of dimensions); "
            "the file is corrupt or of another format: download it again")
    ndim, header = raw[3], 4 + 4 * raw[3]
    if len(raw) < header:
        raise ValueError(f"{name}: truncated IDX header ({len(raw)} bytes, {ndim} dimensions "
                         f"need {header}); download the file again")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_TYPES[raw[2]])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{name}: the header promises shape {dims} ({expected} bytes of values) but the file "
            f"holds {len(raw) - header}; it is truncated or corrupt: download it again")
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def _read_bytes(path):
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: damaged gzip data ({err}); download the file again") from None
