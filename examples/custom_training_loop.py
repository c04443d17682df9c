"""A Keras-style custom training loop on the UCI handwritten digits, gradients from the tape.

    python examples/custom_training_loop.py [--epochs 15] [--device cpu|gpu]
"""
import argparse

import minitrain as mt


def build_model():
    return mt.Sequential([mt.layers.Dense(128, activation="relu"), mt.layers.Dense(10)])


def train_step(model, optimizer, loss_fn, accuracy, x, y):
    with mt.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    accuracy.update_state(y, logits)
    return loss


def evaluate(model, loader, loss_fn):
    mean_loss, accuracy = mt.metrics.Mean(), mt.metrics.SparseCategoricalAccuracy()
    for x, y in loader:
        logits = model(x)
        mean_loss.update_state(loss_fn(y, logits))
        accuracy.update_state(y, logits)
    return float(mean_loss.result()), float(accuracy.result())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    mt.random.set_seed(0)
    digits = mt.data.load_source("digits")  # 1,797 8x8 images, shipped in datasets/
    train, val, test = mt.data.train_val_test_split(digits, val=0.1, test=0.2, seed=0)
    scale = mt.data.Normalizer("scale", scale=16).fit(train)
    with mt.device(args.device):
        loader = mt.data.DataLoader(scale(train), batch_size=32, shuffle=True, seed=0)
        model = build_model()
        optimizer = mt.optimizers.Adam(1e-3)
        loss_fn = mt.losses.SparseCategoricalCrossentropy(from_logits=True)
        accuracy = mt.metrics.SparseCategoricalAccuracy()
        for epoch in range(1, args.epochs + 1):
            accuracy.reset_state()
            for x, y in loader:
                loss = train_step(model, optimizer, loss_fn, accuracy, x, y)
            val_loss, val_accuracy = evaluate(model, mt.data.DataLoader(scale(val), 256),
                                              loss_fn)
            print(f"epoch {epoch:2d}  loss {float(loss):.4f}  accuracy "
                  f"{float(accuracy.result()):.3f}  val_loss {val_loss:.4f}  "
                  f"val_accuracy {val_accuracy:.3f}")
        test_loss, test_accuracy = evaluate(model, mt.data.DataLoader(scale(test), 256), loss_fn)
    print(f"test loss {test_loss:.4f}  test accuracy {test_accuracy:.3f}")


if __name__ == "__main__":
    main()
