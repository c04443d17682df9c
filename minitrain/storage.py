"""Files written whole or not at all: a temporary beside the target, then a rename.

Every file minitrain writes (weights, checkpoints, the run directory's files) goes through
``atomic_write``, so every temporary has one name, ``.<target>.<pid>-<random>.tmp``, and
``remove_stale_temporaries`` finds those of every writer. The temporary is created with mode
0666 and the kernel applies the process's umask, as for any ``open(path, "w")``: nothing here
reads or changes the umask (changing it, even briefly, races with other threads).
"""
import os
import re
import secrets
from pathlib import Path

_TEMPORARY = re.compile(r"\..+\.\d+-[0-9a-f]{16}\.tmp")


def temporary_path(path):
    """A fresh temporary's name beside ``path``: hidden, unique across processes and calls."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(8)}.tmp")


def atomic_write(path, write):
    """Run ``write(file)`` on a temporary beside ``path``, then rename it to ``path``.

    ``os.replace`` within one directory is atomic: a reader (or a resumed run) sees the old
    file or the new one, never a half-written one, even if the process dies mid-write. On any
    failure, Ctrl-C included, the temporary is removed and the old file is left as it was.
    """
    path = Path(path)
    temporary = temporary_path(path)
    try:
        with _create(temporary, path) as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    _fsync_directory(path.parent)


def _create(temporary, path):
    """The temporary, opened for writing; an error names ``path``, which the caller knows."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        return os.fdopen(os.open(temporary, flags, 0o666), "wb")
    except OSError as err:
        raise type(err)(err.errno, err.strerror, str(path)) from None


def _remove(temporary):
    # the error that got us here matters more than one in cleaning up after it; a temporary
    # that cannot be removed now is left for remove_stale_temporaries
    try:
        temporary.unlink(missing_ok=True)
    except OSError:
        pass


def _fsync_directory(directory):
    """Make the rename itself survive a power cut; where a directory cannot be opened
    (Windows), the rename is still atomic, only not yet durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(directory):
    """Delete the temporaries left in ``directory`` by processes killed mid-write.

    Call it when no other process is writing there (a run's start, before it writes)."""
    for entry in Path(directory).iterdir():
        if _TEMPORARY.fullmatch(entry.name) and entry.is_file():
            _remove(entry)
