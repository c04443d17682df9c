"""Exponentials, logarithms, trigonometric and sigmoid functions, with their gradients."""
import math

from .. import backend
from .core import as_tensor, register_gradient, run1, run2, xp_of
from .special import erf as _erf_array


def floating(x, name):
    """``x`` as a tensor, which must be floating: these functions have no integer version."""
    x = as_tensor(x)
    if x._data.dtype.kind not in "fc":
        raise TypeError(f"{name}: needs a floating tensor, got {x.dtype.name}; convert it "
                        f"first, e.g. mt.cast(x, mt.float32)")
    return x


def _transcendental(name, x):
    x = floating(x, name)
    return run1(name, getattr(xp_of(x), name), x)


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
    return (sin_grad(op.inputs[0], grad),)


def sin_grad(x, dy):
    """dy * cos(x) as one op, as TensorFlow fuses TanhGrad: a first-order sweep runs one op."""
    cos_ = xp_of(x).cos
    return run2("sin_grad", lambda x_, dy_: dy_ * cos_(x_), x, dy)


@register_gradient("sin_grad")
def _sin_grad_grad(op, grad):
    """d(dy cos x) = (-grad dy sin x, grad cos x)"""
    x, dy = op.inputs
    return cos_grad(x, grad * dy), sin_grad(x, grad)


def cos(x, name=None):
    return _transcendental("cos", x)


@register_gradient("cos")
def _cos_grad(op, grad):
    """-grad * sin(x)"""
    return (cos_grad(op.inputs[0], grad),)


def cos_grad(x, dy):
    """-dy * sin(x) as one op (see sin_grad)."""
    sin_ = xp_of(x).sin
    return run2("cos_grad", lambda x_, dy_: -dy_ * sin_(x_), x, dy)


@register_gradient("cos_grad")
def _cos_grad_grad(op, grad):
    """d(-dy sin x) = (-grad dy cos x, -grad sin x)"""
    x, dy = op.inputs
    return -sin_grad(x, grad * dy), cos_grad(x, grad)


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
