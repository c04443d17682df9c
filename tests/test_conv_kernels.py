"""The convolution's formulations (ops/conv_kernels.py) against each other: the same numbers.

im2col is the reference: test_conv.py checks it against naive loops and finite differences.
The other formulations must give its forward and both gradients on every geometry,
channels wide enough for per-tap GEMMs included; test_conv.py checks each of them by finite
differences of first and second order as well.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitrain as mt
from minitrain import backend
from minitrain.ops import bands, conv_kernels, shifted_rows, winograd
from minitrain.ops.conv import _pads
from minitrain.ops.conv_kernels import KINDS, filter_grad, formulated, forward, input_grad


def _case(n, h, w, c_in, c_out, kh, kw, padding, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c_in)).astype(dtype)
    f = rng.standard_normal((kh, kw, c_in, c_out)).astype(dtype)
    pads = _pads(x.shape, (kh, kw), (1, 1), padding, "test")
    ho, wo = [size + sum(pad) - k + 1 for size, pad, k in zip((h, w), pads, (kh, kw))]
    g = rng.standard_normal((n, ho, wo, c_out)).astype(dtype)
    return x, f, g, pads


def _all_three(x, f, g, pads, kind):
    return (forward(x, f, (1, 1), pads, kind), input_grad(g, f, x.shape, (1, 1), pads, kind),
            filter_grad(x, g, f.shape, (1, 1), pads, kind))


def _assert_same(got, want, rtol):
    for name, a, b in zip(("y", "dx", "dw"), got, want):
        assert a.shape == b.shape and a.dtype == b.dtype, name
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=name)


GEOMETRIES = [  # (n, h, w, c_in, c_out, kh, kw, padding)
    (2, 7, 6, 3, 4, 3, 3, "SAME"),
    (2, 7, 6, 3, 4, 3, 3, "VALID"),
    (1, 6, 5, 2, 3, 2, 3, "SAME"),    # an even window: SAME pads more after than before
    (2, 5, 5, 6, 5, 5, 5, "SAME"),    # LeNet's second conv, small
    (1, 5, 9, 1, 2, 1, 4, "VALID"),   # one row of taps
    (3, 4, 4, 33, 7, 3, 3, "SAME"),   # wide: per-tap GEMMs
    (2, 3, 3, 40, 8, 3, 3, "VALID"),  # one output pixel per image
    (2, 4, 5, 5, 6, 1, 1, "VALID"),   # 1x1: one GEMM on the input's own rows
    (1, 1, 1, 4, 3, 1, 1, "SAME"),
    (2, 8, 8, 1, 6, 5, 5, "SAME"),    # LeNet's first conv, small: one channel
    (1, 6, 5, 1, 3, 2, 3, "VALID"),
    (2, 5, 4, 1, 2, 3, 1, "SAME"),
    (3, 7, 5, 4, 3, 3, 3, "SAME"),    # odd sizes: Winograd's last tiles hang over the edge
    (2, 4, 6, 2, 3, 3, 3, "VALID"),
    (5, 8, 8, 6, 5, 3, 3, "SAME"),
    (2, 7, 9, 1, 8, 3, 5, "SAME"),    # bands: no divisor of 9 fits, one window per row
    (1, 6, 7, 1, 12, 4, 2, "VALID"),
    (2, 5, 6, 1, 30, 3, 3, "SAME"),
    (2, 6, 8, 4, 32, 3, 3, "SAME"),   # bands: 2 outputs to a window, 4 windows per row
    (1, 4, 12, 3, 16, 5, 5, "SAME"),  # 4 to a window, windows overlapping by 4 columns
    (1, 5, 6, 8, 64, 2, 2, "VALID"),  # one: im2col's patches
]


@pytest.mark.parametrize("kind", ["taps", "bands", "winograd"])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=[str(g) for g in GEOMETRIES])
def test_each_formulation_gives_im2col_numbers(geometry, kind):
    if not conv_kernels._applies(kind, geometry[5:7] + geometry[3:4]):
        pytest.skip(f"{kind} does not apply to this filter shape")
    x, f, g, pads = _case(*geometry, dtype=np.float64)
    _assert_same(_all_three(x, f, g, pads, kind), _all_three(x, f, g, pads, "im2col"), 1e-12)


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("geometry", [g for g in GEOMETRIES if g[5:7] == (3, 3)],
                         ids=[str(g) for g in GEOMETRIES if g[5:7] == (3, 3)])
def test_winograd_gives_im2col_numbers_with_either_tile(monkeypatch, geometry, m):
    """F(2x2, 3x3) and F(4x4, 3x3), whichever the image's size would pick."""
    monkeypatch.setattr(winograd, "_output_tile", lambda ho, wo: m)
    x, f, g, pads = _case(*geometry, dtype=np.float64)
    _assert_same(_all_three(x, f, g, pads, "winograd"), _all_three(x, f, g, pads, "im2col"),
                 1e-12)


@pytest.mark.parametrize("size, m", [(8, 4), (7, 4), (14, 4), (32, 4), (6, 2), (5, 2), (3, 2)])
def test_winograd_takes_4x4_tiles_unless_they_overhang_by_more_than_a_quarter(size, m):
    assert winograd._output_tile(size, 16) == m and winograd._output_tile(16, size) == m


@pytest.mark.parametrize("wo, w_shape, u, u_avx512", [
    (10, (5, 5, 6, 16), 5, 2),     # LeNet-5's second conv: N = 80; on AVX-512, 32
    (28, (5, 5, 1, 6), 14, 14),    # its first: 6 filters want 11 outputs; 14 divides 28
    (24, (5, 5, 1, 6), 12, 8),     # its first, valid: runs of 12 want 8 outputs
    (32, (3, 3, 3, 32), 2, 2),     # VGG's first: runs of 12 values
    (32, (3, 3, 2, 32), 4, 4),     # two channels: 2 would copy runs of 8 values
    (8, (3, 3, 1, 16), 8, 8),      # one channel: runs of 12 need 10 outputs; 8 is the row
    (9, (3, 5, 1, 8), 9, 9),       # no divisor fits: the whole row
    (6, (3, 3, 16, 64), 1, 1),     # as wide as the GEMM wants: im2col's patches
    (5, (2, 2, 8, 64), 1, 1),
])
@pytest.mark.parametrize("avx512", [False, True])
def test_bands_take_the_smallest_divisor_of_the_width_that_feeds_the_gemm(
        wo, w_shape, u, u_avx512, avx512, monkeypatch):
    monkeypatch.setattr(backend, "avx512_blas", lambda: avx512)
    assert bands.outputs_per_row(wo, w_shape) == (u_avx512 if avx512 else u)


@pytest.mark.parametrize("wo, w_shape, u, u_avx512", [
    (32, (3, 3, 3, 32), 8, 2),    # VGG's first: runs of 30 values added back (12 on AVX-512)
    (28, (5, 5, 1, 6), 28, 14),   # LeNet-5's first, same: runs of 32 (18)
    (24, (5, 5, 1, 6), 24, 12),   # valid: no divisor gives runs of 24 but the whole row
    (10, (5, 5, 6, 16), 5, 5),    # its second: runs of 54
    (6, (3, 3, 16, 64), 2, 2),    # as wide as the GEMM wants, but a window spans the kernel
])
@pytest.mark.parametrize("avx512", [False, True])
def test_the_input_gradients_bands_fold_runs_of_24_values_or_12_on_avx512(
        wo, w_shape, u, u_avx512, avx512, monkeypatch):
    monkeypatch.setattr(backend, "avx512_blas", lambda: avx512)
    assert bands.fold_outputs_per_row(wo, w_shape) == (u_avx512 if avx512 else u)


@pytest.mark.parametrize("bias, relu", [(False, False), (True, False), (True, True)])
def test_an_unkept_bands_forward_in_blocks_of_images_gives_the_whole_ones_numbers(
        monkeypatch, bias, relu):
    """Blocks of 2 images of 5 (a last one of 1): each block's windows, GEMM and ReLU."""
    x, f, _, pads = _case(5, 6, 8, 3, 4, 3, 3, "SAME", np.float64)
    b = np.linspace(-1, 1, 4) if bias else None
    u = bands.outputs_per_row(8, f.shape)
    per_image = 6 * (8 // u) * (3 * (u + 2) * 3 + bias) * x.itemsize
    monkeypatch.setattr(bands, "_BLOCK_BYTES", 2 * per_image)
    want, kept = conv_kernels.forward_keeping(x, f, (1, 1), pads, "bands", b, relu)
    got = forward(x, f, (1, 1), pads, "bands", b, relu)
    assert kept is not None
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    if relu:
        assert (got == 0).any() and (got >= 0).all()


@pytest.mark.parametrize("geometry", [(2, 5, 12, 3, 4, 3, 5, "SAME"), (1, 4, 6, 2, 3, 4, 3,
                                                                         "VALID")])
def test_bands_give_im2col_numbers_at_every_divisor_of_the_width(monkeypatch, geometry):
    """Windows of u outputs overlap the next ceil((kw - 1) / u) windows (u = 1: im2col's
    patches, kw of them): the fold adds every block's windows back onto the same columns."""
    x, f, g, pads = _case(*geometry, dtype=np.float64)
    want = _all_three(x, f, g, pads, "im2col")
    wo = g.shape[2]
    for u in [u for u in range(1, wo + 1) if wo % u == 0]:
        for rule in ("outputs_per_row", "fold_outputs_per_row"):
            monkeypatch.setattr(bands, rule, lambda width, w_shape, u=u: u)
        _assert_same(_all_three(x, f, g, pads, "bands"), want, 1e-12)


@pytest.mark.parametrize("m", [2, 4])
def test_winograd_goes_through_the_tile_rows_in_blocks(monkeypatch, m):
    """Blocks of 2 tile rows (a last one of 1): each block's buffers are rewritten in full."""
    x, f, g, pads = _case(3, 5 * m, 7, 6, 5, 3, 3, "SAME", np.float64)  # 5 tile rows
    monkeypatch.setattr(winograd, "_output_tile", lambda ho, wo: m)
    per_tile_row = (m + 2) ** 2 * -(-7 // m) * 3 * 6
    monkeypatch.setattr(winograd, "_BLOCK_VALUES", per_tile_row * 2)
    assert winograd._block(x, per_tile_row, 5) == 2
    _assert_same(_all_three(x, f, g, pads, "winograd"), _all_three(x, f, g, pads, "im2col"),
                 1e-12)
    _, kept = conv_kernels.forward_keeping(x, f, (1, 1), pads, "winograd")  # all 5 rows kept
    np.testing.assert_allclose(filter_grad(x, g, f.shape, (1, 1), pads, "winograd", kept),
                               filter_grad(x, g, f.shape, (1, 1), pads, "im2col"), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_stays_float32(kind):
    x, f, g, pads = _case(2, 9, 8, 4, 5, 3, 3, "SAME", np.float32)
    want = _all_three(*(a.astype(np.float64) for a in (x, f, g)), pads, "im2col")
    _assert_same(_all_three(x, f, g, pads, kind),
                 [a.astype(np.float32) for a in want], 1e-5)


@given(n=st.integers(1, 2), h=st.integers(1, 7), w=st.integers(1, 7), c_in=st.integers(1, 4),
       c_out=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4),
       padding=st.sampled_from(["SAME", "VALID"]),
       kind=st.sampled_from(["taps", "bands", "winograd"]))
def test_every_small_geometry_agrees(n, h, w, c_in, c_out, kh, kw, padding, kind):
    kh, kw = (3, 3) if kind == "winograd" else (kh, kw)
    if padding == "VALID" and (kh > h or kw > w):
        return  # no output at all: conv2d refuses such a window (test_conv.py)
    x, f, g, pads = _case(n, h, w, c_in, c_out, kh, kw, padding, np.float64)
    _assert_same(_all_three(x, f, g, pads, kind), _all_three(x, f, g, pads, "im2col"), 1e-12)


def test_the_blocked_sum_crosses_block_boundaries(monkeypatch):
    """Row blocks of 256 (the least the CPU's blocks take) split the image several times,
    with an odd remainder."""
    monkeypatch.setattr(shifted_rows, "_BLOCK_VALUES", 256)
    x, f, g, pads = _case(3, 23, 21, 32, 40, 3, 3, "SAME", np.float64)
    assert shifted_rows._grid(x.shape, f.shape, pads).count > 5 * 256
    _assert_same(_all_three(x, f, g, pads, "taps"), _all_three(x, f, g, pads, "im2col"), 1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape, w_shape", [
    ((0, 6, 6, 1), (3, 3, 1, 4)),     # no images
    ((0, 8, 8, 16), (3, 3, 16, 4)),
    ((2, 5, 5, 3), (3, 3, 3, 0)),     # no filters
    ((2, 5, 5, 0), (3, 3, 0, 4)),     # no channels: sums of nothing
])
def test_empty_shapes_give_empty_or_zero_results(shape, w_shape, kind):
    x, w = np.ones(shape), np.ones(w_shape)
    pads = _pads(shape, w_shape[:2], (1, 1), "SAME", "test")
    y = forward(x, w, (1, 1), pads, kind)
    assert y.shape == shape[:3] + w_shape[3:] and not y.any()
    g = np.ones(y.shape)
    assert input_grad(g, w, shape, (1, 1), pads, kind).shape == shape
    dw = filter_grad(x, g, w_shape, (1, 1), pads, kind)
    assert dw.shape == w_shape and not dw.any()


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integers_are_exact_whatever_the_formulation(dtype):
    """Winograd's transforms hold halves: integer convolutions take another formulation."""
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, (2, 8, 8, 16)).astype(dtype)
    w = rng.integers(-2, 3, (3, 3, 16, 4)).astype(dtype)
    want = forward(x.astype(np.float64), w.astype(np.float64), (1, 1), ((1, 1), (1, 1)), "im2col")
    for kind in (None, "winograd"):
        y = forward(x, w, (1, 1), ((1, 1), (1, 1)), kind)
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, want)
    with formulated("winograd"):
        np.testing.assert_array_equal(mt.nn.conv2d(x, w, 1, "SAME").numpy(), want)


def test_winograd_forced_beyond_its_padding_takes_another_formulation():
    """The input gradient pads by 2 - pad: explicit pads of 3 or more go to taps."""
    x, f, g, _ = _case(1, 5, 6, 2, 3, 3, 3, "SAME", np.float64)
    pads = ((4, 3), (4, 0))
    g = np.random.default_rng(4).standard_normal((1, 10, 8, 3))
    _assert_same([input_grad(g, f, x.shape, (1, 1), pads, "winograd")],
                 [input_grad(g, f, x.shape, (1, 1), pads, "im2col")], 1e-12)


@pytest.mark.parametrize("shape, strides, kind", [
    ((5, 5, 1, 6), (1, 1), "bands"),       # narrow: LeNet-5's convs, VGG's first
    ((5, 5, 6, 16), (1, 1), "bands"),
    ((3, 3, 3, 32), (1, 1), "bands"),
    ((3, 3, 8, 32), (1, 1), "bands"),
    ((5, 5, 16, 32), (1, 1), "bands"),
    ((3, 3, 32, 32), (1, 1), "winograd"),
    ((3, 3, 16, 32), (1, 1), "winograd"),
    ((5, 5, 32, 32), (1, 1), "taps"),      # wide
    ((1, 1, 3, 8), (1, 1), "taps"),        # 1x1: the input's rows are the patches
    ((3, 3, 64, 64), (2, 2), "im2col"),    # strides: only im2col
])
def test_the_formulation_follows_the_shape(shape, strides, kind):
    """(The winners in benchmarks/conv_formulations.py.)"""
    assert conv_kernels.formulation(shape, strides, (64, 14, 14, shape[2])) == kind


@pytest.mark.parametrize("w_shape, kind", [((3, 3, 16, 32), "bands"), ((3, 3, 32, 32), "taps")])
def test_a_tiny_image_takes_no_winograd(w_shape, kind):
    """On a 4x4 image Winograd's many small products cost more than the flops it saves."""
    assert conv_kernels.formulation(w_shape, (1, 1), (64, 4, 4, w_shape[2])) == kind


def test_a_conv2d_records_its_formulation_for_its_gradients(monkeypatch):
    """The gradients use the kind the forward chose, whatever is in force when they run."""
    kinds = []
    for name in ("input_grad", "filter_grad"):
        kernel = getattr(conv_kernels, name)
        monkeypatch.setattr(conv_kernels, name, lambda *args, kernel=kernel, **kw: (
            kinds.append(kw["kind"]), kernel(*args, **kw))[1])
    x, w = mt.Variable(np.ones((1, 4, 4, 3))), mt.Variable(np.ones((3, 3, 3, 2)))
    with formulated("taps"), mt.GradientTape() as tape:
        y = mt.nn.conv2d(x, w, 1, "SAME")
    with formulated("im2col"):
        tape.gradient(y, [x, w])
    assert kinds == ["taps", "taps"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("geometry", GEOMETRIES[::3], ids=[str(g) for g in GEOMETRIES[::3]])
def test_the_filter_gradient_reads_the_forwards_kept_input(geometry, kind):
    """What the forward kept of x gives the filters' gradient it would build, bit for bit;
    and it is read, not built again (a zeroed copy gives zero)."""
    if not conv_kernels._applies(kind, geometry[5:7] + geometry[3:4]):
        pytest.skip(f"{kind} does not apply to this filter shape")
    x, f, g, pads = _case(*geometry, dtype=np.float64)
    y, kept = conv_kernels.forward_keeping(x, f, (1, 1), pads, kind)
    np.testing.assert_array_equal(y, forward(x, f, (1, 1), pads, kind))
    built = filter_grad(x, g, f.shape, (1, 1), pads, kind)
    np.testing.assert_array_equal(filter_grad(x, g, f.shape, (1, 1), pads, kind, kept), built)
    zeroed = conv_kernels.Kept(kept.kind, np.zeros_like(kept.data))
    assert not filter_grad(x, g, f.shape, (1, 1), pads, kind, zeroed).any() and built.any()


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("geometry", GEOMETRIES[::3], ids=[str(g) for g in GEOMETRIES[::3]])
def test_bands_adds_the_bias_in_its_gemm(geometry, relu):
    """The bands' windows end in a 1 against B's row of the bias: the output is the
    convolution's plus the bias (then ReLU'd), and the filters' gradient read from those
    kept windows (their 1s dropped) is the one it builds without them."""
    x, f, g, pads = _case(*geometry, dtype=np.float64)
    b = np.linspace(-2.0, 2.0, f.shape[3])
    y, kept = conv_kernels.forward_keeping(x, f, (1, 1), pads, "bands", bias=b, relu=relu)
    want = forward(x, f, (1, 1), pads, "bands") + b
    np.testing.assert_allclose(y, np.maximum(want, 0) if relu else want, rtol=1e-12, atol=1e-12)
    _, plain = conv_kernels.forward_keeping(x, f, (1, 1), pads, "bands")
    np.testing.assert_array_equal(kept.data[:, :-1], plain.data)
    assert (kept.data[:, -1] == 1).all()
    np.testing.assert_allclose(filter_grad(x, g, f.shape, (1, 1), pads, "bands", kept),
                               filter_grad(x, g, f.shape, (1, 1), pads, "bands"),
                               rtol=1e-12, atol=1e-12)


def test_a_kept_input_of_another_kind_is_not_read():
    x, f, g, pads = _case(2, 7, 6, 3, 4, 3, 3, "SAME", np.float64)
    _, kept = conv_kernels.forward_keeping(x, f, (1, 1), pads, "taps")
    stale = conv_kernels.Kept("taps", np.zeros_like(kept.data))
    np.testing.assert_array_equal(filter_grad(x, g, f.shape, (1, 1), pads, "im2col", stale),
                                  filter_grad(x, g, f.shape, (1, 1), pads, "im2col"))


def _recorded_conv(persistent=False):
    rng = np.random.default_rng(0)
    x = mt.constant(rng.standard_normal((2, 6, 6, 1)))
    w = mt.Variable(rng.standard_normal((3, 3, 1, 4)))
    with mt.GradientTape(persistent=persistent) as tape:
        y = mt.nn.conv2d(x, w, 1, "SAME")
        loss = mt.reduce_sum(y * y)
    (op,) = [op for op in tape._tape.ops if op.name == "conv2d"]
    return tape, loss, w, op


def test_a_recorded_conv2d_keeps_its_input_for_the_filters_gradient_until_then():
    tape, loss, w, op = _recorded_conv(persistent=True)
    assert op.attrs["kept"].kind == "bands"
    first = tape.gradient(loss, w)
    assert "kept" not in op.attrs  # freed as the sweep went on
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(), first.numpy(), rtol=1e-12)
    with formulated("im2col"):
        want = _recorded_conv()
    np.testing.assert_allclose(first.numpy(), want[0].gradient(want[1], want[2]).numpy(),
                               rtol=1e-12)


def test_a_kept_input_over_the_size_limit_is_built_again(monkeypatch):
    monkeypatch.setattr(conv_kernels, "_KEPT_BYTES", 0)
    tape, loss, w, op = _recorded_conv()
    assert op.attrs["kept"] is None
    with formulated("im2col"):
        want = _recorded_conv()
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(),
                               want[0].gradient(want[1], want[2]).numpy(), rtol=1e-12)


def test_an_unknown_formulation_is_refused():
    with pytest.raises(ValueError, match="im2col"):
        with formulated("fft"):
            pass
