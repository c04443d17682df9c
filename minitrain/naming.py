"""Names: how a layer names itself, how a name is looked up, how a misspelt one is answered.

Below the kit and the config: it imports nothing of the package, so any module may use it.
"""
import difflib
import re


def canonical(name):
    """The key a name is looked up by: case and underscores do not count, so
    "sparse_categorical_crossentropy" and "SparseCategoricalCrossentropy" are one name."""
    return str(name).replace("_", "").lower()


def snake_case(name):
    """Keras 3's to_snake_case: "BatchNormalization" -> "batch_normalization", "Conv2D" ->
    "conv2d", "GlobalAveragePooling2D" -> "global_average_pooling2d"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# TensorFlow's camel_to_snake (a tf.Module's default name), which differs from Keras's where a
# capital follows a digit: a Module "Conv2D" is "conv2_d", a Keras layer "conv2d"
_CAMEL_TO_SNAKE = re.compile(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))")


def camel_to_snake(name):
    """A class name as TensorFlow names a module: "MyModule" -> "my_module", "MLP" -> "mlp"."""
    return _CAMEL_TO_SNAKE.sub(r"_\1", name).lower()


def did_you_mean(word, choices):
    """'; did you mean 'x'?' for the closest of ``choices`` to ``word``, or ''."""
    near = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{near[0]}'?" if near else ""
