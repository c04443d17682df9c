"""Special functions numpy lacks, on arrays (no tape): accurate to float64 rounding."""
import math

from .. import backend

_TAYLOR_TERMS = 44  # |x| < 2: the terms fall below 1e-17 of the sum by then
_FRACTION_DEPTH = 80  # |x| >= 2: enough depth for the continued fraction to settle


def erf(a):
    """The error function: a Taylor series near 0, Laplace's continued fraction for erfc beyond."""
    xp = backend.array_module(a)
    x = xp.asarray(a, dtype="float64")
    near = xp.minimum(xp.abs(x), 2.0) * xp.sign(x)
    term, total, x2 = near.copy(), near.copy(), near * near
    for n in range(1, _TAYLOR_TERMS):
        term = term * (-x2 / n)
        total = total + term / (2 * n + 1)
    series = total * (2 / math.sqrt(math.pi))

    far = xp.maximum(xp.abs(x), 2.0)
    fraction = far
    for k in range(_FRACTION_DEPTH, 0, -1):
        fraction = far + (k / 2) / fraction
    tail = 1 - xp.exp(-far * far) / (math.sqrt(math.pi) * fraction)
    result = xp.where(xp.abs(x) < 2, series, xp.sign(x) * tail)
    return result.astype(a.dtype, copy=False) if backend.is_floating(a.dtype) else result
