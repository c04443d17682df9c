"""Adagrad, in Keras's form."""
from .. import backend
from ..tensor import to_array
from .optimizer import Optimizer, check_range


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer 2011, "Adaptive Subgradient Methods for Online Learning
    and Stochastic Optimization").

    accumulator <- accumulator + g^2;  x <- x - lr g / sqrt(accumulator + epsilon).
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        check_range("initial_accumulator_value", initial_accumulator_value, 0)
        check_range("epsilon", epsilon, 0)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        self._accumulators = self.add_optimizer_variables(
            var_list, "accumulator", self.initial_accumulator_value)

    def update_step(self, gradient, variable, learning_rate):
        accumulator = self._accumulators[self._get_variable_index(variable)]
        self.assign_add(accumulator, gradient * gradient)
        sqrt, epsilon = backend.array_module(gradient).sqrt, variable.dtype.type(self.epsilon)
        self.assign_sub(variable, learning_rate * gradient / sqrt(to_array(accumulator) + epsilon))
