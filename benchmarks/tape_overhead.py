"""Tape overhead: a chain of 200 small elementwise ops on shape (8,), recorded and differentiated.

Reports microseconds per op (forward + backward, median of repeats) for minitrain and, when
torch is installed, for PyTorch CPU measured in the same run, with their ratio. Also times
``import minitrain`` in a fresh interpreter.

    python benchmarks/tape_overhead.py [--repeats 30]
"""
import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

N_OPS = 200


def chain(x, w, b, tanh, sin):
    """The same 200-op chain for every framework: multiply, add, tanh, sin, repeated."""
    for _ in range(N_OPS // 4):
        x = sin(tanh(x * w + b))
    return x


def time_minitrain(x0, w0, b0, repeats):
    import minitrain as mt

    x, w, b = mt.Variable(x0), mt.constant(w0), mt.constant(b0)

    def step():
        with mt.GradientTape() as tape:
            y = mt.reduce_sum(chain(x, w, b, mt.tanh, mt.sin))
        return tape.gradient(y, x)

    return _median_us_per_op(step, repeats), step().numpy()


def time_torch(x0, w0, b0, repeats):
    import torch

    torch.set_num_threads(1)
    x = torch.tensor(x0, requires_grad=True)
    w, b = torch.tensor(w0), torch.tensor(b0)

    def step():
        y = chain(x, w, b, torch.tanh, torch.sin).sum()
        (grad,) = torch.autograd.grad(y, x)
        return grad

    return _median_us_per_op(step, repeats), step().numpy()


def _median_us_per_op(step, repeats):
    for _ in range(5):
        step()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / N_OPS * 1e6


def import_time_ms(repeats=5):
    code = "import time; t = time.perf_counter(); import minitrain; print(time.perf_counter() - t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(repeats)]
    return statistics.median(runs) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x0, w0, b0 = (rng.uniform(0.5, 1.0, 8).astype(np.float32) for _ in range(3))

    mt_us, mt_grad = time_minitrain(x0, w0, b0, args.repeats)
    print(f"minitrain : {mt_us:6.2f} us/op (forward + backward, {N_OPS}-op chain, shape (8,))")
    try:
        torch_us, torch_grad = time_torch(x0, w0, b0, args.repeats)
    except ImportError:
        print("PyTorch   : not installed (pip install torch==2.13.0) -- no reference ratio")
    else:
        assert np.allclose(mt_grad, torch_grad, rtol=1e-4), "the two gradients differ"
        print(f"PyTorch   : {torch_us:6.2f} us/op")
        print(f"ratio     : {mt_us / torch_us:6.2f}x PyTorch (lower is better)")
    print(f"import minitrain: {import_time_ms():.0f} ms")


if __name__ == "__main__":
    main()
