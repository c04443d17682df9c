"""Scans, products, sorting, einsum, coordinate gathers and scatters, norms, clipping, grids
and padding: gradients and second derivatives against finite differences (float64)."""
import numpy as np
import pytest
from gradcases import Inputs, case, table_tests

import minitrain as mt
from minitrain.ops.norms import top_singular_direction

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")

rng = Inputs(seed=3)
u, signed, distinct = rng.uniform, rng.signed, rng.distinct

ONE_ZERO = np.array([[1.5, -0.5, 0.0, 2.0], [0.7, 1.2, -1.1, 0.9]])
ZEROS = np.array([[0.0, 1.5, 0.0, -2.0], [0.8, 0.0, 0.0, 1.3], [1.1, -0.6, 0.9, 1.4]])
FLAGS = [(False, False), (True, False), (False, True), (True, True)]

SCAN_CASES = [
    *(case(f"cumsum axis 1 exclusive={e} reverse={r}",
           lambda x, e=e, r=r: mt.cumsum(x, 1, exclusive=e, reverse=r), u(2, 4))
      for e, r in FLAGS),
    case("cumsum axis 0", mt.cumsum, u(3, 2)),
    case("cumsum axis -1 of 3-D", lambda x: mt.cumsum(x, -1), u(2, 2, 3)),
    *(case(f"cumprod exclusive={e} reverse={r}",
           lambda x, e=e, r=r: mt.math.cumprod(x, 1, exclusive=e, reverse=r), u(2, 4))
      for e, r in FLAGS),
    *(case(f"cumprod zeros exclusive={e} reverse={r}",
           lambda x, e=e, r=r: mt.math.cumprod(x, 1, exclusive=e, reverse=r), ZEROS)
      for e, r in FLAGS),
    case("cumprod one zero, axis 0", lambda x: mt.math.cumprod(x, 0), ONE_ZERO.T),
    case("reduce_prod", mt.reduce_prod, u(2, 3)),
    case("reduce_prod axis 1", lambda x: mt.reduce_prod(x, 1), u(2, 3)),
    case("reduce_prod axes (0, 2) keepdims",
         lambda x: mt.reduce_prod(x, (0, 2), keepdims=True), u(2, 3, 2)),
    case("reduce_prod axis -1, one zero", lambda x: mt.reduce_prod(x, -1), ONE_ZERO),
    case("reduce_prod axis 1, several zeros", lambda x: mt.reduce_prod(x, 1), ZEROS),
    case("reduce_prod all, several zeros", mt.reduce_prod, ZEROS),
    case("sort", mt.sort, distinct(2, 5)),
    case("sort axis 0 descending", lambda x: mt.sort(x, 0, "DESCENDING"), distinct(4, 3)),
    case("top_k values", lambda x: mt.math.top_k(x, 3).values, distinct(2, 5)),
    case("nn.top_k k=1", lambda x: mt.nn.top_k(x).values, distinct(3, 2, 4)),
]

EINSUM_CASES = [  # (equation, operand shapes)
    ("ij,jk->ik", (2, 3), (3, 4)),
    ("ij,jk", (2, 3), (3, 2)),
    ("ii", (3, 3)),
    ("ii->i", (3, 3)),
    ("iij->ji", (2, 2, 3)),
    ("ij->", (2, 3)),
    ("i,j->ij", (2,), (3,)),
    ("bij,bjk->bik", (2, 2, 3), (2, 3, 2)),
    ("...ij,...jk->...ik", (2, 1, 2, 3), (3, 3, 2)),
    ("...i,...i->...", (1, 3), (4, 3)),
    ("ij,ij,ij->i", (2, 3), (2, 3), (2, 3)),
    ("i...j,j->...i", (2, 3, 4), (4,)),
]
CONTRACT_CASES = [
    *(case(f"einsum {eq}", lambda *xs, eq=eq: mt.einsum(eq, *xs), *(u(*s) for s in shapes))
      for eq, *shapes in EINSUM_CASES),
    case("linalg.einsum trace of a product", lambda a, b: mt.einsum("ij,ji", a, b),
         u(2, 3), u(3, 2)),
    case("tensordot axes=1", lambda a, b: mt.tensordot(a, b, 1), u(2, 3), u(3, 2)),
    case("tensordot axes=0", lambda a, b: mt.tensordot(a, b, 0), u(2), u(3)),
    case("tensordot pairs", lambda a, b: mt.tensordot(a, b, [[1, 2], [1, 0]]),
         u(2, 3, 4), u(4, 3, 2)),
    case("tensordot ints", lambda a, b: mt.tensordot(a, b, [0, -1]), u(3, 2), u(2, 3)),
]

_IDX = [[0, 1], [2, 0], [0, 1]]
INDEX_CASES = [
    case("gather_nd elements, repeated", lambda x: mt.gather_nd(x, _IDX), u(3, 2)),
    case("gather_nd rows", lambda x: mt.gather_nd(x, [[2], [0], [2]]), u(3, 2, 2)),
    case("gather_nd batch_dims=1",
         lambda x: mt.gather_nd(x, [[[1], [0]], [[0], [0]]], batch_dims=1), u(2, 2, 3)),
    case("scatter_nd repeated", lambda v: mt.scatter_nd([[1], [3], [1]], v, [4, 2]), u(3, 2)),
    case("tensor_scatter_nd_update", lambda x, v: mt.tensor_scatter_nd_update(
        x, [[0, 1], [2, 0]], v), u(3, 2), u(2)),
    case("tensor_scatter_nd_update rows", lambda x, v: mt.tensor_scatter_nd_update(
        x, [[2], [0]], v), u(3, 2), u(2, 2)),
    case("tensor_scatter_nd_add", lambda x, v: mt.tensor_scatter_nd_add(x, _IDX, v),
         u(3, 2), u(3)),
    case("tensor_scatter_nd_sub", lambda x, v: mt.tensor_scatter_nd_sub(x, _IDX, v),
         u(3, 2), u(3)),
    case("boolean_mask", lambda x: mt.boolean_mask(x, [True, False, True]), u(3, 2)),
    case("boolean_mask 2-D", lambda x: mt.boolean_mask(x, [[True, False], [True, True]]),
         u(2, 2, 3)),
    case("boolean_mask axis 1", lambda x: mt.boolean_mask(x, [False, True, True], axis=1),
         u(2, 3)),
    case("segment_sum", lambda x: mt.math.segment_sum(x, [0, 0, 2, 3]), u(4, 2)),
    case("unsorted_segment_sum", lambda x: mt.math.unsorted_segment_sum(x, [2, -1, 0, 2], 3),
         u(4, 2)),
]

NORM_CASES = [
    case("norm", mt.norm, u(2, 3)),
    case("norm axis 0", lambda x: mt.norm(x, axis=0), u(3, 2)),
    case("norm ord 1 axis -1", lambda x: mt.norm(x, 1, -1), signed(2, 3)),
    case("norm ord inf", lambda x: mt.norm(x, np.inf), signed(2, 3)),
    case("norm ord 3 keepdims", lambda x: mt.norm(x, 3, 1, keepdims=True), signed(2, 3)),
    case("norm fro", lambda x: mt.norm(x, "fro", (0, 1)), u(2, 3)),
    case("norm euclidean matrices", lambda x: mt.norm(x, axis=[-2, -1]), u(2, 2, 3)),
    case("norm matrix 1", lambda x: mt.norm(x, 1, (1, 2)), signed(2, 3, 3)),
    case("norm matrix inf", lambda x: mt.norm(x, np.inf, (0, 1)), signed(3, 2)),
    case("norm matrix 2", lambda x: mt.norm(x, 2, (-2, -1)), u(2, 3, 2)),
    case("norm matrix 2 axes (2, 0)", lambda x: mt.norm(x, 2, (2, 0)), u(2, 2, 3)),
    case("top_singular_direction", top_singular_direction, u(2, 3, 2)),
    case("reduce_euclidean_norm", lambda x: mt.math.reduce_euclidean_norm(x, 1), u(2, 3)),
    case("l2_normalize", lambda x: mt.math.l2_normalize(x, -1), u(2, 3)),
    case("nn.l2_normalize all", mt.nn.l2_normalize, u(2, 3)),
    # norms 3 to 7 against 2: clipped and not, never at the kink
    case("clip_by_norm", lambda x: mt.clip_by_norm(x, 2.0), u(4, low=1.5, high=3.0)),
    case("clip_by_norm within", lambda x: mt.clip_by_norm(x, 2.0), u(3, low=-0.5, high=0.5)),
    case("clip_by_norm axes", lambda x: mt.clip_by_norm(x, 1.0, axes=[1]),
         np.array([[0.3, -0.2], [1.5, 2.0]])),
    case("clip_by_global_norm, a None kept", lambda x, y: mt.concat(
        [t for t in mt.clip_by_global_norm([x, None, y], 2.0)[0] if t is not None], 0),
        u(3, low=1, high=2), u(2)),
    case("clip_by_global_norm's norm", lambda x, y: mt.clip_by_global_norm([x, y], 2.0)[1],
         u(3), u(2, 2)),
]

GRID_CASES = [
    case("linspace", lambda a, b: mt.linspace(a, b, 4), u(), u()),
    case("linspace vectors axis -1", lambda a, b: mt.linspace(a, b, 3, axis=-1), u(2), u(2)),
    case("linspace broadcast axis 1", lambda a, b: mt.linspace(a, b, 5, axis=1), u(2, 1), u(3)),
    case("linspace num=1", lambda a, b: mt.linspace(a, b, 1), u(2), u(2)),
    case("meshgrid xy", lambda x, y: mt.stack(mt.meshgrid(x, y)), u(3), u(2)),
    case("meshgrid ij, three", lambda x, y, z: mt.concat(
        [mt.reshape(g, [-1]) for g in mt.meshgrid(x, y, z, indexing="ij")], 0), u(2), u(3), u(2)),
    case("pad CONSTANT", lambda x: mt.pad(x, [[1, 0], [2, 1]], constant_values=0.5), u(2, 3)),
    case("pad REFLECT", lambda x: mt.pad(x, [[1, 1], [2, 0]], "REFLECT"), u(2, 3)),
    case("pad SYMMETRIC", lambda x: mt.pad(x, [[2, 1], [0, 3]], "symmetric"), u(2, 3)),
]


def _cubed(f):
    return lambda *xs: f(*xs) ** 3


SECOND_CASES = [
    case("cumsum exclusive reverse",
         _cubed(lambda x: mt.cumsum(x, 1, exclusive=True, reverse=True)), u(2, 3)),
    case("cumprod", lambda x: mt.math.cumprod(x, 1), u(2, 4)),
    *(case(f"cumprod zeros exclusive={e} reverse={r}",
           lambda x, e=e, r=r: mt.math.cumprod(x, 1, exclusive=e, reverse=r), ZEROS)
      for e, r in FLAGS),
    case("reduce_prod axis 1", lambda x: mt.reduce_prod(x, 1), u(2, 3)),
    case("reduce_prod one zero", lambda x: mt.reduce_prod(x, -1), ONE_ZERO),
    case("reduce_prod several zeros", mt.reduce_prod, ZEROS),
    case("sort", _cubed(lambda x: mt.sort(x, 0, "DESCENDING")), distinct(3, 2)),
    case("top_k", _cubed(lambda x: mt.math.top_k(x, 2).values), distinct(2, 4)),
    case("einsum matmul", lambda a, b: mt.einsum("ij,jk->ik", a, b), u(2, 3), u(3, 2)),
    case("einsum diagonal", _cubed(lambda x: mt.einsum("ii->i", x)), u(3, 3)),
    case("einsum broadcast ellipsis", lambda a, b: mt.einsum("...i,...i->...", a, b) ** 2,
         u(1, 3), u(4, 3)),
    case("einsum three operands", lambda a, b, c: mt.einsum("ij,jk,k->i", a, b, c),
         u(2, 3), u(3, 2), u(2)),
    case("tensordot", lambda a, b: mt.tensordot(a, b, [[0], [1]]) ** 2, u(3, 2), u(2, 3)),
    case("gather_nd", _cubed(lambda x: mt.gather_nd(x, _IDX)), u(3, 2)),
    case("scatter_nd", _cubed(lambda v: mt.scatter_nd([[1], [1]], v, [3])), u(2)),
    case("tensor_scatter_nd_update", _cubed(lambda x, v: mt.tensor_scatter_nd_update(
        x, [[0, 1], [2, 0]], v)), u(3, 2), u(2)),
    case("boolean_mask", _cubed(lambda x: mt.boolean_mask(x, [True, False, True])), u(3, 2)),
    case("unsorted_segment_sum", _cubed(
        lambda x: mt.math.unsorted_segment_sum(x, [1, -1, 1], 2)), u(3, 2)),
    case("norm", mt.norm, u(2, 3)),
    case("norm ord 3", lambda x: mt.norm(x, 3, 0), signed(3, 2)),
    case("norm matrix 2", lambda x: mt.norm(x, 2, (1, 2)), u(2, 3, 2)),
    case("norm matrix 2, wide", lambda x: mt.norm(x, 2, (0, 1)), u(2, 4)),
    case("reduce_euclidean_norm", mt.math.reduce_euclidean_norm, u(2, 3)),
    case("l2_normalize", lambda x: mt.math.l2_normalize(x, 0), u(3, 2)),
    case("clip_by_norm", lambda x: mt.clip_by_norm(x, 2.0), u(4, low=1.5, high=3.0)),
    case("clip_by_global_norm", lambda x, y: mt.concat(
        mt.clip_by_global_norm([x, y], 2.0)[0], 0), u(3, low=1, high=2), u(2)),
    case("linspace", lambda a, b: mt.linspace(a, b, 4, axis=-1) ** 3, u(2), u(2)),
    case("meshgrid", lambda x, y: mt.stack(mt.meshgrid(x, y)) ** 3, u(3), u(2)),
    case("pad CONSTANT", _cubed(lambda x: mt.pad(x, [[1, 0], [0, 2]])), u(2, 3)),
    case("pad REFLECT", _cubed(lambda x: mt.pad(x, [[1, 1], [2, 2]], "REFLECT")), u(2, 3)),
]

# compositions of existing ops (no gradient of their own), checked all the same; drawn last so
# that the rows above keep their inputs
COMPOSED_CASES = [
    case("nn.selu", mt.nn.selu, rng.signed(2, 3)),
    case("nn.softsign", mt.nn.softsign, rng.signed(2, 3)),
    case("math.log_sigmoid", mt.math.log_sigmoid, rng.uniform(2, 3)),
    case("split equal", lambda x: mt.split(x, 2, axis=1)[1] * 2, rng.uniform(3, 4)),
    case("split sizes", lambda x: mt.concat(mt.split(x, [1, -1], 0)[::-1], 0) ** 2,
         rng.uniform(3, 2)),
    case("reverse", lambda x: mt.reverse(x, [0, 1]) * mt.range(4.0, dtype="float64"),
         rng.uniform(3, 4)),
]

FIRST_ORDER = SCAN_CASES + CONTRACT_CASES + INDEX_CASES + NORM_CASES + GRID_CASES + COMPOSED_CASES
SECOND_ORDER = SECOND_CASES + COMPOSED_CASES


test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)
