"""Ops that move elements (reshape, indexing, joining, where, clip, cast): gradient tables."""
import numpy as np
import pytest
from gradcases import Inputs, case, table_tests

import minitrain as mt

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")

rng = Inputs(seed=1)
u = rng.uniform

RESHAPE_CASES = [
    case("reshape(2,3)->(3,2)", lambda x: mt.reshape(x, (3, 2)), u(2, 3)),
    case("reshape(6,)->(2,-1)", lambda x: mt.reshape(x, (2, -1)), u(6)),
    case("reshape()->(1,1)", lambda x: mt.reshape(x, (1, 1)), u()),
    case("transpose", mt.transpose, u(2, 3, 4)),
    case("transpose(1,0,2)", lambda x: mt.transpose(x, (1, 0, 2)), u(2, 3, 4)),
    case("transpose(-1,0,1)", lambda x: mt.transpose(x, (-1, 0, 1)), u(2, 3, 4)),
    case("matrix_transpose", mt.matrix_transpose, u(2, 3, 4)),
    case("expand_dims(0)", lambda x: mt.expand_dims(x, 0), u(2, 3)),
    case("expand_dims(1)", lambda x: mt.expand_dims(x, 1), u(2, 3)),
    case("expand_dims(-1)", lambda x: mt.expand_dims(x, -1), u(2, 3)),
    case("squeeze", mt.squeeze, u(1, 3, 1)),
    case("squeeze(0)", lambda x: mt.squeeze(x, 0), u(1, 3, 1)),
    case("squeeze(-1)", lambda x: mt.squeeze(x, -1), u(1, 3, 1)),
    case("squeeze((0,2))", lambda x: mt.squeeze(x, (0, 2)), u(1, 3, 1)),
    case("broadcast_to(3,)->(2,3)", lambda x: mt.broadcast_to(x, (2, 3)), u(3)),
    case("broadcast_to(2,1)->(2,3)", lambda x: mt.broadcast_to(x, (2, 3)), u(2, 1)),
    case("broadcast_to()->(2,2)", lambda x: mt.broadcast_to(x, (2, 2)), u()),
    case("broadcast_to(1,3,1)->(2,3,4)", lambda x: mt.broadcast_to(x, (2, 3, 4)), u(1, 3, 1)),
    case("tile(2,1)", lambda x: mt.tile(x, (2, 1)), u(2, 3)),
    case("tile(1,3)", lambda x: mt.tile(x, (1, 3)), u(2, 3)),
    case("tile(2,2,1)", lambda x: mt.tile(x, (2, 2, 1)), u(2, 1, 3)),
    case("tile(3,)", lambda x: mt.tile(x, (3,)), u(2)),
]

JOIN_CASES = [
    case("concat axis 0", lambda x, y: mt.concat([x, y], 0), u(2, 3), u(1, 3)),
    case("concat axis 1", lambda x, y: mt.concat([x, y], 1), u(2, 3), u(2, 2)),
    case("concat axis -1, three", lambda x, y, z: mt.concat([x, y, z], -1),
         u(2, 1, 2), u(2, 1, 3), u(2, 1, 1)),
    case("concat one input twice", lambda x: mt.concat([x, x * 2], 0), u(2, 3)),
    case("stack axis 0", lambda x, y: mt.stack([x, y]), u(2, 3), u(2, 3)),
    case("stack axis 1", lambda x, y: mt.stack([x, y], axis=1), u(2, 3), u(2, 3)),
    case("stack axis -1", lambda x, y, z: mt.stack([x, y, z], axis=-1), u(2), u(2), u(2)),
    # the pieces are weighted differently, so a gradient sent to the wrong piece shows
    case("unstack axis 0", lambda x: _weighted(mt.unstack(x)), u(3, 2)),
    case("unstack axis 1", lambda x: _weighted(mt.unstack(x, axis=1)), u(2, 3, 2)),
    case("unstack axis -1", lambda x: _weighted(mt.unstack(x, axis=-1)), u(2, 3)),
]


def _weighted(pieces):
    return mt.stack([(k + 1) * p * p for k, p in enumerate(pieces)])


INDEX_CASES = [  # (id, index) applied to a (4, 5) input
    ("int", 2),
    ("negative int", -1),
    ("int,int", (1, 3)),
    ("slice", slice(1, 3)),
    ("slice step", (slice(None), slice(0, 5, 2))),
    ("negative step", slice(None, None, -1)),
    ("negative step 2", (slice(3, 0, -2), slice(None, None, -3))),
    ("None", (None, slice(1, 3))),
    ("Ellipsis", (Ellipsis, 1)),
    ("Ellipsis None", (Ellipsis, None)),
    ("int array", np.array([3, 0, 2])),
    ("repeated int array", np.array([1, 1, 3, 1])),
    ("list", [0, 2]),
    ("2-D int array", np.array([[0, 1], [3, 3]])),
    ("arrays in two axes", (np.array([0, 2, 2]), np.array([4, 1, 4]))),
    ("slice and array", (slice(1, None), np.array([4, 0, 4]))),
    ("array, negative step", (np.array([2, 2]), slice(None, None, -2))),
    ("None and array", (None, np.array([1, 1]))),
    ("Ellipsis and array", (Ellipsis, np.array([0, 0, 3]))),
    ("boolean mask", np.array([True, False, True, True])),
    ("2-D boolean mask", np.arange(20).reshape(4, 5) % 3 == 0),
    ("mask in axis 1", (slice(None), np.array([False, True, True, False, True]))),
    ("tensor index", mt.constant([2, 0, 2])),
    ("negative int array", np.array([-1, 0, -1])),
    ("tensor mask", mt.constant([False, True, True, False])),
]
GETITEM_CASES = [case(f"getitem {name}", lambda x, i=index: x[i], u(4, 5))
                 for name, index in INDEX_CASES]

GATHER_CASES = [
    case("gather axis 0", lambda x: mt.gather(x, [2, 0]), u(3, 4)),
    case("gather repeated", lambda x: mt.gather(x, [1, 1, 2, 1]), u(3, 4)),
    case("gather axis 1", lambda x: mt.gather(x, [3, 0, 3], axis=1), u(3, 4)),
    case("gather axis -1", lambda x: mt.gather(x, [1, 1], axis=-1), u(2, 3, 4)),
    case("gather 2-D indices", lambda x: mt.gather(x, [[0, 2], [2, 2]]), u(3, 4)),
    case("gather batch_dims=1", lambda x: mt.gather(x, [[0, 0], [3, 1], [2, 2]], batch_dims=1),
         u(3, 4)),
    case("scatter_add", lambda v: mt.scatter_add(v, (np.array([0, 2, 0]),), (3, 2)), u(3, 2)),
]

_MASK = np.array([[True, False, True], [False, False, True]])
SELECT_CASES = [
    case("where", lambda x, y: mt.where(_MASK, x, y), u(2, 3), u(2, 3)),
    case("where broadcast", lambda x, y: mt.where(_MASK, x, y), u(3), u(2, 1)),
    case("where scalar y", lambda x: mt.where(_MASK, x, 0.5), u(2, 3)),
    case("where scalar x", lambda y: mt.where(_MASK, -1.0, y), u(2, 3)),
    case("where condition broadcast", lambda x, y: mt.where(_MASK[:, :1], x, y), u(2, 3), u(3)),
    # values in (-2, -0.6) and (0.6, 2) with bounds -0.5 and 0.5: clipped or not, never on one
    case("clip_by_value", lambda x: mt.clip_by_value(x, -0.5, 0.5),
         np.concatenate([u(3, low=-2, high=-0.6), u(3, low=0.6, high=2), u(3, low=-.4, high=.4)])),
    case("clip_by_value tensor bounds", mt.clip_by_value,
         np.array([-1.0, 0.0, 2.0, 0.5]), np.array([-0.5, -0.5, 1.0, 1.0]),
         np.array([0.5, 0.3, 1.5, 2.0])),
]

CAST_CASES = [  # float32 keeps ~7 digits: a wide step and a looser tolerance
    case("cast to float32", lambda x: mt.cast(x, mt.float32), u(2, 3),
         eps=1e-2, atol=1e-4, rtol=1e-4),
    case("cast round trip", lambda x: mt.cast(mt.cast(x, "float32"), mt.float64) * x, u(2, 3),
         eps=1e-2, atol=1e-4, rtol=1e-4),
    case("cast to float64 is identity", lambda x: mt.cast(x, mt.float64), u(2, 3)),
]


# Moving elements is linear; cubing the result makes the first derivative depend on x again,
# so its own gradient must travel back through the op's gradient (scatter, slice, sum...).
def _cubed(f):
    return lambda *xs: f(*xs) ** 3


SECOND_CASES = [
    case("getitem slice", _cubed(lambda x: x[1:, ::-2]), u(4, 5)),
    case("getitem repeated array", _cubed(lambda x: x[np.array([1, 1, 3])]), u(4, 5)),
    case("getitem mask", _cubed(lambda x: x[np.array([True, False, True, True])]), u(4, 5)),
    case("gather repeated", _cubed(lambda x: mt.gather(x, [2, 0, 2], axis=1)), u(2, 3)),
    case("tile", _cubed(lambda x: mt.tile(x, (2, 1, 2))), u(2, 1, 2)),
    case("concat", _cubed(lambda x, y: mt.concat([x, y], -1)), u(2, 2), u(2, 1)),
    case("transpose", _cubed(lambda x: mt.transpose(x, (2, 0, 1))), u(2, 3, 2)),
    case("broadcast_to", _cubed(lambda x: mt.broadcast_to(x, (2, 3))), u(3)),
    case("where", _cubed(lambda x, y: mt.where(_MASK, x, y)), u(3), u(2, 1)),
    case("unstack", lambda x: _weighted(mt.unstack(x, axis=1)), u(2, 3)),
    # not cubed: with the wide step float32 needs, a cube's third derivative shows
    case("cast round trip", lambda x: mt.cast(mt.cast(x, "float32"), mt.float64) * x, u(2, 3),
         eps=1e-2, atol=1e-4, rtol=1e-4),
]


def _other_device(x):
    return "gpu" if x.device == "cpu" else "cpu"


# a copy to the other device and back: needs a GPU whichever device the table runs on
COPY_CASES = [
    case("copy to the other device and back",
         lambda x: (x.to(_other_device(x)) ** 3).to(x.device), u(2, 3), marks=pytest.mark.gpu),
]

FIRST_ORDER = (RESHAPE_CASES + JOIN_CASES + GETITEM_CASES + GATHER_CASES + SELECT_CASES
               + CAST_CASES + COPY_CASES)
SECOND_ORDER = SECOND_CASES + COPY_CASES


test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)


@pytest.mark.parametrize("name, index", INDEX_CASES, ids=[row[0] for row in INDEX_CASES])
def test_getitem_matches_numpy(name, index):
    x = u(4, 5)
    expected = x[index.numpy() if isinstance(index, mt.Tensor) else index]
    np.testing.assert_array_equal(mt.constant(x)[index].numpy(), expected)


def test_gather_repeated_index_accumulates():
    """Each row's gradient counts how often the row was gathered."""
    x = mt.constant(u(3, 2))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.gather(x, [2, 0, 2, 2])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [[1, 1], [0, 0], [3, 3]])


@pytest.mark.parametrize("source, target", [(np.float64, mt.float32), (np.float32, mt.float64)])
def test_cast_gradient_has_the_source_dtype(source, target):
    x = mt.constant(u(3).astype(source))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.cast(x, target) * 2
    assert y.dtype == target
    grad = tape.gradient(y, x)
    assert grad.dtype == source
    np.testing.assert_array_equal(grad.numpy(), [2, 2, 2])


def test_cast_to_integer_cuts_the_gradient():
    x = mt.constant(u(3))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.cast(mt.cast(x, mt.int32), mt.float64) + x
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [1, 1, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_op_gradients_keep_dtype(dtype):
    x = mt.constant(u(3, 4).astype(dtype))
    with mt.GradientTape() as tape:
        tape.watch(x)
        parts = [x[::-1, 1], mt.gather(x, [0, 0], axis=1), mt.tile(x[:1], (2, 1)),
                 mt.where(x > 0, x, 0.5), mt.clip_by_value(x, -0.5, 0.5)]
        y = mt.concat([mt.reshape(p, [-1]) for p in parts], 0)
    assert tape.gradient(y, x).dtype == dtype


def test_tile_needs_one_multiple_per_axis():
    """numpy's tile pads the shorter of shape and multiples; TensorFlow's raises, as here."""
    with pytest.raises(ValueError, match=r"tile: multiples \(2, 1, 1\) need one entry per axis"):
        mt.tile(mt.constant(u(2, 3)), (2, 1, 1))


@pytest.mark.parametrize("axis", [np.int64(-1), np.array(2), mt.constant(2)],
                         ids=["numpy int", "0-d array", "tensor"])
def test_squeeze_takes_any_integer_axis(axis):
    assert mt.squeeze(mt.constant(u(1, 3, 1)), axis).shape == (1, 3)


@pytest.mark.parametrize("axis", [3, -4])
def test_expand_dims_refuses_an_axis_out_of_range(axis):
    with pytest.raises(ValueError, match="expand_dims: axis"):
        mt.expand_dims(mt.zeros((2, 3)), axis)
