"""A dense layer's bias and activation in one pass: relu(x + b) without a temporary."""
from .. import backend
from . import fused


def bias_relu_numpy(x, b):
    """max(x + b, 0), computed in the memory of x + b."""
    xp = backend.array_module(x)
    y = x + b
    return xp.maximum(y, 0, out=y)


_kernel = None


def bias_relu_cupy(x, b):
    """The CuPy twin: one elementwise kernel, broadcasting b over the rows of x."""
    global _kernel
    if _kernel is None:
        _kernel = backend.cupy_module().ElementwiseKernel(
            "T x, T b", "T y", "y = max(x + b, (T)0)", "minitrain_bias_relu")
    return _kernel(x, b)


bias_relu = fused(bias_relu_numpy, bias_relu_cupy)
