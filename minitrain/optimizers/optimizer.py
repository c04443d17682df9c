"""The optimizer protocol of Keras 3: a subclass is its ``build`` and its ``update_step``.

The base class owns the rest of a step. One ``apply_gradients`` call drops the variables
without a gradient (one warning names them), casts each gradient to its variable's dtype,
clips (``clipnorm``, ``clipvalue`` or ``global_clipnorm``), decays the weights (decoupled, as
Keras 3 does for every optimizer: x -= x * weight_decay * lr, before the update), calls
``update_step`` once per variable, and counts the step in ``iterations``. The learning rate is
read once per step: a float, or a schedule called with ``iterations`` (0 on the first step).

A subclass's ``build`` only creates its slots: the base runs it once, after recording the
variables. Its ``update_step`` writes through the base -- ``assign``, ``assign_add``,
``assign_sub``, or ``writable`` for a kernel that overwrites arrays -- which changes an array in
place only when nothing else holds it, so an earlier read of a variable keeps its value.

The optimizer's state is a list of Variables -- ``iterations``, the learning rate (unless a
schedule gives it) and the slots ``build`` creates, in creation order -- so
``save_own_variables`` / ``load_own_variables`` carry it through an ``.npz`` and a resumed run
continues bit for bit. Slots are lists aligned with the variables the optimizer was built with.
"""
import functools
import math
import re
import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor, Variable, constant, to_array
from .clipping import clip
from .schedules import LearningRateSchedule

_ONE_STEP = np.ones((), np.int64)  # what each step adds to ``iterations``


class Optimizer:
    """Base class: subclasses implement ``build(var_list)`` and ``update_step(grad, var, lr)``.

    A subclass takes its own hyper-parameters and passes ``**kwargs`` (weight_decay, clipnorm,
    clipvalue, global_clipnorm) on to this constructor."""

    def __init_subclass__(cls, **kwargs):
        # a subclass's build creates its slots only; the guard and the record are the base's
        super().__init_subclass__(**kwargs)
        if "build" in vars(cls):
            cls.build = _built_once(vars(cls)["build"])

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        given = {key: value for key, value in clips.items() if value is not None}
        if len(given) > 1:
            raise ValueError(f"only one of clipnorm, clipvalue and global_clipnorm can be set, "
                             f"got {given}")
        # 0 means no clipping, as in Keras; a negative limit would silently mean it too
        for key, value in given.items():
            check_range(key, value, 0)
        if weight_decay is not None:
            check_range("weight_decay", weight_decay, 0)
        self.name = name or type(self).__name__.lower()
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.built = False
        self._variables = []  # the whole state, in creation order: what is saved and restored
        self._trainable_variables = []  # what the optimizer was built for; slots align with it
        self._positions = {}  # Tensor._id -> position: these ids are never reused, unlike id()
        self._excluded_ids, self._excluded_names = set(), None
        # the step count and the rate are host scalars, whatever device the variables are on
        self._iterations = self._track(Variable(
            np.int64(0), trainable=False, name=f"{self.name}/iteration", device=backend.CPU))
        self._learning_rate = None
        self.learning_rate = learning_rate

    # --- state ---------------------------------------------------------------------------------
    def _track(self, variable):
        self._variables.append(variable)
        return variable

    @property
    def variables(self):
        """The optimizer's state variables, in the order they are saved."""
        return list(self._variables)

    @property
    def iterations(self):
        """The number of steps applied so far (an int64 Variable)."""
        return self._iterations

    @property
    def learning_rate(self):
        """The current rate: the learning-rate Variable, or the schedule's value at this step."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return constant(np.float64(self._learning_rate(int(self._iterations))))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, LearningRateSchedule):
            old = self._learning_rate
            self._variables = [v for v in self._variables if v is not old]
            self._learning_rate = value
        elif isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError(f"optimizer '{self.name}' takes its learning rate from a schedule, "
                            "so it cannot be set to a number; give the optimizer a float "
                            "learning_rate to make it settable")
        elif isinstance(self._learning_rate, Variable):
            self._learning_rate.assign(_rate(value, self.name))
        else:
            self._learning_rate = self._track(Variable(
                _rate(value, self.name), trainable=False, name=f"{self.name}/learning_rate",
                device=backend.CPU))

    def build(self, var_list):
        """Record the variables to train. A subclass's ``build`` then creates its slots::

            def build(self, var_list):
                self._momentums = self.add_optimizer_variables(var_list, "momentum")

        Building happens once (on the first step, or when called); later calls do nothing."""
        if not self.built:
            self._record(var_list)
            self.built = True

    def _record(self, var_list):
        var_list = list(var_list)
        for position, variable in enumerate(var_list):
            if not isinstance(variable, Variable):
                raise TypeError(f"an optimizer updates mt.Variable objects, got "
                                f"{type(variable).__name__} at position {position}")
            self._positions[variable._id] = position
        self._trainable_variables = var_list

    def add_variable_from_reference(self, reference, name, initial_value=0.0):
        """A slot: a non-trainable Variable of ``reference``'s shape, dtype and device."""
        xp = backend.array_module(to_array(reference))
        value = xp.full(reference.shape, initial_value, dtype=reference.dtype)
        slot_name = reference.name.split(":")[0].replace("/", "_") + "_" + name
        return self._track(Variable(value, trainable=False, name=slot_name,
                                    device=reference.device))

    def add_optimizer_variables(self, var_list, name, initial_value=0.0):
        """One slot per variable, in a list aligned with ``var_list``."""
        return [self.add_variable_from_reference(v, name, initial_value) for v in var_list]

    def _get_variable_index(self, variable):
        position = self._positions.get(variable._id) if isinstance(variable, Variable) else None
        if position is None:
            raise ValueError(f"unknown variable '{getattr(variable, 'name', variable)}': "
                             f"optimizer '{self.name}' was built for "
                             f"{len(self._trainable_variables)} other variables; create a new "
                             "optimizer for a new set of variables")
        return position

    def save_own_variables(self, store):
        """Write the state into ``store`` (a dict; ``np.savez(path, **store)`` saves it)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        """Restore the state from a mapping written by ``save_own_variables`` (or ``np.load``)."""
        if len(store.keys()) != len(self._variables):
            hint = "" if self.built else (" (this optimizer is not built yet: call "
                                          "optimizer.build(var_list) first)")
            raise ValueError(f"optimizer '{self.name}' has {len(self._variables)} state "
                             f"variables but the saved state has {len(store.keys())}{hint}")
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    # --- a step ----------------------------------------------------------------------------------
    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable`` from ``gradient`` (an array of its dtype) at ``learning_rate``
        (a scalar of its dtype), writing through ``assign*`` or ``writable``."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step")

    # the write-back: values are arrays of the variable's dtype, on its device
    def assign(self, variable, value):
        """variable <- value, an array just computed for it (taken as it is, not copied)."""
        variable.assign(Tensor(value))

    def assign_add(self, variable, value):
        """variable += value (in place when nothing else holds the variable's array)."""
        variable._update("add", value, "assign_add")

    def assign_sub(self, variable, value):
        """variable -= value (in place when nothing else holds the variable's array)."""
        variable._update("subtract", value, "assign_sub")

    def writable(self, variable):
        """The array behind ``variable``, for a kernel to overwrite in place. Copied first when
        anything else holds it (a read's snapshot, a view), so that the holder keeps its value:
        the same rule as ``Variable.assign_add``."""
        if not variable._unshared():
            variable.assign(Tensor(variable._data.copy()))
        return variable._data

    def apply_gradients(self, grads_and_vars):
        """Apply one step: ``optimizer.apply_gradients(zip(grads, variables))``."""
        pairs = list(grads_and_vars)
        grads, variables = zip(*pairs) if pairs else ((), ())
        self.apply(grads, variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Apply one step; without variables, the gradients follow the built variable list."""
        grads = list(grads)
        if not grads:  # Keras 3: no gradients is a no-op; no step counted, nothing built
            return
        variables = self._variables_for(grads, trainable_variables)
        grads, variables = self._drop_missing(grads, variables)
        lr = float(self.learning_rate)
        grads = clip([_gradient_array(g, v) for g, v in zip(grads, variables)], self.clipnorm,
                     self.clipvalue, self.global_clipnorm)
        self._apply_weight_decay(variables, lr)
        for grad, variable in zip(grads, variables):
            self.update_step(grad, variable, variable.dtype.type(lr))
        self._iterations._update("add", _ONE_STEP, "assign_add")  # assign_add(1), unconverted

    def _variables_for(self, grads, trainable_variables):
        if trainable_variables is None:
            if not self.built:
                raise ValueError("apply(grads) without variables needs a built optimizer: call "
                                 "optimizer.build(var_list) first, or pass the variables")
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
            for variable in variables:
                self._get_variable_index(variable)
        if len(grads) != len(variables):
            raise ValueError(f"got {len(grads)} gradients for {len(variables)} variables")
        return variables

    def _drop_missing(self, grads, variables):
        missing = [v.name for g, v in zip(grads, variables) if g is None]
        if not missing:
            return grads, variables
        if len(missing) == len(variables):
            raise ValueError(f"no gradient was provided for any variable ({missing}); is the "
                             "loss computed from them inside the GradientTape?")
        warnings.warn(f"gradients do not exist for variables {missing}; they are left unchanged "
                      "(is the loss connected to them?)", stacklevel=4)
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        return [g for g, _ in kept], [v for _, v in kept]

    # --- weight decay ----------------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempt these variables, and those whose name contains one of ``var_names``."""
        if self.built:
            raise ValueError("exclude_from_weight_decay() must be called before the optimizer "
                             "is built (before its first step)")
        self._excluded_ids = {v._id for v in var_list or ()}
        pattern = "|".join(map(re.escape, var_names or ()))
        self._excluded_names = re.compile(pattern) if pattern else None

    def _use_weight_decay(self, variable):
        if variable._id in self._excluded_ids:
            return False
        return self._excluded_names is None or not self._excluded_names.search(variable.name)

    def _apply_weight_decay(self, variables, lr):
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                c = variable.dtype.type
                self.assign_sub(variable, to_array(variable) * c(self.weight_decay) * c(lr))


def check_range(name, value, low, high=None, below=False):
    """Raise a ValueError naming the hyper-parameter unless low <= value <= high (< high
    when ``below``): a value outside, or NaN, would train into NaN or silently do nothing."""
    inside = low <= value and (high is None or (value < high if below else value <= high))
    if not inside:
        bound = (f"at least {low}" if high is None else
                 f"in [{low}, {high}{')' if below else ']'}")
        raise ValueError(f"`{name}` must be {bound}, got {name}={value}")


def _rate(value, name):
    """A learning rate as a float64: a finite number, 0 or more."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"learning_rate must be a number or a schedule, got {value!r} "
                        f"(optimizer '{name}')") from None
    if not (math.isfinite(rate) and rate >= 0):
        raise ValueError(f"learning_rate must be a finite number, 0 or more, got {value!r} "
                         f"(optimizer '{name}')")
    return np.float64(rate)


def _built_once(build):
    """A subclass's ``build``, run once per optimizer after the base records the variables
    (a Keras-style ``build`` that checks ``self.built`` and calls ``super().build`` works too)."""

    @functools.wraps(build)
    def build_once(self, var_list):
        if self.built:
            return
        var_list = list(var_list)  # read once, by the base and the subclass alike
        self._record(var_list)
        build(self, var_list)
        self.built = True

    return build_once


def _gradient_array(grad, variable):
    """The gradient as an array of the variable's dtype and shape, on its device."""
    if type(grad) is Tensor and _matches(grad._data, variable._data):
        return grad._data  # a tape's gradient: nothing to convert
    g = backend.to_device(to_array(grad, variable.dtype), variable.device)
    if g.shape != variable.shape:
        raise ValueError(f"a gradient of shape {g.shape} was given for variable "
                         f"'{variable.name}' of shape {variable.shape}")
    return g


def _matches(g, x):
    """Whether array g has x's dtype, shape and array type (numpy, or CuPy on x's GPU)."""
    if g.dtype != x.dtype or g.shape != x.shape or type(g) is not type(x):
        return False
    return isinstance(x, np.ndarray) or g.device == x.device
