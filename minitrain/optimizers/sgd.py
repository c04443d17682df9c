"""Stochastic gradient descent with (Nesterov) momentum, in Keras's form."""
from ..kernels.optim import sgd_scratch, sgd_step
from ..tensor import to_array
from .optimizer import Optimizer, check_range


class SGD(Optimizer):
    """Gradient descent with momentum (Polyak 1964; Nesterov momentum as in Sutskever et al.
    2013, "On the importance of initialization and momentum in deep learning").

    With momentum the step runs in place, into the slot and the variable; on the CPU it reuses
    one temporary of each variable's size (two with Nesterov), made by ``build``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        check_range("momentum", momentum, 0, 1)
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, var_list):
        self.momentums, self._scratch = [], []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(var_list, "momentum")
            self._scratch = [sgd_scratch(to_array(v), self.nesterov) for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum == 0:  # x -= lr g: one temporary, and no slot to keep
            self.assign_sub(variable, gradient * learning_rate)
            return
        i = self._get_variable_index(variable)
        sgd_step(self.writable(variable), gradient, self.writable(self.momentums[i]),
                 learning_rate, variable.dtype.type(self.momentum), self.nesterov,
                 self._scratch[i])
