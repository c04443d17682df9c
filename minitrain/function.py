"""function (tf.function) and TensorSpec.

minitrain has no graphs: ``mt.function`` runs the Python function eagerly, every call, as
TensorFlow does under ``tf.config.run_functions_eagerly(True)``. Results are the same, and
gradients flow through it, since its ops run (and record) under any tape as they would
undecorated. Print statements and other Python side effects run on every call, not only
while tracing. ``jit_compile``, ``reduce_retracing`` and ``autograph`` are accepted and change
nothing. What it keeps from TensorFlow is the checking: with an ``input_signature``, every
call's arguments are converted and checked against their TensorSpecs as TensorFlow checks
them, and a mismatch raises with TensorFlow's wording.
"""
import functools
import inspect
import types

import numpy as np

from . import nest, ops
from .tensor import Tensor, as_dtype, float32

# what TensorFlow converts a Python or numpy value to, by dtype kind: integers to any integer,
# float or complex dtype, floats to floats and complexes, bools only to bool (IsCompatible in
# tensorflow/python/eager/pywrap_tensor.cc)
_CONVERTS_TO = {"b": "b", "i": "iufc", "u": "iufc", "f": "fc", "c": "c"}


def _as_shape(shape):
    """A TensorShape as minitrain holds one: None (unknown rank) or a tuple of ints and Nones."""
    if shape is None:
        return None
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    for d in dims:
        if d is not None and (isinstance(d, bool) or int(d) != d or d < 0):
            raise ValueError(f"TensorSpec: each dimension must be an int 0 or more, or None; "
                             f"got {d!r} in the shape {shape!r}")
    return tuple(None if d is None else int(d) for d in dims)


def _shape_text(shape):
    """As TensorFlow prints a TensorShape: (None, 3), (3,), () or <unknown>."""
    return "<unknown>" if shape is None else str(shape)


def _shapes_compatible(a, b):
    """TensorShape.is_compatible_with: same rank (unless unknown), None matches any size."""
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


class TensorSpec:
    """The shape and dtype of a tensor (``tf.TensorSpec``): a shape is a tuple whose None
    entries match any size, or None for any rank."""

    __slots__ = ("_shape", "_dtype", "_name")

    def __init__(self, shape, dtype=float32, name=None):
        if dtype is None:
            raise TypeError("Cannot convert value None to a TensorFlow DType.")
        self._shape = _as_shape(shape)
        self._dtype = as_dtype(dtype)
        self._name = name

    @classmethod
    def from_tensor(cls, tensor, name=None):
        return cls(tensor.shape, tensor.dtype, name)

    @classmethod
    def from_spec(cls, spec, name=None):
        return cls(spec.shape, spec.dtype, name or spec.name)

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def name(self):
        return self._name

    def is_compatible_with(self, spec_or_tensor):
        """Whether a TensorSpec or Tensor has this dtype and a compatible shape."""
        return (isinstance(spec_or_tensor, (TensorSpec, Tensor))
                and spec_or_tensor.dtype == self._dtype
                and _shapes_compatible(self._shape, spec_or_tensor.shape))

    def __eq__(self, other):
        return (type(self) is type(other) and self._shape == other._shape
                and self._dtype == other._dtype and self._name == other._name)

    def __hash__(self):
        return hash((self._shape, self._dtype))

    def __repr__(self):
        # TensorFlow's text, which is also minitrain code after `import minitrain as tf`
        return (f"TensorSpec(shape={_shape_text(self._shape)}, dtype=tf.{self._dtype.name}, "
                f"name={self._name!r})")

    def _cast(self, value):
        """``value`` as a tensor this spec accepts (TensorSpec.cast), or TypeError saying why."""
        # a Variable is read, as TensorFlow converts one; other tensors pass as they are
        value = ops.as_tensor(value) if isinstance(value, Tensor) else _convert(value, self)
        got = TensorSpec(value.shape, value.dtype, self._name)
        if got.dtype != self._dtype or not _shapes_compatible(value.shape, self._shape):
            raise TypeError(f"Can not cast {got!r} to {self!r}")
        return value


def _convert(value, spec):
    """A Python or numpy value as a tensor of ``spec``'s dtype, where TensorFlow converts it."""
    try:
        kind = np.asarray(value).dtype.kind
    except ValueError:  # a ragged list
        kind = None
    if spec.dtype.kind not in _CONVERTS_TO.get(kind, ""):
        raise TypeError(f"Cannot convert {value!r} to EagerTensor of dtype {spec.dtype.name}")
    return ops.as_tensor(value, spec.dtype)


def _cast(value, constraint):
    """``value`` cast by a TensorSpec, or a structure of them, followed leaf by leaf."""
    if isinstance(constraint, TensorSpec):
        return constraint._cast(value)
    if (isinstance(constraint, (list, tuple)) and isinstance(value, (list, tuple))
            and len(value) == len(constraint)):
        items = [_cast(v, c) for v, c in zip(value, constraint)]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(constraint, dict) and isinstance(value, dict) and (
            value.keys() == constraint.keys()):
        return {key: _cast(v, constraint[key]) for key, v in value.items()}
    raise TypeError(f"Can not cast {value!r} to {constraint!r}")


class InputSignatureError(TypeError, ValueError):
    """Arguments that do not fit an input_signature. TensorFlow 2.13 and later raise TypeError
    here and earlier versions ValueError; code written for either catches this."""


def _constrain(python_function, input_signature):
    """The signature calls are bound to, and the constraint (a TensorSpec or a structure of
    them) of each parameter that has one, as TensorFlow's add_type_constraints makes them:
    specs go to the parameters in order, ``self`` excepted; ``*args`` takes those left over;
    ``**kwargs`` is dropped; a parameter with no spec must have a default, and is unchecked."""
    if not isinstance(input_signature, (tuple, list)):
        raise TypeError(f"input_signature must be either a tuple or a list, got "
                        f"{type(input_signature)}.")
    bad = [s for s in nest.flatten(list(input_signature)) if not isinstance(s, TensorSpec)]
    if bad:
        raise TypeError(f"input_signature must be a possibly nested sequence of TensorSpec "
                        f"objects, got invalid args {bad} with types {[type(b) for b in bad]}.")
    specs, parameters, constraints = list(input_signature), [], {}
    given = inspect.signature(python_function).parameters.values()
    varargs = any(p.kind is p.VAR_POSITIONAL for p in given)
    for p in given:
        if p.kind is p.VAR_POSITIONAL:
            for i, spec in enumerate(specs):
                constraints[f"{p.name}_{i}"] = spec
                parameters.append(inspect.Parameter(f"{p.name}_{i}", p.POSITIONAL_ONLY))
            specs = []
        elif p.kind is not p.VAR_KEYWORD:
            if p.name != "self":
                _take_spec(p, specs, constraints)
            positional_only = varargs and p.kind is p.POSITIONAL_OR_KEYWORD
            parameters.append(p.replace(kind=p.POSITIONAL_ONLY) if positional_only else p)
    if specs:
        raise TypeError(f"input_signature contains {len(specs)} extra type constraints.")
    return inspect.Signature(parameters), constraints


def _take_spec(parameter, specs, constraints):
    """Give ``parameter`` the next spec, if any are left; else it needs a default."""
    has_default = parameter.default is not parameter.empty
    if parameter.kind is parameter.KEYWORD_ONLY and not has_default:
        raise TypeError(f"Since input_signature is defined, keyword-only parameter "
                        f"`{parameter.name}` must have a default value")
    if specs:
        constraints[parameter.name] = specs.pop(0)
    elif not has_default:
        raise TypeError(f"input_signature missing type constraint for {parameter.name}")


class Function:
    """What ``mt.function`` returns: calls the Python function eagerly (see the module
    docstring); with an input_signature, checks and converts the arguments first."""

    def __init__(self, python_function, input_signature=None):
        functools.update_wrapper(self, python_function)  # __name__, __doc__, __wrapped__
        self._python_function = python_function
        self._bound = None if input_signature is None else _constrain(python_function,
                                                                      input_signature)
        self._input_signature = None if input_signature is None else tuple(input_signature)

    @property
    def python_function(self):
        """The Python function this wraps."""
        return self._python_function

    @property
    def input_signature(self):
        """The TensorSpecs given, as a tuple, or None."""
        return self._input_signature

    def __call__(self, *args, **kwargs):
        if self._bound is not None:
            args, kwargs = self._bind(args, kwargs)
        return self._python_function(*args, **kwargs)

    def __get__(self, instance, owner=None):
        """A method: ``obj.f`` calls the function with ``obj`` bound to ``self``."""
        return self if instance is None else types.MethodType(self, instance)

    def _bind(self, args, kwargs):
        """The arguments bound to the signature, each constrained one converted and checked."""
        signature, constraints = self._bound
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise self._binding_error(str(e), args, kwargs) from None
        bound.apply_defaults()
        for name, constraint in constraints.items():
            value = bound.arguments[name]
            try:
                bound.arguments[name] = _cast(value, constraint)
            except TypeError as e:
                raise self._binding_error(str(e), args, kwargs,
                                          _why(constraint, value, name)) from None
        return bound.args, bound.kwargs

    def _binding_error(self, reason, args, kwargs, detail=None):
        """TensorFlow's message for arguments that do not fit the signature, and which
        argument failed how (``detail``), which TensorFlow leaves to the reader."""
        signature, constraints = self._bound
        if signature.parameters and next(iter(signature.parameters)) == "self":
            args = args[1:]  # a method's instance is no input, as in TensorFlow's message
        shown = ", ".join(f"{name}: {constraints[name]!r}" if name in constraints else str(p)
                          for name, p in signature.parameters.items() if name != "self")
        return InputSignatureError(
            f"Binding inputs to tf.function `{self.__name__}` failed due to `{reason}`"
            f"{': ' + detail if detail else ''}. "
            f"Received args: {args} and kwargs: {kwargs} for signature: ({shown}).")

    def experimental_get_tracing_count(self):
        """0: minitrain never traces a function."""
        return 0

    def get_concrete_function(self, *args, **kwargs):
        raise NotImplementedError(
            f"{self.__name__}.get_concrete_function: minitrain runs functions eagerly and "
            "makes no graphs, so there is no concrete function; call the function itself")


def _why(constraint, value, name):
    """Which argument failed its spec, and how: its dtype, its rank or a size."""
    if not isinstance(constraint, TensorSpec):
        return f"argument '{name}' does not have the structure of its input_signature entry"
    try:
        value = ops.as_tensor(value)
    except (TypeError, ValueError):
        return f"argument '{name}' is a {type(value).__name__}, which converts to no tensor"
    shape, wanted = value.shape, constraint.shape
    if value.dtype != constraint.dtype:
        return (f"argument '{name}' has dtype {value.dtype.name}, where the spec asks for "
                f"{constraint.dtype.name}")
    if len(shape) != len(wanted):
        return (f"argument '{name}' has shape {shape} (rank {len(shape)}), where the spec asks "
                f"for rank {len(wanted)}")
    return f"argument '{name}' has shape {shape}, where the spec asks for {wanted}"


def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, experimental_implements=None,
             experimental_autograph_options=None, experimental_attributes=None,
             experimental_relax_shapes=None, experimental_compile=None,
             experimental_follow_type_hints=None):
    """tf.function, run eagerly (see the module docstring): ``@mt.function``,
    ``@mt.function(input_signature=[mt.TensorSpec([None, 3])])`` or ``mt.function(f)``.
    Every argument but ``input_signature`` is accepted, as TensorFlow accepts it, and
    changes nothing: there is no graph to autograph, compile or retrace."""
    def decorate(python_function):
        return Function(python_function, input_signature)
    return decorate if func is None else decorate(func)
