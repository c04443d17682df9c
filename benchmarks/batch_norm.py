"""BatchNormalization in training, forward + backward, beside PyTorch CPU, in one process.

Three contestants on each shape, alternating within every repeat: minitrain's layer (its
fused op, ops/batch_norm.py), the same maths composed of mt.nn.moments and
mt.nn.batch_normalization through the tape (the layer before the fused op), and PyTorch's
BatchNorm2d/1d on a contiguous NCHW (N, C) tensor, its fastest layout. Each step: the
normalized output, then the gradients to the input, gamma and beta from a fixed upstream
gradient. Reported: the median time with its range, and the median of the per-repeat ratios
to PyTorch. BLAS threads pinned (default 1); PyTorch gets the same count.

    python benchmarks/batch_norm.py [--repeats 20] [--threads 1]
"""
import argparse
import time

from timing import milliseconds, pin_blas_threads, ratio_to

THREADS = pin_blas_threads()  # before numpy loads its BLAS

import numpy as np  # noqa: E402

SHAPES = [(64, 32, 32, 32), (64, 16, 16, 64), (128, 512)]  # NHWC conv outputs, dense rows


def minitrain_steps(x, gy):
    import minitrain as mt
    layer = mt.keras.layers.BatchNormalization()
    x, gy = mt.constant(x), mt.constant(gy)
    layer(x, training=True)
    reduced = list(range(x.ndim - 1))
    stats = (1,) * (x.ndim - 1) + (x.shape[-1],)

    def fused():
        with mt.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
        return tape.gradient(y, [x, layer.gamma, layer.beta], output_gradients=gy)

    def composed():
        with mt.GradientTape() as tape:
            tape.watch(x)
            mean, variance = mt.nn.moments(x, reduced, keepdims=True)
            y = mt.nn.batch_normalization(x, mean, variance, mt.reshape(layer.beta, stats),
                                          mt.reshape(layer.gamma, stats), layer.epsilon)
        return tape.gradient(y, [x, layer.gamma, layer.beta], output_gradients=gy)

    return fused, composed


def torch_step(x, gy):
    import torch
    torch.set_num_threads(THREADS)
    channels_first = (0, x.ndim - 1, *range(1, x.ndim - 1))
    xt = torch.from_numpy(x.transpose(channels_first).copy()).requires_grad_()
    gt = torch.from_numpy(gy.transpose(channels_first).copy())
    layer = (torch.nn.BatchNorm2d if x.ndim == 4 else torch.nn.BatchNorm1d)(
        x.shape[-1], eps=1e-3)

    def step():
        xt.grad = None
        layer.zero_grad()
        layer(xt).backward(gt)
    return step


def run(shape, repeats):
    rng = np.random.default_rng(0)
    x = rng.normal(1, 2, shape).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)
    fused, composed = minitrain_steps(x, gy)
    steps = {"minitrain": fused, "composed": composed}
    try:
        steps["torch"] = torch_step(x, gy)
    except ImportError:
        print("torch skipped: not installed (pip install torch==2.13.0)")
    for step in steps.values():
        step()
    times = {name: [] for name in steps}
    for r in range(repeats):
        for name in (list(steps) if r % 2 else list(steps)[::-1]):
            start = time.perf_counter()
            steps[name]()
            times[name].append((time.perf_counter() - start) * 1e3)
    print(f"BatchNormalization {shape}, training, forward + backward, float32, {THREADS} BLAS "
          f"thread(s), {repeats} repeats")
    for name, ms in times.items():
        print(f"  {name:9s} {milliseconds(ms)}  {ratio_to(ms, times.get('torch'))}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    args = parser.parse_args()
    for shape in SHAPES:
        run(shape, args.repeats)


if __name__ == "__main__":
    main()
