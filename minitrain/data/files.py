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
    """A table: the ``label`` column (an index, or a name from the header) are the labels,
    the other columns the features, which must be numbers.

    ``header=None`` detects a header row (a first row that names, with a word, a column of
    numbers below it). Labels that are numbers stay numbers: ``task=None`` makes whole-number
    labels classes and any others regression targets; say ``task="regression"`` for
    whole-number targets. Labels that are words (``setosa``, ``versicolor``) are class names:
    class ``i`` is the ``i``-th name in sorted order (as sklearn's LabelEncoder numbers them),
    and the dataset's ``class_names`` lists them. A missing value (an empty cell, NA, N/A,
    NaN, ?, null, None) is an error naming its line and column: nothing is filled in.
    """
    path = existing_file(path, "csv")
    rows = _rows(path, delimiter)
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    if header not in (None, True, False):
        raise ValueError(f"header must be true, false or null (detect it), got {header!r}")
    if header is None:
        header = _has_header(rows)
    names = [cell.strip() for cell in rows.pop(0)[1]] if header else None
    if not rows:
        raise ValueError(f"{path}: a header row ({', '.join(names)}) but no data rows; add "
                         "the samples below it, one per line")
    width = len(names) if names else len(rows[0][1])
    column = _label_column(label, names, width, path)
    x = np.empty((len(rows), width - 1))
    for sample, (line, row) in enumerate(rows):
        _check_row(path, line, sample, row, width, names, column)
        x[sample] = [float(cell) for c, cell in enumerate(row) if c != column]
    return _table_dataset(x, [(line, row[column]) for line, row in rows], task, path,
                          _column_name(names, column), column)


# a cell that says "no value", compared stripped and in any case (pandas' common spellings)
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


def _is_missing(cell):
    cell = cell.strip().casefold()
    return cell in MISSING or (is_number(cell) and float(cell) != float(cell))  # -nan, +nan


def _has_header(rows):
    """Whether the first row is a header: a word (not a number, not a missing value) above a
    number in the second row; a file of one row is a header unless it is all numbers."""
    first = rows[0][1]
    if len(rows) == 1:
        return not all(is_number(cell) for cell in first)
    return any(not is_number(top) and not _is_missing(top) and is_number(below)
               for top, below in zip(first, rows[1][1]))


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


def is_number(text):
    """Whether a CSV cell reads as a number (nan and inf included)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column_name(names, column):
    """How a message names a column: 'petal_width' from the header, else its index."""
    return str(column) if names is None else f"'{names[column]}'"


def _check_row(path, line, sample, row, width, names, column):
    """One data row: its width, then a missing value anywhere, then a feature that is not a
    number; each error names the file's line and column."""
    if len(row) != width:
        raise ValueError(f"{path}, line {line}: {len(row)} fields where the table has {width}")
    for c, cell in enumerate(row):
        if _is_missing(cell):
            raise ValueError(_missing_message(path, line, sample, names, c, column, cell))
    for c, cell in enumerate(row):
        if c != column and not is_number(cell):
            kind = f"the feature column '{names[c]}'" if names else "a feature column"
            raise ValueError(f"{path}, line {line}, column {c}: {cell!r} is not a number; "
                             f"{kind} must hold numbers (only the label column, "
                             f"{_column_name(names, column)}, may hold class names)")


def _missing_message(path, line, sample, names, c, column, cell):
    shown = "" if not cell.strip() else f" ({cell.strip()!r})"
    message = (f"{path}, line {line}, column {_column_name(names, c)}: missing value{shown}; "
               "fill or drop the rows with missing values")
    if not is_number(cell):
        return message
    # a NaN cell is also the nan that the value check reports, by sample, for every source
    where = "the label array" if c == column else "the feature array"
    position = "" if c == column else f", feature {c if c < column else c - 1}"
    return (f"{message} ({path}: {where} has nan at sample {sample}{position}; clean the data "
            "or drop those samples)")


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


def _table_dataset(x, cells, task, path, name, column):
    """The dataset of features ``x`` and the label column's (line, cell) ``cells``."""
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification', 'regression' or None, got {task!r}")
    words = [(line, cell.strip()) for line, cell in cells if not is_number(cell)]
    if words:
        return _named_classes(x, cells, words, task, path, name, column)
    y = np.array([float(cell) for _, cell in cells])
    whole = bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)) and np.all(y >= 0))
    if task == "classification" and not whole:
        raise ValueError(f"{path}: task='classification' needs labels that are whole numbers "
                         "0, 1, 2, ... (or class names); the label column holds others")
    if task == "classification" or (task is None and whole):
        return ArrayDataset(x.astype(np.float32), y.astype(np.int64), origin=path)
    return ArrayDataset(x.astype(np.float32), y[:, None].astype(np.float32), origin=path)


def _named_classes(x, cells, words, task, path, name, column):
    """Class names -> ids 0..K-1 in sorted order; the names kept as ``class_names``."""
    line, word = words[0]
    where = f"{path}, line {line}, column {column}: {word!r} is not a number"
    if task == "regression":
        raise ValueError(f"{where}; task='regression' needs numeric targets, but column "
                         f"{name} holds class names")
    if len(words) < len(cells):
        number = next((line, cell) for line, cell in cells if is_number(cell))
        raise ValueError(f"{where}, yet line {number[0]} has the number {number[1].strip()!r} "
                         f"in the label column {name}: labels are all numbers or all class "
                         "names")
    class_names = sorted({cell for _, cell in words})
    if len(class_names) < 2:
        raise ValueError(f"{where}, and the label column {name} holds only this one class "
                         "name: a classification needs two classes or more")
    ids = np.searchsorted(class_names, [cell for _, cell in words])
    return ArrayDataset(x.astype(np.float32), ids.astype(np.int64), origin=path,
                        class_names=class_names)
