"""Check a function's tape gradients against central finite differences (use float64).

    from minitrain.gradcheck import check_gradients
    check_gradients(lambda x, w: mt.reduce_sum(mt.tanh(x @ w)), [x0, w0])

The function takes tensors and returns a tensor; it is differentiated with a GradientTape and
compared, input by input, with (f(x + eps) - f(x - eps)) / (2 eps) of sum(f * weights), where
``weights`` is a fixed random cotangent, so every output element is checked, not just the sum.
"""
import numpy as np

from .backprop import GradientTape
from .tensor import constant


def _cotangent(shape, seed=1234):
    # values exact in float32 too, so the same weights can seed a float32 target's sweep
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)
    return weights.astype(np.float32).astype(np.float64)


def _weighted_sum(f, arrays, weights):
    y = f(*[constant(a) for a in arrays])
    return float(np.sum(np.asarray(y, dtype=np.float64) * weights))


def numerical_gradients(f, inputs, eps=1e-6):
    """Central differences of sum(f(*inputs) * w) with respect to each input array."""
    arrays = [np.array(a, dtype=np.float64) for a in inputs]
    weights = _cotangent(np.shape(f(*[constant(a) for a in arrays])))
    grads = []
    for a in arrays:
        grad = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            keep = a[i]
            a[i] = keep + eps
            up = _weighted_sum(f, arrays, weights)
            a[i] = keep - eps
            down = _weighted_sum(f, arrays, weights)
            a[i] = keep
            grad[i] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads


def tape_gradients(f, inputs):
    """The GradientTape's gradients of sum(f(*inputs) * w), w as in ``numerical_gradients``."""
    xs = [constant(np.array(a, dtype=np.float64)) for a in inputs]
    with GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs)
    weights = constant(_cotangent(y.shape), dtype=y.dtype)
    grads = tape.gradient(y, xs, output_gradients=weights)
    return [None if g is None else np.asarray(g) for g in grads]


def check_gradients(f, inputs, atol=1e-6, rtol=1e-5, eps=1e-6):
    """Raise AssertionError, naming the input and the worst element, if the gradients differ."""
    analytic = tape_gradients(f, inputs)
    numeric = numerical_gradients(f, inputs, eps)
    for k, (got, want) in enumerate(zip(analytic, numeric)):
        if got is None:
            if np.any(want != 0):
                raise AssertionError(f"input {k}: the tape gave no gradient, finite differences "
                                     f"give {want}")
            continue
        if got.shape != want.shape:
            raise AssertionError(f"input {k}: gradient shape {got.shape}, expected {want.shape}")
        error = np.abs(got - want) - (atol + rtol * np.abs(want))
        if np.any(error > 0):
            worst = np.unravel_index(np.argmax(error), error.shape)
            raise AssertionError(
                f"input {k}: tape gradient {got[worst]!r} differs from finite differences "
                f"{want[worst]!r} at index {worst} (max abs difference "
                f"{np.abs(got - want).max():.3g})")
    return analytic



def gradient_function(f, wrt=0):
    """``*xs -> d sum(f(*xs)) / d xs[wrt]``, taken with a tape: check it to test 2nd derivatives."""

    def derivative(*xs):
        with GradientTape() as tape:
            tape.watch(xs[wrt])
            y = f(*xs)
        grad = tape.gradient(y, xs[wrt])
        return grad if grad is not None else constant(np.zeros(xs[wrt].shape))

    return derivative
