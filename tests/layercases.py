"""Check a layer's gradients (input and trainable weights) against finite differences.

The layer is built in float64 on the input; then, for the check, each trainable weight's
attribute is pointed at the tensor being perturbed, so the one checker (``check_gradients``)
differentiates the layer as a plain function of its input and weights.
"""
import numpy as np

import minitrain as mt
from minitrain.gradcheck import check_gradients


def _attribute_of(layer, variable):
    for name, value in vars(layer).items():
        if value is variable:
            return name
    raise AssertionError(f"no attribute of {layer!r} holds {variable.name}")


def check_layer_gradients(layer, x, training=False, wrt_input=True, **tolerances):
    """Raise AssertionError if the tape's gradients differ from central differences."""
    x = np.asarray(x)
    layer(mt.constant(x), training=training)  # builds, in float64 for a float64 input
    variables = layer.trainable_variables
    names = [_attribute_of(layer, v) for v in variables]

    def f(*tensors):
        inputs, weights = (tensors[0], tensors[1:]) if wrt_input else (mt.constant(x), tensors)
        saved = [getattr(layer, name) for name in names]
        for name, w in zip(names, weights):
            setattr(layer, name, w)
        try:
            return layer(inputs, training=training)
        finally:
            for name, v in zip(names, saved):
                setattr(layer, name, v)

    values = [v.numpy() for v in variables]
    return check_gradients(f, ([x] if wrt_input else []) + values, **tolerances)
