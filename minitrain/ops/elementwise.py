"""Exponentials, logarithms, trigonometric and sigmoid functions, with their gradients."""
import math

from .. import backend
from .core import as_tensor, register_array_gradient, register_gradient, run1, run2, unary, xp_of
from .special import erf as _erf_array


def floating(x, name):
    """``x`` as a tensor, which must be floating: these functions have no integer version."""
    x = as_tensor(x)
    if x._data.dtype.kind not in "fc":
        raise TypeError(f"{name}: needs a floating tensor, got {x.dtype.name}; convert it "
                        f"first, e.g. mt.cast(x, mt.float32)")
    return x


def _transcendental(name, x):
    return unary(name, floating(x, name))


def exp(x, name=None):
    return _transcendental("exp", x)


@register_gradient("exp")
def _exp_grad(op, grad):
    """grad * exp(x)"""
    (y,) = op.outputs
    return (grad * y,)


def expm1(x, name=None):
    return _transcendental("expm1", x)


@register_gradient("expm1")
def _expm1_grad(op, grad):
    """grad * exp(x)"""
    (y,) = op.outputs
    return (grad * (y + 1),)


def log(x, name=None):
    return _transcendental("log", x)


@register_gradient("log")
def _log_grad(op, grad):
    """grad / x"""
    (x,) = op.inputs
    return (grad / x,)


def log1p(x, name=None):
    return _transcendental("log1p", x)


@register_gradient("log1p")
def _log1p_grad(op, grad):
    """grad / (1 + x)"""
    (x,) = op.inputs
    return (grad / (1 + x),)


def sin(x, name=None):
    return _transcendental("sin", x)


@register_gradient("sin")
def _sin_grad(op, grad):
    """grad * cos(x)"""
    (x,) = op.inputs
    return (grad * cos(x),)


def cos(x, name=None):
    return _transcendental("cos", x)


@register_gradient("cos")
def _cos_grad(op, grad):
    """-grad * sin(x)"""
    (x,) = op.inputs
    return (-grad * sin(x),)


def tan(x, name=None):
    return _transcendental("tan", x)


@register_gradient("tan")
def _tan_grad(op, grad):
    """grad * (1 + tan(x)**2)"""
    (y,) = op.outputs
    return (grad * (1 + y * y),)


def tanh(x, name=None):
    return _transcendental("tanh", x)


@register_gradient("tanh")
def _tanh_grad(op, grad):
    """grad * (1 - y**2)"""
    return (tanh_grad(op.outputs[0], grad),)


def tanh_grad(y, dy):
    """dy * (1 - y**2) as one op (TensorFlow's TanhGrad): a first-order sweep runs one op."""
    return run2("tanh_grad", lambda y_, dy_: dy_ * (1 - y_ * y_), y, dy)


@register_gradient("tanh_grad")
def _tanh_grad_grad(op, grad):
    """d/dy = -2 grad dy y; d/ddy = grad (1 - y**2)"""
    y, dy = op.inputs
    return -2 * grad * dy * y, tanh_grad(y, grad)


def sigmoid(x, name=None):
    x = floating(x, "sigmoid")
    xp = xp_of(x)

    def forward(a):
        # 0.5 * (tanh(x / 2) + 1) cancels for x < 0 (it is 0 at x = -20 in float32); this
        # form keeps the tail's relative precision, and its overflow to 1 / inf = 0 is exact
        with backend.quiet_overflow():
            e = xp.exp(-a)
        e += 1
        return 1 / e

    return run1("sigmoid", forward, x)


@register_gradient("sigmoid")
def _sigmoid_grad(op, grad):
    """grad * y * (1 - y)"""
    return (sigmoid_grad(op.outputs[0], grad),)


def sigmoid_grad(y, dy):
    """dy * y * (1 - y) as one op (TensorFlow's SigmoidGrad)."""
    return run2("sigmoid_grad", lambda y_, dy_: dy_ * y_ * (1 - y_), y, dy)


@register_gradient("sigmoid_grad")
def _sigmoid_grad_grad(op, grad):
    """d/dy = grad dy (1 - 2y); d/ddy = grad y (1 - y)"""
    y, dy = op.inputs
    return grad * dy * (1 - 2 * y), sigmoid_grad(y, grad)


def erf(x, name=None):
    x = floating(x, "erf")
    return run1("erf", _erf_array, x)


@register_gradient("erf")
def _erf_grad(op, grad):
    """grad * 2 / sqrt(pi) * exp(-x**2)"""
    (x,) = op.inputs
    return (grad * (2 / math.sqrt(math.pi)) * exp(-(x * x)),)


# --- first-order twins on arrays (see ops.core.register_array_gradient) --------------------------
@register_array_gradient("exp")
def _exp_array_grad(op, grad):
    return (grad * op.outputs[0]._data,)


@register_array_gradient("log")
def _log_array_grad(op, grad):
    return (grad / op.inputs[0]._data,)


@register_array_gradient("sin")
def _sin_array_grad(op, grad):
    x = op.inputs[0]._data
    return (grad * backend.array_module(x).cos(x),)


@register_array_gradient("cos")
def _cos_array_grad(op, grad):
    x = op.inputs[0]._data
    return (-grad * backend.array_module(x).sin(x),)


@register_array_gradient("tanh")
def _tanh_array_grad(op, grad):
    y = op.outputs[0]._data
    return (grad * (1 - y * y),)


@register_array_gradient("sigmoid")
def _sigmoid_array_grad(op, grad):
    y = op.outputs[0]._data
    return (grad * y * (1 - y),)
