"""End to end: a Keras-style custom training loop (tape.gradient + apply_gradients) learns.

The networks are built from mt.Variable and ops directly, so that these tests depend only on
the tape, the losses, the optimizers and the metrics.
"""
import numpy as np

import minitrain as mt


def mlp(sizes, seed):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        params.append(mt.Variable(rng.normal(0, np.sqrt(1 / n_in), (n_in, n_out))
                                  .astype(np.float32), name="kernel"))
        params.append(mt.Variable(np.zeros(n_out, np.float32), name="bias"))
    return params


def forward(params, x):
    for kernel, bias in zip(params[:-2:2], params[1:-2:2]):
        x = mt.tanh(x @ kernel + bias)
    return x @ params[-2] + params[-1]


def train_step(params, optimizer, loss_fn, x, y):
    with mt.GradientTape() as tape:
        loss = loss_fn(y, forward(params, x))
    grads = tape.gradient(loss, params)
    optimizer.apply_gradients(zip(grads, params))
    return float(loss)


def test_xor_is_learned_to_full_accuracy_with_adam():
    x = mt.constant(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    y = np.array([[0], [1], [1], [0]], np.float32)
    params, optimizer = mlp([2, 8, 1], seed=0), mt.optimizers.Adam(0.05)
    loss_fn = mt.losses.BinaryCrossentropy(from_logits=True)
    first = train_step(params, optimizer, loss_fn, x, y)
    for _ in range(300):
        last = train_step(params, optimizer, loss_fn, x, y)
    accuracy = mt.metrics.BinaryAccuracy(threshold=0.0)  # logits: 0 is probability 1/2
    accuracy.update_state(y, forward(params, x))
    assert float(accuracy.result()) == 1.0
    assert last < 0.05 < first


def two_spirals(n, turns, seed):
    rng = np.random.default_rng(seed)
    angle = np.sqrt(rng.uniform(0.05, 1.0, n)) * turns * 2 * np.pi
    arm = np.stack([np.cos(angle), np.sin(angle)], 1) * (angle / (turns * 2 * np.pi))[:, None]
    x = np.concatenate([arm, -arm]) + rng.normal(0, 0.01, (2 * n, 2))
    return x.astype(np.float32), np.repeat([0, 1], n)


def test_two_spirals_are_separated_by_a_custom_loop():
    x, y = two_spirals(100, turns=2.0, seed=0)
    x = mt.constant(3 * x)  # radius 3: the tanh units start in their useful range
    params = mlp([2, 32, 32, 2], seed=1)
    optimizer = mt.optimizers.Adam(0.02)
    loss_fn = mt.losses.SparseCategoricalCrossentropy(from_logits=True)
    for _ in range(300):
        loss = train_step(params, optimizer, loss_fn, x, y)
    accuracy = mt.metrics.SparseCategoricalAccuracy()
    accuracy.update_state(y, forward(params, x))
    assert float(accuracy.result()) == 1.0
    assert loss < 0.05
    assert int(optimizer.iterations) == 300
