"""Scans, products, sorting, einsum, tensordot, linspace, eye, meshgrid and pad: TensorFlow's
names, defaults, dtypes and errors, with numpy's values."""
import numpy as np
import pytest
from gradcases import tape_gradient

import minitrain as mt

rng = np.random.default_rng(7)
X = rng.uniform(-2, 2, size=(3, 4))
FLAGS = [(False, False), (True, False), (False, True), (True, True)]


def _numpy_scan(accumulate, identity, x, axis, exclusive, reverse):
    """numpy's running sum or product with TensorFlow's flags."""
    x = np.flip(x, axis) if reverse else x
    y = accumulate(x, axis=axis)
    if exclusive:
        y = np.concatenate([np.full_like(np.take(y, [0], axis), identity),
                            np.take(y, range(y.shape[axis] - 1), axis)], axis)
    return np.flip(y, axis) if reverse else y




@pytest.mark.parametrize("exclusive, reverse", FLAGS)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("name, reference, identity",
                         [("cumsum", np.cumsum, 0), ("cumprod", np.cumprod, 1)])
def test_scans_match_numpy_with_tensorflows_flags(name, reference, identity, axis, exclusive,
                                                  reverse):
    got = getattr(mt.math, name)(X, axis, exclusive=exclusive, reverse=reverse).numpy()
    np.testing.assert_allclose(got, _numpy_scan(reference, identity, X, axis, exclusive, reverse))


def test_scans_follow_tensorflows_documented_examples():
    x = mt.constant([2, 4, 6, 8])
    assert mt.cumsum(x).dtype == mt.int32  # numpy would widen to int64
    assert mt.cumsum(x).numpy().tolist() == [2, 6, 12, 20]
    assert mt.cumsum(x, exclusive=True).numpy().tolist() == [0, 2, 6, 12]
    assert mt.cumsum(x, reverse=True).numpy().tolist() == [20, 18, 14, 8]
    assert mt.cumsum(x, exclusive=True, reverse=True).numpy().tolist() == [18, 14, 8, 0]
    assert mt.math.cumprod(x, exclusive=True, reverse=True).numpy().tolist() == [192, 48, 8, 1]
    assert mt.math.cumsum is mt.cumsum and not hasattr(mt, "cumprod")  # tf.math only in TF 2


@pytest.mark.parametrize("op", [mt.cumsum, mt.math.cumprod])
def test_scans_of_empty_axes_and_bad_axes(op):
    assert op(mt.zeros((2, 0)), 1, exclusive=True).shape == (2, 0)
    with pytest.raises(ValueError, match="axis 2 is out of range for a tensor of rank 2"):
        op(mt.zeros((2, 3)), 2)
    with pytest.raises(ValueError, match="rank 0"):
        op(mt.constant(1.0))


def test_cumprod_gradient_is_exact_at_zeros():
    """TensorFlow's div_no_nan gives 0 at a zero; the product rule gives the others' product."""
    x = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    grad = tape_gradient(lambda t: mt.math.cumprod(t), x).numpy()
    # d/dx_i sum_j prod_{k<=j} x_k: only x_1's terms survive past the first zero
    np.testing.assert_allclose(grad, [1.0, 2 + 2 * 3, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1), [-1]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_prod_matches_numpy(axis, keepdims):
    got = mt.reduce_prod(X, axis, keepdims=keepdims).numpy()
    want = np.prod(X, axis=None if axis is None else tuple(np.atleast_1d(axis)),
                   keepdims=keepdims)
    np.testing.assert_allclose(got, want)


def test_reduce_prod_dtypes_and_empty_reductions():
    ints = mt.reduce_prod(mt.constant([[1, 2], [3, 4]]), 1)
    assert ints.dtype == mt.int32 and ints.numpy().tolist() == [2, 12]
    assert mt.reduce_prod(mt.zeros((0, 3)), 0).numpy().tolist() == [1, 1, 1]
    assert mt.math.reduce_prod is mt.reduce_prod


@pytest.mark.parametrize("x, want", [
    ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),  # one zero: only it has a non-zero gradient
    ([2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]),  # two zeros: every product still has one
    ([2.0, 4.0, 0.5], [2.0, 1.0, 8.0]),
])
def test_reduce_prod_gradient_with_zeros(x, want):
    np.testing.assert_allclose(tape_gradient(mt.reduce_prod, np.array(x)).numpy(), want)


def test_reduce_prod_second_derivative_with_two_zeros():
    """d2/dx0 dx1 of x0 x1 x2 x3 at x = (2, 3, 0, 0) is x2 x3 = 0; d2/dx2 dx3 is x0 x1 = 6."""
    x = mt.constant([2.0, 3.0, 0.0, 0.0])
    with mt.GradientTape() as outer:
        outer.watch(x)
        with mt.GradientTape() as inner:
            inner.watch(x)
            y = mt.reduce_prod(x)
        g = inner.gradient(y, x)
        picked = g[3]
    np.testing.assert_allclose(outer.gradient(picked, x).numpy(), [0.0, 0.0, 6.0, 0.0])


TIES = np.array([[3, 1, 3, 2, 1], [0, 0, 5, 5, -2]])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_sort_and_argsort_match_numpys_stable_sort(axis):
    np.testing.assert_array_equal(mt.sort(X, axis).numpy(), np.sort(X, axis))
    order = mt.argsort(TIES, axis)
    assert order.dtype == mt.int32
    np.testing.assert_array_equal(order.numpy(), np.argsort(TIES, axis, kind="stable"))


def test_descending_order_keeps_ties_in_index_order_as_top_k_does():
    order = mt.argsort(TIES, direction="DESCENDING").numpy()
    assert order.tolist() == [[0, 2, 3, 1, 4], [2, 3, 0, 1, 4]]
    small = np.array([np.iinfo(np.int32).min, 0, np.iinfo(np.int32).max], dtype=np.int32)
    assert mt.sort(small, direction="DESCENDING").numpy().tolist() == small[::-1].tolist()
    assert mt.sort(mt.constant([[2.0, 1.0]]), direction="DESCENDING").numpy().tolist() == [[2, 1]]


def test_sorting_errors_name_the_op():
    with pytest.raises(ValueError, match="sort: direction 'UP' should be one of ASCENDING, DES"):
        mt.sort([1.0], direction="UP")
    with pytest.raises(ValueError, match="argsort: axis -1 is out of range"):
        mt.argsort(mt.constant(1.0))


def test_argsort_and_top_k_indices_carry_no_gradient():
    x = mt.constant([3.0, 1.0, 2.0])
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        order = mt.cast(mt.argsort(x), mt.float64)
        values, indices = mt.math.top_k(x, 2)
    assert tape.gradient(order, x) is None
    np.testing.assert_array_equal(tape.gradient(values, x).numpy(), [1, 0, 1])


def test_top_k_returns_tensorflows_named_pair():
    result = mt.nn.top_k(mt.constant([[1, 5, 5, 2], [4, 3, 2, 1]]), k=3)
    assert mt.math.top_k is mt.nn.top_k and result._fields == ("values", "indices")
    assert result.values.numpy().tolist() == [[5, 5, 2], [4, 3, 2]]
    assert result.indices.dtype == mt.int32
    assert result.indices.numpy().tolist() == [[1, 2, 3], [0, 1, 2]]
    assert mt.math.top_k(X, 0).values.shape == (3, 0)
    with pytest.raises(ValueError, match=r"top_k: k = 5 must lie in \[0, 4\]"):
        mt.math.top_k(X, 5)
    with pytest.raises(ValueError, match="top_k: input must have rank >= 1"):
        mt.math.top_k(mt.constant(1.0))


EINSUM = [  # (equation, shapes): numpy's result for each
    ("ij,jk->ik", (2, 3), (3, 4)), ("ij,jk", (2, 3), (3, 4)), ("ji", (2, 3)), ("ii", (3, 3)),
    ("ii->i", (3, 3)), ("ij->", (2, 3)), ("i,j", (2,), (3,)),
    ("bij,bjk->bik", (2, 2, 3), (2, 3, 2)),
    ("...ij,...jk->...ik", (2, 1, 2, 3), (5, 3, 4)), ("...ij,...jk", (2, 2, 3), (3, 4)),
    ("...ii->...i", (2, 3, 3)), ("Ba,aB", (2, 3), (3, 2)), ("i...j,j->...i", (2, 3, 4), (4,)),
    ("ij,ij,ij->i", (2, 3), (2, 3), (2, 3)), ("ij, jk -> ik", (2, 3), (3, 1)),
    ("ij,jk->ik", (2, 0), (0, 3)),
]


@pytest.mark.parametrize("planned", [False, True])  # numpy's einsum with its path planned
@pytest.mark.parametrize("equation, shapes", [(eq, shapes) for eq, *shapes in EINSUM],
                         ids=[row[0] for row in EINSUM])
def test_einsum_matches_numpy(monkeypatch, equation, shapes, planned):
    from minitrain.ops import contraction
    monkeypatch.setattr(contraction, "_PLANNED_SIZE", 0 if planned else 1 << 62)
    xs = [rng.uniform(-1, 1, size=s) for s in shapes]
    got = mt.einsum(equation, *xs)
    want = np.einsum(equation, *xs)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
    assert mt.einsum(equation, *[x.astype(np.float32) for x in xs]).dtype == mt.float32


@pytest.mark.parametrize("equation, shapes, message", [
    ("ij,jk->ik", [(2, 3), (4, 4)], "label 'j' has sizes 3 and 4"),
    ("...ij,...jk->...ik", [(5, 2, 3), (7, 3, 4)], "has sizes 5 and 7"),
    ("...ij,...jk->ik", [(2, 2, 3), (3, 4)], "needs an ellipsis"),
    ("ij->ii", [(2, 2)], "repeat a label"),
    ("ij->k", [(2, 2)], r"contain \['k'\], not present"),
    ("ij", [(2,)], r"subscripts 'ij' of input 0 of 'ij' name 2 axes, but its shape \(2,\)"),
    ("ij,jk", [(2, 3)], "got 1 inputs for equation 'ij,jk', expecting 2"),
    ("i.j", [(2, 2)], "incorrect format"),
    ("i1", [(2, 2)], "incorrect format"),
])
def test_einsum_errors_name_the_equation_and_shapes(equation, shapes, message):
    with pytest.raises(ValueError, match=f"einsum: .*{message}"):
        mt.einsum(equation, *[np.ones(s) for s in shapes])


def test_einsum_refuses_mixed_dtypes():
    with pytest.raises(TypeError, match="einsum: inputs have different dtypes"):
        mt.einsum("i,i", np.ones(2), np.ones(2, np.float32))


@pytest.mark.parametrize("axes", [0, 1, 2, [1, 0], [[1], [0]], [[1, 2], [1, 0]],
                                  [[-1, 0], [0, -1]], np.array([[1], [0]])])
def test_tensordot_matches_numpy(axes):
    a, b = rng.uniform(size=(2, 3, 3)), rng.uniform(size=(3, 3, 2))
    np.testing.assert_allclose(mt.tensordot(a, b, axes).numpy(), np.tensordot(a, b, axes))


@pytest.mark.parametrize("axes, message", [
    (4, r"axes = 4 must lie in \[0, 3\]"), (-1, "axes = -1 must lie in"),
    ([[0, 1], [1]], "different numbers of contraction axes for a and b, 2 != 1"),
    ([[0], [0]], r"axis 0 of a \(shape \(2, 3, 3\)\) and axis 0 of b \(shape \(3, 3, 2\)\)"),
    ([0, 1, 2], "axes must be an integer or a pair of axis lists"),
    ([[3], [0]], "axis 3 is out of range"),
])
def test_tensordot_errors(axes, message):
    with pytest.raises(ValueError, match=f"tensordot: {message}"):
        mt.tensordot(np.ones((2, 3, 3)), np.ones((3, 3, 2)), axes)


def test_linspace_follows_tensorflows_examples():
    assert mt.linspace(10.0, 12.0, 3).numpy().tolist() == [10, 11, 12]
    by_rows = mt.linspace([0.0, 5.0], [10.0, 40.0], 5, axis=0)
    assert by_rows.dtype == mt.float32 and by_rows.shape == (5, 2)
    np.testing.assert_allclose(by_rows.numpy(), np.linspace([0, 5], [10, 40], 5))
    np.testing.assert_allclose(mt.linspace([0.0, 5.0], [10.0, 40.0], 5, axis=-1).numpy(),
                               np.linspace([0, 5], [10, 40], 5, axis=-1))
    ints = mt.linspace(0, 100, 5)
    assert ints.dtype == mt.float64 and ints.numpy().tolist() == [0, 25, 50, 75, 100]


def test_linspace_edges():
    assert mt.linspace(1.0, 2.0, 1).numpy().tolist() == [1.0]
    assert mt.linspace(1.0, 2.0, 0).shape == (0,)
    assert mt.linspace(np.zeros((2, 1)), np.ones(3), 4, axis=1).shape == (2, 4, 3)
    assert mt.linspace(0.0, 1.0, 7).numpy()[-1] == 1.0  # the last value is stop exactly
    with pytest.raises(ValueError, match="linspace: num must be >= 0, got -1"):
        mt.linspace(0.0, 1.0, -1)
    with pytest.raises(TypeError):  # stop takes start's dtype, as TensorFlow converts it
        mt.linspace(0, 1.5, 3)


def test_eye_shapes_and_dtypes():
    np.testing.assert_array_equal(mt.eye(2).numpy(), np.eye(2))
    assert mt.eye(2).dtype == mt.float32 and mt.eye(2, dtype=mt.int32).dtype == mt.int32
    np.testing.assert_array_equal(mt.eye(2, num_columns=3).numpy(), np.eye(2, 3))
    batch = mt.eye(2, batch_shape=[3, 1])
    assert batch.shape == (3, 1, 2, 2)
    np.testing.assert_array_equal(batch.numpy()[2, 0], np.eye(2))
    assert mt.eye(0).shape == (0, 0)
    with pytest.raises(ValueError, match="eye: num_rows and num_columns must be >= 0"):
        mt.eye(-1)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("args", [([1, 2, 3],), ([1, 2, 3], [4, 5]), ([1, 2], [3, 4, 5], [6])])
def test_meshgrid_matches_numpy(args, indexing):
    grids = mt.meshgrid(*args, indexing=indexing)
    for got, want in zip(grids, np.meshgrid(*args, indexing=indexing), strict=True):
        np.testing.assert_array_equal(got.numpy(), want)


def test_meshgrid_refuses_unknown_arguments():
    assert mt.meshgrid() == []
    with pytest.raises(ValueError, match="meshgrid: indexing must be either 'xy' or 'ij'"):
        mt.meshgrid([1], indexing="yx")
    with pytest.raises(TypeError, match="meshgrid: 'sparse' is an invalid keyword argument"):
        mt.meshgrid([1], sparse=True)


@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC", "reflect"])
@pytest.mark.parametrize("paddings", [[[1, 1], [2, 1]], [[0, 0], [0, 2]], [[1, 0], [0, 0]]])
def test_pad_matches_numpy(mode, paddings):
    x = np.arange(12.0).reshape(3, 4)
    want = np.pad(x, paddings, mode=mode.lower())
    np.testing.assert_array_equal(mt.pad(x, paddings, mode).numpy(), want)


def test_pad_constant_values_and_dtypes():
    x = mt.constant([[1, 2]])
    padded = mt.pad(x, [[1, 0], [0, 1]], constant_values=9)
    assert padded.dtype == mt.int32 and padded.numpy().tolist() == [[9, 9, 9], [1, 2, 9]]
    assert mt.pad(mt.constant(3.0), []).numpy() == 3.0
    assert mt.pad(mt.zeros((0, 2)), mt.constant([[1, 1], [0, 0]])).shape == (2, 2)


@pytest.mark.parametrize("paddings, mode, message", [
    ([[1, 0]], "CONSTANT", r"paddings must be integers of shape \(2, 2\)"),
    ([[-1, 0], [0, 0]], "CONSTANT", "paddings must be non-negative"),
    ([[3, 0], [0, 0]], "REFLECT", "REFLECT paddings must be less than the dimension size 3"),
    ([[0, 0], [5, 0]], "SYMMETRIC",
     "SYMMETRIC paddings must be no greater than the dimension size 4"),
    ([[0, 0], [0, 0]], "WRAP", "mode must be one of 'CONSTANT', 'REFLECT' or 'SYMMETRIC'"),
])
def test_pad_errors(paddings, mode, message):
    with pytest.raises(ValueError, match=f"pad: {message}"):
        mt.pad(np.ones((3, 4)), paddings, mode)
