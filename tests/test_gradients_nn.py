"""Reductions, matmul, activations, softmax and the cross-entropies: gradient tables."""
import math

import numpy as np
import pytest
from gradcases import Inputs, case, check_first, table_tests

import minitrain as mt
from minitrain.ops import nn as nn_ops

# every table runs on each device; GPU cases skip, saying why, without CuPy or a GPU
pytestmark = pytest.mark.usefixtures("device")

rng = Inputs(seed=2)
u = rng.uniform

REDUCTIONS = [("reduce_sum", mt.reduce_sum), ("reduce_mean", mt.reduce_mean),
              ("reduce_max", mt.reduce_max), ("reduce_min", mt.reduce_min),
              ("reduce_logsumexp", mt.reduce_logsumexp)]
AXES = [None, 0, 1, -1, (0, 2), (-1, -3), (0, 1, 2)]
REDUCE_CASES = [  # distinct inputs: max and min have no ties to share the gradient
    case(f"{name} axis={axis} keepdims={keep}",
         lambda x, op=op, axis=axis, keep=keep: op(x, axis, keepdims=keep),
         rng.distinct(2, 3, 4))
    for name, op in REDUCTIONS for axis in AXES for keep in (False, True)]

MATMUL_SHAPES = [  # (id, a shape, b shape, transpose_a, transpose_b)
    ("2-D", (3, 4), (4, 2), False, False),
    ("batched", (2, 3, 4), (2, 4, 2), False, False),
    ("batch broadcast", (2, 1, 3, 4), (3, 4, 2), False, False),
    ("batch against 2-D", (2, 3, 4), (4, 2), False, False),
    ("vector @ matrix", (4,), (4, 3), False, False),
    ("matrix @ vector", (3, 4), (4,), False, False),
    ("vector @ vector", (4,), (4,), False, False),
    ("batch @ vector", (2, 3, 4), (4,), False, False),
    ("vector @ batch", (4,), (2, 4, 3), False, False),
    ("transpose_a", (4, 3), (4, 2), True, False),
    ("transpose_b", (3, 4), (2, 4), False, True),
    ("transpose both", (4, 3), (2, 4), True, True),
    ("batched transpose_b", (2, 3, 4), (1, 2, 4), False, True),
]
MATMUL_CASES = [
    case(f"matmul {name}", lambda a, b, ta=ta, tb=tb: mt.matmul(a, b, ta, tb), u(*sa), u(*sb))
    for name, sa, sb, ta, tb in MATMUL_SHAPES]

ACTIVATIONS = [  # (name, op, input maker): kinks at 0 (and 6 for relu6) are avoided
    ("relu", mt.nn.relu, rng.signed),
    ("relu6", mt.nn.relu6, lambda *s: rng.signed(*s) * 4),
    ("leaky_relu", mt.nn.leaky_relu, rng.signed),
    ("leaky_relu alpha=0.01", lambda x: mt.nn.leaky_relu(x, alpha=0.01), rng.signed),
    ("elu", mt.nn.elu, rng.signed),
    ("gelu", mt.nn.gelu, lambda *s: u(*s, low=-4, high=4)),
    ("gelu approximate", lambda x: mt.nn.gelu(x, approximate=True),
     lambda *s: u(*s, low=-4, high=4)),
    ("softplus", mt.nn.softplus, lambda *s: u(*s, low=-6, high=6)),
    ("silu", mt.nn.silu, lambda *s: u(*s, low=-4, high=4)),
    ("swish", mt.nn.swish, u),
    ("softmax", mt.nn.softmax, u),
    ("softmax axis 0", lambda x: mt.nn.softmax(x, axis=0), u),
    ("softmax axis 1", lambda x: mt.nn.softmax(x, axis=1), u),
    ("log_softmax", mt.nn.log_softmax, u),
    ("log_softmax axis 0", lambda x: mt.nn.log_softmax(x, axis=0), u),
    ("log_softmax axis 1", lambda x: mt.nn.log_softmax(x, axis=1), u),
    ("l2_loss", mt.nn.l2_loss, u),
]
ACTIVATION_CASES = [case(name, op, make(2, 3, 4)) for name, op, make in ACTIVATIONS]

_LABELS_2D = np.array([2, 0, 1, 2])
_LABELS_3D = np.array([[0, 3], [3, 1]])


def _distribution(*shape):
    """Labels for softmax cross-entropy: positive weights (their rows need not sum to 1)."""
    return rng.uniform(*shape, low=0.1, high=1.0)


sparse_ce = mt.nn.sparse_softmax_cross_entropy_with_logits
sparse_ce_mean = nn_ops.sparse_softmax_cross_entropy_mean  # the Keras loss's fused op
softmax_ce = mt.nn.softmax_cross_entropy_with_logits
sigmoid_ce = mt.nn.sigmoid_cross_entropy_with_logits
CROSS_ENTROPY_CASES = [
    case("sparse cross-entropy (4,3)", lambda x: sparse_ce(_LABELS_2D, x), u(4, 3)),
    case("sparse cross-entropy (2,2,4)", lambda x: sparse_ce(_LABELS_3D, x), u(2, 2, 4)),
    case("sparse cross-entropy mean", lambda x: sparse_ce_mean(_LABELS_2D, x), u(4, 3)),
    case("sparse cross-entropy mean 3-D", lambda x: sparse_ce_mean(_LABELS_3D, x), u(2, 2, 4)),
    case("softmax cross-entropy", softmax_ce, _distribution(4, 3), u(4, 3)),
    case("softmax cross-entropy axis 0", lambda z, x: softmax_ce(z, x, axis=0),
         _distribution(3, 2), u(3, 2)),
    case("softmax cross-entropy 3-D", softmax_ce, _distribution(2, 2, 3), u(2, 2, 3)),
    case("sigmoid cross-entropy", lambda z, x: sigmoid_ce(z, x),
         u(3, 4, low=0, high=1), rng.signed(3, 4) * 3),
    case("bias_add", mt.nn.bias_add, u(2, 3), u(3)),
]


# A linear reduction's first derivative is constant; squaring its result makes the first
# derivative depend on the input through the reduction and its gradient.
SECOND_REDUCE_CASES = [
    case(f"{name} axis={axis} keepdims={keep}",
         lambda x, op=op, axis=axis, keep=keep: mt.square(op(x, axis, keepdims=keep)),
         rng.distinct(2, 3, 2))
    for name, op in REDUCTIONS for axis, keep in [(None, False), (1, True), ((0, -1), False)]]
SECOND_MATMUL_CASES = [
    case(f"matmul {name}", lambda a, b, ta=ta, tb=tb: mt.matmul(a, b, ta, tb), u(*sa), u(*sb))
    for name, sa, sb, ta, tb in MATMUL_SHAPES]
SECOND_ACTIVATION_CASES = [case(name, op, make(2, 3)) for name, op, make in ACTIVATIONS]

# The rows below draw their inputs after every row above, whose inputs stay as they were.
# The fused ops: relu(x + b), and relu's gradient as one op (TensorFlow's ReluGrad), whose
# gradient with respect to y is None (flat away from 0, where these inputs keep it).
# |x| >= 0.2 and |b| <= 0.1 keep x + b away from relu's kink.
FUSED_CASES = [
    case("bias_relu", mt.nn.bias_relu, rng.signed(4, 3), u(3, low=-0.1, high=0.1)),
    case("bias_relu 3-D", mt.nn.bias_relu, rng.signed(2, 2, 3), u(3, low=-0.1, high=0.1)),
    case("relu_grad", nn_ops.relu_grad, u(2, 3), rng.signed(2, 3)),
    case("relu_grad broadcast dy", nn_ops.relu_grad, u(3), rng.signed(2, 3)),
]

FIRST_ORDER = (REDUCE_CASES + MATMUL_CASES + ACTIVATION_CASES + CROSS_ENTROPY_CASES
               + FUSED_CASES)
SECOND_ORDER = (SECOND_REDUCE_CASES + SECOND_MATMUL_CASES + SECOND_ACTIVATION_CASES
                + CROSS_ENTROPY_CASES + FUSED_CASES)


test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)


def _numpy_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


_x = u(3, 4) * 10
_labels = rng.uniform(3, 4, low=0, high=1)
_normal_cdf = np.vectorize(lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2))))
FORWARD = [  # (id, minitrain value, numpy value)
    ("reduce_logsumexp", lambda: mt.reduce_logsumexp(_x, 1),
     lambda: np.log(np.exp(_x).sum(axis=1))),
    ("softmax axis 0", lambda: mt.nn.softmax(_x, 0), lambda: np.exp(_numpy_log_softmax(_x, 0))),
    ("log_softmax", lambda: mt.nn.log_softmax(_x), lambda: _numpy_log_softmax(_x, -1)),
    ("gelu", lambda: mt.nn.gelu(_x / 5), lambda: _x / 5 * _normal_cdf(_x / 5)),
    ("gelu approximate", lambda: mt.nn.gelu(_x / 5, approximate=True),
     lambda: _x / 10 * (1 + np.tanh(np.sqrt(2 / np.pi) * (_x / 5 + 0.044715 * (_x / 5) ** 3)))),
    ("softplus", lambda: mt.nn.softplus(_x), lambda: np.log1p(np.exp(_x))),
    ("elu", lambda: mt.nn.elu(_x), lambda: np.where(_x > 0, _x, np.expm1(_x))),
    ("sparse cross-entropy", lambda: sparse_ce(np.array([3, 0, 1]), _x),
     lambda: -_numpy_log_softmax(_x, -1)[[0, 1, 2], [3, 0, 1]]),
    ("sparse cross-entropy mean", lambda: sparse_ce_mean(np.array([3, 0, 1]), _x),
     lambda: -_numpy_log_softmax(_x, -1)[[0, 1, 2], [3, 0, 1]].mean()),
    ("softmax cross-entropy", lambda: softmax_ce(_labels, _x),
     lambda: -(_labels * _numpy_log_softmax(_x, -1)).sum(-1)),
    ("sigmoid cross-entropy", lambda: sigmoid_ce(_labels, _x),
     # -z log sigmoid(x) - (1 - z) log sigmoid(-x), with log sigmoid(v) = -log(1 + exp(-v))
     lambda: _labels * np.logaddexp(0, -_x) + (1 - _labels) * np.logaddexp(0, _x)),
    ("matmul broadcast", lambda: mt.matmul(_x.reshape(3, 1, 4), _x.T),
     lambda: _x.reshape(3, 1, 4) @ _x.T),
]


@pytest.mark.parametrize("ours, numpy_value", [row[1:] for row in FORWARD],
                         ids=[row[0] for row in FORWARD])
def test_forward_matches_numpy(ours, numpy_value):
    np.testing.assert_allclose(ours().numpy(), numpy_value(), rtol=1e-10, atol=1e-12)


def test_reduce_max_shares_the_gradient_between_ties():
    x = mt.constant([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.reduce_max(x, axis=1)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[0, 0.5, 0.5], [1 / 3] * 3])


@pytest.mark.parametrize("axis", [np.int64(-1), np.array(1), mt.constant(1), np.array([1])],
                         ids=["numpy int", "0-d array", "tensor", "1-d array"])
def test_reductions_take_any_integer_axis(axis):
    x = u(2, 3)
    for op, twin in [(mt.reduce_sum, np.sum), (mt.reduce_max, np.max), (mt.reduce_mean, np.mean)]:
        np.testing.assert_allclose(op(x, axis).numpy(), twin(x, axis=1))


DTYPE_CASES = REDUCE_CASES[::4] + MATMUL_CASES + ACTIVATION_CASES + CROSS_ENTROPY_CASES


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("f, inputs, tolerances", DTYPE_CASES)
def test_gradient_keeps_dtype(f, inputs, tolerances, dtype):
    xs = [mt.constant(np.asarray(x, dtype=dtype)) for x in inputs]
    with mt.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs)
    assert y.dtype == dtype
    assert [g.dtype for g in tape.gradient(y, xs)] == [dtype] * len(xs)


CE_GRADIENTS = [  # (id, f of labels and logits, labels): first-order gradients wrt both
    ("sparse", lambda z, x: sparse_ce(_LABELS_2D, x), _distribution(4, 3)),
    ("sparse mean", lambda z, x: sparse_ce_mean(_LABELS_2D, x), _distribution(4, 3)),
    ("softmax", softmax_ce, _distribution(4, 3)),
    ("sigmoid", lambda z, x: sigmoid_ce(z, x), u(4, 3, low=0)),
]


@pytest.mark.parametrize("f, labels", [row[1:] for row in CE_GRADIENTS],
                         ids=[row[0] for row in CE_GRADIENTS])
def test_cross_entropy_fused_gradient_equals_recorded_one(f, labels):
    """The cached gradient (no tape records the sweep) matches the one an outer tape sees."""
    z, x = mt.constant(labels), mt.constant(u(4, 3))

    def first_order():
        with mt.GradientTape() as tape:
            tape.watch([z, x])
            y = f(z, x)
        return tape.gradient(y, [z, x], unconnected_gradients="zero")

    fused = first_order()
    with mt.GradientTape() as outer:
        outer.watch([z, x])
        recorded = first_order()
    for a, b in zip(fused, recorded):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("axis", [None, 0, (0, 2), -1])
def test_variance_and_std_match_numpy_and_their_gradients(axis):
    x = rng.uniform(2, 3, 4)
    np.testing.assert_allclose(mt.reduce_variance(x, axis).numpy(), np.var(x, axis=axis))
    np.testing.assert_allclose(mt.math.reduce_std(x, axis).numpy(), np.std(x, axis=axis))
    check_first(lambda t: mt.reduce_std(t, axis), [x], {})


def test_reduce_any_and_all_are_logical_and_have_no_gradient():
    x = mt.constant([[0.5, -1.0], [2.0, 3.0]])
    with mt.GradientTape() as tape:
        tape.watch(x)
        flags = mt.reduce_any(x > 1.0, axis=1)
    np.testing.assert_array_equal(flags.numpy(), [False, True])
    np.testing.assert_array_equal(mt.reduce_all(x > 0.0, axis=0).numpy(), [True, False])
    assert tape.gradient(mt.cast(flags, mt.float32), x) is None
