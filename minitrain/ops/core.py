"""How an op runs (convert inputs, compute on arrays, record) and the gradient registry.

A gradient is a function ``grad_fn(op, *output_grads) -> one gradient per input (or None)``,
written with differentiable ops so that an outer tape can record it. Gradients never mention
broadcasting: the sweep sums each one back to its input's shape.
"""
import operator

from .. import backend, tape
from ..tape import active, record
from ..tensor import Tensor, as_dtype, to_array

_gradients = {}


def register_gradient(name):
    """Decorator: the gradient function of the op called ``name``."""

    def decorate(grad_fn):
        _gradients[name] = grad_fn
        return grad_fn

    return decorate


def gradient_function(op):
    grad_fn = op.grad_fn or _gradients.get(op.name)
    if grad_fn is None:
        # TensorFlow's text (the autodiff guide prints it); what to do goes in a note, which a
        # traceback shows and str(error) does not
        error = LookupError(f"gradient registry has no entry for: {op.name}")
        if hasattr(error, "add_note"):  # Python 3.11+
            error.add_note(f"register a gradient with @register_gradient('{op.name}'), or wrap "
                           f"the op in mt.stop_gradient")
        raise error
    return grad_fn


def read_variable(variable):
    """A snapshot of the variable's value, recorded as a read on watching tapes."""
    value = Tensor(variable._data)
    if active() or tape.reads_collected():
        tape.variable_read(variable, value)
    return value


@register_gradient("read_variable")
def _read_variable_grad(op, grad):
    """a snapshot's gradient is its variable's"""
    return (grad,)


def as_tensor(x, dtype=None):
    """``x`` as a Tensor: Variables are read; Python and numpy values are wrapped."""
    if isinstance(x, Tensor):
        if dtype is not None and x._data.dtype != dtype:
            raise TypeError(f"convert_to_tensor: a {x.dtype.name} tensor was given where "
                            f"{as_dtype(dtype).name} is required; convert it with mt.cast")
        return x if type(x) is Tensor else read_variable(x)
    return Tensor(backend.to_device(to_array(x, dtype)))


def _like(value, tensor, name):
    """A non-tensor operand as a tensor on ``tensor``'s device, in its dtype (as TF converts)."""
    data = tensor._data
    if data.dtype.kind in _STRINGS:  # tf.string has no width: no cast, which would truncate
        return _string_operand(value, tensor, name)
    return Tensor(backend.to_device(to_array(value, data.dtype), backend.device_of(data)))


# numpy's unicode and bytes kinds: minitrain's tf.string, whatever the width
_STRINGS = "US"


def _string_operand(value, tensor, name):
    """A non-tensor beside a string tensor: a string of any length, never a number."""
    converted = as_tensor(value)
    if converted._data.dtype.kind != tensor._data.dtype.kind:
        raise _string_error(name, value, tensor)
    return converted


def _string_error(name, value, tensor):
    """TensorFlow's TypeError for a number beside a string tensor, naming both dtypes."""
    if isinstance(value, Tensor):
        what = f"operands have dtypes string and {value.dtype.name}"
    else:
        what = (f"cannot convert the {type(value).__name__} {value!r:.40} to the string dtype "
                f"of the other operand (TensorFlow: 'Cannot convert {value!r:.40} to "
                f"EagerTensor of dtype string')")
    return TypeError(f"{name}: {what}; a string tensor only adds (concatenates) to strings: "
                     "format the number as a string first, or parse the string to a number")


_PYTHON_SCALARS = (float, int, bool)
_scalars = {}  # (type, value, dtype) -> Tensor: constants like the 2 in `2 * x` recur constantly


def _scalar_like(value, tensor):
    """A Python scalar as a tensor of ``tensor``'s dtype (shared: tensors are immutable).

    Its data is a numpy scalar, which numpy and CuPy arrays alike take as a plain number.
    """
    dtype = tensor._data.dtype
    key = (type(value), value, dtype)
    cached = _scalars.get(key)
    if cached is None:
        if dtype.kind in _STRINGS:  # numpy would write the number as text: TF refuses it
            raise TypeError(f"cannot convert {value!r} to a string tensor")
        if len(_scalars) > 4096:  # bound the cache; NaN keys, for one, never hit
            _scalars.clear()
        cached = Tensor(to_array(value, dtype)[()])
        if value != 0 or type(value) is not float:  # 0.0 and -0.0 are one key, not one value
            _scalars[key] = cached
    return cached


def _python_operand(value, tensor, name):
    """A Python number beside a tensor, in the tensor's dtype, as TensorFlow converts it: a
    float cannot join an integer tensor."""
    try:
        return _scalar_like(value, tensor)
    except TypeError:
        if tensor._data.dtype.kind in _STRINGS:
            raise _string_error(name, value, tensor) from None
        raise TypeError(f"{name}: cannot convert the Python {type(value).__name__} {value!r} "
                        f"(float32 in TensorFlow's rules) to the {tensor.dtype.name} of the "
                        f"other operand (TensorFlow: 'Cannot convert {value!r} to EagerTensor "
                        f"of dtype {tensor.dtype.name}'); cast the tensor first, e.g. "
                        f"mt.cast(x, mt.float32)") from None


def _is_variable(x):
    return type(x) is not Tensor and isinstance(x, Tensor)


def _read(x):
    return read_variable(x) if _is_variable(x) else x


def as_pair(a, b, name):
    """Two operands of one dtype and device; a Python or numpy value takes the other's."""
    if type(a) is Tensor:
        if type(b) is Tensor:
            da, db = a._data, b._data
            if (da.dtype is db.dtype or da.dtype == db.dtype) and type(da) is type(db):
                return a, b
        elif type(b) in _PYTHON_SCALARS:
            return a, _python_operand(b, a, name)
    elif type(b) is Tensor and type(a) in _PYTHON_SCALARS:
        return _python_operand(a, b, name), b
    if _is_variable(a) or _is_variable(b):  # a weight: read it, then try the fast path again
        return as_pair(_read(a), _read(b), name)
    if not isinstance(b, Tensor):
        a = as_tensor(a)
        b = _like(b, a, name)
    elif not isinstance(a, Tensor):
        b = as_tensor(b)
        a = _like(a, b, name)
    else:
        a, b = as_tensor(a), as_tensor(b)
    if a._data.dtype != b._data.dtype and not _one_string_dtype(a, b, name):
        raise TypeError(
            f"{name}: operands have different dtypes, {a.dtype.name} and {b.dtype.name}; "
            f"convert one with mt.cast(x, mt.{b.dtype.name}) first")
    backend.check_same_device(name, a._data, b._data)
    return a, b


def _one_string_dtype(a, b, name):
    """Whether two string tensors of different widths (one tf.string); a string beside a
    number raises."""
    ka, kb = a._data.dtype.kind, b._data.dtype.kind
    if ka in _STRINGS or kb in _STRINGS:
        if ka != kb:
            raise _string_error(name, b, a) if ka in _STRINGS else _string_error(name, a, b)
        return True
    return False


def xp_of(x):
    """The array module of a tensor's data."""
    return backend.array_module(x._data)


def normalize_axes(axis, ndim, name):
    """``axis`` (None for every axis, one integer of any type, a scalar tensor, or a sequence
    of them) as a sorted tuple of distinct non-negative axes of a rank-``ndim`` tensor."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple)):  # checked first: a failed operator.index is slow
        axes = [operator.index(a) for a in axis]
    else:
        try:
            axes = [operator.index(axis)]
        except TypeError:
            axes = [operator.index(a) for a in axis]
    for a in axes:
        if not -ndim <= a < ndim:  # a scalar has no axis, as in TensorFlow
            raise ValueError(f"{name}: axis {a} is out of range for a tensor of rank {ndim} "
                             f"(valid: {-ndim}..{ndim - 1})")
    return tuple(sorted({a % ndim for a in axes}))


def normalize_axis(axis, ndim, name):
    """One axis (any integer type, or a scalar tensor) as a non-negative int below ``ndim``."""
    if isinstance(axis, (list, tuple)):
        raise TypeError(f"{name}: takes one axis, got {axis!r}")
    (axis,) = normalize_axes(axis, ndim, name)
    return axis


def unary(name, x, forward_name=None):
    """An elementwise op that is a function of the array module (``xp.exp`` for "exp")."""
    x = as_tensor(x)
    return run1(name, getattr(backend.array_module(x._data), forward_name or name), x)


def binary(name, x, y, forward_name):
    """A broadcasting binary op that is a function of the array module."""
    x, y = as_pair(x, y, name)
    return run2(name, getattr(backend.array_module(x._data), forward_name), x, y)


def add_optional(a, b):
    """a + b, where either may be None (no gradient): gradient functions' partial sums."""
    return b if a is None else a if b is None else a + b


def run(name, forward, inputs, attrs=None):
    """Apply ``forward`` to the inputs' arrays; record the op on tapes that watch an input."""
    y = _forward(name, forward, inputs)
    if active():
        record(name, inputs, (y,), attrs)
    return y


def run_outputs(name, forward, inputs, attrs=None):
    """``run`` for an op with several outputs: ``forward`` returns a tuple of arrays."""
    try:
        outputs = tuple(Tensor(y) for y in forward(*[x._data for x in inputs]))
    except ValueError as error:
        raise _shape_error(name, inputs, error) from None
    if active():
        record(name, inputs, outputs, attrs)
    return outputs


def _forward(name, forward, inputs):
    try:
        return Tensor(forward(*[x._data for x in inputs]))
    except ValueError as error:
        raise _shape_error(name, inputs, error) from None
    except TypeError as error:  # numpy has no loop for these dtypes (strings), as in run2
        raise _dtype_error(name, inputs, error) from None


def run1(name, forward, x, attrs=None):
    """``run`` for one input, the hot path of elementwise ops."""
    y = Tensor(forward(x._data))
    if active():
        record(name, (x,), (y,), attrs)
    return y


def run2(name, forward, a, b, attrs=None):
    """``run`` for two inputs."""
    try:
        y = Tensor(forward(a._data, b._data))
    except ValueError as error:
        raise _shape_error(name, (a, b), error) from None
    except TypeError as error:  # numpy has no loop for these dtypes (strings, say)
        raise _dtype_error(name, (a, b), error) from None
    if active():
        record(name, (a, b), (y,), attrs)
    return y


def _dtype_error(name, inputs, error):
    dtypes = " and ".join(x.dtype.name for x in inputs)
    if not any(x._data.dtype.kind in _STRINGS for x in inputs):
        return error
    return TypeError(f"{name}: not defined for string tensors (got {dtypes}; TensorFlow: 'Value "
                     f"passed to parameter 'x' has DataType string not in list of allowed "
                     f"values'); of the arithmetic ops, only add (concatenation) takes strings")


def _shape_error(name, inputs, error):
    shapes = " and ".join(str(x.shape) for x in inputs)
    return ValueError(f"{name}: cannot apply to inputs of shapes {shapes}: {error}")


def run_cut(name, forward, inputs, reason=None):
    """Apply an op through which no gradient flows (and note the cut for explanations)."""
    y = _forward(name, forward, inputs)
    if active():
        record(name, inputs, (y,), cut=reason or f"op '{name}' has no gradient")
    return y
