"""End to end: a small CNN learns (memorizes) random images with a hand-written SGD loop."""
import numpy as np

import minitrain as mt
from minitrain import layers


def test_a_small_cnn_overfits_random_images():
    mt.random.set_seed(0)
    data = np.random.default_rng(0)
    images = data.normal(size=(16, 8, 8, 1)).astype(np.float32)
    labels = data.integers(0, 4, size=16)
    model = mt.Sequential([layers.Conv2D(8, 3, padding="same", activation="relu"),
                           layers.MaxPool2D(), layers.Flatten(), layers.Dense(4)])

    def loss_and_accuracy():
        logits = model(images, training=True)
        loss = mt.reduce_mean(mt.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        return loss, float(np.mean(np.argmax(logits.numpy(), axis=1) == labels))

    first_loss, _ = loss_and_accuracy()
    for _ in range(150):
        with mt.GradientTape() as tape:
            loss, accuracy = loss_and_accuracy()
        grads = tape.gradient(loss, model.trainable_variables)
        for v, g in zip(model.trainable_variables, grads):
            v.assign_sub(0.1 * g)
        if accuracy == 1.0 and float(loss) < 0.1:
            break
    loss, accuracy = loss_and_accuracy()
    assert accuracy == 1.0
    assert float(loss) < 0.1 * float(first_loss)
