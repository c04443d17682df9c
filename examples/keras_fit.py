"""A Keras program, functional model and fit, on the digits: the README's fit example."""
import minitrain as tf
from minitrain import keras

digits = tf.data.load_source("digits")                  # 1,797 8x8 images, flattened to 64
x, y = digits.features / 16.0, digits.labels

inputs = keras.Input(shape=(64,))
h = keras.layers.Dense(128, activation="relu")(inputs)
outputs = keras.layers.Dense(10)(h)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer=keras.optimizers.Adam(1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
history = model.fit(x[:1500], y[:1500], batch_size=32, epochs=5, validation_split=0.1,
                    callbacks=[keras.callbacks.EarlyStopping(patience=2)], verbose=2)
loss, accuracy = model.evaluate(x[1500:], y[1500:], verbose=0)
print(f"test accuracy {accuracy:.3f}")
print(model.predict(x[:2], verbose=0).shape)
