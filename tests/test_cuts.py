"""The non-differentiable elementwise ops: numpy's values, TensorFlow's names, no gradient."""
import inspect

import numpy as np
import pytest

import minitrain as mt

X = np.array([-1.5, -0.5, 0.0, 0.5, 2.5, np.inf, np.nan])
Y = np.array([-1.5, 0.5, 1.0, 0.5, 2.0, np.inf, 0.0])
CUTS = [  # (name, numpy's version, operands)
    ("less", np.less, 2), ("less_equal", np.less_equal, 2), ("greater", np.greater, 2),
    ("greater_equal", np.greater_equal, 2), ("equal", np.equal, 2),
    ("not_equal", np.not_equal, 2), ("logical_and", np.logical_and, 2),
    ("logical_or", np.logical_or, 2), ("logical_not", np.logical_not, 1),
    ("floor", np.floor, 1), ("ceil", np.ceil, 1), ("round", np.round, 1),
    ("is_nan", np.isnan, 1), ("is_finite", np.isfinite, 1),
]


@pytest.mark.parametrize("name, reference, operands", CUTS, ids=[c[0] for c in CUTS])
def test_each_cut_computes_numpys_values(name, reference, operands):
    op = getattr(mt, name)
    assert op.__name__ == name and op.__doc__.endswith("(no gradient).")
    assert list(inspect.signature(op).parameters) == [*"xy"[:operands], "name"]
    got = op(*map(mt.constant, (X, Y)[:operands])).numpy()
    np.testing.assert_array_equal(got, reference(*(X, Y)[:operands]))


@pytest.mark.parametrize("name", ["floor", "ceil", "round"])
def test_rounding_stops_the_gradient_as_tensorflow_does(name):
    x = mt.constant(X)
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.reduce_sum(getattr(mt, name)(x))
    assert tape.gradient(y, x) is None


def test_round_takes_halves_to_even_as_tensorflow_does():
    got = mt.round(mt.constant([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])).numpy()
    np.testing.assert_array_equal(got, [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0])


def test_a_comparison_of_two_dtypes_names_the_op():
    with pytest.raises(TypeError, match="greater"):
        mt.greater(mt.constant([1.0]), mt.constant([1], dtype="int32"))
