"""TensorFlow's guide "Basic training loops"
(https://www.tensorflow.org/guide/basic_training_loops,
site/en/guide/basic_training_loops.ipynb), its code cells in order, as a TensorFlow user
wrote them; the one change is `import minitrain as tf`.

The data are the guide's own: a line with noise, made in the program.

Skipped:
- matplotlib: the setup cell's import and colors, and every plot (plotting); of the cells
  that plot and then print the loss, the print is kept.
- "The same solution, but with Keras": tf.keras.Model, compile and fit (Keras is the next
  issue).
"""
import minitrain as tf

# %% Data
# The actual line
TRUE_W = 3.0
TRUE_B = 2.0

NUM_EXAMPLES = 201

# A vector of random x values
x = tf.linspace(-2,2, NUM_EXAMPLES)
x = tf.cast(x, tf.float32)

def f(x):
  return x * TRUE_W + TRUE_B

# Generate some noise
noise = tf.random.normal(shape=[NUM_EXAMPLES])

# Calculate y
y = f(x) + noise

# %% Define the model
class MyModel(tf.Module):
  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    # Initialize the weights to `5.0` and the bias to `0.0`
    # In practice, these should be randomly initialized
    self.w = tf.Variable(5.0)
    self.b = tf.Variable(0.0)

  def __call__(self, x):
    return self.w * x + self.b

model = MyModel()

# List the variables tf.modules's built-in variable aggregation.
print("Variables:", model.variables)

# Verify the model works
assert model(3.0).numpy() == 15.0

# %% Define a loss function
# This computes a single loss value for an entire batch
def loss(target_y, predicted_y):
  return tf.reduce_mean(tf.square(target_y - predicted_y))

# %%
print("Current loss: %1.6f" % loss(y, model(x)).numpy())  # noqa: UP031

# %% Define a training loop
# Given a callable model, inputs, outputs, and a learning rate...
def train(model, x, y, learning_rate):

  with tf.GradientTape() as t:
    # Trainable variables are automatically tracked by GradientTape
    current_loss = loss(y, model(x))

  # Use GradientTape to calculate the gradients with respect to W and b
  dw, db = t.gradient(current_loss, [model.w, model.b])

  # Subtract the gradient scaled by the learning rate
  model.w.assign_sub(learning_rate * dw)
  model.b.assign_sub(learning_rate * db)

# %%
model = MyModel()

# Collect the history of W-values and b-values to plot later
weights = []
biases = []
epochs = range(10)

# Define a training loop
def report(model, loss):
  return f"W = {model.w.numpy():1.2f}, b = {model.b.numpy():1.2f}, loss={loss:2.5f}"


def training_loop(model, x, y):

  for epoch in epochs:
    # Update the model with the single giant batch
    train(model, x, y, learning_rate=0.1)

    # Track this before I update
    weights.append(model.w.numpy())
    biases.append(model.b.numpy())
    current_loss = loss(y, model(x))

    print(f"Epoch {epoch:2d}:")
    print("    ", report(model, current_loss))

# %% Do the training
current_loss = loss(y, model(x))

print(f"Starting:")  # noqa: F541
print("    ", report(model, current_loss))

training_loop(model, x, y)

# %%
print("Current loss: %1.6f" % loss(model(x), y).numpy())  # noqa: UP031
