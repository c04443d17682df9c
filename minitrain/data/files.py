"""File sources: arrays in an ``.npz`` archive, or a table in a ``.csv`` file.

Nothing is unpickled: ``.npz`` files are opened with ``allow_pickle=False``, and a CSV is read
as text and parsed as numbers.
"""
import csv
import difflib
import zipfile
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset
from .registry import register_source


@register_source("npz")
def npz_file(path, features="x", labels="y", num_classes=None):
    """Features and labels from the arrays named ``features`` and ``labels`` of an .npz."""
    path = existing_file(path, "npz")
    with open_npz(path) as archive:
        missing = [key for key in (features, labels) if key not in archive.files]
        if missing:
            raise ValueError(f"{path}: no array named {', '.join(map(repr, missing))}; it holds "
                             f"{', '.join(map(repr, archive.files)) or 'none'}: pass "
                             "features=... and labels=... with the names to use")
        x, y = read_array(archive, features, path), read_array(archive, labels, path)
    return ArrayDataset(x, y, num_classes)


@register_source("csv")
def csv_file(path, label=-1, header=None, delimiter=",", task=None):
    """A numeric table: the ``label`` column (an index, or a name from the header) are the
    labels, the other columns the features.

    ``header=None`` detects a header row (a first row that is not all numbers). ``task=None``
    makes whole-number labels classes and any others regression targets; say
    ``task="regression"`` for whole-number targets.
    """
    path = existing_file(path, "csv")
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        rows = [(reader.line_num, row) for row in reader if row]  # blank lines skipped
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    if header is None:
        header = not all(_is_number(cell) for cell in rows[0][1])
    names = [cell.strip() for cell in rows.pop(0)[1]] if header else None
    table = _numbers(rows, path, len(names) if names else len(rows[0][1]))
    column = _label_column(label, names, table.shape[1], path)
    return _table_dataset(np.delete(table, column, axis=1), table[:, column], task, path)


def existing_file(path, kind):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} file not found: {path} (looked in {path.resolve()})")
    return path


def open_npz(path):
    """The archive at ``path``, opened without pickle support, or a ValueError naming it."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a readable .npz archive ({err})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single array, not an .npz archive of named arrays; "
                         "save it with np.savez(path, x=features, y=labels)")
    return archive


def read_array(archive, key, path):
    try:
        return archive[key]
    except ValueError as err:  # an object array, which only pickle could rebuild
        raise ValueError(f"{path}: array '{key}' cannot be loaded without pickle ({err}); "
                         "store plain numeric arrays") from None


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numbers(rows, path, width):
    table = np.empty((len(rows), width))
    for i, (line, row) in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path}, line {line}: {len(row)} fields where the table has "
                             f"{width}")
        try:
            table[i] = [float(cell) for cell in row]
        except ValueError:
            bad = next(c for c, cell in enumerate(row) if not _is_number(cell))
            raise ValueError(f"{path}, line {line}, column {bad}: {row[bad]!r} is not a "
                             "number") from None
    return table


def _label_column(label, names, width, path):
    if isinstance(label, str):
        if names is None:
            raise ValueError(f"{path}: label column '{label}' is given by name but the file has "
                             "no header row; give the column's index instead")
        if label not in names:
            near = difflib.get_close_matches(label, names, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise ValueError(f"{path}: no column named '{label}'{hint} "
                             f"(columns: {', '.join(names)})")
        return names.index(label)
    if not -width <= int(label) < width:
        raise ValueError(f"{path}: label column {label} is out of range for {width} columns")
    return int(label) % width


def _table_dataset(x, y, task, path):
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification', 'regression' or None, got {task!r}")
    whole = bool(np.all(y == np.round(y)) and np.all(y >= 0))
    if task == "classification" and not whole:
        raise ValueError(f"{path}: task='classification' needs labels that are whole numbers "
                         "0, 1, 2, ...; the label column holds others")
    if task == "classification" or (task is None and whole):
        return ArrayDataset(x.astype(np.float32), y.astype(np.int64))
    return ArrayDataset(x.astype(np.float32), y[:, None].astype(np.float32))
