"""conv2d and pooling: forwards against naive loops, gradients of first and second order."""
import math

import numpy as np
import pytest
from gradcases import table_tests
from layercases import Draw, case

import minitrain as mt
from minitrain.gradcheck import (
    _cotangent,
    check_gradients,
    gradient_function,
    numerical_gradients,
)
from minitrain.ops import conv_kernels
from minitrain.ops.conv import (
    col2im,
    conv2d_backprop_filter,
    conv2d_backprop_input,
    conv2d_bias,
    conv2d_bias_relu,
    im2col,
    tile_max_gather,
    tile_max_grad,
)
from minitrain.ops.conv_kernels import KINDS, formulated

rng = Draw(seed=7)
u = rng.uniform


def _pad_same(x, window, strides):
    """TensorFlow's SAME padding, written out: ceil(n / s) outputs, extra padding after."""
    pads = []
    for n, k, s in zip(x.shape[1:3], window, strides):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def naive_windows(x, window, strides, padding, fill=0.0):
    """Every window of x, one at a time: {(i, j): x[:, rows, cols, :]} (padded with fill)."""
    pads = _pad_same(x, window, strides) if padding.upper() == "SAME" else [(0, 0), (0, 0)]
    x = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)], constant_values=fill)
    rows = (x.shape[1] - window[0]) // strides[0] + 1
    cols = (x.shape[2] - window[1]) // strides[1] + 1
    return {(i, j): x[:, i * strides[0]:i * strides[0] + window[0],
                      j * strides[1]:j * strides[1] + window[1], :]
            for i in range(rows) for j in range(cols)}, (rows, cols)


def naive_conv2d(x, w, strides, padding):
    windows, (rows, cols) = naive_windows(x, w.shape[:2], strides, padding)
    y = np.zeros((x.shape[0], rows, cols, w.shape[3]))
    for (i, j), patch in windows.items():
        for n in range(x.shape[0]):
            for k in range(w.shape[3]):
                y[n, i, j, k] = np.sum(patch[n] * w[:, :, :, k])
    return y


def naive_pool(x, window, strides, padding, kind):
    fill = -np.inf if kind == "max" else np.nan
    windows, (rows, cols) = naive_windows(x, window, strides, padding, fill)
    y = np.zeros((x.shape[0], rows, cols, x.shape[3]))
    for (i, j), patch in windows.items():
        y[:, i, j] = np.max(patch, axis=(1, 2)) if kind == "max" else \
            np.nanmean(patch, axis=(1, 2))  # padding (NaN) is not counted, as in TensorFlow
    return y


GEOMETRIES = [  # (input shape, window, strides, padding)
    ((2, 5, 5, 3), (3, 3), (1, 1), "VALID"),
    ((2, 5, 5, 3), (3, 3), (1, 1), "SAME"),
    ((2, 6, 7, 2), (3, 2), (2, 2), "VALID"),
    ((2, 6, 7, 2), (3, 2), (2, 2), "SAME"),
    ((1, 7, 6, 2), (2, 3), (2, 1), "same"),
    ((1, 4, 4, 1), (1, 1), (2, 2), "SAME"),
    ((1, 5, 5, 2), (5, 5), (1, 1), "VALID"),
]
GEOMETRY_IDS = [f"{s}-{k}-{st}-{p}" for s, k, st, p in GEOMETRIES]


@pytest.mark.parametrize("shape, window, strides, padding", GEOMETRIES, ids=GEOMETRY_IDS)
def test_conv2d_matches_naive_loop(shape, window, strides, padding):
    x, w = u(*shape), u(*window, shape[3], 4)
    y = mt.nn.conv2d(x, w, strides, padding)
    np.testing.assert_allclose(y.numpy(), naive_conv2d(x, w, strides, padding), atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("shape, window, strides, padding", GEOMETRIES, ids=GEOMETRY_IDS)
def test_pooling_matches_naive_loop(shape, window, strides, padding, kind):
    x = u(*shape)
    pool = mt.nn.max_pool2d if kind == "max" else mt.nn.avg_pool2d
    y = pool(x, window, strides, padding)
    np.testing.assert_allclose(y.numpy(), naive_pool(x, window, strides, padding, kind),
                               atol=1e-12)


def test_conv2d_accepts_tensorflow_stride_lists_and_float32():
    x, w = u(1, 6, 6, 2).astype(np.float32), u(3, 3, 2, 3).astype(np.float32)
    y = mt.nn.conv2d(mt.constant(x), mt.constant(w), [1, 2, 2, 1], "SAME")
    assert y.dtype == np.float32 and y.shape == (1, 3, 3, 3)
    np.testing.assert_allclose(y.numpy(), naive_conv2d(x, w, (2, 2), "SAME"), rtol=1e-5,
                               atol=1e-5)


def _conv(strides, padding):
    return lambda x, w: mt.nn.conv2d(x, w, strides, padding)


def _pool(pool, window, strides, padding):
    return lambda x: pool(x, window, strides, padding)


CONV_CASES = [case(f"conv2d {i}", _conv(strides, padding), u(*shape), u(*window, shape[3], 2))
              for i, (shape, window, strides, padding) in zip(GEOMETRY_IDS, GEOMETRIES)]
# windows that tile the image (stride = window, no padding) take the patch-free path
TILE_CASES = [
    case("max_pool2d tiles 2x2 valid", _pool(mt.nn.max_pool2d, 2, 2, "VALID"),
         rng.distinct(2, 4, 6, 3)),
    case("max_pool2d tiles 2x2 same", _pool(mt.nn.max_pool2d, 2, 2, "SAME"),
         rng.distinct(1, 4, 4, 2)),
    case("max_pool2d tiles 3x2", _pool(mt.nn.max_pool2d, (3, 2), (3, 2), "VALID"),
         rng.distinct(1, 6, 4, 2)),
]
POOL_CASES = [case(f"{name} {i}", _pool(pool, window, strides, padding), rng.distinct(*shape))
              for name, pool in [("max_pool2d", mt.nn.max_pool2d),
                                 ("avg_pool2d", mt.nn.avg_pool2d)]
              for i, (shape, window, strides, padding) in zip(GEOMETRY_IDS, GEOMETRIES)]


def _formulated(kind, f):
    """f with its stride-1 convolutions in formulation ``kind``; the ops record the kind, so
    their gradients of every order use it too."""
    def run(*xs):
        with formulated(kind):
            return f(*xs)
    return run


def _filters(kind):
    """(kh, kw, c_in): Winograd's tiles are for 3x3 filters."""
    return (3, 3, 2) if kind == "winograd" else (2, 3, 2)


def _same_pads(kind):
    return ((1, 1), (1, 1)) if kind == "winograd" else ((1, 0), (1, 1))


def _backprop_input(kind):
    kh, kw, c = _filters(kind)
    return lambda g, w: conv2d_backprop_input(g, w, (1, 4, 5, c), (1, 1), _same_pads(kind))


def _backprop_filter(kind):  # squared: a linear op's first derivative would not depend on x
    shape = _filters(kind) + (3,)
    return lambda x, g: conv2d_backprop_filter(x, g, shape, (1, 1), _same_pads(kind)) ** 2


KIND_CASES = [
    case(f"conv2d {kind} {padding}", _formulated(kind, _conv(1, padding)),
         u(1, 4, 5, _filters(kind)[2]), u(*_filters(kind), 2))
    for kind in KINDS for padding in ("SAME", "VALID")] + [
    case(f"conv2d_backprop_input {kind}", _formulated(kind, _backprop_input(kind)),
         u(1, 4, 5, 3), u(*_filters(kind), 3))
    for kind in KINDS] + [
    case(f"conv2d_backprop_filter {kind}", _formulated(kind, _backprop_filter(kind)),
         u(1, 4, 5, _filters(kind)[2]), u(1, 4, 5, 3))
    for kind in KINDS]

def _with_bias(op, kind, padding):
    return _formulated(kind, lambda x, w, b: op(x, w, b, 1, padding))


# the fused ops: each formulation's epilogue (Winograd's in its blocks), then relu's mask
FUSED_CASES = [
    case(f"{op.__name__} {kind} {padding}", _with_bias(op, kind, padding),
         u(1, 4, 5, _filters(kind)[2]), u(*_filters(kind), 2), u(2))
    for op in (conv2d_bias_relu, conv2d_bias) for kind in KINDS
    for padding in ("SAME", "VALID")] + [
    case(f"{op.__name__} stride 2", lambda x, w, b, op=op: op(x, w, b, 2, "SAME"),
         u(1, 5, 4, 2), u(2, 3, 2, 3), u(3)) for op in (conv2d_bias_relu, conv2d_bias)]

SECOND_CASES = [  # small sizes: every block of the Hessian is checked by finite differences
    case("conv2d same stride 1", _conv(1, "SAME"), u(1, 4, 4, 2), u(3, 3, 2, 2)),
    case("conv2d valid stride 2", _conv(2, "VALID"), u(1, 5, 5, 2), u(3, 3, 2, 2)),
    case("conv2d same stride 2", _conv(2, "same"), u(1, 5, 4, 1), u(2, 3, 1, 2)),
    case("avg_pool2d same", _pool(mt.nn.avg_pool2d, 2, 2, "SAME"), u(1, 3, 5, 2)),
    case("max_pool2d valid", _pool(mt.nn.max_pool2d, 2, 1, "VALID"), rng.distinct(1, 3, 3, 2)),
    TILE_CASES[0],
]

# im2col and col2im as ops of their own (conv2d's forward records one, its gradient the other):
# a (1, 3, 3, 1) image padded to 4 x 4, in overlapping 2 x 2 windows, gives (1, 3, 3, 2, 2, 1)
# patches; cubing makes the first derivative depend on the input, as these ops are linear.
_IMAGE, _WINDOW, _PADS = (1, 3, 3, 1), (2, 2), ((0, 1), (1, 0))
PATCH_CASES = [
    case("im2col", lambda x: im2col(x, _WINDOW, (1, 1), _PADS) ** 3, u(*_IMAGE)),
    case("im2col pad value", lambda x: im2col(x, _WINDOW, (1, 2), _PADS, pad_value=-0.5) ** 3,
         u(*_IMAGE)),
    case("col2im", lambda c: col2im(c, _IMAGE, _WINDOW, (1, 1), _PADS) ** 3, u(1, 3, 3, 2, 2, 1)),
    case("col2im stride 2", lambda c: col2im(c, _IMAGE, _WINDOW, (1, 2), _PADS) ** 3,
         u(1, 3, 2, 2, 2, 1)),
]



def _pool_gradient_op(op, channels):
    """f(x, g) = op(x, max_pool(x), g): the max-pool's gradient op, or its adjoint, run on
    an image and a gradient of their own (the narrow layout under 32 channels, the wide from
    32): linear in g, flat in x (its first maxima move only at ties)."""
    pooled = lambda x: mt.nn.max_pool2d(x, 2, 2, "VALID")  # noqa: E731
    return lambda x, g: op(x, pooled(x), g, (2, 2))


POOL_GRAD_CASES = [
    case(f"{op.__name__} {channels} channels", _pool_gradient_op(op, channels),
         rng.distinct(1, 4, 2, channels), u(*(1, 2, 1, channels) if op is tile_max_grad
                                            else (1, 4, 2, channels)))
    for op in (tile_max_grad, tile_max_gather) for channels in (3, 32)]
FIRST_ORDER = (CONV_CASES + KIND_CASES + FUSED_CASES + POOL_CASES + TILE_CASES + PATCH_CASES
               + POOL_GRAD_CASES)
SECOND_ORDER = SECOND_CASES + KIND_CASES + FUSED_CASES + PATCH_CASES + POOL_GRAD_CASES


test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)


@pytest.mark.parametrize("shape, window, strides, padding", GEOMETRIES, ids=GEOMETRY_IDS)
def test_col2im_is_the_adjoint_of_im2col(shape, window, strides, padding):
    """<im2col(x), c> == <x, col2im(c)>: the property that makes each the other's gradient."""
    from minitrain.ops.conv import _pads
    pads = _pads(shape, window, strides, padding, "test")
    x = u(*shape)
    cols = im2col(x, window, strides, pads)
    c = u(*cols.shape)
    back = col2im(c, shape, window, strides, pads)
    assert back.shape == shape
    np.testing.assert_allclose(np.sum(cols.numpy() * c), np.sum(x * back.numpy()), rtol=1e-12)


def test_max_pool_gradient_goes_to_the_first_maximum_as_tensorflow():
    x = mt.constant(np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1))
    with mt.GradientTape() as tape:
        tape.watch(x)
        y = mt.nn.max_pool2d(x, 2, 2, "VALID")
    assert float(y) == 3.0
    np.testing.assert_array_equal(tape.gradient(y, x).numpy().ravel(), [0, 1, 0, 0])


@pytest.mark.parametrize("wide", [False, True])  # the two layouts of the gradient's mask
@pytest.mark.parametrize("window", [(2, 2), (3, 2)])
def test_the_tiling_max_pool_equals_the_patch_path_ties_and_nan_included(monkeypatch, window,
                                                                           wide):
    """The patch-free path (windows that tile the image) gives the patch path's maxima and
    first-maximum gradients, on values with ties and a NaN."""
    from minitrain.ops import conv
    from minitrain.ops.patches import im2col_array as _im2col_array
    monkeypatch.setattr(conv, "_WIDE_POOL", 1 if wide else 10**9)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, (2, 6, 4, 3)).astype(np.float64)
    a[0, 1, 1, 0] = np.nan
    kh, kw = window
    cols = _im2col_array(a, window, window, ((0, 0), (0, 0)))
    cols = cols.reshape(cols.shape[:3] + (kh * kw, 3))
    np.testing.assert_array_equal(conv._tile_max(a, window), cols.max(axis=3))
    y = cols.max(axis=3)
    g = rng.standard_normal(y.shape)
    patches = conv._first_maximum(cols, y)  # (N, Ho, Wo, kh * kw, C)
    n, ho, wo = y.shape[:3]
    want = (patches * g[:, :, :, None]).reshape(n, ho, wo, kh, kw, 3)
    want = want.transpose(0, 1, 3, 2, 4, 5).reshape(a.shape)
    np.testing.assert_array_equal(conv._spread_to_first_maxima(a, y, g, window), want)


@pytest.mark.parametrize("window", [(2, 2), (3, 2)])
def test_the_first_maxima_found_in_the_forward_are_the_gradients_own(window):
    """The offsets the recorded forward keeps give the gradient's mask, ties and a NaN
    window (no entry equals its maximum: no gradient) included."""
    from minitrain.ops import conv
    rng = np.random.default_rng(3)
    a = rng.integers(0, 3, (2, 6, 4, 3)).astype(np.float64)
    a[0, 1, 1, 0] = np.nan
    y, first = conv._tile_max_and_first(a, window)
    np.testing.assert_array_equal(y, conv._tile_max(a, window))
    assert first.dtype == np.uint8 and first[0, 0, 0, 0] == window[0] * window[1]
    g = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(conv._spread_to_first_maxima(a, y, g, window, first),
                                  conv._spread_to_first_maxima(a, y, g, window))


def test_a_recorded_max_pool_keeps_its_first_maxima_for_the_gradient_until_then():
    from minitrain.ops import conv
    x = mt.constant(rng.distinct(2, 4, 4, 3))
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(x)
        loss = mt.reduce_sum(mt.nn.max_pool2d(x, 2, 2, "VALID") ** 2)
    (op,) = [op for op in tape._tape.ops if op.name == "tile_max"]
    kept = op.attrs["first"]
    assert kept.shape == (2, 2, 2, 3) and kept.dtype == np.uint8
    op.attrs["first"] = np.zeros_like(kept)  # every gradient to offset 0: it is read
    read = tape.gradient(loss, x).numpy()
    assert "first" not in op.attrs  # popped by the sweep
    found = tape.gradient(loss, x).numpy()  # a second gradient finds them again
    tiles = read.reshape(2, 2, 2, 2, 2, 3)
    assert not tiles[:, :, 1].any() and not tiles[:, :, :, :, 1].any()
    want = conv._spread_to_first_maxima(x.numpy(), conv._tile_max(x.numpy(), (2, 2)),
                                        2 * conv._tile_max(x.numpy(), (2, 2)), (2, 2))
    np.testing.assert_array_equal(found, want)


def test_a_wide_or_unrecorded_max_pool_keeps_nothing():
    x3, x32 = mt.constant(rng.distinct(1, 2, 2, 3)), mt.constant(rng.distinct(1, 2, 2, 32))
    with mt.GradientTape() as tape:
        tape.watch([x3, x32])
        mt.nn.max_pool2d(x32, 2, 2, "VALID")
    (op,) = tape._tape.ops
    assert "first" not in op.attrs
    np.testing.assert_array_equal(mt.nn.max_pool2d(x3, 2, 2, "VALID").numpy(),
                                  x3.numpy().max(axis=(1, 2), keepdims=True))


def _relu_conv_pool(channels):
    """A Conv2D-with-ReLU, max-pool net whose ReLU zeros whole windows (a negative bias on
    some filters): (input, filters, bias, the loss's weights, loss(x, w, b))."""
    rng = np.random.default_rng(5)
    x = mt.constant(rng.standard_normal((2, 6, 6, 3)))
    w = mt.Variable(rng.standard_normal((3, 3, 3, channels)) / 3)
    b = mt.Variable(np.where(np.arange(channels) % 2, -4.0, 0.1))
    r = mt.constant(rng.standard_normal((2, 3, 3, channels)))
    return x, w, b, lambda x, w, b: mt.reduce_sum(
        mt.nn.max_pool2d(conv2d_bias_relu(x, w, b, 1, "SAME"), 2, 2, "VALID") * r)


@pytest.fixture
def folds(monkeypatch):
    """The arguments of each call of the pool's folded gradient, as they come."""
    from minitrain.ops import conv
    calls, fold = [], conv._relu_masked_spread
    monkeypatch.setattr(conv, "_relu_masked_spread", lambda *a: calls.append(a) or fold(*a))
    return calls


@pytest.mark.parametrize("channels", [4, 32])  # the two layouts of the pool's gradient
def test_a_pool_after_a_relu_conv_masks_the_gradient_on_the_pooled_grid_same_numbers(
        folds, channels):
    x, w, b, loss = _relu_conv_pool(channels)
    with mt.GradientTape() as tape:
        y = loss(x, w, b)
    folded = tape.gradient(y, [w, b])
    assert len(folds) == 1 and (folds[0][2].numpy() == 0).any()  # windows of zeros
    with mt.GradientTape() as tape:  # a tensor among the sources: nothing folds
        tape.watch(x)
        y = loss(x, w, b)
    plain = tape.gradient(y, [w, b, x])
    assert len(folds) == 1
    np.testing.assert_array_equal(folded[0].numpy(), plain[0].numpy())  # the same dx
    np.testing.assert_allclose(folded[1].numpy(), plain[1].numpy(), rtol=1e-13, atol=1e-13)
    weight = _cotangent(())  # numerical_gradients differentiates sum(f * weight)
    numeric = numerical_gradients(lambda w, b: loss(x, w, b), [w.numpy(), b.numpy()])
    for got, want in zip(folded, numeric):
        np.testing.assert_allclose(got.numpy() * weight, want, rtol=1e-6, atol=1e-7)


def test_a_relu_output_read_by_the_pool_and_by_another_op_gets_both_gradients(folds):
    """The pool folds, but the ReLU's gradient receives the sum of both consumers' and masks
    it itself: the same numbers as with nothing folded."""
    x, w, b, _ = _relu_conv_pool(4)

    def loss(x, w, b):
        y = conv2d_bias_relu(x, w, b, 1, "SAME")
        pooled = mt.nn.max_pool2d(y, 2, 2, "VALID")
        return mt.reduce_sum(pooled ** 2) + mt.reduce_sum(y * x[..., :1])
    with mt.GradientTape() as tape:
        value = loss(x, w, b)
    folded = tape.gradient(value, [w, b])
    assert len(folds) == 1
    with mt.GradientTape() as tape:  # a tensor among the sources: nothing folds
        tape.watch(x)
        value = loss(x, w, b)
    for got, want in zip(folded, tape.gradient(value, [w, b, x])):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-13, atol=1e-13)


def test_a_keras_conv_with_relu_then_pooling_folds_in_a_training_step(folds):
    model = mt.keras.Sequential([mt.keras.layers.Conv2D(4, 3, activation="relu"),
                                 mt.keras.layers.MaxPooling2D(),
                                 mt.keras.layers.Conv2D(4, 3, activation="relu"),
                                 mt.keras.layers.GlobalMaxPooling2D()])
    x = mt.constant(np.random.default_rng(0).standard_normal((2, 10, 10, 1)), mt.float32)
    with mt.GradientTape() as tape:
        loss = mt.reduce_sum(model(x, training=True))
    tape.gradient(loss, model.trainable_variables)
    assert len(folds) == 1  # the first pool; a global pool is no tiling max-pool


def test_the_gradient_to_a_relu_output_itself_is_the_pools_own():
    """Asked for dL/dy, y the ReLU's output, the sweep folds nothing: a window of zeros
    passes its gradient to its first zero, as TensorFlow's MaxPoolGrad does."""
    x, w, b, _ = _relu_conv_pool(4)
    with mt.GradientTape() as tape:
        y = conv2d_bias_relu(x, w, b, 1, "SAME")
        pooled = mt.nn.max_pool2d(y, 2, 2, "VALID")
    g = mt.constant(np.random.default_rng(0).standard_normal(pooled.shape))
    dy, dw = tape.gradient(pooled, [y, w], output_gradients=g)
    np.testing.assert_array_equal(dy.numpy(), tile_max_grad(y, pooled, g, (2, 2)).numpy())
    assert (pooled.numpy() == 0).any() and dy.numpy()[y.numpy() == 0].any()
    with mt.GradientTape() as tape:
        pooled = mt.nn.max_pool2d(conv2d_bias_relu(x, w, b, 1, "SAME"), 2, 2, "VALID")
    np.testing.assert_allclose(tape.gradient(pooled, w, output_gradients=g).numpy(), dw.numpy(),
                               rtol=1e-13)


def test_a_recorded_sweep_through_a_relu_conv_and_pool_folds_nothing():
    """Second derivatives: under an outer tape the pool's gradient is MaxPoolGrad's op, and
    the sum of the squared gradient has the finite differences' gradient."""
    x, w, b, loss = _relu_conv_pool(4)

    def gradient_norm(filters):  # w's sources are variables: folded where nothing records
        w.assign(filters)
        with mt.GradientTape() as inner:
            y = loss(x, w, b)
        return mt.reduce_sum(inner.gradient(y, w) ** 2)
    w0 = w.numpy()
    with mt.GradientTape() as outer:
        norm = gradient_norm(w0)
    got = outer.gradient(norm, w).numpy()
    numeric = numerical_gradients(lambda filters: gradient_norm(filters.numpy()), [w0])[0]
    np.testing.assert_allclose(got * _cotangent(()), numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("channels", [3, 32])
def test_the_max_pools_gradient_ops_are_each_others_adjoints(channels):
    """<spread(g), u> == <g, gather(u)>: what makes each one the other's gradient."""
    from minitrain.ops import conv
    rng = np.random.default_rng(2)
    a = rng.integers(0, 3, (2, 4, 6, channels)).astype(np.float64)  # ties
    y = conv._tile_max(a, (2, 2))
    g, u_ = rng.standard_normal(y.shape), rng.standard_normal(a.shape)
    np.testing.assert_allclose(np.sum(conv._spread_to_first_maxima(a, y, g, (2, 2)) * u_),
                               np.sum(g * conv._gather_first_maxima(a, y, u_, (2, 2))),
                               rtol=1e-12)


@pytest.mark.parametrize("channels", [3, 32])
def test_the_max_pools_second_derivative_gathers_at_the_first_maxima(channels):
    """sum(max_pool(x)^3): its gradient's own gradient runs MaxPoolGrad's adjoint in the
    upstream 3 y^2, and zeros in x and y, against finite differences."""
    x = rng.distinct(1, 4, 4, channels) / 16  # small cubes: finite differences stay exact
    f = gradient_function(lambda x: mt.reduce_sum(mt.nn.max_pool2d(x, 2, 2, "VALID") ** 3))
    check_gradients(f, [x])


@pytest.mark.parametrize("channels", [3, 32])  # the two layouts of the mask
def test_the_tiling_max_pools_gradient_of_either_layout_goes_to_first_maxima(channels):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 3, (2, 4, 6, channels)).astype(np.float64)  # many ties
    x, weights = mt.constant(a), rng.standard_normal((2, 2, 3, channels))
    with mt.GradientTape() as tape:
        tape.watch(x)
        loss = mt.reduce_sum(mt.nn.max_pool2d(x, 2, 2, "VALID") * weights)
    want = np.zeros_like(a)
    for i, r, s, k in np.ndindex(2, 2, 3, channels):
        window = a[i, 2 * r:2 * r + 2, 2 * s:2 * s + 2, k].ravel()
        first = int(np.argmax(window))  # numpy's argmax: the first maximum
        want[i, 2 * r + first // 2, 2 * s + first % 2, k] = weights[i, r, s, k]
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape, window, padding", [
    ((2, 7, 5, 2), (3, 3), "SAME"),   # odd: Winograd's last tiles overhang (and are cropped)
    ((2, 9, 8, 1), (3, 3), "VALID"),
    ((1, 4, 4, 3), (2, 3), "SAME")])
@pytest.mark.parametrize("fused, activation", [(conv2d_bias_relu, mt.nn.relu),
                                               (conv2d_bias, lambda y: y)])
def test_the_fused_bias_and_relu_are_relu_of_conv2d_plus_bias(dtype, kind, shape, window,
                                                             padding, fused, activation):
    if not conv_kernels._applies(kind, window + shape[3:]):
        pytest.skip(f"{kind} does not apply to this filter shape")
    x, w, b = u(*shape), u(*window, shape[3], 4), u(4)
    x, w, b = (a.astype(dtype) for a in (x, w, b))
    with formulated(kind):
        got = fused(x, w, b, 1, padding)
        want = activation(mt.nn.conv2d(x, w, 1, padding) + b)
    assert got.dtype == want.dtype and (want.numpy() < 0).any() != (fused is conv2d_bias_relu)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5 if dtype == np.float32
                               else 1e-12, atol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("fused", [conv2d_bias_relu, conv2d_bias])
def test_the_fused_bias_must_have_one_value_per_filter(fused):
    with pytest.raises(ValueError, match=rf"{fused.__name__}: the bias must have shape \(2,\)"):
        fused(u(1, 4, 4, 1), u(3, 3, 1, 2), u(3), 1, "SAME")


def test_same_average_pool_counts_only_real_pixels():
    y = mt.nn.avg_pool2d(np.ones((1, 3, 3, 1)), 2, 2, "SAME")  # the padded windows too
    np.testing.assert_array_equal(y.numpy(), np.ones((1, 2, 2, 1)))


@pytest.mark.parametrize("call, message", [
    (lambda: mt.nn.conv2d(u(1, 4, 4, 2), u(3, 3, 3, 1), 1, "VALID"), "2 channels|3 channels"),
    (lambda: mt.nn.conv2d(u(1, 4, 4, 2), u(3, 3, 2, 1), 1, "FULL"), "'VALID' or 'SAME'"),
    (lambda: mt.nn.conv2d(u(4, 4, 2), u(3, 3, 2, 1), 1, "VALID"), "rank 4"),
    (lambda: mt.nn.conv2d(u(1, 2, 2, 1), u(3, 3, 1, 1), 1, "VALID"), "larger than"),
    (lambda: mt.nn.conv2d(u(1, 4, 4, 1), u(3, 3, 1, 1), 0, "VALID"), "strides"),
    (lambda: mt.nn.max_pool2d(u(1, 4, 4, 1), [2, 2, 2], 1, "VALID"), "ksize"),
    (lambda: mt.nn.avg_pool2d(u(1, 4, 4, 1), 2, 2, "VALID", data_format="NCHW"), "NHWC"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_conv2d_rejects_mixed_dtypes():
    with pytest.raises(TypeError, match="float32"):
        mt.nn.conv2d(mt.constant(u(1, 4, 4, 1)), mt.constant(u(3, 3, 1, 1), mt.float32), 1,
                     "VALID")


def test_conv2d_and_pooling_run_on_each_device(device):
    x, w = u(2, 6, 6, 3), u(3, 3, 3, 4)
    xt, wt = mt.constant(x), mt.constant(w)
    with mt.GradientTape() as tape:
        tape.watch([xt, wt])
        outputs = [mt.nn.conv2d(xt, wt, 2, "SAME"), mt.nn.max_pool2d(xt, 3, 2, "SAME"),
                   mt.nn.avg_pool2d(xt, 3, 2, "SAME")]
        total = sum(mt.reduce_sum(y * y) for y in outputs)
    grads = tape.gradient(total, [xt, wt])
    expected = [naive_conv2d(x, w, (2, 2), "SAME"), naive_pool(x, (3, 3), (2, 2), "SAME", "max"),
                naive_pool(x, (3, 3), (2, 2), "SAME", "avg")]
    for got, want in zip(outputs, expected):
        assert got.device == device
        np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
    assert [g.device for g in grads] == [device, device]
