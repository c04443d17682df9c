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
    except OSError as err:
        _remove(temporary)
        if err.filename is None and err.errno is not None:  # ENOSPC in write() names no file
            err.filename = str(path)
        raise
    except BaseException:
        _remove(temporary)
        raise
    _fsync_directory(path.parent)


def append_line(path, line):
    """Append ``line`` to the file at ``path`` in one write, never through a symbolic link
    (a link planted in a run directory would otherwise redirect the run's writes)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as err:
        if Path(path).is_symlink():
            raise OSError(err.errno, "it is a symbolic link; minitrain writes run files "
                          "only in place", str(path)) from None
        raise
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


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


class DirectoryLock:
    """An exclusive lock on ``directory`` for as long as it is held, through a ``.lock`` file
    that records the holder's pid.

    The lock is the operating system's (``flock``): it dies with the process, so a run killed
    with SIGKILL leaves no stale lock behind, only a ``.lock`` file that the next run takes.
    """

    NAME = ".lock"

    def __init__(self, directory):
        self.path = Path(directory) / self.NAME
        self._fd = None

    def acquire(self):
        """Take the lock, or raise BlockingIOError with the holder's pid as ``holder``."""
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o666)
        try:
            _lock(fd)
        except BlockingIOError as err:
            err.holder = _read_pid(fd)
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the lock
            self._fd = None


def _lock(fd):
    try:
        import fcntl
    except ImportError:  # Windows: msvcrt locks a byte range instead
        import msvcrt
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as err:
            raise BlockingIOError(err.errno, "locked") from None
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _read_pid(fd):
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip() if hasattr(
        os, "pread") else ""
    return int(text) if text.isdecimal() else None
