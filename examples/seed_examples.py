"""The seed examples: TensorFlow tape code that runs unchanged after `import minitrain as tf`.

Run it with `python examples/seed_examples.py`; it prints 2.0, 10.0, 27.0 and 18.0.
"""
import minitrain as tf

x = tf.constant(3.0)
y = tf.constant(2.0)
tape = tf.GradientTape()
tape.watch(x)
z = x * y
gradient = tape.gradient(z, x)
print(gradient.numpy())  # Output should be 2.0

w = tf.Variable(5.0)
tape = tf.GradientTape()
tape.watch(w)
y = w * w
grad = tape.gradient(y, w)
print(grad.numpy())  # Output should be 10.0

x = tf.Variable(3.0)
with tf.GradientTape() as t1:
    with tf.GradientTape() as t2:
        y = x * x * x
    dy_dx = t2.gradient(y, x)
    d2y_dx2 = t1.gradient(dy_dx, x)
print(dy_dx.numpy())   # Output should be 27.0
print(d2y_dx2.numpy()) # Output should be 18.0
