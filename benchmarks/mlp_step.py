"""One MLP training step: 784-512-512-10, ReLU, sparse softmax cross-entropy from logits, SGD.

Reports the median milliseconds per step, float32, for:
  numpy      a hand-written forward/backward and in-place SGD: the floor for any numpy framework
             (CPU only)
  mt-ops     minitrain: Variables and ops under a GradientTape, SGD by assign_sub
  mt-keras   minitrain: mt.Sequential of Dense layers, mt.optimizers.SGD (when the kit exists)
  torch      PyTorch, on the same device (when installed)
The steps alternate inside each repeat, so machine noise hits all of them alike.

    python benchmarks/mlp_step.py [--batch 128] [--device cpu|gpu] [--repeats 30] [--threads 1]

BLAS threads are pinned (default 1, for numpy and PyTorch alike): on these shared 2-core
machines, OpenBLAS's own threads can make one matmul many times slower.
"""
import argparse

from keras_step import sgd_step
from timing import interleaved_medians, pin_blas_threads

THREADS = pin_blas_threads()  # before numpy loads its BLAS

import numpy as np  # noqa: E402

SIZES = (784, 512, 512, 10)
LEARNING_RATE = 0.01


def initial_weights(seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        limit = np.sqrt(6 / (fan_in + fan_out))  # Glorot uniform
        layers.append((rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                       np.zeros(fan_out, np.float32)))
    return layers


def batch(size, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((size, SIZES[0]), dtype=np.float32), rng.integers(0, 10, size)


def numpy_step(x, y):
    params = [[w.copy(), b.copy()] for w, b in initial_weights()]
    rows = np.arange(len(y))

    def step():
        activations = [x]
        for w, b in params[:-1]:
            activations.append(np.maximum(activations[-1] @ w + b, 0))
        logits = activations[-1] @ params[-1][0] + params[-1][1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.log(probs[rows, y]).mean()
        grad = probs
        grad[rows, y] -= 1
        grad /= len(y)
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            grad_w, grad_b = activations[i].T @ grad, grad.sum(axis=0)
            if i:
                grad = (grad @ w.T) * (activations[i] > 0)
            w -= LEARNING_RATE * grad_w
            b -= LEARNING_RATE * grad_b
        return float(loss)

    return step


def minitrain_ops_step(x, y, device):
    import minitrain as mt

    with mt.device(device):
        params = [mt.Variable(a) for pair in initial_weights() for a in pair]
        x, y = mt.constant(x), mt.constant(y.astype(np.int32))

    def step():
        with mt.GradientTape() as tape:
            h = x
            for i in range(0, len(params) - 2, 2):
                h = mt.nn.relu(h @ params[i] + params[i + 1])
            logits = h @ params[-2] + params[-1]
            loss = mt.reduce_mean(
                mt.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        for p, g in zip(params, tape.gradient(loss, params)):
            p.assign_sub(LEARNING_RATE * g)
        return float(loss)

    return step


def minitrain_keras_step(x, y, device):
    import minitrain as mt

    with mt.device(device):
        model = mt.Sequential([mt.layers.Dense(units, activation="relu") for units in SIZES[1:-1]]
                              + [mt.layers.Dense(SIZES[-1])])
        model(mt.constant(x[:1]))
        model.set_weights([a for pair in initial_weights() for a in pair])
        x, y = mt.constant(x), mt.constant(y.astype(np.int32))
    return sgd_step(model, x, y, LEARNING_RATE)


def torch_step(x, y, device):
    import torch

    torch.set_num_threads(THREADS)
    where = "cuda" if device.startswith("gpu") else "cpu"
    layers = []
    for w, b in initial_weights():
        linear = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(where)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x, y = torch.from_numpy(x).to(where), torch.from_numpy(y).to(where)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # .item() waits for the GPU, as float(loss) does in minitrain

    return step


def available_steps(x, y, device):
    steps = {}
    if device == "cpu":
        steps["numpy"] = numpy_step(x, y)
    steps["mt-ops"] = minitrain_ops_step(x, y, device)
    try:
        steps["mt-keras"] = minitrain_keras_step(x, y, device)
    except AttributeError as missing:  # the Keras-like kit is not there yet
        print(f"mt-keras skipped: {missing}")
    try:
        steps["torch"] = torch_step(x, y, device)
    except ImportError:
        print("torch skipped: not installed (pip install torch==2.13.0)")
    return steps


def median_ms(steps, repeats):
    first_losses = {name: step() for name, step in steps.items()}
    seconds = interleaved_medians(steps, repeats)
    return {name: value * 1e3 for name, value in seconds.items()}, first_losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    args = parser.parse_args()
    x, y = batch(args.batch)
    steps = available_steps(x, y, args.device)
    ms, losses = median_ms(steps, args.repeats)
    reference = "numpy" if "numpy" in ms else "torch"
    print(f"MLP {'-'.join(map(str, SIZES))} step, batch {args.batch}, float32, {args.device}, "
          f"{args.threads} BLAS thread(s)")
    for name, value in ms.items():
        ratio = f"{value / ms[reference]:.2f}x {reference}" if reference in ms else ""
        print(f"  {name:9s} {value:8.2f} ms   {ratio:14s} first loss {losses[name]:.5f}")


if __name__ == "__main__":
    main()
