"""Weight and activity penalties, in Keras 3's names, formulas and defaults: ``reg(x) -> scalar``.

A layer takes them as ``kernel_regularizer=``, ``bias_regularizer=`` (weights: see
``Layer.add_weight``) and ``activity_regularizer=`` (its outputs); ``layer.losses`` holds the
penalties, to be added to the training loss. Any function of one tensor that returns a scalar
serves as well as these classes.
"""
import math
import numbers

from . import identifiers, ops
from .ops.norms import l2_normalize


def _factor(value, name):
    """A penalty factor: a finite number, 0 or more (Keras's ``validate_float_arg``)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


def _l1(x):
    return ops.reduce_sum(ops.abs(x))


def _l2(x):
    return ops.reduce_sum(ops.square(x))


class Regularizer:
    """The base class: ``__call__(x)`` gives the penalty, ``get_config`` the arguments."""

    def __call__(self, x):
        return 0.0

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = "..."
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x**2); both factors default to 0, as in Keras."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        loss = ops.zeros((), x.dtype)
        if self.l1:
            loss = loss + self.l1 * _l1(x)
        if self.l2:
            loss = loss + self.l2 * _l2(x)
        return loss

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """l1 * sum(|x|)."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "l1")

    def __call__(self, x):
        return self.l1 * _l1(x)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """l2 * sum(x**2) (no 1/2, unlike ``tf.nn.l2_loss``)."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        return self.l2 * _l2(x)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """factor * mean over pairs i < j of |<u_i, u_j>|, u the L2-normalized rows (or columns) of
    a matrix: factor * 0.5 * sum_{i != j} |U U^T|_ij / (n (n - 1) / 2)."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError('Invalid value for argument `mode`. Expected one of {"rows", '
                             f'"columns"}}. Received: mode={mode}')
        self.mode = mode

    def __call__(self, x):
        if len(x.shape) != 2:
            raise ValueError("Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={tuple(x.shape)}")
        if self.mode == "columns":
            x = ops.transpose(x)
        # Keras's normalize: x * min(rsqrt(sum(x**2)), 1 / 1e-7)
        u = l2_normalize(x, axis=1, epsilon=1e-14)
        n = x.shape[0]
        off_diagonal = ops.matmul(u, ops.transpose(u)) * (1.0 - ops.eye(n, dtype=x.dtype))
        return self.factor * 0.5 * _l1(off_diagonal) / (n * (n - 1.0) / 2.0)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras's names: the classes, and their snake_case forms ("l1", "l2", "l1l2", ...); names match
# without regard to case or underscores, so "l1_l2" names L1L2 too (with its defaults, 0 and 0)
_BY_NAME = {cls.__name__: cls for cls in (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)}
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer


def get(identifier):
    """A regularizer from a name ("l2", "L1L2"), a ``{"class_name": ..., "config": {...}}``
    dict (Keras's serialized form), a class, an instance or any callable; None stays None."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):  # Keras 3 serializes with these two keys besides
        identifier = {k: v for k, v in identifier.items()
                      if k not in ("module", "registered_name")}
    elif not isinstance(identifier, str) and not callable(identifier):
        raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
    return identifiers.resolve(identifier, _BY_NAME, "regularizer")
