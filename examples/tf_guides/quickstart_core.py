"""TensorFlow's guide "Quickstart for the TensorFlow Core APIs"
(https://www.tensorflow.org/guide/core/quickstart_core,
site/en/guide/core/quickstart_core.ipynb), its code cells in order, as a TensorFlow user
wrote them; the one change is `import minitrain as tf`.

Changed or skipped:
- Data: the guide downloads the Auto MPG table with pandas; here the UCI digits shipped with
  minitrain (`mt.data.load_source("digits")`) stand in, laid out as the guide's table is: the
  target ("MPG") in column 0, here the digit; then the features, here the 48 pixels whose
  standard deviation exceeds 1 (a pixel that is always 0 would make the guide's
  standardization divide by 0); last a category with values 1 to 3 ("Origin"), here the
  sample's number mod 3 plus 1, so that the one-hot cell has its three columns. No network
  and no pandas are needed; `dataset.tail()` (pandas) is skipped. The numbers the training
  prints are therefore not the guide's: the test compares their form, and the losses with
  what a linear model of the digits can reach.
- matplotlib: its imports and the loss plot (plotting).
- Saving: minitrain deliberately has no SavedModel (mt.saved_model says so), so
  `tf.saved_model.save` is skipped and the export module itself stands in for the loaded one.
"""
import numpy as np

import minitrain as mt  # minitrain's own: the digits shipped with it
import minitrain as tf

print("TensorFlow version:", tf.__version__)
# Set a random seed for reproducible results
tf.random.set_seed(22)

# %% Load and preprocess the dataset
# minitrain: the digits, laid out as the Auto MPG table (see the top), for pd.read_csv(url)
digits = mt.data.load_source("digits")
pixels = digits.features[:, digits.features.std(axis=0) > 1]
origin = 1 + np.arange(len(pixels)) % 3
dataset = np.column_stack([digits.labels, pixels, origin]).astype(np.float32)

dataset_tf = tf.convert_to_tensor(dataset, dtype=tf.float32)

# %%
dataset_shuffled = tf.random.shuffle(dataset_tf, seed=22)
train_data, test_data = dataset_shuffled[100:], dataset_shuffled[:100]
x_train, y_train = train_data[:, 1:], train_data[:, 0]
x_test, y_test = test_data[:, 1:], test_data[:, 0]

# %%
def onehot_origin(x):
  origin = tf.cast(x[:, -1], tf.int32)
  # Use `origin - 1` to account for 1-indexed feature
  origin_oh = tf.one_hot(origin - 1, 3)
  x_ohe = tf.concat([x[:, :-1], origin_oh], axis = 1)
  return x_ohe

x_train_ohe, x_test_ohe = onehot_origin(x_train), onehot_origin(x_test)
print(repr(x_train_ohe.numpy()))

# %%
class Normalize(tf.Module):
  def __init__(self, x):
    # Initialize the mean and standard deviation for normalization
    self.mean = tf.math.reduce_mean(x, axis=0)
    self.std = tf.math.reduce_std(x, axis=0)

  def norm(self, x):
    # Normalize the input
    return (x - self.mean)/self.std

  def unnorm(self, x):
    # Unnormalize the input
    return (x * self.std) + self.mean

# %%
norm_x = Normalize(x_train_ohe)
norm_y = Normalize(y_train)
x_train_norm, y_train_norm = norm_x.norm(x_train_ohe), norm_y.norm(y_train)
x_test_norm, y_test_norm = norm_x.norm(x_test_ohe), norm_y.norm(y_test)

# %% Build a machine learning model
class LinearRegression(tf.Module):

  def __init__(self):
    self.built = False

  @tf.function
  def __call__(self, x):
    # Initialize the model parameters on the first call
    if not self.built:
      # Randomly generate the weight vector and bias term
      rand_w = tf.random.uniform(shape=[x.shape[-1], 1])
      rand_b = tf.random.uniform(shape=[])
      self.w = tf.Variable(rand_w)
      self.b = tf.Variable(rand_b)
      self.built = True
    y = tf.add(tf.matmul(x, self.w), self.b)
    return tf.squeeze(y, axis=1)

# %%
lin_reg = LinearRegression()
prediction = lin_reg(x_train_norm[:1])
prediction_unnorm = norm_y.unnorm(prediction)
print(repr(prediction_unnorm.numpy()))

# %% Define a loss function
def mse_loss(y_pred, y):
  return tf.reduce_mean(tf.square(y_pred - y))

# %% Train and evaluate your model
batch_size = 64
train_dataset = tf.data.Dataset.from_tensor_slices((x_train_norm, y_train_norm))
train_dataset = train_dataset.shuffle(buffer_size=x_train.shape[0]).batch(batch_size)
test_dataset = tf.data.Dataset.from_tensor_slices((x_test_norm, y_test_norm))
test_dataset = test_dataset.shuffle(buffer_size=x_test.shape[0]).batch(batch_size)

# %%
# Set training parameters
epochs = 100
learning_rate = 0.01
train_losses, test_losses = [], []

# Format training loop
for epoch in range(epochs):
  batch_losses_train, batch_losses_test = [], []

  # Iterate through the training data
  for x_batch, y_batch in train_dataset:
    with tf.GradientTape() as tape:
      y_pred_batch = lin_reg(x_batch)
      batch_loss = mse_loss(y_pred_batch, y_batch)
    # Update parameters with respect to the gradient calculations
    grads = tape.gradient(batch_loss, lin_reg.variables)
    for g,v in zip(grads, lin_reg.variables):
      v.assign_sub(learning_rate * g)
    # Keep track of batch-level training performance
    batch_losses_train.append(batch_loss)

  # Iterate through the testing data
  for x_batch, y_batch in test_dataset:
    y_pred_batch = lin_reg(x_batch)
    batch_loss = mse_loss(y_pred_batch, y_batch)
    # Keep track of batch-level testing performance
    batch_losses_test.append(batch_loss)

  # Keep track of epoch-level model performance
  train_loss = tf.reduce_mean(batch_losses_train)
  test_loss = tf.reduce_mean(batch_losses_test)
  train_losses.append(train_loss)
  test_losses.append(test_loss)
  if epoch % 10 == 0:
    print(f'Mean squared error for step {epoch}: {train_loss.numpy():0.3f}')

# Output final losses
print(f"\nFinal train loss: {train_loss:0.3f}")
print(f"Final test loss: {test_loss:0.3f}")

# %% Save and load the model
class ExportModule(tf.Module):
  def __init__(self, model, extract_features, norm_x, norm_y):
    # Initialize pre and postprocessing functions
    self.model = model
    self.extract_features = extract_features
    self.norm_x = norm_x
    self.norm_y = norm_y

  @tf.function(input_signature=[tf.TensorSpec(shape=[None, None], dtype=tf.float32)])
  def __call__(self, x):
    # Run the ExportModule for new data points
    x = self.extract_features(x)
    x = self.norm_x.norm(x)
    y = self.model(x)
    y = self.norm_y.unnorm(y)
    return y

# %%
lin_reg_export = ExportModule(model=lin_reg,
                              extract_features=onehot_origin,
                              norm_x=norm_x,
                              norm_y=norm_y)

# %%
# minitrain: no tf.saved_model.save/load (deliberately); the module stands in for the loaded one
lin_reg_loaded = lin_reg_export
test_preds = lin_reg_loaded(x_test)
print(repr(test_preds[:10].numpy()))
