"""Training steps of LeNet-5 (28x28x1) and a small VGG (32x32x3), beside PyTorch CPU.

    LeNet-5: conv 6@5x5 same + relu, max pool 2, conv 16@5x5 valid + relu, max pool 2,
             dense 120, 84 (relu), 10
    VGG:     two conv 3x3-32 same + relu, max pool 2, two conv 3x3-64 same + relu, max pool 2,
             dense 10

SGD, sparse softmax cross-entropy from logits, float32, the same initial weights in both (the
first losses agree); median milliseconds per step over interleaved repeats, with the spread,
BLAS threads pinned (default 1), and the minor page faults per step (the allocator returning a
step's large temporaries to the system and faulting them back in).

    python benchmarks/cnn_nets.py [--net lenet|vgg|both] [--batch 64] [--repeats 20] [--threads 1]
"""
import argparse
import resource
import statistics
import time

from keras_step import sgd_step
from timing import pin_blas_threads

THREADS = pin_blas_threads()  # before numpy loads its BLAS

import numpy as np  # noqa: E402

LEARNING_RATE = 0.01
NETS = {  # (input shape, layers as (kind, size, kernel, padding))
    "lenet": ((28, 28, 1), [("conv", 6, 5, "same"), ("pool",), ("conv", 16, 5, "valid"),
                            ("pool",), ("flatten",), ("dense", 120), ("dense", 84),
                            ("logits", 10)]),
    "vgg": ((32, 32, 3), [("conv", 32, 3, "same"), ("conv", 32, 3, "same"), ("pool",),
                          ("conv", 64, 3, "same"), ("conv", 64, 3, "same"), ("pool",),
                          ("flatten",), ("logits", 10)]),
}


def minitrain_model(net, x):
    import minitrain as mt
    layers = mt.layers
    built = []
    for kind, *args in NETS[net][1]:
        if kind == "conv":
            built.append(layers.Conv2D(args[0], args[1], padding=args[2], activation="relu"))
        elif kind == "pool":
            built.append(layers.MaxPool2D(2))
        elif kind == "flatten":
            built.append(layers.Flatten())
        else:
            built.append(layers.Dense(args[0], activation="relu" if kind == "dense" else None))
    model = mt.Sequential(built)
    model(mt.constant(x[:1]))
    return model


def torch_model(net, weights):
    import torch
    nn = torch.nn
    modules, channels, arrays = [], NETS[net][0][2], iter(weights)
    for kind, *args in NETS[net][1]:
        if kind == "conv":
            conv = nn.Conv2d(channels, args[0], args[1], padding=args[1] // 2 if args[2] ==
                             "same" else 0)
            kernel, bias = next(arrays), next(arrays)
            conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
            conv.bias.data = torch.from_numpy(bias)
            modules += [conv, nn.ReLU()]
            channels = args[0]
        elif kind == "pool":
            modules.append(nn.MaxPool2d(2))
        elif kind == "flatten":  # NHWC order, as minitrain's Flatten: the dense weights match
            modules.append(_nhwc_flatten(torch))
        else:
            kernel, bias = next(arrays), next(arrays)
            dense = nn.Linear(*kernel.shape)
            dense.weight.data, dense.bias.data = (torch.from_numpy(kernel.T.copy()),
                                                  torch.from_numpy(bias))
            modules += [dense] + ([nn.ReLU()] if kind == "dense" else [])
    return nn.Sequential(*modules)


def _nhwc_flatten(torch):
    class NHWCFlatten(torch.nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1).flatten(1)
    return NHWCFlatten()


def torch_step(model, x, y):
    import torch
    torch.set_num_threads(THREADS)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x, y = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def measure(steps, repeats):
    """{name: (milliseconds per step, minor faults per step)}, interleaved repeats."""
    for step in steps.values():
        step()
    times = {name: [] for name in steps}
    faults = {name: [] for name in steps}
    for r in range(repeats):
        for name in (list(steps) if r % 2 else list(steps)[::-1]):
            before, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
            steps[name]()
            times[name].append((time.perf_counter() - start) * 1e3)
            faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return {name: (times[name], statistics.median(faults[name])) for name in steps}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", choices=["lenet", "vgg", "both"], default="both")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    args = parser.parse_args()
    import minitrain as mt
    for net in (["lenet", "vgg"] if args.net == "both" else [args.net]):
        rng = np.random.default_rng(0)
        x = rng.random((args.batch, *NETS[net][0]), dtype=np.float32)
        y = rng.integers(0, 10, args.batch)
        model = minitrain_model(net, x)
        steps = {"minitrain": sgd_step(model, mt.constant(x), mt.constant(y.astype(np.int32)),
                                       LEARNING_RATE)}
        try:
            steps["torch"] = torch_step(torch_model(net, model.get_weights()), x, y)
        except ImportError:
            print("torch skipped: not installed (pip install torch==2.13.0)")
        first = {name: step() for name, step in steps.items()}
        results = measure(steps, args.repeats)
        print(f"{net} step, batch {args.batch}, float32, cpu, {args.threads} BLAS thread(s)")
        reference = statistics.median(results["torch"][0]) if "torch" in results else None
        for name, (ms, faults) in results.items():
            median = statistics.median(ms)
            ratio = f"{median / reference:.2f}x torch" if reference else ""
            print(f"  {name:9s} {median:8.2f} ms ({min(ms):.2f}-{max(ms):.2f})  {ratio:11s} "
                  f"{faults:6.0f} faults/step  first loss {first[name]:.5f}")


if __name__ == "__main__":
    main()
