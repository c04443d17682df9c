"""The Keras-style training step the benchmarks time for minitrain: tape, gradient, SGD."""


def sgd_step(model, x, y, learning_rate):
    """A function doing one step on (x, y) and returning the loss before it, as a float.

    minitrain (and so numpy) is imported here, not above: the benchmarks pin the BLAS threads
    before numpy first loads.
    """
    import minitrain as mt

    optimizer = mt.optimizers.SGD(learning_rate)
    loss_fn = mt.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step():
        with mt.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return float(loss)

    return step
