"""Model (a layer made of layers, Keras's subclassing style) and Sequential."""
import math

from . import ops, saving
from .layers.base import Layer, shapes_of
from .training.fit import KerasTraining


class Model(KerasTraining, Layer):
    """Define layers in ``__init__`` and the forward pass in ``call``; the first call builds.

    Nested layers are not handed the ``training`` flag implicitly: pass it on in ``call``
    (``self.dropout(x, training=training)``), as ``Sequential`` does.
    """

    def _maybe_build(self, inputs):
        # a model's variables belong to its layers, which build as call() reaches them; only
        # a subclass's own build() runs here (marked built first: it may call Model.build)
        self.built = True
        if type(self).build is not Model.build:
            try:
                self.build(shapes_of(inputs))
            except BaseException:
                self.built = False
                raise

    def build(self, input_shape):
        """Create every variable by running the model once on zeros (None sizes become 1)."""
        if self.built:
            return
        shape = tuple(1 if n is None else int(n) for n in input_shape)
        self(ops.zeros(shape, self.dtype))

    @property
    def layers(self):
        """The layers held directly by this model, in the order they were assigned."""
        return [layer for _, layer in self._sublayers()]

    def summary(self, line_length=80, print_fn=None):
        """Print each layer with its output shape and parameter count, then the totals."""
        (print_fn or print)(summary_text(self, line_length))

    def save_weights(self, filepath):
        """Write every weight to a ``.npz`` file, keyed by its path in the model."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath):
        """Read weights saved by ``save_weights``; names and shapes must match exactly."""
        saving.load_weights(self, filepath)


class Sequential(Model):
    """A stack of layers, each called on the output of the one before."""

    def __init__(self, layers=None, trainable=True, name=None, dtype=None):
        super().__init__(trainable=trainable, name=name, dtype=dtype)
        self._layers = []
        for layer in layers or ():
            self.add(layer)

    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a Layer, got {type(layer).__name__}")
        self._layers.append(layer)

    def pop(self):
        if not self._layers:
            raise IndexError("Sequential.pop: the model has no layers")
        return self._layers.pop()

    def call(self, inputs, training=False):
        x = inputs
        for layer in self._layers:
            x = layer(x, training=training)
        return x


def _shape_text(shape):
    """(None, ...): the batch size is not part of a layer's shape."""
    if shape and isinstance(shape[0], (tuple, list)):  # several outputs
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return str((None,) + tuple(shape[1:])) if shape else "()"


def _row(cells, widths):
    """Cells padded to their column's width; the last takes what it needs."""
    return "".join(cell.ljust(width) for cell, width in zip(cells, widths + [0])).rstrip()


def summary_text(model, line_length=80):
    """The table ``Model.summary`` prints (Keras's layout)."""
    if not model.built:
        raise ValueError(f"model '{model.name}' has not been built yet: call it on a batch, "
                         "or call model.build(input_shape), before summary()")
    rows = [(f"{layer.name} ({type(layer).__name__})",
             "?" if layer._output_shape is None else _shape_text(layer._output_shape),
             f"{layer.count_params():,}") for layer in model.layers]
    widths = [max([len(row[k]) + 2 for row in rows] + [int(line_length * f)])
              for k, f in enumerate((0.4, 0.3))]
    line_length = max(line_length, sum(widths) + 10)
    rules = ["_" * line_length] * (len(rows) - 1) + ["=" * line_length]
    lines = [f'Model: "{model.name}"', "_" * line_length,
             _row(["Layer (type)", "Output Shape", "Param #"], widths), "=" * line_length]
    lines += [text for row, rule in zip(rows, rules) for text in (_row(row, widths), rule)]
    trainable = sum(math.prod(v.shape) for v in model.trainable_variables)
    frozen = sum(math.prod(v.shape) for v in model.non_trainable_variables)
    return "\n".join(lines + [f"Total params: {trainable + frozen:,}",
                              f"Trainable params: {trainable:,}",
                              f"Non-trainable params: {frozen:,}", "_" * line_length])
