"""Optimizer updates as single elementwise passes (Keras's formulas, in Keras's order).

The numpy twins write results into their own temporaries: a fresh array of a variable's size
costs as much as the arithmetic. The CuPy twins are one kernel launch per variable, where the
composed form launches about ten.
"""
from .. import backend
from . import fused


def adam_update_numpy(x, g, m, v, v_hat, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """One Adam step on arrays, returning new (x, m, v, v_hat); ``v_hat`` is None without AMSGrad.

    m <- m + (g - m)(1 - beta_1);  v <- v + (g^2 - v)(1 - beta_2);  v_hat <- max(v_hat, v);
    x <- x - (m alpha) / (sqrt(v or v_hat) + epsilon).
    """
    xp = backend.array_module(x)
    m_new = g - m
    m_new *= one_minus_beta_1
    m_new += m
    v_new = g * g
    v_new -= v
    v_new *= one_minus_beta_2
    v_new += v
    if v_hat is not None:
        v_hat = xp.maximum(v_hat, v_new)
    denominator = xp.sqrt(v_new if v_hat is None else v_hat)
    denominator += epsilon
    step = m_new * alpha
    step /= denominator
    return xp.subtract(x, step, out=step), m_new, v_new, v_hat  # x - step, in step's memory


_kernels = {}


def _kernel(name, inputs, outputs, body):
    if name not in _kernels:
        _kernels[name] = backend.cupy_module().ElementwiseKernel(inputs, outputs, body,
                                                                 f"minitrain_{name}")
    return _kernels[name]


def adam_update_cupy(x, g, m, v, v_hat, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """The CuPy twin: one kernel (AMSGrad, rarer, takes the generic path)."""
    if v_hat is not None:
        return adam_update_numpy(x, g, m, v, v_hat, alpha, one_minus_beta_1, one_minus_beta_2,
                                 epsilon)
    kernel = _kernel(
        "adam", "T x, T g, T m, T v, T alpha, T c1, T c2, T eps", "T x_out, T m_out, T v_out",
        "T m_new = m + (g - m) * c1; T v_new = v + (g * g - v) * c2;"
        "m_out = m_new; v_out = v_new; x_out = x - (m_new * alpha) / (sqrt(v_new) + eps);")
    x_new, m_new, v_new = kernel(x, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon)
    return x_new, m_new, v_new, None


def sgd_update_numpy(x, g, m, lr, momentum, nesterov):
    """One SGD step on arrays, returning new (x, m); ``m`` is None without momentum.

    m <- momentum m - lr g;  x <- x + m, or x + momentum m - lr g (Nesterov).
    """
    xp = backend.array_module(x)
    scaled_g = g * lr
    if m is None:
        return xp.subtract(x, scaled_g, out=scaled_g), None  # x - lr g, in place of lr g
    m_new = m * momentum
    m_new -= scaled_g
    if nesterov:
        step = m_new * momentum
        step -= scaled_g
        return xp.add(x, step, out=step), m_new
    return xp.add(x, m_new, out=scaled_g), m_new


def sgd_update_cupy(x, g, m, lr, momentum, nesterov):
    """The CuPy twin: one kernel with momentum (plain SGD is already one)."""
    if m is None:
        return x - g * lr, None
    kernel = _kernel(
        "sgd_momentum", "T x, T g, T m, T lr, T mu, int32 nesterov", "T x_out, T m_out",
        "T m_new = m * mu - g * lr; m_out = m_new;"
        "x_out = nesterov ? x + (m_new * mu - g * lr) : x + m_new;")
    return kernel(x, g, m, lr, momentum, int(nesterov))


adam_update = fused(adam_update_numpy, adam_update_cupy)
sgd_update = fused(sgd_update_numpy, sgd_update_cupy)
