"""Tensor (an immutable value on a device) and Variable (a mutable, trainable one)."""
import itertools
import sys

import numpy as np

from . import backend
from .tensor_shape import shape_of

float16, float32, float64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
int8, int16, int32, int64 = (np.dtype(f"int{b}") for b in (8, 16, 32, 64))
uint8, bool_ = np.dtype("uint8"), np.dtype("bool")

# Every tensor gets a fresh integer identity: tapes key their records by it. Python's id()
# would be reused once a tensor is freed, and a tape would mistake a new tensor for a watched one.
_new_id = itertools.count().__next__


def as_dtype(dtype):
    """A numpy dtype from a dtype, its name ("float32") or a Python type; None stays None."""
    return None if dtype is None else np.dtype(dtype)


def _python_default(array):
    """TensorFlow's defaults for Python values: floats become float32, ints int32."""
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype == np.int64 and array.size and np.abs(array).max() < 2**31:
        return array.astype(np.int32)
    return array


def to_array(value, dtype=None):
    """The array behind ``value``: numpy arrays keep their dtype, Python values get TF's."""
    dtype = as_dtype(dtype)
    if isinstance(value, Tensor):
        data = value._data
    elif isinstance(value, (np.ndarray, np.generic)) or backend.is_device_array(value):
        data = value
    else:
        data = np.asarray(value)
        if dtype is None:
            return _python_default(data)
        if data.dtype.kind == "f" and dtype.kind in "iub":
            raise TypeError(f"cannot convert the float value {value!r:.40} to {dtype.name} "
                            "without losing its fraction; cast it explicitly with mt.cast")
    return data if dtype is None or data.dtype == dtype else data.astype(dtype)


class Tensor:
    """An immutable n-dimensional value. Operators are differentiable ops (see ``ops``)."""

    __slots__ = ("_data", "_id", "__weakref__")
    __array_ufunc__ = None  # numpy defers ``array + tensor`` to Tensor.__radd__

    def __init__(self, data):
        self._data = data
        self._id = _new_id()

    # --- value and metadata -------------------------------------------------------------------
    @property
    def shape(self):
        return shape_of(self._data.shape)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def device(self):
        return backend.device_of(self._data)

    def numpy(self):
        """The value as a host numpy array (read-only: a Tensor never changes); a scalar
        tensor's is a numpy scalar, as TensorFlow's (hashable: a dict key, a set member)."""
        view = np.asarray(backend.to_numpy(self._data)).view()
        if view.ndim == 0:
            return view[()]
        view.flags.writeable = False
        return view

    def __array__(self, dtype=None, copy=None):
        data = np.asarray(backend.to_numpy(self._data))
        return data if dtype is None else data.astype(dtype)

    def to(self, device):
        """A copy on ``device`` ('cpu', 'gpu', 'gpu:N'); gradients flow back across."""
        return _ops.copy_to_device(self, device)

    def cpu(self):
        return self.to(backend.CPU)

    def gpu(self, index=0):
        return self.to(f"gpu:{index}")

    def _scalar(self, kind):
        if self._data.size != 1:
            raise ValueError(
                f"{kind}() needs a tensor with exactly one element, got shape {self.shape}; "
                "reduce it first (e.g. mt.reduce_sum) or index one element")
        return self._data.item()

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __bool__(self):
        return bool(self._scalar("bool"))

    def __index__(self):
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self._scalar("index"))

    def __len__(self):
        if not self.ndim:
            raise TypeError("len() of a scalar tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # --- printing, as TensorFlow prints (so that a TF program's output reads the same) ---------
    def _host_value(self):
        """The value on the host: a numpy scalar for a scalar tensor, as TF's numpy() gives."""
        data = np.asarray(backend.to_numpy(self._data))
        return data[()] if data.ndim == 0 else data

    def _value_text(self, is_repr):
        value = self._host_value()
        if not is_repr:
            text = str(value)
        elif np.ndim(value) == 0:  # as TensorFlow writes it: the Python number's repr, so a
            text = repr(value.item())  # float32 0.1 reads 0.10000000149011612
        else:
            text = repr(value)
        return "\n" + text if "\n" in text else text

    def __str__(self):
        return f"tf.Tensor({self._value_text(False)}, shape={self.shape}, dtype={self.dtype.name})"

    def __repr__(self):
        place = "" if self.device == backend.CPU else f", device={self.device}"
        return (f"<tf.Tensor: shape={self.shape}, dtype={self.dtype.name}{place}, "
                f"numpy={self._value_text(True)}>")

    def __format__(self, format_spec):
        """``f"{loss:.3f}"``: the value's own formatting (numpy's), as in TensorFlow."""
        return format(self._host_value(), format_spec)

    __hash__ = None  # __eq__ is elementwise, as in TensorFlow 2

    # --- operators: each is a differentiable op -----------------------------------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.subtract(self, other)

    def __rsub__(self, other):
        return _ops.subtract(other, self)

    def __mul__(self, other):
        return _ops.multiply(self, other)

    def __rmul__(self, other):
        return _ops.multiply(other, self)

    def __truediv__(self, other):
        return _ops.divide(self, other)

    def __rtruediv__(self, other):
        return _ops.divide(other, self)

    def __floordiv__(self, other):
        return _ops.floordiv(self, other)

    def __rfloordiv__(self, other):
        return _ops.floordiv(other, self)

    def __mod__(self, other):
        return _ops.mod(self, other)

    def __rmod__(self, other):
        return _ops.mod(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __lt__(self, other):
        return _ops.less(self, other)

    def __le__(self, other):
        return _ops.less_equal(self, other)

    def __gt__(self, other):
        return _ops.greater(self, other)

    def __ge__(self, other):
        return _ops.greater_equal(self, other)

    def __and__(self, other):
        return _ops.logical_and(self._boolean("&"), other)

    def __rand__(self, other):
        return _ops.logical_and(other, self._boolean("&"))

    def __or__(self, other):
        return _ops.logical_or(self._boolean("|"), other)

    def __ror__(self, other):
        return _ops.logical_or(other, self._boolean("|"))

    def __invert__(self):
        return _ops.logical_not(self._boolean("~"))

    def _boolean(self, operator):
        """self, which must be a bool tensor: &, | and ~ are TensorFlow's logical ops on bools
        (on integers TensorFlow's are bitwise, which minitrain does not have)."""
        if self.dtype != bool_:
            raise TypeError(f"{operator}: needs bool tensors, got {self.dtype.name}; compare "
                            f"first (x > 0) or use mt.logical_and / logical_or / logical_not")
        return self

    def __eq__(self, other):
        return False if other is None else _ops.equal(self, other)  # TF 2: `x == None` is False

    def __ne__(self, other):
        return True if other is None else _ops.not_equal(self, other)


class Variable(Tensor):
    """A mutable tensor, the state a model trains.

    Ops never record the Variable's changing value: each read yields a Tensor snapshot, and
    the read is itself a recorded op, so ``assign`` after a read cannot corrupt a gradient.
    """

    __slots__ = ("trainable", "_name")

    def __init__(self, initial_value, trainable=True, name=None, dtype=None, device=None):
        if callable(initial_value):
            initial_value = initial_value()
        if initial_value is None:  # numpy would make an object array of it: TF's error instead
            raise ValueError("The `initial_value` arg to `tf.Variable` must be specified except "
                             "when you are not providing a `variable_def`. You provided neither.")
        super().__init__(_fresh_copy(initial_value, dtype, device))
        self.trainable = bool(trainable)
        self._name = name or "Variable"  # as TensorFlow names every unnamed variable, eagerly

    @property
    def name(self):
        return f"{self._name}:0"

    def ref(self):
        """A hashable reference to this variable, for dict keys and sets (as in TensorFlow)."""
        return Reference(self)

    def numpy(self):
        """A copy of the current value (the variable may change afterwards); a numpy scalar
        for a scalar variable."""
        value = np.array(backend.to_numpy(self._data))
        return value[()] if value.ndim == 0 else value

    def read_value(self):
        """The current value as a Tensor; recorded on tapes that watch this variable."""
        return _ops.read_variable(self)

    value = read_value

    def assign(self, value):
        """Replace the value. A Tensor's array is shared (it never changes); others are copied,
        and the variable changes an array in place only when nothing else holds it, so earlier
        reads stay valid."""
        if isinstance(value, Tensor) and not isinstance(value, Variable):
            return self._set(self._operand(value, "assign"))
        return self._set(_fresh_copy(value, self.dtype, self.device))

    def assign_add(self, delta):
        return self._update("add", self._operand(delta, "assign_add"), "assign_add")

    def assign_sub(self, delta):
        return self._update("subtract", self._operand(delta, "assign_sub"), "assign_sub")

    def _update(self, ufunc, operand, name=None):
        """``self = ufunc(self, operand)``: in place when no one else can see the old value (a
        fresh array costs page faults, about as much as the arithmetic); else a new array."""
        compute = getattr(backend.array_module(self._data), ufunc)
        if operand.shape == self.shape and self._unshared():
            compute(self._data, operand, out=self._data)
            return self
        try:
            return self._set(compute(self._data, operand))
        except ValueError:  # numpy's broadcast error names neither the variable nor the op
            name = name or ("assign_add" if ufunc == "add" else "assign_sub")
            raise ValueError(f"{name}: cannot update variable '{self.name}' of shape "
                             f"{self.shape} using a value of shape {tuple(operand.shape)} "
                             "(TensorFlow: shapes must be equal)") from None

    def _unshared(self):
        """Whether no one else can observe this variable's array change."""
        return (sys.getrefcount(self._data) <= _ONLY_OWNER  # no read, view or np.asarray of it
                and self._data.base is None  # nor is it a view into another array's memory
                and getattr(self._data.flags, "writeable", True))

    def _operand(self, value, name):
        """``value`` as an array of this variable's dtype, on its device."""
        if not isinstance(value, Tensor):
            return backend.to_device(to_array(value, self.dtype), self.device)
        backend.check_same_device(name, self._data, value._data)
        if value.dtype != self.dtype:
            raise TypeError(f"{name}: a {value.dtype.name} value for variable '{self.name}' of "
                            f"dtype {self.dtype.name}; cast it first")
        return value._data

    def _set(self, new):
        if new.shape != self.shape:
            raise ValueError(f"cannot assign a value of shape {new.shape} to variable "
                             f"'{self.name}' of shape {self.shape}")
        self._data = new
        return self

    def __repr__(self):
        place = "" if self.device == backend.CPU else f" device={self.device}"
        return (f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}{place}, "
                f"numpy={self._value_text(True)}>")

    __str__ = __repr__  # as TensorFlow prints a variable


class _Holder:
    __slots__ = ("_data",)


def _sole_owner_count():
    """What ``sys.getrefcount`` reports for an array that one attribute alone holds (measured:
    the count the call itself adds differs between Python versions)."""
    holder = _Holder()
    holder._data = np.empty(0)
    return sys.getrefcount(holder._data)


_ONLY_OWNER = _sole_owner_count()


class Reference:
    """Hashable by identity; ``deref()`` gives the variable back."""

    __slots__ = ("_variable",)

    def __init__(self, variable):
        self._variable = variable

    def deref(self):
        return self._variable

    def __hash__(self):
        return hash(self._variable._id)

    def __eq__(self, other):
        return isinstance(other, Reference) and other._variable is self._variable


def _fresh_copy(value, dtype=None, device=None):
    """A new array holding ``value`` on ``device`` (default: the current device)."""
    data = backend.to_device(to_array(value, dtype), device)
    return backend.array_module(data).array(data, copy=True)


def constant(value, dtype=None, shape=None, name=None, device=None):
    """An immutable Tensor holding a copy of ``value`` (TensorFlow's dtypes for Python values)."""
    data = _fresh_copy(value, dtype, device)
    if shape is not None:
        _check_constant_shape(value, data, shape)
        xp = backend.array_module(data)
        data = xp.broadcast_to(data, shape).copy() if data.size == 1 else data.reshape(shape)
    return Tensor(data)


def _check_constant_shape(value, data, shape):
    """TensorFlow's TypeError where ``shape`` neither holds the value's elements nor is filled
    by a single one (numpy's reshape error names neither)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    wanted = int(np.prod(shape))
    if data.size != 1 and data.size != wanted:
        raise TypeError(f"Eager execution of tf.constant with unsupported shape. Tensor "
                        f"{np.asarray(backend.to_numpy(data))} (converted from {value!r:.60}) "
                        f"has {data.size} elements, but got `shape` {shape} with {wanted} "
                        f"elements).")


# The one back-reference of the layering (see DESIGN.md): Tensor's operators are ops, and the
# ops module builds on this one. Imported last so that ``ops`` finds Tensor defined.
from . import ops as _ops  # noqa: E402
