"""File sources: arrays in an ``.npz`` archive, or a table in a ``.csv`` file.

Nothing is unpickled: ``.npz`` files are read by minitrain.npzfile (headers checked, never
``allow_pickle``), and a CSV is read as UTF-8 text and parsed as numbers.
"""
import csv
import difflib
import io
from pathlib import Path

import numpy as np

from ..npzfile import read_npz
from .dataset import ArrayDataset
from .registry import register_source


@register_source("npz")
def npz_file(path, features="x", labels="y", num_classes=None):
    """Features and labels from the arrays named ``features`` and ``labels`` of an .npz."""
    path = existing_file(path, "npz")
    arrays = read_npz(path, keys=(features, labels))
    return ArrayDataset(arrays[features], arrays[labels], num_classes,
                        origin=(f"{path}: array '{features}'", f"{path}: array '{labels}'"))


@register_source("csv")
def csv_file(path, label=-1, header=None, delimiter=",", task=None):
    """A numeric table: the ``label`` column (an index, or a name from the header) are the
    labels, the other columns the features.

    ``header=None`` detects a header row (a first row that is not all numbers). ``task=None``
    makes whole-number labels classes and any others regression targets; say
    ``task="regression"`` for whole-number targets.
    """
    path = existing_file(path, "csv")
    rows = _rows(path, delimiter)
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    if header is None:
        header = not all(_is_number(cell) for cell in rows[0][1])
    names = [cell.strip() for cell in rows.pop(0)[1]] if header else None
    if not rows:
        raise ValueError(f"{path}: a header row ({', '.join(names)}) but no data rows; add "
                         "the samples below it, one per line")
    table = _numbers(rows, path, len(names) if names else len(rows[0][1]))
    column = _label_column(label, names, table.shape[1], path)
    return _table_dataset(np.delete(table, column, axis=1), table[:, column], task, path)


def _rows(path, delimiter):
    """(line number, fields) of every non-blank line; a file that is not text is refused."""
    try:
        # utf-8-sig: a spreadsheet's byte-order mark is not part of the first column's name
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a text CSV file (byte {err.start} is not UTF-8 text: "
                         f"{err.reason}); give a CSV saved as UTF-8 text, not a binary file") \
            from None
    if "\0" in text:  # valid UTF-8, yet no text file holds a NUL byte
        raise ValueError(f"{path}: not a text CSV file (it holds NUL bytes, at character "
                         f"{text.index(chr(0))}); give a CSV saved as UTF-8 text, not a binary "
                         "file")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(reader.line_num, row) for row in reader if row]  # blank lines skipped


def existing_file(path, kind):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{kind} file not found: {path} (looked in {path.resolve()})")
    return path


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
        return ArrayDataset(x.astype(np.float32), y.astype(np.int64), origin=path)
    return ArrayDataset(x.astype(np.float32), y[:, None].astype(np.float32), origin=path)
