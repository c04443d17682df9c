"""What the conv, normalization and layer tests share: inputs, table rows and the checks.

A table row is ``case(id, f, *inputs, **tolerances)``; ``f`` takes float64 tensors and returns
one. Every check goes through the one checker, ``minitrain.gradcheck.check_gradients``.

``check_layer_gradients`` builds a layer in float64 on the input; then, for the check, each
trainable weight's attribute is pointed at the tensor being perturbed, so the checker
differentiates the layer as a plain function of its input and weights.
"""
import numpy as np
from gradcases import Inputs, case, check_first  # noqa: F401  (the shared table helpers)

import minitrain as mt
from minitrain.gradcheck import check_gradients, gradient_function

Draw = Inputs  # seeded float64 inputs, kept away from where finite differences break


def check_second(f, inputs, tolerances):
    """Every block of the Hessian: d/d(all inputs) of the tape gradient wrt each input.

    f is also scaled by a factor of the input, so that the upstream gradient reaching each op
    varies too and the derivative of a gradient with respect to it is exercised.
    """
    scaled = lambda *xs: f(*xs) * (2 + mt.tanh(mt.reduce_mean(xs[0])))  # noqa: E731
    for g in (f, scaled):
        for k in range(len(inputs)):
            check_gradients(gradient_function(g, k), inputs, **tolerances)


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
