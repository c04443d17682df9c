"""Activations, softmax and the cross-entropies (stable forwards, fused first-order gradients)."""
import math

from .. import backend, tape
from ..kernels.bias_act import bias_relu as bias_relu_kernel
from ..kernels.bias_act import relu_bias_grads as relu_bias_grads_kernel
from ..kernels.bias_act import relu_grad as relu_grad_kernel
from ..kernels.softmax_xent import sparse_softmax_xent
from ..tensor import Tensor
from .core import (
    add_optional,
    as_pair,
    as_tensor,
    register_gradient,
    run,
    run1,
    run2,
    run_outputs,
    xp_of,
)
from .elementwise import erf, exp, expm1, floating, sigmoid, tanh
from .reduce import reduce_sum
from .selection import greater, minimum, where
from .shape import expand_dims, zeros_like


def relu(features, name=None):
    x = as_tensor(features)
    return run1("relu", backend.max_with_zero, x)


@register_gradient("relu")
def _relu_grad(op, grad):
    """grad where y > 0"""
    return (relu_grad(grad, op.outputs[0]),)


def relu_grad(dy, y):
    """dy where y > 0, as one op (TensorFlow's ReluGrad)."""
    return run2("relu_grad", relu_grad_kernel, dy, y)


@register_gradient("relu_grad")
def _relu_grad_grad(op, grad):
    """linear in dy with the same mask; flat in y almost everywhere: zeros, as TensorFlow's
    ReluGradGrad gives, so a second derivative through relu is 0, not unconnected"""
    y = op.inputs[1]
    return relu_grad(grad, y), (zeros_like(y) if op.needs_grad[1] else None)


def bias_relu(x, bias, name=None):
    """relu(x + bias) in one fused kernel: a dense layer's bias and activation."""
    x, b = as_pair(x, bias, "bias_relu")
    return run2("bias_relu", bias_relu_kernel, x, b)


@register_gradient("bias_relu")
def _bias_relu_grad(op, grad):
    """relu's gradient, to x and, summed over the rows, to the bias"""
    return relu_bias_grads(grad, op.outputs[0], op.inputs[1]._data.shape)


def relu_bias_grads(grad, y, bias_shape):
    """(grad where y > 0, its sum over the rows): the gradients of relu(x + b) to x and to
    a bias b of ``bias_shape``. For a vector along the last axis, where no tape records the
    sweep, one kernel (its sums read each block of the product in the cache); else relu_grad's
    op, whose product the sweep sums to the bias's shape, differentiable again."""
    if tape.active() or tuple(bias_shape) != y._data.shape[-1:]:
        masked = relu_grad(grad, y)
        return masked, masked
    masked, sums = relu_bias_grads_kernel(grad._data, y._data)
    return Tensor(masked), Tensor(sums)


# the activations a bias fuses with, by Keras name: the one place Dense and Conv2D learn
# whether theirs has a fused op
BIAS_ACTIVATIONS = {"relu": bias_relu}


def bias_add_activation(x, bias, activation, activation_name=None):
    """activation(x + bias) over the last axis of x (a layer's bias, None for none), in one
    fused op where ``BIAS_ACTIVATIONS`` has one for ``activation_name``."""
    if bias is None:
        return activation(x)
    fused = BIAS_ACTIVATIONS.get(activation_name)
    return activation(x + bias) if fused is None else fused(x, bias)


def relu6(features, name=None):
    return minimum(relu(features), 6)


def leaky_relu(features, alpha=0.2, name=None):
    x = as_tensor(features)
    return where(greater(x, 0), x, x * alpha)


def elu(features, name=None):
    x = as_tensor(features)
    # expm1 of the clamped input: the unused branch must stay finite, or its gradient is NaN
    return where(greater(x, 0), x, expm1(minimum(x, 0)))


def gelu(features, approximate=False, name=None):
    """x * Phi(x), Phi the standard normal CDF (exact via erf, or the tanh approximation)."""
    x = as_tensor(features)
    if approximate:
        return 0.5 * x * (1 + tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2))))


def softplus(features, name=None):
    """log(1 + exp(x)), written as max(x, 0) + log1p(exp(-|x|)) so that it cannot overflow."""
    x = as_tensor(features)
    xp = xp_of(x)
    return run("softplus", lambda a: xp.maximum(a, 0) + xp.log1p(xp.exp(-xp.abs(a))), (x,))


@register_gradient("softplus")
def _softplus_grad(op, grad):
    """grad * sigmoid(x)"""
    return (grad * sigmoid(op.inputs[0]),)


def silu(features, name=None):
    x = as_tensor(features)
    return x * sigmoid(x)


swish = silu

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(features, name=None):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)), Klambauer et al.'s constants."""
    x = as_tensor(features)
    return _SELU_SCALE * where(greater(x, 0), x, _SELU_ALPHA * expm1(minimum(x, 0)))


def softsign(features, name=None):
    """x / (|x| + 1)"""
    x = as_tensor(features)
    return x / (abs(x) + 1)


def log_sigmoid(x, name=None):
    """log(sigmoid(x)) = -softplus(-x), which cannot overflow."""
    return -softplus(-as_tensor(x))


def _log_softmax_array(a, axis):
    xp = backend.array_module(a)
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits, axis=-1, name=None):
    x = floating(logits, "softmax")
    xp = xp_of(x)
    return run("softmax", lambda a: xp.exp(_log_softmax_array(a, axis)), (x,), {"axis": axis})


def _softmax_vjp(y, grad, axis):
    """y * (grad - sum(grad * y)): a gradient carried back through y = softmax(x)"""
    return y * (grad - reduce_sum(grad * y, axis, keepdims=True))


@register_gradient("softmax")
def _softmax_grad(op, grad):
    """y * (grad - sum(grad * y))"""
    return (_softmax_vjp(op.outputs[0], grad, op.attrs["axis"]),)


def log_softmax(logits, axis=-1, name=None):
    x = floating(logits, "log_softmax")
    return run("log_softmax", lambda a: _log_softmax_array(a, axis), (x,), {"axis": axis})


@register_gradient("log_softmax")
def _log_softmax_grad(op, grad):
    """grad - softmax(x) * sum(grad)"""
    (y,), axis = op.outputs, op.attrs["axis"]
    return (grad - exp(y) * reduce_sum(grad, axis, keepdims=True),)


def _class_indices(labels, logits, caller):
    """Integer labels as an array on the logits' device (a tensor elsewhere is an error), of
    the logits' shape less the class axis, each a valid class."""
    if isinstance(labels, Tensor):
        backend.check_same_device(caller, labels._data, logits._data)
    data = backend.to_device(as_tensor(labels)._data, logits.device)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{caller}: labels must be integer class indices, got dtype "
                        f"{data.dtype.name}")
    shape, n_classes = logits.shape, logits.shape[-1]
    if data.shape != shape[:-1]:
        raise ValueError(f"{caller}: labels of shape {data.shape} do not match logits of shape "
                         f"{shape} (expected labels of shape {shape[:-1]})")
    if data.size:
        low, high = backend.min_max(data)
        if low < 0 or high >= n_classes:
            raise ValueError(f"{caller}: a label is outside the valid range [0, {n_classes}): "
                             f"got values {low}..{high}")
    return data


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """-log softmax(logits)[label] per row; labels are class indices."""
    return sparse_softmax_cross_entropy(labels, logits, "sparse_softmax_cross_entropy_with_logits")


def sparse_softmax_cross_entropy_mean(labels, logits, caller="sparse_softmax_cross_entropy_mean"):
    """The mean over all rows of the sparse softmax cross-entropy, as one op (as PyTorch's
    cross_entropy with reduction="mean"): a classifier's loss, forward and backward in one
    pass. ``caller`` names the function in error messages. Needs at least one row."""
    return sparse_softmax_cross_entropy(labels, logits, caller, mean=True)


def sparse_softmax_cross_entropy(labels, logits, caller, mean=False):
    """Both sparse cross-entropies (per row, or their mean), with errors naming ``caller``.

    As TensorFlow's SparseSoftmaxCrossEntropyWithLogits, the op has a second output, its
    gradient ``backprop = softmax(logits) - one_hot(labels)`` (over the rows, for the mean),
    which the fused kernel computes with the loss; the gradient function reads it there.
    """
    x = as_tensor(logits)
    labels = _class_indices(labels, x, caller)
    n_classes, count = x.shape[-1], labels.size
    if mean and not count:
        raise ValueError(f"{caller}: the mean of no rows is undefined (labels of shape "
                         f"{labels.shape})")

    def forward(a):
        loss, backprop = sparse_softmax_xent(a.reshape(-1, n_classes), labels.reshape(-1))
        if mean:
            loss = backend.sum_in_dtype(loss, None, False) / count
            backprop /= count  # each row's share of the mean
        return (loss if mean else loss.reshape(labels.shape)), backprop.reshape(a.shape)

    name = "sparse_softmax_cross_entropy_mean" if mean else "sparse_softmax_cross_entropy"
    loss, _backprop = run_outputs(name, forward, (x,), {"labels": labels})
    return loss


@register_gradient("sparse_softmax_cross_entropy")
def _sparse_softmax_cross_entropy_grad(op, grad, grad_backprop):
    """grad * backprop; backprop's own gradient (met in second derivatives) is softmax's"""
    (x,), backprop = op.inputs, op.outputs[1]
    grad_x = None if grad is None else expand_dims(grad, -1) * backprop
    if grad_backprop is not None:
        grad_x = add_optional(grad_x, _softmax_vjp(softmax(x), grad_backprop, -1))
    return (grad_x,)


@register_gradient("sparse_softmax_cross_entropy_mean")
def _sparse_softmax_cross_entropy_mean_grad(op, grad, grad_backprop):
    """grad * backprop, backprop = (softmax(x) - one_hot(labels)) / rows; backprop's own
    gradient is softmax's over the rows"""
    (x,), backprop = op.inputs, op.outputs[1]
    grad_x = None if grad is None else grad * backprop
    if grad_backprop is not None:
        rows = op.attrs["labels"].size
        grad_x = add_optional(grad_x, _softmax_vjp(softmax(x), grad_backprop / rows, -1))
    return (grad_x,)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """-sum(labels * log softmax(logits)) along ``axis``; labels are distributions.

    Its second output, as in TensorFlow, is the gradient to the logits,
    ``backprop = softmax(logits) * sum(labels) - labels``.
    """
    z, x = as_pair(labels, logits, "softmax_cross_entropy_with_logits")
    if z.shape != x.shape:
        raise ValueError(f"softmax_cross_entropy_with_logits: labels of shape {z.shape} do "
                         f"not match logits of shape {x.shape}")
    exp = xp_of(x).exp

    def forward(z_, a):
        log_p = _log_softmax_array(a, axis)
        backprop = exp(log_p) * z_.sum(axis=axis, keepdims=True) - z_
        return -(z_ * log_p).sum(axis=axis), backprop

    loss, _backprop = run_outputs("softmax_cross_entropy", forward, (z, x), {"axis": axis})
    return loss


@register_gradient("softmax_cross_entropy")
def _softmax_cross_entropy_grad(op, grad, grad_backprop):
    """to z: -grad * log softmax(x); to x: grad * backprop. backprop = p sum(z) - z, with
    p = softmax(x), carries grad_backprop back as sum(z) times softmax's gradient to x and as
    sum(grad_backprop * p) - grad_backprop to z."""
    (z, x), axis = op.inputs, op.attrs["axis"]
    need_z, need_x = op.needs_grad
    grad_z = grad_x = None
    if grad is not None:
        grad = expand_dims(grad, axis)
        grad_z = -grad * log_softmax(x, axis) if need_z else None
        grad_x = grad * op.outputs[1] if need_x else None
    if grad_backprop is not None:
        p = softmax(x, axis)
        if need_x:
            total = reduce_sum(z, axis, keepdims=True)
            grad_x = add_optional(grad_x, _softmax_vjp(p, grad_backprop * total, axis))
        if need_z:
            through = reduce_sum(grad_backprop * p, axis, keepdims=True) - grad_backprop
            grad_z = add_optional(grad_z, through)
    return grad_z, grad_x


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """-z log sigmoid(x) - (1 - z) log(1 - sigmoid(x)) = max(x, 0) - x z + log1p(exp(-|x|))."""
    z, x = as_pair(labels, logits, "sigmoid_cross_entropy_with_logits")
    if z.shape != x.shape:
        raise ValueError(f"sigmoid_cross_entropy_with_logits: labels of shape {z.shape} do "
                         f"not match logits of shape {x.shape}")
    xp = xp_of(x)

    def forward(z_, a):
        return xp.maximum(a, 0) - a * z_ + xp.log1p(xp.exp(-xp.abs(a)))

    return run("sigmoid_cross_entropy", forward, (z, x))


@register_gradient("sigmoid_cross_entropy")
def _sigmoid_cross_entropy_grad(op, grad):
    """(-grad * x, grad * (sigmoid(x) - z))"""
    z, x = op.inputs
    return -grad * x, grad * (sigmoid(x) - z)


def l2_loss(t, name=None):
    x = as_tensor(t)
    return reduce_sum(x * x) / 2


def bias_add(value, bias, name=None):
    return as_tensor(value) + bias

