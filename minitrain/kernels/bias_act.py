"""A layer's bias and activation in one pass: relu(x + b) without a temporary; ReLU's
gradient, dy where y > 0 (one kernel on a GPU); and that with the bias's gradient.

``b`` broadcasts over the last axis of ``x``: a dense layer's (batch, units) outputs and a
convolution's NHWC outputs alike.
"""
import numpy as np

from .. import backend
from . import cupy_kernel, fused


def bias_relu_numpy(x, b, out=None):
    """max(x + b, 0), computed in the memory of x + b (or of ``out``, which may be x)."""
    y = backend.along_channels(backend.array_module(x).add, x, b, out=out)
    return backend.max_with_zero(y, out=y)


def _build_bias_relu(cupy):
    return cupy.ElementwiseKernel("T x, T b", "T y", "y = max(x + b, (T)0)",
                                  "minitrain_bias_relu")


def bias_relu_cupy(x, b, out=None):
    """The CuPy twin: one elementwise kernel (CuPy broadcasts b against x, of any rank)."""
    kernel = cupy_kernel("bias_relu", _build_bias_relu)
    return kernel(x, b) if out is None else kernel(x, b, out)


bias_relu = fused(bias_relu_numpy, bias_relu_cupy)


def relu_grad_numpy(dy, y):
    """dy * (y > 0), the mask cast in the loop: with dtype named, numpy's loop is 1.5x faster
    than the one its type resolution picks (np.where is 10x slower still)."""
    return np.multiply(dy, y > 0, dtype=dy.dtype)


# From 2M values on (a VGG conv's output), the mask no longer fits a 2 MB L2 beside the
# blocks it is read with: relu_bias_grads goes through such arrays in blocks of 64k values
# (1.0-1.25x as fast as the whole product and its sums, over runs); below, whole arrays are
# faster (a (64, 16, 16, 64) gradient: 1.6 against 1.9 ms in blocks).
_BLOCKED_FROM, _BLOCK_VALUES = 1 << 21, 1 << 16


def relu_bias_grads_numpy(dy, y):
    """(dy * (y > 0), its sum over every axis but the last): the gradients of relu(x + b) to
    x and to b. On large contiguous arrays, block by block of whole rows: each block's sums
    (ones @ rows, one BLAS product, as backend's column sums) read it while it is still in
    the cache, instead of the whole product from memory again."""
    channels = dy.shape[-1] if dy.ndim else 1
    rows = dy.size // max(channels, 1)  # (a large array has channels)
    if dy.size < _BLOCKED_FROM or dy.dtype.kind != "f" or not (
            dy.shape == y.shape and dy.flags.c_contiguous and y.flags.c_contiguous):
        masked = relu_grad_numpy(dy, y)
        return masked, backend.sum_in_dtype(masked, tuple(range(dy.ndim - 1)), False)
    out = np.empty(dy.shape, dy.dtype)
    flat_dy, flat_y, flat_out = (a.reshape(rows, channels) for a in (dy, y, out))
    step = max(1, _BLOCK_VALUES // channels)
    mask = np.empty((min(step, rows), channels), bool)
    ones = np.ones(min(step, rows), dy.dtype)
    sums = np.zeros(channels, dy.dtype)
    for start in range(0, rows, step):
        block = slice(start, min(start + step, rows))
        taken, block_out = mask[:block.stop - start], flat_out[block]
        np.greater(flat_y[block], 0, out=taken)
        np.multiply(flat_dy[block], taken, out=block_out, dtype=dy.dtype)
        sums += ones[:block.stop - start] @ block_out
    return out, sums


def _build_relu_grad(cupy):
    # a product, not a choice, so that an infinite dy at y <= 0 gives NaN, as on numpy
    return cupy.ElementwiseKernel("T dy, T y", "T dx", "dx = dy * (T)(y > (T)0)",
                                  "minitrain_relu_grad")


def relu_grad_cupy(dy, y):
    """The CuPy twin: one elementwise kernel."""
    return cupy_kernel("relu_grad", _build_relu_grad)(dy, y)


relu_grad = fused(relu_grad_numpy, relu_grad_cupy)


def relu_bias_grads_cupy(dy, y):
    """The CuPy twin: relu_grad's kernel, then CuPy's sum over the rows."""
    masked = relu_grad_cupy(dy, y)
    return masked, masked.sum(axis=tuple(range(dy.ndim - 1)), dtype=dy.dtype)


relu_bias_grads = fused(relu_bias_grads_numpy, relu_bias_grads_cupy)
