"""Engine review: each test pins a bug that was found and fixed (what TensorFlow does, or what
the maths says), so that it stays fixed."""
import numpy as np

import minitrain as mt
from minitrain import tape as tape_module


# --- custom_gradient -------------------------------------------------------------------------
def test_nested_custom_gradients_that_read_variables():
    """The variable-read watchers were removed with list.remove, which compares lists by value:
    the inner call removed the outer's (equal) list, the outer call then failed, and a watcher
    was left behind for good."""
    v = mt.Variable(3.0)

    @mt.custom_gradient
    def inner(x):
        return x * 1.0, lambda dy: dy * 10

    @mt.custom_gradient
    def outer(x):
        y = inner(x)
        z = y * v

        def grad_fn(dy, variables=None):
            return dy * v, [dy * y for _ in variables]

        return z, grad_fn

    x = mt.constant(2.0)
    with mt.GradientTape() as tape:
        tape.watch(x)
        out = outer(x)
    gx, gv = tape.gradient(out, [x, v])
    assert (float(gx), float(gv)) == (3.0, 2.0)
    assert tape_module._variable_watchers == []


# --- Python scalars as operands --------------------------------------------------------------
def test_negative_zero_is_not_taken_for_zero():
    """Python scalars are cached by value, and 0.0 == -0.0: x / -0.0 gave +inf after x / 0.0."""
    one = mt.constant([1.0])
    with np.errstate(divide="ignore"):
        assert float(one / 0.0) == np.inf
        assert float(one / -0.0) == -np.inf
        assert float(one / 0.0) == np.inf
