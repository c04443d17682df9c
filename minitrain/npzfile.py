"""One safe reader for ``.npz`` archives: data sources, weights files and checkpoints use it.

``np.load`` trusts the file: an ``.npy`` header may declare any shape, and numpy allocates it
before noticing that the bytes are not there (a 400-byte file declaring shape (10**11,) asks
for 745 GiB). Here every member's header is read first and its shape and dtype are checked
against the member's size in the zip directory; only then is the array read, never unpickled.
"""
import os
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
# a member that declares far more bytes than it stores is a decompression bomb (Keras's test)
BOMB_FLOOR, BOMB_RATIO = 1 << 28, 100


class NpzError(ValueError):
    """An .npz archive that cannot be read safely; the message names the file."""


def read_npz(file, name=None, keys=None):
    """``{key: array}`` of the .npz archive ``file`` (a path or a binary file object, such as
    an ``io.BytesIO`` of a zip member); ``keys`` limits it to those arrays (None: all).

    ``name`` is what errors call the file (default: the path). Every failure, an unreadable
    file included, is an NpzError naming it.
    """
    name = _name(file) if name is None else str(name)
    try:
        with _open_zip(file, name) as archive:
            members = {_key(info): info for info in archive.infolist()}
            keys = list(members) if keys is None else _present(keys, members, name)
            size = _file_size(file)
            return {key: _read_member(archive, members[key], key, name, size) for key in keys}
    except OSError as err:  # a missing or unreadable file: the same error for every caller
        raise NpzError(f"{name}: cannot read the file ({err.strerror or err})") from None
    except (EOFError, zlib.error, zipfile.BadZipFile) as err:
        raise NpzError(f"{name}: truncated or corrupt .npz archive ({err}); "
                       "write or download it again") from None


def _name(file):
    """A path as given; an open file by its own name, if it has one."""
    if isinstance(file, (str, os.PathLike)):
        return os.fspath(file)
    return str(getattr(file, "name", "<file object>"))


def _open_zip(file, name):
    head = _peek(file, len(_NPY_MAGIC))
    if head.startswith(_NPY_MAGIC):
        raise NpzError(f"{name} holds a single array (an .npy file), not an .npz archive of "
                       "named arrays; store it under a name: np.savez(path, x=array)")
    if not head.startswith(_ZIP_MAGIC):
        raise NpzError(f"{name} is not an .npz archive (a zip of .npy arrays): it starts with "
                       f"{head[:4]!r}; save the arrays with np.savez")
    if not zipfile.is_zipfile(file):  # a zip's directory is at its end: the end is missing
        raise NpzError(f"{name}: truncated or corrupt .npz archive (no zip directory at its "
                       "end); write or download it again")
    return zipfile.ZipFile(file)


def _peek(file, n):
    """The first ``n`` bytes of ``file``, leaving a file object where it was."""
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as f:
            return f.read(n)
    start = file.tell()
    head = file.read(n)
    file.seek(start)
    return head


def _present(keys, members, name):
    missing = [key for key in keys if key not in members]
    if missing:
        raise NpzError(f"{name}: no array named {', '.join(map(repr, missing))}; it holds "
                       f"{', '.join(map(repr, members)) or 'none'}: ask for the names it holds")
    return list(dict.fromkeys(keys))


def _file_size(file):
    if isinstance(file, (str, os.PathLike)):
        return os.path.getsize(file)
    return file.seek(0, os.SEEK_END)  # harmless: ZipFile seeks to each member it reads


def _key(info):
    # np.savez stores array 'x' as the member 'x.npy'; np.load names it 'x'
    return info.filename[:-4] if info.filename.endswith(".npy") else info.filename


def _read_member(archive, info, key, name, size):
    _check_sizes(info, key, name, size)
    with archive.open(info) as f:
        _check_header(f, info, key, name)
    with archive.open(info) as f:  # again from the start: read_array parses its own header
        try:
            return npy.read_array(f, allow_pickle=False)
        except ValueError as err:
            raise NpzError(f"{name}: array '{key}' cannot be read ({err}); write the archive "
                           "again with np.savez") from None


def _check_sizes(info, key, name, size):
    """Refuse sizes in the zip directory that the file cannot hold: a member stored in more
    bytes than the file has, or a decompression bomb (far more bytes out than in)."""
    if info.compress_size > size:
        raise NpzError(f"{name}: truncated or corrupt (array '{key}' is stored in "
                       f"{_size(info.compress_size)}, but the file holds {_size(size)}); "
                       "write or download it again")
    if info.file_size > max(BOMB_FLOOR, BOMB_RATIO * info.compress_size):
        raise NpzError(f"{name}: array '{key}' declares {_size(info.file_size)} uncompressed "
                       f"but stores {_size(info.compress_size)}: refusing a decompression bomb")


def _check_header(f, info, key, name):
    """Refuse member ``info`` unless its .npy header declares exactly the bytes it holds."""
    try:
        version = npy.read_magic(f)
        read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read(f)
    except ValueError as err:
        raise NpzError(f"{name}: member '{info.filename}' is not a valid .npy array ({err}); "
                       "write the archive again with np.savez") from None
    if dtype.hasobject:
        raise NpzError(f"{name}: array '{key}' cannot be loaded without pickle (it holds "
                       "Python objects, and minitrain reads with allow_pickle=False): store "
                       "plain numeric arrays")
    declared, held = int(np.prod(shape, dtype=object)) * dtype.itemsize, info.file_size - f.tell()
    if declared != held:
        raise NpzError(f"{name}: truncated or corrupt (array '{key}' declares shape {shape} "
                       f"{dtype} = {_size(declared)}, but the file holds {held} bytes); write "
                       "or download it again")


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024

