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

import numpy as np
from timing import interleaved_medians

N_OPS = 200


def chain(x, w, b, tanh, sin):
    """The same 200-op chain for every framework: multiply, add, tanh, sin, repeated."""
    for _ in range(N_OPS // 4):
        x = sin(tanh(x * w + b))
    return x


def minitrain_step(x0, w0, b0, device="cpu"):
    import minitrain as mt

    with mt.device(device):
        x, w, b = mt.Variable(x0), mt.constant(w0), mt.constant(b0)

    def step():
        with mt.GradientTape() as tape:
            y = mt.reduce_sum(chain(x, w, b, mt.tanh, mt.sin))
        return tape.gradient(y, x).numpy()

    return step


def torch_step(x0, w0, b0, device="cpu"):
    import torch

    torch.set_num_threads(1)
    where = "cuda" if device.startswith("gpu") else "cpu"
    x = torch.tensor(x0, requires_grad=True, device=where)
    w, b = torch.tensor(w0, device=where), torch.tensor(b0, device=where)

    def step():
        y = chain(x, w, b, torch.tanh, torch.sin).sum()
        (grad,) = torch.autograd.grad(y, x)
        return grad.cpu().numpy()  # waits for the device, as .numpy() does in minitrain

    return step


def import_time_ms(module, repeats=7):
    """Median wall time of ``import module`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(repeats)]
    return statistics.median(runs) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--device", default="cpu", help="cpu or gpu")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x0, w0, b0 = (rng.uniform(0.5, 1.0, 8).astype(np.float32) for _ in range(3))

    steps = {"minitrain": minitrain_step(x0, w0, b0, args.device)}
    try:
        steps["PyTorch"] = torch_step(x0, w0, b0, args.device)
    except ImportError:
        print("PyTorch not installed (pip install torch==2.13.0): no reference ratio")
    else:
        assert np.allclose(steps["minitrain"](), steps["PyTorch"](), rtol=1e-4), "gradients differ"
    us = {name: t / N_OPS * 1e6 for name, t in interleaved_medians(steps, args.repeats, 5).items()}
    for name, value in us.items():
        print(f"{name:10s}: {value:6.2f} us/op (forward + backward, {N_OPS}-op chain, shape (8,), "
              f"{args.device})")
    if "PyTorch" in us:
        print(f"ratio     : {us['minitrain'] / us['PyTorch']:6.2f}x PyTorch (lower is better)")
    print(f"import minitrain: {import_time_ms('minitrain'):.0f} ms "
          f"(import numpy alone: {import_time_ms('numpy'):.0f} ms)")


if __name__ == "__main__":
    main()
