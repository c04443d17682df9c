"""CNN training steps beside PyTorch CPU (and TensorFlow eager, when installed), in one process.

    small:  conv 3x3-16 same + relu, max pool 2, conv 3x3-32 same + relu, global average
            pool, dense 10, on 8x8x1 images
    lenet:  LeNet-5: conv 6@5x5 same + relu, max pool 2, conv 16@5x5 valid + relu, max pool
            2, dense 120, 84 (relu), 10, on 28x28x1
    vgg:    two conv 3x3-32 same + relu, max pool 2, two conv 3x3-64 same + relu, max pool 2,
            dense 10, on 32x32x3

SGD, sparse softmax cross-entropy from logits, float32, batch 64, the same initial weights in
every framework (the first losses agree). The steps alternate within every repeat; reported:
the median time per step with its range, the median and range of the per-repeat ratios to
PyTorch, and the minor page faults per step (ru_minflt). BLAS threads pinned (default 1);
PyTorch gets the same count.

minitrain keeps freed memory in malloc's heap for the whole process (backend.keep_freed_memory),
so the frameworks beside it get that too; MINITRAIN_KEEP_FREED_MEMORY=0 measures all of them
with malloc's own settings.

    python benchmarks/cnn_step.py [--net small|lenet|vgg|all] [--batch 64] [--repeats 20]
                                  [--threads 1]
"""
import argparse
import resource
import statistics
import time

from keras_step import sgd_step
from timing import milliseconds, pin_blas_threads, ratio_to

THREADS = pin_blas_threads()  # before numpy loads its BLAS

import numpy as np  # noqa: E402

LEARNING_RATE = 0.01
NETS = {  # (input shape, layers as (kind, size, kernel, padding))
    "small": ((8, 8, 1), [("conv", 16, 3, "same"), ("pool",), ("conv", 32, 3, "same"),
                          ("average",), ("logits", 10)]),
    "lenet": ((28, 28, 1), [("conv", 6, 5, "same"), ("pool",), ("conv", 16, 5, "valid"),
                            ("pool",), ("flatten",), ("dense", 120), ("dense", 84),
                            ("logits", 10)]),
    "vgg": ((32, 32, 3), [("conv", 32, 3, "same"), ("conv", 32, 3, "same"), ("pool",),
                          ("conv", 64, 3, "same"), ("conv", 64, 3, "same"), ("pool",),
                          ("flatten",), ("logits", 10)]),
}


def keras_layers(layers, net):
    """The net in a Keras-like kit (minitrain's or TensorFlow's: the same names)."""
    built = []
    for kind, *args in NETS[net][1]:
        if kind == "conv":
            built.append(layers.Conv2D(args[0], args[1], padding=args[2], activation="relu"))
        elif kind == "pool":
            built.append(layers.MaxPool2D(2))
        elif kind == "average":
            built.append(layers.GlobalAveragePooling2D())
        elif kind == "flatten":
            built.append(layers.Flatten())
        else:
            built.append(layers.Dense(args[0], activation="relu" if kind == "dense" else None))
    return built


def minitrain_model(net, x):
    import minitrain as mt
    model = mt.Sequential(keras_layers(mt.layers, net))
    model(mt.constant(x[:1]))
    return model


def torch_step(net, weights, x, y):
    import torch
    torch.set_num_threads(THREADS)
    model = torch_model(torch, net, weights)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x, y = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def torch_model(torch, net, weights):
    nn, modules, channels, arrays = torch.nn, [], NETS[net][0][2], iter(weights)
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
        elif kind == "average":
            modules += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        elif kind == "flatten":  # NHWC order, as Keras's Flatten: the dense weights match
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


def tensorflow_step(net, weights, x, y):
    """TensorFlow eager (no tf.function): the tape step a TensorFlow user writes first."""
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    model = tf.keras.Sequential(keras_layers(tf.keras.layers, net))
    model(x[:1])
    model.set_weights(weights)
    return sgd_step(model, tf.constant(x), tf.constant(y.astype(np.int32)), LEARNING_RATE, tf)


def measure(steps, repeats):
    """{name: (milliseconds per step, one per repeat; minor faults per step, median)}."""
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


def run(net, batch, repeats):
    import minitrain as mt
    rng = np.random.default_rng(0)
    x = rng.random((batch, *NETS[net][0]), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    model = minitrain_model(net, x)
    weights = model.get_weights()
    steps = {"minitrain": sgd_step(model, mt.constant(x), mt.constant(y.astype(np.int32)),
                                   LEARNING_RATE)}
    for name, make, hint in (("torch", torch_step, "pip install torch==2.13.0"),
                             ("tf eager", tensorflow_step, "pip install tensorflow-cpu")):
        try:
            steps[name] = make(net, weights, x, y)
        except ImportError:
            print(f"{name} skipped: not installed ({hint})")
    first = {name: step() for name, step in steps.items()}
    results = measure(steps, repeats)
    print(f"{net} step, batch {batch}, float32, cpu, {THREADS} BLAS thread(s), {repeats} "
          f"repeats")
    torch_ms = results.get("torch", (None,))[0]
    for name, (ms, faults) in results.items():
        print(f"  {name:9s} {milliseconds(ms)}  {ratio_to(ms, torch_ms):26s} {faults:6.0f} "
              f"faults/step  first loss {first[name]:.5f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", choices=[*NETS, "all"], default="all")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    args = parser.parse_args()
    for net in (list(NETS) if args.net == "all" else [args.net]):
        run(net, args.batch, args.repeats)


if __name__ == "__main__":
    main()
