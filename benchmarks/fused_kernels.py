"""Do the fused kernels pay? Each beside the same maths from separate array operations.

Reports median microseconds per call, fused and composed, and the speed-up, on the CPU (the
numpy twins) or the GPU (the CuPy kernels).

    python benchmarks/fused_kernels.py [--device cpu|gpu] [--repeats 50]
"""
import argparse
import statistics
import time

import numpy as np

from minitrain import backend
from minitrain.kernels import bias_act, optim, softmax_xent


def composed_softmax_xent(logits, labels):
    xp = backend.array_module(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    rows = xp.arange(len(labels))
    one_hot = xp.zeros_like(logits)
    one_hot[rows, labels] = 1
    return -log_p[rows, labels], xp.exp(log_p) - one_hot


def composed_bias_relu(x, b):
    return backend.array_module(x).maximum(x + b, 0)


def composed_relu(x):
    return backend.array_module(x).maximum(x, 0)


def composed_relu_grad(dy, y):
    return dy * (y > 0)


def composed_relu_bias_grads(dy, y):
    masked = dy * (y > 0)
    return masked, backend.sum_in_dtype(masked, tuple(range(dy.ndim - 1)), False)


def composed_adam(var, grad, m, v, v_hat, alpha, one_minus_beta_1, one_minus_beta_2, epsilon,
                  scratch=None):
    xp = backend.array_module(var)
    m = m + (grad - m) * one_minus_beta_1
    v = v + (grad * grad - v) * one_minus_beta_2
    return var - (m * alpha) / (xp.sqrt(v) + epsilon), m, v, v_hat


def composed_sgd(var, grad, momentum, lr, mu, nesterov, scratch=None):
    var -= grad * lr  # as a numpy user writes it: in place, through one temporary
    return var


def cases(device, rng):
    put = lambda a: backend.to_device(a, device)  # noqa: E731
    logits = put(rng.standard_normal((4096, 10)).astype(np.float32))
    labels = put(rng.integers(0, 10, 4096))
    x = put(rng.standard_normal((4096, 512)).astype(np.float32))
    b = put(rng.standard_normal(512).astype(np.float32))
    dy = put(rng.standard_normal((64, 32, 32, 32)).astype(np.float32))  # a VGG conv's output
    y = put(np.maximum(rng.standard_normal((64, 32, 32, 32)).astype(np.float32), 0))
    var, grad, m, v = (put(rng.standard_normal((512, 512)).astype(np.float32)) for _ in range(4))
    v = abs(v)
    f32 = np.float32
    # the step minitrain's Adam runs: in place, into scratch made once (repeats keep moving x)
    adam_args = (var, grad, m, v, None, f32(1e-3), f32(0.1), f32(0.001), f32(1e-7),
                 optim.adam_scratch(var))
    weights, weights_grad = (put(rng.standard_normal((784, 512)).astype(np.float32))
                             for _ in range(2))
    sgd_args = (weights, weights_grad, None, f32(0.01), f32(0), False,
                optim.sgd_scratch(weights, False))
    return {
        "sparse softmax xent (4096x10)": (softmax_xent.sparse_softmax_xent,
                                          composed_softmax_xent, (logits, labels)),
        "bias + relu (4096x512)": (bias_act.bias_relu, composed_bias_relu, (x, b)),
        "relu, zeros row (64x32x32x32)": (backend.max_with_zero, composed_relu, (dy,)),
        "relu grad (64x32x32x32)": (bias_act.relu_grad, composed_relu_grad, (dy, y)),
        "relu + bias grads (64x32x32x32)": (bias_act.relu_bias_grads, composed_relu_bias_grads,
                                            (dy, y)),
        "adam step in place (512x512)": (optim.adam_step, composed_adam, adam_args),
        "sgd step in place (784x512)": (optim.sgd_step, composed_sgd, sgd_args),
    }


def median_us(fns, args, repeats, sync):
    """Median microseconds per call of each of ``fns``, the calls alternating (machine noise
    falls on all of them alike)."""
    for _ in range(3):
        for fn in fns:
            fn(*args)
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, spent in zip(fns, times):
            start = time.perf_counter()
            fn(*args)
            sync()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) * 1e6 for spent in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    device = backend.check_available(args.device)
    sync = (lambda: None) if device == "cpu" else \
        backend.cupy_module().cuda.get_current_stream().synchronize
    for name, (fused, composed, inputs) in cases(device, np.random.default_rng(0)).items():
        fast, slow = median_us((fused, composed), inputs, args.repeats, sync)
        print(f"{name:32s} fused {fast:9.1f} us   composed {slow:9.1f} us   "
              f"speed-up {slow / fast:5.2f}x  ({device})")


if __name__ == "__main__":
    main()
