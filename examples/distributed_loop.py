"""A data-parallel custom training loop on the UCI handwritten digits (ChainerMN's design):

    mpiexec -n 2 python examples/distributed_loop.py [--epochs 10]
    python examples/distributed_loop.py                # the same loop in one process

Every rank builds the same model, takes rank 0's weights, trains on its shard of every batch
(the batch size is the global one) and applies the gradients averaged over the ranks, so that
the weights stay the same on every rank. Only rank 0 prints.
"""
import argparse

import numpy as np

import minitrain as mt
from minitrain import distributed


def build_model(x):
    model = mt.Sequential([mt.layers.Dense(128, activation="relu"), mt.layers.Dense(10)])
    model(x)  # built: its variables exist, so rank 0's can be broadcast
    distributed.broadcast_variables(model.variables)
    return model


def train_step(model, optimizer, loss_fn, x, y):
    with mt.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    # the mean over the ranks: the global batch's gradient when the shards are of one size
    grads = distributed.all_reduce_gradients(grads)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return float(loss)


def accuracy(model, data):
    """Every rank can evaluate all of ``data``: the same weights give the same answer."""
    logits = model(mt.constant(data.features.astype("float32")))
    return float(np.mean(np.argmax(logits.numpy(), axis=-1) == data.labels))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    distributed.init()  # a world of one without mpiexec
    mt.random.set_seed(0)  # the same initial weights everywhere (broadcast makes sure)
    digits = mt.data.load_source("digits")
    train, _, test = mt.data.train_val_test_split(digits, val=0.0, test=0.2, seed=0)
    scale = mt.data.Normalizer("scale", scale=16).fit(train)
    train, test = scale(train), scale(test)
    loader = mt.data.DataLoader(train, batch_size=64, shuffle=True, seed=0, drop_last=True)
    loader = loader.shard(distributed.world_size(), distributed.rank())  # the same order, 1/N
    model = build_model(mt.constant(train.features[:1].astype("float32")))
    optimizer = mt.optimizers.Adam(1e-3)
    loss_fn = mt.losses.SparseCategoricalCrossentropy(from_logits=True)
    for epoch in range(1, args.epochs + 1):
        losses = [train_step(model, optimizer, loss_fn, x, y) for x, y in loader]
        # the epoch's loss over every rank's batches (drop_last: all shards of one size)
        (mean,) = distributed.all_reduce([np.array(np.mean(losses))], op="mean")
        if distributed.is_primary():
            print(f"epoch {epoch:2d}  loss {float(mean):.4f}  ranks {distributed.world_size()}")
    if distributed.is_primary():
        print(f"test accuracy {accuracy(model, test):.3f}")


if __name__ == "__main__":
    main()
