"""TensorFlow's guide "Advanced automatic differentiation"
(https://www.tensorflow.org/guide/advanced_autodiff, site/en/guide/advanced_autodiff.ipynb),
its code cells in order, as a TensorFlow user wrote them; the one change is
`import minitrain as tf`.

A cell that ends in an expression, which the notebook displays, prints it: `print(x)` for a
number from `.numpy()`, `print(repr(x))` for anything else (what the notebook shows).

Changed or skipped:
- matplotlib (the setup cell's import and rcParams) and every plotting cell: the Jacobian
  plot, imshow_zero_center and the Hessian image, plot_as_patches and its two plots (plotting).
- tf.keras.layers.Dense and tf.keras.layers.BatchNormalization (Keras is the next issue) are
  replaced by `Dense` and `BatchNormalization` below, written with tf.* only, with Keras's
  attribute names (kernel, bias) and its order of trainable_variables (kernel, then bias);
  each use says so. Their initial weights are not Keras's, so only shapes and the guide's
  own consistency checks can be compared, which is all the guide prints of them.
- "Custom gradients in SavedModel": minitrain deliberately has no SavedModel
  (mt.saved_model says so), so the module itself stands in for the one saved and loaded.
"""
import minitrain as tf


class Dense:
  """minitrain: stands in for tf.keras.layers.Dense (Keras is the next issue)."""

  def __init__(self, units, activation=None):
    self.units = units
    self.activation = activation
    self.built = False

  def __call__(self, x):
    if not self.built:
      limit = (6.0 / (x.shape[-1] + self.units)) ** 0.5   # Glorot uniform, as Keras's
      self.kernel = tf.Variable(tf.random.uniform([x.shape[-1], self.units], -limit, limit))
      self.bias = tf.Variable(tf.zeros([self.units]))
      self.built = True
    y = tf.matmul(x, self.kernel) + self.bias
    return y if self.activation is None else self.activation(y)

  @property
  def trainable_variables(self):
    return [self.kernel, self.bias]


class BatchNormalization:
  """minitrain: stands in for tf.keras.layers.BatchNormalization (Keras is the next issue):
  in training, the batch's own mean and variance, with Keras's epsilon."""

  def __call__(self, x, training=False):
    mean, variance = tf.nn.moments(x, axes=[0])
    return tf.nn.batch_normalization(x, mean, variance, None, None, 1e-3)


# %% Stop recording
x = tf.Variable(2.0)
y = tf.Variable(3.0)

with tf.GradientTape() as t:
  x_sq = x * x
  with t.stop_recording():
    y_sq = y * y
  z = x_sq + y_sq

grad = t.gradient(z, {'x': x, 'y': y})

print('dz/dx:', grad['x'])  # 2*x => 4
print('dz/dy:', grad['y'])

# %% Reset/start recording from scratch
x = tf.Variable(2.0)
y = tf.Variable(3.0)
reset = True

with tf.GradientTape() as t:
  y_sq = y * y
  if reset:
    # Throw out all the tape recorded so far.
    t.reset()
  z = x * x + y_sq

grad = t.gradient(z, {'x': x, 'y': y})

print('dz/dx:', grad['x'])  # 2*x => 4
print('dz/dy:', grad['y'])

# %% Stop gradient flow with precision
x = tf.Variable(2.0)
y = tf.Variable(3.0)

with tf.GradientTape() as t:
  y_sq = y**2
  z = x**2 + tf.stop_gradient(y_sq)

grad = t.gradient(z, {'x': x, 'y': y})

print('dz/dx:', grad['x'])  # 2*x => 4
print('dz/dy:', grad['y'])

# %% Custom gradients
# Establish an identity operation, but clip during the gradient pass.
@tf.custom_gradient
def clip_gradients(y):
  def backward(dy):
    return tf.clip_by_norm(dy, 0.5)
  return y, backward

v = tf.Variable(2.0)
with tf.GradientTape() as t:
  output = clip_gradients(v * v)
print(t.gradient(output, v))  # calls "backward", which clips 4 to 2

# %% Custom gradients in SavedModel
class MyModule(tf.Module):

  @tf.function(input_signature=[tf.TensorSpec(None)])
  def call_custom_grad(self, x):
    return clip_gradients(x)

model = MyModule()

# %%
# minitrain: no tf.saved_model.save/load (deliberately); the module stands in for the loaded one
# The loaded gradients will be the same as the above example.
v = tf.Variable(2.0)
loaded = model
with tf.GradientTape() as t:
  output = loaded.call_custom_grad(v * v)
print(t.gradient(output, v))

# %% Multiple tapes
x0 = tf.constant(0.0)
x1 = tf.constant(0.0)

with tf.GradientTape() as tape0, tf.GradientTape() as tape1:
  tape0.watch(x0)
  tape1.watch(x1)

  y0 = tf.math.sin(x0)
  y1 = tf.nn.sigmoid(x1)

  y = y0 + y1

  ys = tf.reduce_sum(y)

# %%
print(tape0.gradient(ys, x0).numpy())   # cos(x) => 1.0

# %%
print(tape1.gradient(ys, x1).numpy())   # sigmoid(x1)*(1-sigmoid(x1)) => 0.25

# %% Higher-order gradients
x = tf.Variable(1.0)  # Create a Tensorflow variable initialized to 1.0

with tf.GradientTape() as t2:
  with tf.GradientTape() as t1:
    y = x * x * x

  # Compute the gradient inside the outer `t2` context manager
  # which means the gradient computation is differentiable as well.
  dy_dx = t1.gradient(y, x)
d2y_dx2 = t2.gradient(dy_dx, x)

print('dy_dx:', dy_dx.numpy())  # 3 * x**2 => 3.0
print('d2y_dx2:', d2y_dx2.numpy())  # 6 * x => 6.0

# %% Example: Input gradient regularization
x = tf.random.normal([7, 5])

layer = Dense(10, activation=tf.nn.relu)  # minitrain: for tf.keras.layers.Dense

# %%
with tf.GradientTape() as t2:
  # The inner tape only takes the gradient with respect to the input,
  # not the variables.
  with tf.GradientTape(watch_accessed_variables=False) as t1:
    t1.watch(x)
    y = layer(x)
    out = tf.reduce_sum(layer(x)**2)
  # 1. Calculate the input gradient.
  g1 = t1.gradient(out, x)
  # 2. Calculate the magnitude of the input gradient.
  g1_mag = tf.norm(g1)

# 3. Calculate the gradient of the magnitude with respect to the model.
dg1_mag = t2.gradient(g1_mag, layer.trainable_variables)

# %%
print(repr([var.shape for var in dg1_mag]))

# %% Jacobians: scalar source
x = tf.linspace(-10.0, 10.0, 200+1)
delta = tf.Variable(0.0)

with tf.GradientTape() as tape:
  y = tf.nn.sigmoid(x+delta)

dy_dx = tape.jacobian(y, delta)

# %%
print(y.shape)
print(dy_dx.shape)

# %% Tensor source
x = tf.random.normal([7, 5])
layer = Dense(10, activation=tf.nn.relu)  # minitrain: for tf.keras.layers.Dense

with tf.GradientTape(persistent=True) as tape:
  y = layer(x)

print(repr(y.shape))

# %%
print(repr(layer.kernel.shape))

# %%
j = tape.jacobian(y, layer.kernel)
print(repr(j.shape))

# %%
g = tape.gradient(y, layer.kernel)
print('g.shape:', g.shape)

j_sum = tf.reduce_sum(j, axis=[0, 1])
delta = tf.reduce_max(abs(g - j_sum)).numpy()
assert delta < 1e-3
print('delta:', delta)

# %% Example: Hessian
x = tf.random.normal([7, 5])
layer1 = Dense(8, activation=tf.nn.relu)  # minitrain: for tf.keras.layers.Dense
layer2 = Dense(6, activation=tf.nn.relu)  # minitrain: for tf.keras.layers.Dense

with tf.GradientTape() as t2:
  with tf.GradientTape() as t1:
    x = layer1(x)
    x = layer2(x)
    loss = tf.reduce_mean(x**2)

  g = t1.gradient(loss, layer1.kernel)

h = t2.jacobian(g, layer1.kernel)

# %%
print(f'layer.kernel.shape: {layer1.kernel.shape}')
print(f'h.shape: {h.shape}')

# %%
n_params = tf.reduce_prod(layer1.kernel.shape)

g_vec = tf.reshape(g, [n_params, 1])
h_mat = tf.reshape(h, [n_params, n_params])

# %%
eps = 1e-3
eye_eps = tf.eye(h_mat.shape[0])*eps

# %%
# X(k+1) = X(k) - (∇²f(X(k)))^-1 @ ∇f(X(k))
# h_mat = ∇²f(X(k))
# g_vec = ∇f(X(k))
update = tf.linalg.solve(h_mat + eye_eps, g_vec)

# Reshape the update and apply it to the variable.
_ = layer1.kernel.assign_sub(tf.reshape(update, layer1.kernel.shape))

# %% Batch Jacobian
x = tf.random.normal([7, 5])

layer1 = Dense(8, activation=tf.nn.elu)  # minitrain: for tf.keras.layers.Dense
layer2 = Dense(6, activation=tf.nn.elu)  # minitrain: for tf.keras.layers.Dense

with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
  tape.watch(x)
  y = layer1(x)
  y = layer2(y)

print(repr(y.shape))

# %%
j = tape.jacobian(y, x)
print(repr(j.shape))

# %%
j_sum = tf.reduce_sum(j, axis=2)
print(j_sum.shape)
j_select = tf.einsum('bxby->bxy', j)
print(j_select.shape)

# %%
jb = tape.batch_jacobian(y, x)
print(repr(jb.shape))

# %%
error = tf.reduce_max(abs(jb - j_sum))
assert error < 1e-3
print(error.numpy())

# %%
x = tf.random.normal([7, 5])

layer1 = Dense(8, activation=tf.nn.elu)  # minitrain: for tf.keras.layers.Dense
bn = BatchNormalization()  # minitrain: for tf.keras.layers.BatchNormalization
layer2 = Dense(6, activation=tf.nn.elu)  # minitrain: for tf.keras.layers.Dense

with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
  tape.watch(x)
  y = layer1(x)
  y = bn(y, training=True)
  y = layer2(y)

j = tape.jacobian(y, x)
print(f'j.shape: {j.shape}')

# %%
jb = tape.batch_jacobian(y, x)
print(f'jb.shape: {jb.shape}')
