"""The state of an optimizer or a metric as arrays, and back, whatever holds it.

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
