"""TensorFlow's tutorial "Custom training: walkthrough"
(https://www.tensorflow.org/tutorials/customization/custom_training_walkthrough,
site/en/tutorials/customization/custom_training_walkthrough.ipynb), the parts of it that use
only tf.*, in order, as a TensorFlow user wrote them; the one change is
`import minitrain as tf`.

Changed or skipped:
- Data: the tutorial downloads the penguins with tensorflow_datasets (penguins/processed:
  4 normalized features, 3 species; the first 20% for testing); here the UCI digits
  shipped with minitrain (`mt.data.load_source("digits")`: 64 pixels scaled to [0, 1],
  10 classes) stand in, as tf.data datasets of (features, label) pairs split the same way.
  The class names are therefore the digits, and the model's last layer has 10 units, not 3
  (those lines say so). `!pip install tfds-nightly`, tfds.__version__, the dataset previews
  (tfds.as_dataframe, info.features) are skipped. The numbers the training prints are not
  the tutorial's: the test compares their form and the accuracies with the tutorial's
  within margins.
- The Keras parts (Keras is the next issue): tf.keras.Sequential and layers.Dense,
  losses.SparseCategoricalCrossentropy, optimizers.SGD and metrics.Mean,
  SparseCategoricalAccuracy and Accuracy are replaced by the stand-ins below, written with
  tf.* only and called as the tutorial calls the Keras objects.
- matplotlib: the scatter plot and the training-metrics plots (plotting).
"""
# ruff: noqa: UP032  (the tutorial's str.format calls)
import os  # noqa: F401  (the tutorial's imports)

import minitrain as mt  # minitrain's own: the digits shipped with it
import minitrain as tf


# %% minitrain: stand-ins for the tutorial's Keras objects (Keras is the next issue)
class Dense:
  """For tf.keras.layers.Dense: Glorot-uniform kernel, zero bias, built on the first call."""

  def __init__(self, units, activation=None):
    self.units, self.activation, self.built = units, activation, False

  def __call__(self, x):
    if not self.built:
      limit = (6.0 / (x.shape[-1] + self.units)) ** 0.5
      self.kernel = tf.Variable(tf.random.uniform([x.shape[-1], self.units], -limit, limit))
      self.bias = tf.Variable(tf.zeros([self.units]))
      self.built = True
    y = tf.matmul(x, self.kernel) + self.bias
    return y if self.activation is None else self.activation(y)


class Sequential:
  """For tf.keras.Sequential."""

  def __init__(self, layers):
    self.layers = layers

  def __call__(self, x, training=False):
    for layer in self.layers:
      x = layer(x)
    return x

  @property
  def trainable_variables(self):
    return [v for layer in self.layers for v in (layer.kernel, layer.bias)]


class SparseCategoricalCrossentropy:
  """For tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True): the batch mean."""

  def __init__(self, from_logits=False):
    self.from_logits = from_logits

  def __call__(self, y_true, y_pred):
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=y_pred))


class SGD:
  """For tf.keras.optimizers.SGD: var -= learning_rate * grad, counting the steps."""

  def __init__(self, learning_rate=0.01):
    self.learning_rate = learning_rate
    self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False)

  def apply_gradients(self, grads_and_vars):
    for g, v in grads_and_vars:
      v.assign_sub(self.learning_rate * g)
    self.iterations.assign_add(1)


class Mean:
  """For tf.keras.metrics.Mean."""

  def __init__(self):
    self.total, self.count = tf.Variable(0.0), tf.Variable(0.0)

  def update_state(self, value):
    self.total.assign_add(tf.reduce_sum(value))
    self.count.assign_add(tf.cast(tf.size(value), tf.float32))

  def result(self):
    return self.total / self.count


class SparseCategoricalAccuracy(Mean):
  """For tf.keras.metrics.SparseCategoricalAccuracy: labels against the largest logit."""

  def update_state(self, y_true, y_pred):
    hits = tf.equal(tf.cast(y_true, tf.int64), tf.math.argmax(y_pred, axis=1))
    super().update_state(tf.cast(hits, tf.float32))


class Accuracy(Mean):
  """For tf.keras.metrics.Accuracy: predictions equal to labels; a call updates."""

  def __call__(self, y_true, y_pred):
    super().update_state(tf.cast(tf.equal(y_true, y_pred), tf.float32))
    return self.result()


# %% Setup
print("TensorFlow version: {}".format(tf.__version__))

# %% Import the dataset
# minitrain: the digits (see the top), for the penguins of tfds.load("penguins/processed", ...)
digits = mt.data.load_source("digits")
pixels, species = (digits.features / 16).astype("float32"), digits.labels.astype("int64")
ds_split = [tf.data.Dataset.from_tensor_slices((pixels[:360], species[:360])),
            tf.data.Dataset.from_tensor_slices((pixels[360:], species[360:]))]

ds_test = ds_split[0]
ds_train = ds_split[1]
assert isinstance(ds_test, tf.data.Dataset)

ds_train_batch = ds_train.batch(32)

# %%
class_names = [str(digit) for digit in range(10)]  # minitrain: digits, for the 3 species

# %%
features, labels = next(iter(ds_train_batch))

print(features)
print(labels)

# %% Build a simple linear model
model = Sequential([  # minitrain: the stand-ins above, for tf.keras.Sequential and Dense
  Dense(10, activation=tf.nn.relu),
  Dense(10, activation=tf.nn.relu),
  Dense(10)  # minitrain: 10 digits, for 3 species
])

# %% Use the model
predictions = model(features)
print(repr(predictions[:5]))

# %%
print(repr(tf.nn.softmax(predictions[:5])))

# %%
print("Prediction: {}".format(tf.math.argmax(predictions, axis=1)))
print("    Labels: {}".format(labels))

# %% Define the loss and gradients function
loss_object = SparseCategoricalCrossentropy(from_logits=True)  # minitrain: stand-in

# %%
def loss(model, x, y, training):
  # training=training is needed only if there are layers with different
  # behavior during training versus inference (e.g. Dropout).
  y_ = model(x, training=training)

  return loss_object(y_true=y, y_pred=y_)

l = loss(model, features, labels, training=False)
print("Loss test: {}".format(l))

# %%
def grad(model, inputs, targets):
  with tf.GradientTape() as tape:
    loss_value = loss(model, inputs, targets, training=True)
  return loss_value, tape.gradient(loss_value, model.trainable_variables)

# %% Create an optimizer
optimizer = SGD(learning_rate=0.01)  # minitrain: stand-in

# %%
loss_value, grads = grad(model, features, labels)

print("Step: {}, Initial Loss: {}".format(optimizer.iterations.numpy(),
                                          loss_value.numpy()))

optimizer.apply_gradients(zip(grads, model.trainable_variables))

print("Step: {},         Loss: {}".format(optimizer.iterations.numpy(),
                                          loss(model, features, labels, training=True).numpy()))

# %% Training loop
## Note: Rerunning this cell uses the same model parameters

# Keep results for plotting
train_loss_results = []
train_accuracy_results = []

num_epochs = 201

for epoch in range(num_epochs):
  epoch_loss_avg = Mean()  # minitrain: stand-in
  epoch_accuracy = SparseCategoricalAccuracy()  # minitrain: stand-in

  # Training loop - using batches of 32
  for x, y in ds_train_batch:
    # Optimize the model
    loss_value, grads = grad(model, x, y)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

    # Track progress
    epoch_loss_avg.update_state(loss_value)  # Add current batch loss
    # Compare predicted label to actual label
    # training=True is needed only if there are layers with different
    # behavior during training versus inference (e.g. Dropout).
    epoch_accuracy.update_state(y, model(x, training=True))

  # End epoch
  train_loss_results.append(epoch_loss_avg.result())
  train_accuracy_results.append(epoch_accuracy.result())

  if epoch % 50 == 0:
    print("Epoch {:03d}: Loss: {:.3f}, Accuracy: {:.3%}".format(epoch,
                                                                epoch_loss_avg.result(),
                                                                epoch_accuracy.result()))

# %% Evaluate the model on the test dataset
test_accuracy = Accuracy()  # minitrain: stand-in
ds_test_batch = ds_test.batch(10)

for (x, y) in ds_test_batch:
  # training=False is needed only if there are layers with different
  # behavior during training versus inference (e.g. Dropout).
  logits = model(x, training=False)
  prediction = tf.math.argmax(logits, axis=1, output_type=tf.int64)
  test_accuracy(prediction, y)

print("Test set accuracy: {:.3%}".format(test_accuracy.result()))

# %%
print(repr(tf.stack([y,prediction],axis=1)))

# %% Use the trained model to make predictions
# minitrain: three of the held-out digits (a 0, a 1 and a 2), for three penguins' measurements
predict_dataset = tf.convert_to_tensor(pixels[:3])

# training=False is needed only if there are layers with different
# behavior during training versus inference (e.g. Dropout).
predictions = model(predict_dataset, training=False)

for i, logits in enumerate(predictions):
  class_idx = tf.math.argmax(logits).numpy()
  p = tf.nn.softmax(logits)[class_idx]
  name = class_names[class_idx]
  print("Example {} prediction: {} ({:4.1f}%)".format(i, name, 100*p))
