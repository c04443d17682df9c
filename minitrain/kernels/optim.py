"""Optimizer steps as in-place elementwise passes (Keras's formulas, in Keras's order).

A step overwrites the state it is given -- the variable's array and its slots -- and allocates
nothing: a fresh array of a variable's size costs as much as the arithmetic. The numpy twins
go through a variable a block of _BLOCK_VALUES at a time, their temporaries written into
``scratch`` (arrays of a block's size, made once by the optimizer's ``build``) and read back
while still in the cache; the CuPy twins are one kernel launch per variable, where the
composed form launches about ten, and need no scratch.

``adam_update`` and ``sgd_update`` are the functional forms, returning new arrays and leaving
their inputs as they were (parity tests, benchmarks).
"""
import numpy as np

from . import cupy_kernel, fused

# a block's operands and temporaries (128 kB each in float32) stay in a 2 MB L2: the SGD
# updates of an MLP step on 784x512 weights, block by block instead of through a temporary
# of each weight's size, made the whole step 4% faster
_BLOCK_VALUES = 1 << 15


def _scratch(x, count):
    if not isinstance(x, np.ndarray):
        return None
    return tuple(np.empty(min(x.size, _BLOCK_VALUES), x.dtype) for _ in range(count))


def adam_scratch(x):
    """The temporaries ``adam_step`` needs for x: two blocks; None on a GPU."""
    return _scratch(x, 2)


def sgd_scratch(x, nesterov):
    """The temporaries ``sgd_step`` needs for x: one block, two with Nesterov momentum; None
    on a GPU."""
    return _scratch(x, 2 if nesterov else 1)


def _blocks(arrays, scratch):
    """(the arrays' flat views over one block (None stays None), then the scratch's) for each
    block of the scratch's length; the whole arrays in one go where they fit in one (the
    scratch taking their shape), or with new temporaries where an array is not C-contiguous
    (a flat view of it would be a copy, and writes to it lost)."""
    x = arrays[0]
    if x.size <= scratch[0].size:  # a bias, a small layer's weights: no loop to set up
        return (arrays + tuple(s[:x.size].reshape(x.shape) for s in scratch),)
    return _flat_blocks(arrays, scratch)


def _flat_blocks(arrays, scratch):
    present = [a for a in arrays if a is not None]
    if not all(a.flags.c_contiguous and a.shape == present[0].shape for a in present):
        yield (*arrays, *(np.empty_like(present[0]) for _ in scratch))
        return
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    size, length = present[0].size, max(scratch[0].size, 1)
    for start in range(0, size, length):
        block = slice(start, min(start + length, size))
        yield (*(None if a is None else a[block] for a in flat),
               *(s[:block.stop - start] for s in scratch))


def adam_step_numpy(x, g, m, v, v_hat, alpha, one_minus_beta_1, one_minus_beta_2, epsilon,
                    scratch=None):
    """One Adam step in place on x, m, v and v_hat (None without AMSGrad).

    m <- m + (g - m)(1 - beta_1);  v <- v + (g^2 - v)(1 - beta_2);  v_hat <- max(v_hat, v);
    x <- x - (m alpha) / (sqrt(v or v_hat) + epsilon).
    """
    constants = (alpha, one_minus_beta_1, one_minus_beta_2, epsilon)
    for arrays in _blocks((x, g, m, v, v_hat), adam_scratch(x) if scratch is None else scratch):
        _adam_block(*arrays[:5], *constants, *arrays[5:])


def _adam_block(x, g, m, v, v_hat, alpha, one_minus_beta_1, one_minus_beta_2, epsilon, s, t):
    # two temporaries: the numerator m alpha and the denominator are needed at once
    np.subtract(g, m, out=s)
    s *= one_minus_beta_1
    m += s
    np.multiply(g, g, out=s)
    s -= v
    s *= one_minus_beta_2
    v += s
    if v_hat is not None:
        v = np.maximum(v_hat, v, out=v_hat)  # AMSGrad divides by the running maximum
    np.sqrt(v, out=s)
    s += epsilon
    np.multiply(m, alpha, out=t)
    t /= s
    x -= t


def _adam_kernel(cupy, amsgrad):
    """m, v (and v_hat) and x in one pass, in the numpy twin's order."""
    if amsgrad:
        outputs = "T x, T m, T v, T v_hat"
        last = "v_hat = max(v_hat, v); x -= (m * alpha) / (sqrt(v_hat) + eps);"
    else:
        outputs, last = "T x, T m, T v", "x -= (m * alpha) / (sqrt(v) + eps);"
    return cupy.ElementwiseKernel(
        "T g, T alpha, T c1, T c2, T eps", outputs,  # outputs are read, then written in place
        "m += (g - m) * c1; v += (g * g - v) * c2; " + last,
        "minitrain_amsgrad" if amsgrad else "minitrain_adam")


def adam_step_cupy(x, g, m, v, v_hat, alpha, one_minus_beta_1, one_minus_beta_2, epsilon,
                   scratch=None):
    """The CuPy twin: one kernel, reading and writing x, m, v (and v_hat) in place."""
    amsgrad = v_hat is not None
    kernel = cupy_kernel("amsgrad_step" if amsgrad else "adam_step",
                         lambda cp: _adam_kernel(cp, amsgrad))
    state = (x, m, v, v_hat) if amsgrad else (x, m, v)
    kernel(g, alpha, one_minus_beta_1, one_minus_beta_2, epsilon, *state)


def sgd_step_numpy(x, g, m, lr, momentum, nesterov, scratch=None):
    """One SGD step in place on x and m (None without momentum).

    m <- momentum m - lr g;  x <- x + m, or x + (momentum m - lr g) (Nesterov).
    """
    for arrays in _blocks((x, g, m), sgd_scratch(x, nesterov) if scratch is None else scratch):
        _sgd_block(*arrays[:3], lr, momentum, nesterov, *arrays[3:])


def _sgd_block(x, g, m, lr, momentum, nesterov, s, *t):
    scaled_g = np.multiply(g, lr, out=s)
    if m is None:
        x -= scaled_g
        return
    m *= momentum
    m -= scaled_g
    if nesterov:
        step = np.multiply(m, momentum, out=t[0])
        step -= scaled_g
        x += step
    else:
        x += m


def sgd_step_cupy(x, g, m, lr, momentum, nesterov, scratch=None):
    """The CuPy twin: one kernel, reading and writing x and m in place."""
    if m is None:
        x -= g * lr  # already one kernel, and one temporary
        return
    kernel = cupy_kernel("sgd_momentum_step", lambda cp: cp.ElementwiseKernel(
        "T g, T lr, T mu, int32 nesterov", "T x, T m",
        "m = m * mu - g * lr; x += nesterov ? m * mu - g * lr : m;", "minitrain_sgd_momentum"))
    kernel(g, lr, momentum, int(nesterov), x, m)


def on_copies(step, overwritten):
    """``step`` as a function returning new arrays: it runs on copies of its arguments at the
    positions ``overwritten`` (None stays None) and returns those copies."""

    def update(*args):
        args = [a.copy() if i in overwritten and a is not None else a for i, a in enumerate(args)]
        step(*args)
        return tuple(args[i] for i in overwritten)

    update.__name__ = step.__name__.replace("_step", "_update")
    update.__doc__ = f"The functional form of ``{step.__name__}``: new arrays, inputs unchanged."
    return update


adam_step = fused(adam_step_numpy, adam_step_cupy)
sgd_step = fused(sgd_step_numpy, sgd_step_cupy)
ADAM_STATE, SGD_STATE = (0, 2, 3, 4), (0, 2)  # the positions of x, m, v, v_hat; of x, m
adam_update_numpy = on_copies(adam_step_numpy, ADAM_STATE)
adam_update_cupy = on_copies(adam_step_cupy, ADAM_STATE)
adam_update = on_copies(adam_step, ADAM_STATE)
sgd_update_numpy = on_copies(sgd_step_numpy, SGD_STATE)
sgd_update_cupy = on_copies(sgd_step_cupy, SGD_STATE)
sgd_update = on_copies(sgd_step, SGD_STATE)
