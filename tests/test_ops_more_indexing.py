"""gather_nd, scatter_nd, tensor_scatter_nd_*, boolean_mask, segment sums, norms and clipping:
TensorFlow's names, shapes, dtypes and errors, with numpy's values."""
import numpy as np
import pytest
from gradcases import tape_gradient

import minitrain as mt

rng = np.random.default_rng(11)
P = rng.uniform(-1, 1, size=(3, 4, 2))




@pytest.mark.parametrize("indices", [[[0, 1], [2, 3]], [[1], [0], [1]], [[0, 1, 1]],
                                     [[[2, 0]], [[1, 3]]], np.zeros((2, 0), np.int64)])
def test_gather_nd_matches_numpy_indexing(indices):
    idx = np.asarray(indices)
    want = P[tuple(np.moveaxis(idx, -1, 0))] if idx.shape[-1] else np.broadcast_to(
        P, idx.shape[:-1] + P.shape)
    np.testing.assert_array_equal(mt.gather_nd(P, indices).numpy(), want)


def test_gather_nd_batch_dims_pairs_the_leading_axes():
    got = mt.gather_nd(P, [[[1], [0]], [[3], [3]], [[0], [2]]], batch_dims=1)
    assert got.shape == (3, 2, 2)
    np.testing.assert_array_equal(got.numpy()[1], P[1, [3, 3]])


@pytest.mark.parametrize("indices, batch_dims, error, message", [
    ([[0, 4]], 0, IndexError, r"indices\[0\] = \[0, 4\] does not index into shape \(3, 4, 2\)"),
    ([[-1, 0]], 0, IndexError, r"indices\[0\] = \[-1, 0\] does not index"),
    ([[0, 1, 1, 1]], 0, ValueError, "hold 4 coordinates, more than the 3 axes"),
    (0, 0, ValueError, "indices must have rank >= 1"),
    ([[0], [1]], 1, ValueError, "to share their first 1 axes"),
    ([[0.5]], 0, TypeError, "indices must be integers, got float32"),
])
def test_gather_nd_errors(indices, batch_dims, error, message):
    with pytest.raises(error, match=f"gather_nd: .*{message}"):
        mt.gather_nd(P, indices, batch_dims=batch_dims)


def test_scatter_nd_adds_repeated_coordinates():
    got = mt.scatter_nd([[4], [3], [1], [7], [1]], [9.0, 10, 11, 12, 1], [8])
    assert got.numpy().tolist() == [0, 12, 0, 10, 9, 0, 0, 12]
    rows = mt.scatter_nd([[0], [2]], np.ones((2, 3)), mt.constant([4, 3]))
    assert rows.shape == (4, 3) and rows.numpy()[:, 0].tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize("indices, updates, error, message", [
    ([[8]], [1.0], IndexError, r"indices\[0\] = \[8\] does not index into shape \(8,\)"),
    ([[1]], [1.0, 2.0], ValueError, r"updates of shape \(2,\) must have shape \(1,\)"),
])
def test_scatter_nd_errors(indices, updates, error, message):
    with pytest.raises(error, match=f"scatter_nd: {message}"):
        mt.scatter_nd(indices, updates, [8])


def test_tensor_scatter_nd_update_add_and_sub():
    x = mt.constant(np.arange(8.0))
    idx, updates = [[4], [3], [1], [7]], [9.0, 10, 11, 12]
    assert mt.tensor_scatter_nd_update(x, idx, updates).numpy().tolist() == [
        0, 11, 2, 10, 9, 5, 6, 12]
    assert mt.tensor_scatter_nd_add(x, idx, updates).numpy().tolist() == [
        0, 12, 2, 13, 13, 5, 6, 19]
    assert mt.tensor_scatter_nd_sub(x, idx, updates).numpy().tolist() == [
        0, -10, 2, -7, -5, 5, 6, -5]
    assert x.numpy().tolist() == list(range(8))  # the input is untouched
    with pytest.raises(ValueError, match="tensor_scatter_nd_update: updates of shape"):
        mt.tensor_scatter_nd_update(x, idx, [1.0])
    with pytest.raises(TypeError, match="different dtypes"):
        mt.tensor_scatter_nd_update(x, idx, mt.constant([1, 2, 3, 4]))


def test_tensor_scatter_nd_update_gradients_are_tensorflows():
    """The tensor's gradient is zero where it was overwritten; each update gets grad there."""
    x, v = mt.constant([1.0, 2.0, 3.0]), mt.constant([5.0])
    with mt.GradientTape(persistent=True) as tape:
        tape.watch([x, v])
        y = mt.tensor_scatter_nd_update(x, [[1]], v) * mt.constant([1.0, 2.0, 3.0])
    assert tape.gradient(y, x).numpy().tolist() == [1, 0, 3]
    assert tape.gradient(y, v).numpy().tolist() == [2]


@pytest.mark.parametrize("mask, axis", [([True, False, True], None), ([True, False, True], 0),
                                        ([[True, False, True, True]] * 3, 0),
                                        ([False, True, True, False], 1), ([True, False], -1),
                                        ([[False, True]] * 4, 1), ([False] * 3, 0)])
def test_boolean_mask_matches_numpy(mask, axis):
    m = np.asarray(mask)
    want = P[(slice(None),) * ((axis or 0) % P.ndim) + (m,)]
    np.testing.assert_array_equal(mt.boolean_mask(P, mask, axis=axis).numpy(), want)
    assert mt.boolean_mask(P, mt.constant(m), axis=axis).shape == want.shape


def test_boolean_mask_errors():
    with pytest.raises(ValueError, match=r"boolean_mask: mask cannot be scalar."):
        mt.boolean_mask(P, True)
    with pytest.raises(ValueError, match=r"boolean_mask: a mask of shape \(2,\) does not match "
                                         r"axes 0..0 of the tensor of shape \(3, 4, 2\)"):
        mt.boolean_mask(P, [True, False])


def test_segment_sum_follows_tensorflows_example():
    c = mt.constant([[1, 2, 3, 4], [4, 3, 2, 1], [5, 6, 7, 8]])
    got = mt.math.segment_sum(c, [0, 0, 1])
    assert got.dtype == mt.int32 and got.numpy().tolist() == [[5, 5, 5, 5], [5, 6, 7, 8]]
    # an id that no row has is an empty segment: it sums to zero
    assert mt.math.segment_sum([1.0, 2.0], [0, 2]).numpy().tolist() == [1, 0, 2]
    assert mt.math.segment_sum(np.zeros((0, 2)), np.zeros(0, np.int32)).shape == (0, 2)


@pytest.mark.parametrize("ids, message", [
    ([1, 0, 1], "segment ids are not increasing"), ([-1, 0, 0], "segment ids must be >= 0"),
    ([0, 0], r"should be a vector the size of dimension 0 of data \(shape \(3,\)\)"),
])
def test_segment_sum_errors(ids, message):
    with pytest.raises(ValueError, match=f"segment_sum: .*{message}"):
        mt.math.segment_sum([1.0, 2.0, 3.0], ids)


def test_unsorted_segment_sum_drops_negative_ids():
    c = mt.constant([[1, 2, 3, 4], [5, 6, 7, 8], [4, 3, 2, 1]])
    got = mt.math.unsorted_segment_sum(c, [0, 1, 0], num_segments=2)
    assert got.numpy().tolist() == [[5, 5, 5, 5], [5, 6, 7, 8]]
    dropped = mt.math.unsorted_segment_sum([1.0, 2.0, 4.0], [-1, 1, 1], 3)
    assert dropped.numpy().tolist() == [0, 6, 0]
    grid = mt.math.unsorted_segment_sum(np.ones((2, 2, 3)), [[0, 1], [1, -1]], 2)
    assert grid.shape == (2, 3) and grid.numpy()[:, 0].tolist() == [1, 2]
    grad = tape_gradient(lambda t: mt.math.unsorted_segment_sum(t, [-1, 1, 1], 3) * [1, 2, 3],
                     [1.0, 2.0, 4.0])
    assert grad.numpy().tolist() == [0, 2, 2]
    with pytest.raises(IndexError, match=r"segment_ids\[1\] = 3 is out of range \[0, 3\)"):
        mt.math.unsorted_segment_sum([1.0, 2.0], [0, 3], 3)
    with pytest.raises(ValueError, match="must be a prefix of data's shape"):
        mt.math.unsorted_segment_sum([1.0, 2.0], [0, 1, 1], 3)


X = rng.uniform(-2, 2, size=(2, 3, 4))


@pytest.mark.parametrize("ord", ["euclidean", 1, 2, np.inf, 3, 0.5])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_vector_norms_match_numpy(ord, axis):
    flat = X.reshape(-1) if axis is None else X
    want = np.linalg.norm(flat, ord=None if ord == "euclidean" else ord, axis=axis)
    np.testing.assert_allclose(mt.norm(X, ord, axis).numpy(), want)


@pytest.mark.parametrize("ord", ["euclidean", "fro", 1, 2, np.inf])
@pytest.mark.parametrize("axis", [(0, 1), [-1, -2], (2, 0)])
def test_matrix_norms_match_numpy(ord, axis):
    want = np.linalg.norm(X, ord="fro" if ord == "euclidean" else ord, axis=tuple(axis),
                          keepdims=True)
    got = mt.norm(X, ord, axis, keepdims=True)
    assert got.shape == want.shape and got.dtype == mt.float64
    np.testing.assert_allclose(got.numpy(), want)


@pytest.mark.parametrize("ord, axis, error, message", [
    ("fro", None, ValueError, "the Frobenius norm 'fro' is not defined for vectors"),
    (0, None, ValueError, "'ord' must be a supported vector norm"),
    (-1, 0, ValueError, "'ord' must be a supported vector norm"),
    (3, (0, 1), ValueError, r"'ord' must be a supported matrix norm in \['euclidean', 'fro'"),
    ("euclidean", (1, 1), ValueError, "a tuple of 2 unique integers, got"),
    ("euclidean", (1, -2), ValueError, "a tuple of 2 unique integers"),
    ("euclidean", 1.5, ValueError, "'axis' must be None, an integer, or a tuple of 2"),
    ("euclidean", 3, ValueError, "axis 3 is out of range for a tensor of rank 3"),
])
def test_norm_errors(ord, axis, error, message):
    with pytest.raises(error, match=f"norm: .*{message}"):
        mt.norm(X, ord, axis)


def test_norm_needs_floats_and_keeps_float32():
    assert mt.norm(X.astype(np.float32)).dtype == mt.float32
    with pytest.raises(TypeError, match="norm: needs a floating tensor, got int32"):
        mt.norm(mt.constant([3, 4]))


@pytest.mark.parametrize("f, want", [
    (mt.norm, 0), (lambda t: mt.norm(t, 3), 0), (mt.math.reduce_euclidean_norm, 0),
    (lambda t: mt.norm(t, axis=(0, 1)), 0), (lambda t: mt.clip_by_global_norm([t], 1.0)[1], 0),
    (lambda t: mt.clip_by_norm(t, 1.0), 1), (lambda t: mt.clip_by_global_norm([t], 1.0)[0][0], 1),
])
def test_norm_gradients_at_zero_are_finite(f, want):
    """sqrt's gradient at 0 is infinite: TensorFlow's norm gives NaN there, minitrain's 0."""
    assert tape_gradient(f, np.zeros((2, 2))).numpy().tolist() == [[want, want], [want, want]]


def test_reduce_euclidean_norm_follows_tensorflows_example():
    x = mt.constant([[1, 2, 3], [1, 1, 1]])
    norm = mt.math.reduce_euclidean_norm(x)
    assert norm.dtype == mt.int32 and norm.numpy() == 4  # sqrt(17), rounded down
    assert mt.math.reduce_euclidean_norm(x, 0).numpy().tolist() == [1, 2, 3]
    np.testing.assert_allclose(mt.math.reduce_euclidean_norm(X, [0, 2], keepdims=True).numpy(),
                               np.sqrt((X ** 2).sum(axis=(0, 2), keepdims=True)))


def test_l2_normalize_follows_tensorflows_examples():
    assert mt.math.l2_normalize is mt.nn.l2_normalize
    np.testing.assert_allclose(mt.math.l2_normalize(mt.constant([3.0, 4.0])).numpy(), [0.6, 0.8])
    column = mt.constant([[3.0], [4.0]])
    np.testing.assert_allclose(mt.nn.l2_normalize(column, 0).numpy(), [[0.6], [0.8]])
    np.testing.assert_allclose(mt.nn.l2_normalize(column, 1).numpy(), [[1.0], [1.0]])
    assert mt.nn.l2_normalize(mt.zeros(3)).numpy().tolist() == [0, 0, 0]  # epsilon's floor


def test_clip_by_norm_follows_tensorflows_example():
    t = mt.constant([[1.0, 2.0, 3.0, 4.0, 5.0]])
    np.testing.assert_allclose(mt.clip_by_norm(t, 2.0).numpy(),
                               [[0.26967996, 0.5393599, 0.80903983, 1.0787199, 1.3483998]],
                               rtol=1e-6)
    np.testing.assert_array_equal(mt.clip_by_norm(t, 10.0).numpy(), t.numpy())
    rows = mt.clip_by_norm(mt.constant([[3.0, 4.0], [0.3, 0.4]]), 1.0, axes=[1]).numpy()
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)


def test_clip_by_global_norm_scales_every_tensor_together():
    clipped, norm = mt.clip_by_global_norm([mt.constant([3.0, 4.0]), None,
                                            mt.constant([12.0])], 6.5)
    assert isinstance(clipped, list) and clipped[1] is None
    np.testing.assert_allclose(norm.numpy(), 13.0)
    np.testing.assert_allclose(clipped[0].numpy(), [1.5, 2.0])
    np.testing.assert_allclose(clipped[2].numpy(), [6.0])
    same, _ = mt.clip_by_global_norm([mt.constant([3.0, 4.0])], 5.0, use_norm=2.0)
    np.testing.assert_allclose(same[0].numpy(), [3.0, 4.0])
    infinite, _ = mt.clip_by_global_norm([mt.constant([np.inf, 1.0])], 1.0)
    assert np.isnan(infinite[0].numpy()).all()
    with pytest.raises(TypeError, match="clip_by_global_norm: t_list should be a sequence"):
        mt.clip_by_global_norm(mt.constant([1.0]), 1.0)
