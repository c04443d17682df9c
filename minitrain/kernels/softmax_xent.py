"""Sparse softmax cross-entropy: the loss and its logits gradient in one pass.

    loss_i = logsumexp(x_i) - x_i[label_i],    dloss_i/dx_i = softmax(x_i) - one_hot(label_i)
"""
import numpy as np

from .. import backend
from . import cupy_kernel, fused


def sparse_softmax_xent_numpy(logits, labels):
    """(loss per row, softmax - one_hot(labels)) for 2-D logits and 1-D integer labels."""
    # the ufuncs' own reductions: the array methods add a Python wrapper's microseconds
    shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = np.add.reduce(exp, axis=1, keepdims=True)
    # each row's label as one flat index, found once for the loss and the gradient
    at_labels = np.arange(0, logits.size, max(logits.shape[1], 1)) + labels
    loss = np.log(sum_exp[:, 0]) - shifted.ravel()[at_labels]
    exp /= sum_exp  # exp now holds softmax: reuse its memory for the gradient
    exp.ravel()[at_labels] -= 1
    return loss, exp


def _build_sum_exp(cp):
    return cp.ReductionKernel("T x, T m", "T s", "exp(x - m)", "a + b", "s = a", "0",
                              "minitrain_sum_exp")


def _build_backprop(cp):
    # i is the flat index of the output element: its row is i / n, its column i % n
    return cp.ElementwiseKernel(
        "T x, T m, T s, raw I labels, int64 n", "T g",
        "g = exp(x - m) / s - (T)((i % n) == (long long)labels[i / n])",
        "minitrain_softmax_xent_backprop")


def sparse_softmax_xent_cupy(logits, labels):
    """The CuPy twin: a max reduction, a fused sum of exponentials, one fused gradient kernel."""
    cp = backend.cupy_module()
    peak = logits.max(axis=1, keepdims=True)
    sum_exp = cupy_kernel("softmax_xent_sum_exp", _build_sum_exp)(
        logits, peak, axis=1, keepdims=True)
    rows = cp.arange(logits.shape[0])
    loss = cp.log(sum_exp[:, 0]) + peak[:, 0] - logits[rows, labels]
    backprop = cupy_kernel("softmax_xent_backprop", _build_backprop)(
        logits, peak, sum_exp, labels, logits.shape[1])
    return loss, backprop


sparse_softmax_xent = fused(sparse_softmax_xent_numpy, sparse_softmax_xent_cupy)
