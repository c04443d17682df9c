"""A layer's bias and activation in one pass: relu(x + b) without a temporary.

``b`` broadcasts over the last axis of ``x``: a dense layer's (batch, units) outputs and a
convolution's NHWC outputs alike.
"""
from .. import backend
from . import cupy_kernel, fused


def bias_relu_numpy(x, b, out=None):
    """max(x + b, 0), computed in the memory of x + b (or of ``out``, which may be x)."""
    xp = backend.array_module(x)
    y = backend.along_channels(xp.add, x, b, out=out)
    return xp.maximum(y, 0, out=y)


def _build_bias_relu(cupy):
    return cupy.ElementwiseKernel("T x, T b", "T y", "y = max(x + b, (T)0)",
                                  "minitrain_bias_relu")


def bias_relu_cupy(x, b, out=None):
    """The CuPy twin: one elementwise kernel (CuPy broadcasts b against x, of any rank)."""
    kernel = cupy_kernel("bias_relu", _build_bias_relu)
    return kernel(x, b) if out is None else kernel(x, b, out)


bias_relu = fused(bias_relu_numpy, bias_relu_cupy)
