"""The Keras-style training step the benchmarks time for minitrain: tape, gradient, optimizer."""


def keras_step(model, x, y, optimizer, learning_rate, tf=None):
    """A function doing one step on (x, y) with the optimizer named ``optimizer`` ("sgd",
    "adam", ...; Keras's defaults but for the rate), returning the loss before it, as a float.
    ``tf``: the framework, minitrain by default, or TensorFlow itself (the same code runs on
    both: that is minitrain's promise).

    minitrain (and so numpy) is imported here, not above: the benchmarks pin the BLAS threads
    before numpy first loads.
    """
    if tf is None:
        import minitrain as tf

    optimizer = tf.keras.optimizers.get({"class_name": optimizer,
                                         "config": {"learning_rate": learning_rate}})
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return float(loss)

    return step


def sgd_step(model, x, y, learning_rate, tf=None):
    """``keras_step`` with plain SGD."""
    return keras_step(model, x, y, "sgd", learning_rate, tf)
