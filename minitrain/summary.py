"""``Model.summary``'s table, in Keras's layout: one row per layer with its output shape and
parameter count (and "Connected to" for a graph that is not a chain), then the totals."""
import math

from . import functional


def _shape_text(shape):
    """(None, ...): the batch size is not part of a layer's shape."""
    if shape and isinstance(shape[0], (tuple, list)):  # several outputs
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return str((None,) + tuple(shape[1:])) if shape else "()"


def _output_text(layer):
    """Keras's: the output shapes of the layer's last symbolic call, else of its last call."""
    if not layer._inbound_nodes:
        return "?" if layer._output_shape is None else _shape_text(layer._output_shape)
    shapes = [f"({', '.join(map(str, x.shape))})"
              for x in layer._inbound_nodes[-1].output_tensors]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _sequential_like(model):
    """Keras prints "Connected to" unless the graph is a chain: one input, and each node
    reading one tensor, the one the node before it gave."""
    if not hasattr(model, "_nodes"):  # not a Functional model
        return True
    previous = model._inputs
    for node in model._nodes:
        if len(previous) != 1 or node.input_tensors != previous:
            return False
        previous = node.output_tensors
    return len(model._inputs) == 1 and len(model._outputs) == 1


def _row(cells, widths):
    """Cells padded to their column's width; the last takes what it needs."""
    return "".join(cell.ljust(width) for cell, width in zip(cells, widths + [0])).rstrip()


def _table(model, connected, line_length):
    """The header and one row per layer, each a list of cells, and the column widths."""
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] * connected)
    rows = [[f"{layer.name} ({type(layer).__name__})", _output_text(layer),
             f"{layer.count_params():,}"]
            + ([functional.connections(layer, model._nodes)] if connected else [])
            for layer in model.layers]
    fractions = (0.3, 0.26, 0.18) if connected else (0.4, 0.3)
    widths = [max([len(row[k]) + 2 for row in rows] + [int(line_length * f)])
              for k, f in enumerate(fractions)]
    return header, rows, widths


def summary_text(model, line_length=None):
    """The table ``Model.summary`` prints (Keras's layout; "Connected to" for a graph)."""
    if not model.built:
        raise ValueError(f"model '{model.name}' has not been built yet: call it on a batch, "
                         "or call model.build(input_shape), before summary()")
    connected = not _sequential_like(model)
    line_length = line_length or (108 if connected else 80)
    header, rows, widths = _table(model, connected, line_length)
    line_length = max(line_length, sum(widths) + 10)
    rules = ["_" * line_length] * (len(rows) - 1) + ["=" * line_length]
    lines = [f'Model: "{model.name}"', "_" * line_length, _row(header, widths),
             "=" * line_length]
    lines += [text for row, rule in zip(rows, rules) for text in (_row(row, widths), rule)]
    trainable = sum(math.prod(v.shape) for v in model.trainable_variables)
    frozen = sum(math.prod(v.shape) for v in model.non_trainable_variables)
    return "\n".join(lines + [f"Total params: {trainable + frozen:,}",
                              f"Trainable params: {trainable:,}",
                              f"Non-trainable params: {frozen:,}", "_" * line_length])
