"""One MLP training step: 784-512-512-10, ReLU, sparse softmax cross-entropy from logits, and
SGD (learning rate 0.01) or Adam (Keras's defaults, learning rate 0.001).

Reports the median milliseconds per step, float32, and the minor page faults per step, for:
  numpy      a hand-written forward/backward and in-place SGD, or Keras's Adam written in place
             with numpy (no allocation per step): the floor for any numpy framework (CPU only)
  mt-ops     minitrain: Variables and ops under a GradientTape; SGD by assign_sub, Adam by
             mt.optimizers.Adam
  mt-keras   minitrain: mt.Sequential of Dense layers, mt.optimizers.SGD or Adam (when the kit
             exists)
  torch      PyTorch, on the same device (when installed), torch.optim.SGD or Adam
The steps alternate inside each repeat, so machine noise hits all of them alike.

    python benchmarks/mlp_step.py [--optimizer sgd|adam] [--batch 128] [--device cpu|gpu]
                                  [--repeats 30] [--threads 1]

BLAS threads are pinned (default 1, for numpy and PyTorch alike): on these shared 2-core
machines, OpenBLAS's own threads can make one matmul many times slower.
"""
import argparse

from keras_step import keras_step
from timing import faults_per_step, interleaved_medians, pin_blas_threads

THREADS = pin_blas_threads()  # before numpy loads its BLAS

import numpy as np  # noqa: E402

SIZES = (784, 512, 512, 10)
LEARNING_RATES = {"sgd": 0.01, "adam": 0.001}
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # Keras's Adam defaults, for every Adam here


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


class NumpySGD:
    """x -= lr g, as a numpy user writes it."""

    def __init__(self, params):
        self.params = params

    def begin_step(self):
        pass

    def update(self, i, g):
        self.params[i] -= LEARNING_RATES["sgd"] * g


class NumpyAdam:
    """Keras's Adam in place: m, v and two temporaries per parameter, made once."""

    def __init__(self, params):
        self.params, self.t = params, 0
        self.m, self.v, self.s, self.u = ([np.zeros_like(p) for p in params] for _ in range(4))
        self.c1, self.c2, self.eps = (np.float32(c) for c in (1 - BETA_1, 1 - BETA_2, EPSILON))

    def begin_step(self):
        self.t += 1
        self.alpha = np.float32(LEARNING_RATES["adam"] * np.sqrt(1 - BETA_2**self.t)
                                / (1 - BETA_1**self.t))

    def update(self, i, g):
        x, m, v, s, u = self.params[i], self.m[i], self.v[i], self.s[i], self.u[i]
        np.subtract(g, m, out=s)  # m += (g - m)(1 - beta_1)
        s *= self.c1
        m += s
        np.multiply(g, g, out=s)  # v += (g^2 - v)(1 - beta_2)
        s -= v
        s *= self.c2
        v += s
        np.sqrt(v, out=s)  # x -= m alpha / (sqrt(v) + epsilon)
        s += self.eps
        np.multiply(m, self.alpha, out=u)
        u /= s
        x -= u


def numpy_step(x, y, optimizer):
    params = [a.copy() for pair in initial_weights() for a in pair]  # w0, b0, w1, b1, ...
    opt = {"sgd": NumpySGD, "adam": NumpyAdam}[optimizer](params)
    rows = np.arange(len(y))

    def step():
        activations = [x]
        for w, b in zip(params[:-2:2], params[1:-2:2]):
            activations.append(np.maximum(activations[-1] @ w + b, 0))
        logits = activations[-1] @ params[-2] + params[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.log(probs[rows, y]).mean()
        grad = probs
        grad[rows, y] -= 1
        grad /= len(y)
        opt.begin_step()
        for i in range(len(params) // 2 - 1, -1, -1):
            grad_w, grad_b = activations[i].T @ grad, grad.sum(axis=0)
            if i:
                grad = (grad @ params[2 * i].T) * (activations[i] > 0)
            opt.update(2 * i, grad_w)
            opt.update(2 * i + 1, grad_b)
        return float(loss)

    return step


def minitrain_ops_step(x, y, device, optimizer):
    import minitrain as mt

    with mt.device(device):
        params = [mt.Variable(a) for pair in initial_weights() for a in pair]
        x, y = mt.constant(x), mt.constant(y.astype(np.int32))
    adam = mt.optimizers.Adam(LEARNING_RATES["adam"]) if optimizer == "adam" else None

    def step():
        with mt.GradientTape() as tape:
            h = x
            for i in range(0, len(params) - 2, 2):
                h = mt.nn.relu(h @ params[i] + params[i + 1])
            logits = h @ params[-2] + params[-1]
            loss = mt.reduce_mean(
                mt.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, params)
        if adam:
            adam.apply_gradients(zip(grads, params))
        else:
            for p, g in zip(params, grads):
                p.assign_sub(LEARNING_RATES["sgd"] * g)
        return float(loss)

    return step


def minitrain_keras_step(x, y, device, optimizer):
    import minitrain as mt

    with mt.device(device):
        model = mt.Sequential([mt.layers.Dense(units, activation="relu") for units in SIZES[1:-1]]
                              + [mt.layers.Dense(SIZES[-1])])
        model(mt.constant(x[:1]))
        model.set_weights([a for pair in initial_weights() for a in pair])
        x, y = mt.constant(x), mt.constant(y.astype(np.int32))
    return keras_step(model, x, y, optimizer, LEARNING_RATES[optimizer])


def torch_step(x, y, device, optimizer):
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
    rate = LEARNING_RATES[optimizer]
    if optimizer == "adam":  # Keras's epsilon; PyTorch adds it to the bias-corrected sqrt(v)
        optimizer = torch.optim.Adam(model.parameters(), rate, (BETA_1, BETA_2), EPSILON)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=rate)
    x, y = torch.from_numpy(x).to(where), torch.from_numpy(y).to(where)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # .item() waits for the GPU, as float(loss) does in minitrain

    return step


def available_steps(x, y, device, optimizer):
    steps = {}
    if device == "cpu":
        steps["numpy"] = numpy_step(x, y, optimizer)
    steps["mt-ops"] = minitrain_ops_step(x, y, device, optimizer)
    try:
        steps["mt-keras"] = minitrain_keras_step(x, y, device, optimizer)
    except AttributeError as missing:  # the Keras-like kit is not there yet
        print(f"mt-keras skipped: {missing}")
    try:
        steps["torch"] = torch_step(x, y, device, optimizer)
    except ImportError:
        print("torch skipped: not installed (pip install torch==2.13.0)")
    return steps


def median_ms(steps, repeats):
    first_losses = {name: step() for name, step in steps.items()}
    seconds = interleaved_medians(steps, repeats)
    return {name: value * 1e3 for name, value in seconds.items()}, first_losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", choices=sorted(LEARNING_RATES), default="sgd")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    args = parser.parse_args()
    x, y = batch(args.batch)
    steps = available_steps(x, y, args.device, args.optimizer)
    ms, losses = median_ms(steps, args.repeats)
    faults = faults_per_step(steps)
    reference = "numpy" if "numpy" in ms else "torch"
    print(f"MLP {'-'.join(map(str, SIZES))} step, {args.optimizer}, batch {args.batch}, "
          f"float32, {args.device}, {args.threads} BLAS thread(s)")
    for name, value in ms.items():
        ratio = f"{value / ms[reference]:.2f}x {reference}" if reference in ms else ""
        print(f"  {name:9s} {value:8.2f} ms   {ratio:14s} {faults[name]:6.0f} faults/step  "
              f"first loss {losses[name]:.5f}")


if __name__ == "__main__":
    main()
