"""One small-CNN training step on digits-sized images (batch of 8x8x1), beside PyTorch CPU.

    conv 3x3x16 (same) + relu -> max pool 2 -> conv 3x3x32 (same) + relu -> global average pool
    -> dense 10; sparse softmax cross-entropy from logits; SGD; float32.

Same initial weights in both, so the first losses agree; median milliseconds per step over
interleaved repeats, BLAS threads pinned (default 1).

    python benchmarks/cnn_step.py [--batch 64] [--repeats 30] [--threads 1]
"""
import argparse

from keras_step import sgd_step
from timing import interleaved_medians, pin_blas_threads

THREADS = pin_blas_threads()  # before numpy loads its BLAS

import numpy as np  # noqa: E402

LEARNING_RATE = 0.01


def initial_weights(seed=0):
    """Keras layouts: conv kernels (kh, kw, c_in, c_out), dense kernel (in, out)."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 3, 1, 16), (16,), (3, 3, 16, 32), (32,), (32, 10), (10,)]
    return [(rng.standard_normal(s) * (0.3 if len(s) > 1 else 0.0)).astype(np.float32)
            for s in shapes]


def batch(size, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((size, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, size)


def minitrain_step(x, y):
    import minitrain as mt

    layers = mt.layers
    model = mt.Sequential([
        layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPool2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(), layers.Dense(10)])
    model(mt.constant(x[:1]))
    model.set_weights(initial_weights())
    x, y = mt.constant(x), mt.constant(y.astype(np.int32))
    return sgd_step(model, x, y, LEARNING_RATE)


def torch_step(x, y):
    import torch

    torch.set_num_threads(THREADS)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    k1, b1, k2, b2, w, b = initial_weights()
    with torch.no_grad():
        for module, kernel, bias in ((model[0], k1, b1), (model[3], k2, b2)):
            module.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            module.bias.copy_(torch.from_numpy(bias))
        model[7].weight.copy_(torch.from_numpy(w.T.copy()))
        model[7].bias.copy_(torch.from_numpy(b))
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x, y = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    args = parser.parse_args()
    x, y = batch(args.batch)
    steps = {"minitrain": minitrain_step(x, y)}
    try:
        steps["torch"] = torch_step(x, y)
    except ImportError:
        print("torch skipped: not installed (pip install torch==2.13.0)")
    first = {name: step() for name, step in steps.items()}
    ms = {name: t * 1e3 for name, t in interleaved_medians(steps, args.repeats).items()}
    print(f"small CNN step on 8x8x1 images, batch {args.batch}, float32, cpu, "
          f"{args.threads} BLAS thread(s)")
    for name, value in ms.items():
        ratio = f"{value / ms['torch']:.2f}x torch" if "torch" in ms else ""
        print(f"  {name:9s} {value:8.2f} ms   {ratio:12s} first loss {first[name]:.5f}")


if __name__ == "__main__":
    main()
