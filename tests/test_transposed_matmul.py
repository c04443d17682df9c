"""backend.transposed_matmul: a^T @ b over many rows (a filter's gradient), in row chunks
where the BLAS's kernels want them and in one GEMM where not (both ways tested on every
machine); backend.copy_runs, the copy of its windows."""
import numpy as np
import pytest

from minitrain import backend


@pytest.mark.parametrize("a_shape, q", [
    ((5000, 27), 32),      # chunked, with a remainder of 5000 % 128 rows
    ((1024, 1), 6),        # whole chunks only
    ((16, 1000, 32), 32),  # batched, as Winograd's 16 positions
    ((300, 25), 6),        # too few rows: one GEMM
    ((2000, 120), 16),     # wide a: one GEMM
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunks", [True, False])
def test_transposed_matmul_matches_a_float64_reference(a_shape, q, dtype, chunks, monkeypatch):
    monkeypatch.setattr(backend, "avx512_blas", lambda: chunks)
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(a_shape[:-1] + (q,)).astype(dtype)
    got = backend.transposed_matmul(a, b)
    want = np.swapaxes(a.astype(np.float64), -1, -2) @ b.astype(np.float64)
    assert got.dtype == dtype and got.shape == want.shape
    tolerance = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * np.sqrt(a_shape[-2]))


def test_row_chunks_are_for_openblas_on_avx512_kernels():
    def library(api, architecture):
        return {"user_api": "blas", "internal_api": api, "architecture": architecture}

    assert backend.runs_avx512_openblas([library("openmp", None),
                                         library("openblas", "SkylakeX")])
    assert backend.runs_avx512_openblas([library("openblas", "SapphireRapids")])
    assert not backend.runs_avx512_openblas([library("openblas", "Haswell")])
    assert not backend.runs_avx512_openblas([library("openblas", "Zen")])
    assert not backend.runs_avx512_openblas([library("mkl", None)])
    assert not backend.runs_avx512_openblas([])
    bundled = dict(library("openblas", "Haswell"), filepath="/x/numpy.libs/libscipy_openblas.so")
    other = dict(library("openblas", "SkylakeX"), filepath="/x/other/libopenblas.so")
    assert not backend.runs_avx512_openblas([other, bundled])  # numpy's own decides
    assert isinstance(backend.avx512_blas(), bool)


@pytest.mark.parametrize("chunks", [True, False])
def test_transposed_matmul_takes_strided_views(chunks, monkeypatch):
    """An operand may arrive transposed, or as a slice of a larger array (shifted rows)."""
    monkeypatch.setattr(backend, "avx512_blas", lambda: chunks)
    rng = np.random.default_rng(1)
    a_t = rng.standard_normal((25, 3000))
    rows = rng.standard_normal((3100, 6))[50:3050]
    np.testing.assert_allclose(backend.transposed_matmul(a_t.T, rows), a_t @ rows,
                               rtol=1e-12)


def test_copy_runs_moves_overlapping_strided_runs_as_a_plain_copy():
    """Windows of a padded image overlap: each run read where it lies, into any layout."""
    rng = np.random.default_rng(2)
    image = rng.standard_normal((2, 6, 7, 3)).astype(np.float32)
    s = image.strides
    windows = np.lib.stride_tricks.as_strided(image, (2, 4, 3, 3, 9),
                                              (s[0], s[1], 2 * s[2], s[1], s[3]))
    wide = np.zeros((2, 4, 3, 3, 10), np.float32)  # a destination whose runs are apart
    backend.copy_runs(wide[..., 1:], windows)
    np.testing.assert_array_equal(wide[..., 1:], windows)
    assert not wide[..., 0].any()
    doubles = backend.copy_runs(np.empty(windows.shape), windows)  # numpy's own cast
    np.testing.assert_array_equal(doubles, windows.astype(np.float64))


@pytest.mark.parametrize("contiguous", [True, False])
def test_as_strided_gives_numpy_s_view_and_writes_through(contiguous):
    """The ndarray constructor's view of a contiguous array (numpy's as_strided for others):
    the same overlapping windows, on the same memory."""
    image = np.arange(2 * 6 * 7 * 3, dtype=np.float32).reshape(2, 6, 7, 3)
    a = image if contiguous else image[:, :, ::-1]  # a reversed view: numpy's own path
    s = a.strides
    shape, strides = (2, 4, 3, 3, 3), (s[0], s[1], 2 * s[2], s[1], s[2])
    view = backend.as_strided(a, shape, strides)
    np.testing.assert_array_equal(view, np.lib.stride_tricks.as_strided(a, shape, strides))
    view[1, 3, 2, 2, 2] = -1.0  # the last entry: the view reaches a's end and no further
    assert a[1, 5, 6, 0] == -1.0 and (a == -1.0).sum() == 1
