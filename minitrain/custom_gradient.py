"""``@custom_gradient``: a function that supplies its own gradient, as in TensorFlow."""
import functools
import inspect

from . import nest, ops, tape
from .tensor import Tensor


def custom_gradient(f):
    """Decorate ``f(*x) -> (y, grad_fn)``; ``grad_fn(*dy)`` returns one gradient per input.

    The tapes see one op from the inputs to ``y`` whose gradient is ``grad_fn``. ``f``'s own ops
    are recorded too (as TensorFlow does): they are not on the path to ``y``, but a ``grad_fn``
    that uses tensors computed in ``f`` can then be differentiated again by an outer tape.
    If ``f`` reads trainable variables, ``grad_fn`` must take a ``variables`` keyword and
    return ``(input_grads, variable_grads)``.
    """

    @functools.wraps(f)
    def decorated(*args, **kwargs):
        inputs = tuple(ops.as_tensor(a) for a in args)
        with tape.collect_reads() as read:
            result, grad_fn = f(*inputs, **kwargs)
        variables = _unique(v for v in read if v.trainable)
        recorded_inputs = inputs + tuple(ops.read_variable(v) for v in variables)
        outputs = tuple(Tensor(ops.as_tensor(y)._data) for y in nest.flatten(result))
        adapter = _adapt(grad_fn, len(inputs), variables, f.__name__)
        if tape.active():
            tape.record(f"custom_gradient:{f.__name__}", recorded_inputs, outputs, None, adapter)
        return nest.pack_sequence_as(result, outputs)

    return decorated


def _unique(variables):
    seen, unique = set(), []
    for v in variables:
        if v._id not in seen:
            seen.add(v._id)
            unique.append(v)
    return unique


def _adapt(grad_fn, n_inputs, variables, name):
    """grad_fn's answer as one gradient per recorded input."""
    takes_variables = "variables" in inspect.signature(grad_fn).parameters
    if variables and not takes_variables:
        raise TypeError(f"custom_gradient '{name}': the function reads trainable variables "
                        f"{[v.name for v in variables]}, so its grad_fn must accept a "
                        "`variables` keyword argument and return (input_grads, variable_grads)")

    def gradient(op, *grads):
        # as in TensorFlow, an output that got no gradient passes zeros to the user's function
        grads = [ops.zeros_like(y) if g is None else g for g, y in zip(grads, op.outputs)]
        if takes_variables:
            input_grads, variable_grads = grad_fn(*grads, variables=variables)
        else:
            input_grads, variable_grads = grad_fn(*grads), []
        input_grads = list(nest.flatten(input_grads)) if nest.is_nested(input_grads) \
            else [input_grads]
        if len(input_grads) != n_inputs:
            raise ValueError(f"custom_gradient '{name}': grad_fn returned {len(input_grads)} "
                             f"gradients for {n_inputs} inputs")
        if len(variable_grads) != len(variables):
            raise ValueError(f"custom_gradient '{name}': grad_fn returned "
                             f"{len(variable_grads)} variable gradients for the "
                             f"{len(variables)} variables it was given")
        return [None if g is None else ops.as_tensor(g) for g in input_grads] + \
            [None if g is None else ops.as_tensor(g) for g in variable_grads]

    return gradient
