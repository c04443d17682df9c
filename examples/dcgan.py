"""TensorFlow's DCGAN tutorial, on the UCI digits shipped with minitrain (8x8 images).

Written as a TF user writes it, with ``import minitrain as tf`` the only change to the imports.
What differs from the tutorial, and why: the data (the shipped 8x8 digits instead of MNIST's
28x28, so the generator grows 2x2 -> 4x4 -> 8x8 and the discriminator has one conv layer less),
no tf.train.Checkpoint (a run directory's checkpoints are minitrain's way) and no plots.

    python examples/dcgan.py [--epochs 50] [--steps N]
"""
import argparse
import time

import minitrain as tf
from minitrain.keras import layers

BUFFER_SIZE = 2000
BATCH_SIZE = 64
noise_dim = 32


def make_generator_model():
    model = tf.keras.Sequential()
    model.add(layers.Dense(2 * 2 * 64, use_bias=False, input_shape=(noise_dim,)))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Reshape((2, 2, 64)))
    assert model.output_shape == (None, 2, 2, 64)  # None is the batch size

    model.add(layers.Conv2DTranspose(32, (5, 5), strides=(2, 2), padding="same", use_bias=False))
    assert model.output_shape == (None, 4, 4, 32)
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False,
                                     activation="tanh"))
    assert model.output_shape == (None, 8, 8, 1)
    return model


def make_discriminator_model():
    model = tf.keras.Sequential()
    model.add(layers.Conv2D(32, (3, 3), strides=(2, 2), padding="same", input_shape=[8, 8, 1]))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Flatten())
    model.add(layers.Dense(1))
    return model


cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)


def discriminator_loss(real_output, fake_output):
    real_loss = cross_entropy(tf.ones_like(real_output), real_output)
    fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
    total_loss = real_loss + fake_loss
    return total_loss


def generator_loss(fake_output):
    return cross_entropy(tf.ones_like(fake_output), fake_output)


generator = make_generator_model()
discriminator = make_discriminator_model()
generator_optimizer = tf.keras.optimizers.Adam(1e-3)
discriminator_optimizer = tf.keras.optimizers.Adam(1e-3)


@tf.function
def train_step(images):
    noise = tf.random.normal([BATCH_SIZE, noise_dim])

    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        generated_images = generator(noise, training=True)

        real_output = discriminator(images, training=True)
        fake_output = discriminator(generated_images, training=True)

        gen_loss = generator_loss(fake_output)
        disc_loss = discriminator_loss(real_output, fake_output)

    gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
    gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)

    generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
    discriminator_optimizer.apply_gradients(
        zip(gradients_of_discriminator, discriminator.trainable_variables))
    return gen_loss, disc_loss


def train(dataset, epochs, max_steps=None):
    steps = 0
    for epoch in range(epochs):
        start = time.time()
        for image_batch in dataset:
            gen_loss, disc_loss = train_step(image_batch)
            steps += 1
            if max_steps is not None and steps >= max_steps:
                break
        print(f"Time for epoch {epoch + 1} is {time.time() - start:.2f} sec: "
              f"gen_loss {gen_loss:.4f}, disc_loss {disc_loss:.4f}")
        if max_steps is not None and steps >= max_steps:
            break


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    args = parser.parse_args()
    tf.random.set_seed(0)

    digits = tf.data.load_source("digits", flatten=False)  # 1,797 8x8x1 images, values 0..16
    train_images = (digits.features.astype("float32") - 8.0) / 8.0  # to [-1, 1], as the tanh
    train_dataset = tf.data.Dataset.from_tensor_slices(train_images).shuffle(BUFFER_SIZE).batch(
        BATCH_SIZE, drop_remainder=True)

    train(train_dataset, args.epochs, args.steps)
    noise = tf.random.normal([16, noise_dim])
    generated = generator(noise, training=False)
    print(f"generated {generated.shape[0]} images of shape {tuple(generated.shape[1:])}, values "
          f"in [{float(tf.reduce_min(generated)):.2f}, {float(tf.reduce_max(generated)):.2f}]")


if __name__ == "__main__":
    main()
