"""The state of an optimizer or a metric as arrays, and back, whatever holds it; and a
training history as columns of arrays.

Optimizers save through Keras's ``save_own_variables`` / ``load_own_variables``; anything else
with a ``variables`` list (metrics) saves those values in order.
"""
import numpy as np


def capture(obj):
    if hasattr(obj, "save_own_variables"):
        store = {}
        obj.save_own_variables(store)
        return {key: np.array(value) for key, value in store.items()}
    return [np.array(v.numpy()) for v in getattr(obj, "variables", ())]


def restore(obj, state):
    if hasattr(obj, "load_own_variables"):
        obj.load_own_variables(state)
        return
    variables = list(getattr(obj, "variables", ()))
    if len(variables) != len(state):
        raise ValueError(f"{type(obj).__name__} has {len(variables)} state variables but the "
                         f"checkpoint holds {len(state)}")
    for variable, value in zip(variables, state):
        variable.assign(value)


def columns(history):
    """The history (one dict of logs per epoch) as {key: array}, one array per column:
    8 bytes a number, so a checkpoint of a long run stays small and quick to write. A history
    whose rows differ in keys, or hold more than numbers, is kept as it is."""
    keys = list(history[0]) if history else []
    if not all(list(row) == keys for row in history):
        return list(history)
    table = {}
    for key in keys:
        values = [row[key] for row in history]
        if all(type(v) is int for v in values):
            table[key] = np.array(values, np.int64)
        elif all(type(v) in (int, float) for v in values):
            table[key] = np.array(values, np.float64)  # exact: a Python float is a float64
        else:
            return list(history)
    return {"columns": table, "rows": len(history)}


def rows(table):
    """The history that ``columns`` stored (or a list kept as it was)."""
    if isinstance(table, list):
        return [dict(row) for row in table]
    values = {key: np.asarray(column).tolist() for key, column in table["columns"].items()}
    return [{key: column[i] for key, column in values.items()} for i in range(table["rows"])]
