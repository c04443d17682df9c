"""Adagrad, in Keras's form."""
from .. import backend
from ..tensor import to_array
from .optimizer import Optimizer, store


def adagrad_update(x, g, accumulator, lr, epsilon):
    """One step on arrays, returning (x, accumulator).

    accumulator <- accumulator + g^2;  x <- x - lr g / sqrt(accumulator + epsilon).
    """
    accumulator = accumulator + g * g
    return x - lr * g / backend.array_module(x).sqrt(accumulator + epsilon), accumulator


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer 2011, "Adaptive Subgradient Methods for Online Learning
    and Stochastic Optimization")."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="adagrad"):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
        if initial_accumulator_value < 0:
            raise ValueError(f"`initial_accumulator_value` must be >= 0, got "
                             f"{initial_accumulator_value}")
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(
            var_list, "accumulator", self.initial_accumulator_value)

    def update_step(self, gradient, variable, learning_rate):
        accumulator = self._accumulators[self._get_variable_index(variable)]
        x, new = adagrad_update(to_array(variable), gradient, to_array(accumulator),
                                learning_rate, variable.dtype.type(self.epsilon))
        store(accumulator, new)
        store(variable, x)
