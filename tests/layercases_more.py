"""The gradient table of the activation, reshaping, merging and preprocessing layers.

A row is ``row(id, make, *inputs, training=False, fresh=False, **tolerances)``: ``make()``
gives the layer, called on the one input or on the list of several (a merge layer). The
layer becomes a plain function of its inputs and its trainable weights (each weight's
attribute pointed at the tensor being perturbed, as ``layercases.check_layer_gradients``
does), so one checker sees first and second derivatives with respect to both. ``fresh``
rows build a new, seeded layer for every evaluation: a noise layer draws anew at each call.
"""
import numpy as np
import pytest
from layercases import Draw

import minitrain as mt
from minitrain import layers

rng = Draw(seed=11)
u, signed, distinct = rng.uniform, rng.signed, rng.distinct


def row(name, make, *inputs, training=False, fresh=False, **tolerances):
    return pytest.param(make, inputs, training, fresh, tolerances, id=name)


def _attribute_of(layer, variable):
    for name, value in vars(layer).items():
        if value is variable:
            return name
    raise AssertionError(f"no attribute of {layer!r} holds {variable.name}")


def _apply(layer, xs, training):
    return layer(list(xs) if len(xs) > 1 else xs[0], training=training)


def layer_function(make, inputs, training=False, fresh=False):
    """(f, arrays): f(*tensors) is the layer on the inputs, with its trainable weights
    replaced by the tensors after the inputs; arrays are the inputs and the weights' values."""
    k = len(inputs)
    if fresh:
        return (lambda *xs: _apply(make(), xs, training)), list(inputs)
    layer = make()
    _apply(layer, [mt.constant(x) for x in inputs], training)  # builds, in float64
    variables = layer.trainable_variables
    names = [_attribute_of(layer, v) for v in variables]

    def f(*tensors):
        saved = [getattr(layer, name) for name in names]
        for name, w in zip(names, tensors[k:]):
            setattr(layer, name, w)
        try:
            return _apply(layer, tensors[:k], training)
        finally:
            for name, v in zip(names, saved):
                setattr(layer, name, v)

    return f, list(inputs) + [v.numpy() for v in variables]


def _adapted(**kwargs):
    layer = layers.Normalization(dtype="float64", **kwargs)
    layer.adapt(rng.uniform(20, 4) * [1, 2, 3, 4] + [0, 1, -1, 2])
    return layer


# away from ReLU(max_value=1.5, negative_slope=0.2, threshold=0.5)'s kinks at 0.5 and 1.5
_RELU_INPUT = np.array([[-1.7, -0.6, 0.1, 0.3, 0.7, 1.1], [1.3, 1.8, 2.4, -0.2, 0.9, 0.35]])
_PAIR = distinct(2, 3, 4)  # the two inputs of Maximum and Minimum never tie

CASES = [
    row("LeakyReLU", lambda: layers.LeakyReLU(), signed(3, 4)),
    row("ReLU", lambda: layers.ReLU(), signed(3, 4)),
    row("ReLU max_value slope threshold",
        lambda: layers.ReLU(max_value=1.5, negative_slope=0.2, threshold=0.5), _RELU_INPUT),
    row("PReLU", lambda: layers.PReLU(alpha_initializer="random_uniform"), signed(2, 3, 4)),
    row("PReLU shared_axes", lambda: layers.PReLU("random_uniform", shared_axes=[1, 2]),
        signed(2, 3, 2, 2)),
    row("ELU", lambda: layers.ELU(), signed(3, 4)),
    row("ELU alpha", lambda: layers.ELU(alpha=0.5), signed(3, 4)),
    row("Softmax", lambda: layers.Softmax(), u(3, 4)),
    row("Softmax axis 1 of 3", lambda: layers.Softmax(axis=1), u(2, 3, 2)),
    row("Softmax over two axes", lambda: layers.Softmax(axis=[1, 2]), u(2, 3, 2)),
    row("Reshape", lambda: layers.Reshape((-1, 2)), u(2, 3, 4)),
    row("Permute", lambda: layers.Permute((2, 3, 1)), u(2, 3, 4, 2)),
    row("RepeatVector", lambda: layers.RepeatVector(3), u(2, 4)),
    row("UpSampling2D", lambda: layers.UpSampling2D((2, 3)), u(2, 2, 3, 2)),
    row("UpSampling2D channels_first", lambda: layers.UpSampling2D(
        data_format="channels_first"), u(1, 2, 3, 2)),
    row("UpSampling2D bilinear", lambda: layers.UpSampling2D((2, 3), interpolation="bilinear"),
        u(1, 3, 2, 2)),
    row("UpSampling2D bilinear channels_first", lambda: layers.UpSampling2D(
        2, "channels_first", "bilinear"), u(1, 2, 3, 2)),
    row("ZeroPadding2D", lambda: layers.ZeroPadding2D(((1, 0), (2, 1))), u(2, 3, 2, 2)),
    row("Cropping2D", lambda: layers.Cropping2D(((1, 0), (1, 2))), u(2, 4, 5, 2)),
    row("Concatenate", lambda: layers.Concatenate(), u(2, 3), u(2, 2), u(2, 1)),
    row("Concatenate axis 1", lambda: layers.Concatenate(axis=1), u(2, 3, 2), u(2, 1, 2)),
    row("Add", lambda: layers.Add(), u(2, 3), u(2, 3), u(2, 3)),
    row("Add broadcast", lambda: layers.Add(), u(2, 3, 4), u(2, 4)),
    row("Subtract", lambda: layers.Subtract(), u(2, 3), u(2, 3)),
    row("Multiply", lambda: layers.Multiply(), u(2, 3), u(2, 3), u(2, 3)),
    row("Average", lambda: layers.Average(), u(2, 3), u(2, 3)),
    row("Maximum", lambda: layers.Maximum(), _PAIR[0], _PAIR[1]),
    row("Minimum", lambda: layers.Minimum(), _PAIR[0], _PAIR[1]),
    row("Lambda", lambda: layers.Lambda(lambda x: mt.sin(x) * x, output_shape=(4,)), u(3, 4)),
    row("Identity", lambda: layers.Identity(), u(3, 4)),
    row("Rescaling", lambda: layers.Rescaling(0.5, offset=-1.0), u(3, 4)),
    row("Normalization adapted", _adapted, u(3, 4)),
    row("Normalization adapted invert", lambda: _adapted(invert=True), u(3, 4)),
    row("Normalization given", lambda: layers.Normalization(
        mean=[1.0, 2.0], variance=[4.0, 0.25]), u(3, 2)),
    row("GaussianNoise training", lambda: layers.GaussianNoise(0.5, seed=3), u(3, 4),
        training=True, fresh=True),
    row("SpatialDropout2D training", lambda: layers.SpatialDropout2D(0.5, seed=3),
        u(2, 2, 2, 4), training=True, fresh=True),
]
