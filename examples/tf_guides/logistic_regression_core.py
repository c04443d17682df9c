"""TensorFlow's guide "Logistic regression for binary classification with Core APIs"
(https://www.tensorflow.org/guide/core/logistic_regression_core,
site/en/guide/core/logistic_regression_core.ipynb), its code cells in order, as a TensorFlow
user wrote them; the one change is `import minitrain as tf`.

Changed or skipped:
- Data: the guide downloads the Wisconsin breast cancer table (569 tumours, 30 features,
  benign 'B' or malignant 'M') with pandas; here the UCI digits shipped with minitrain
  (`mt.data.load_source("digits")`) stand in: the 361 images of a 4 ('B', 0) or a 9
  ('M', 1), a similar binary problem of a similar size. The guide's pandas cells (read_csv,
  info, head, sample(frac=0.75, random_state=1), drop, iloc, map, describe) become the few
  numpy lines that make the same split: 75% for training, drawn with seed 1. Only the
  pixels whose standard deviation in the training split exceeds 1 are kept (a pixel that is
  always 0 would make the guide's standardization divide by 0). The numbers the training
  prints are therefore not the guide's: the test compares their form, and the final losses
  and accuracies with the guide's within margins.
- `!pip install seaborn`, matplotlib, seaborn and sklearn: the imports, the pair plot, the
  sigmoid plot, the loss and accuracy plots and the confusion matrices (plotting); the two
  tf lines of the confusion-matrix cell are kept.
- Saving: minitrain deliberately has no SavedModel (mt.saved_model says so), so
  `tf.saved_model.save` is skipped and the export module itself stands in for the loaded one.
"""
import os  # noqa: F401  (the guide's imports; its temporary directory is for the SavedModel)
import tempfile  # noqa: F401

import numpy as np

import minitrain as mt  # minitrain's own: the digits shipped with it
import minitrain as tf

print(tf.__version__)
# To make the results reproducible, set the random seed value.
tf.random.set_seed(22)

# %% Load the data
# minitrain: the 4s and 9s of the digits (see the top), for pd.read_csv(url) and its split
digits = mt.data.load_source("digits")
four_or_nine = (digits.labels == 4) | (digits.labels == 9)
features = digits.features[four_or_nine].astype(np.float32)
diagnosis = np.where(digits.labels[four_or_nine] == 9, 'M', 'B')
order = np.random.default_rng(1).permutation(len(features))
train_index, test_index = order[:round(0.75 * len(order))], order[round(0.75 * len(order)):]
varies = features[train_index].std(axis=0) > 1
x_train, y_train = features[train_index][:, varies], diagnosis[train_index]
x_test, y_test = features[test_index][:, varies], diagnosis[test_index]
print(len(x_train))
print(len(x_test))

# %% Preprocess the data
# minitrain: numpy for pandas' y_train.map({'B': 0, 'M': 1})
y_train, y_test = (y_train == 'M').astype(np.int64), (y_test == 'M').astype(np.int64)
x_train, y_train = tf.convert_to_tensor(x_train, dtype=tf.float32), tf.convert_to_tensor(y_train, dtype=tf.float32)  # noqa: E501
x_test, y_test = tf.convert_to_tensor(x_test, dtype=tf.float32), tf.convert_to_tensor(y_test, dtype=tf.float32)  # noqa: E501

# %%
class Normalize(tf.Module):
  def __init__(self, x):
    # Initialize the mean and standard deviation for normalization
    self.mean = tf.Variable(tf.math.reduce_mean(x, axis=0))
    self.std = tf.Variable(tf.math.reduce_std(x, axis=0))

  def norm(self, x):
    # Normalize the input
    return (x - self.mean)/self.std

  def unnorm(self, x):
    # Unnormalize the input
    return (x * self.std) + self.mean

norm_x = Normalize(x_train)
x_train_norm, x_test_norm = norm_x.norm(x_train), norm_x.norm(x_test)

# %% The log loss function
def log_loss(y_pred, y):
  # Compute the log loss function
  ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=y_pred)
  return tf.reduce_mean(ce)

# %%
class LogisticRegression(tf.Module):

  def __init__(self):
    self.built = False

  def __call__(self, x, train=True):
    # Initialize the model parameters on the first call
    if not self.built:
      # Randomly generate the weights and the bias term
      rand_w = tf.random.uniform(shape=[x.shape[-1], 1], seed=22)
      rand_b = tf.random.uniform(shape=[], seed=22)
      self.w = tf.Variable(rand_w)
      self.b = tf.Variable(rand_b)
      self.built = True
    # Compute the model output
    z = tf.add(tf.matmul(x, self.w), self.b)
    z = tf.squeeze(z, axis=1)
    if train:
      return z
    return tf.sigmoid(z)

# %%
log_reg = LogisticRegression()

# %%
y_pred = log_reg(x_train_norm[:5], train=False)
print(repr(y_pred.numpy()))

# %%
def predict_class(y_pred, thresh=0.5):
  # Return a tensor with  `1` if `y_pred` > `0.5`, and `0` otherwise
  return tf.cast(y_pred > thresh, tf.float32)

def accuracy(y_pred, y):
  # Return the proportion of matches between `y_pred` and `y`
  y_pred = tf.math.sigmoid(y_pred)
  y_pred_class = predict_class(y_pred)
  check_equal = tf.cast(y_pred_class == y,tf.float32)
  acc_val = tf.reduce_mean(check_equal)
  return acc_val

# %% Train the model
batch_size = 64
train_dataset = tf.data.Dataset.from_tensor_slices((x_train_norm, y_train))
train_dataset = train_dataset.shuffle(buffer_size=x_train.shape[0]).batch(batch_size)
test_dataset = tf.data.Dataset.from_tensor_slices((x_test_norm, y_test))
test_dataset = test_dataset.shuffle(buffer_size=x_test.shape[0]).batch(batch_size)

# %%
# Set training parameters
epochs = 200
learning_rate = 0.01
train_losses, test_losses = [], []
train_accs, test_accs = [], []

# Set up the training loop and begin training
for epoch in range(epochs):
  batch_losses_train, batch_accs_train = [], []
  batch_losses_test, batch_accs_test = [], []

  # Iterate over the training data
  for x_batch, y_batch in train_dataset:
    with tf.GradientTape() as tape:
      y_pred_batch = log_reg(x_batch)
      batch_loss = log_loss(y_pred_batch, y_batch)
    batch_acc = accuracy(y_pred_batch, y_batch)
    # Update the parameters with respect to the gradient calculations
    grads = tape.gradient(batch_loss, log_reg.variables)
    for g,v in zip(grads, log_reg.variables):
      v.assign_sub(learning_rate * g)
    # Keep track of batch-level training performance
    batch_losses_train.append(batch_loss)
    batch_accs_train.append(batch_acc)

  # Iterate over the testing data
  for x_batch, y_batch in test_dataset:
    y_pred_batch = log_reg(x_batch)
    batch_loss = log_loss(y_pred_batch, y_batch)
    batch_acc = accuracy(y_pred_batch, y_batch)
    # Keep track of batch-level testing performance
    batch_losses_test.append(batch_loss)
    batch_accs_test.append(batch_acc)

  # Keep track of epoch-level model performance
  train_loss, train_acc = tf.reduce_mean(batch_losses_train), tf.reduce_mean(batch_accs_train)
  test_loss, test_acc = tf.reduce_mean(batch_losses_test), tf.reduce_mean(batch_accs_test)
  train_losses.append(train_loss)
  train_accs.append(train_acc)
  test_losses.append(test_loss)
  test_accs.append(test_acc)
  if epoch % 20 == 0:
    print(f"Epoch: {epoch}, Training log loss: {train_loss:.3f}")

# %% Performance evaluation
print(f"Final training log loss: {train_losses[-1]:.3f}")
print(f"Final testing log Loss: {test_losses[-1]:.3f}")

# %%
print(f"Final training accuracy: {train_accs[-1]:.3f}")
print(f"Final testing accuracy: {test_accs[-1]:.3f}")

# %%
y_pred_train, y_pred_test = log_reg(x_train_norm, train=False), log_reg(x_test_norm, train=False)
train_classes, test_classes = predict_class(y_pred_train), predict_class(y_pred_test)

# %% Save the model
class ExportModule(tf.Module):
  def __init__(self, model, norm_x, class_pred):
    # Initialize pre- and post-processing functions
    self.model = model
    self.norm_x = norm_x
    self.class_pred = class_pred

  @tf.function(input_signature=[tf.TensorSpec(shape=[None, None], dtype=tf.float32)])
  def __call__(self, x):
    # Run the `ExportModule` for new data points
    x = self.norm_x.norm(x)
    y = self.model(x, train=False)
    y = self.class_pred(y)
    return y

# %%
log_reg_export = ExportModule(model=log_reg,
                              norm_x=norm_x,
                              class_pred=predict_class)

# %%
# minitrain: no tf.saved_model.save/load (deliberately); the module stands in for the loaded one
log_reg_loaded = log_reg_export
test_preds = log_reg_loaded(x_test)
print(repr(test_preds[:10].numpy()))
