"""Stochastic gradient descent with (Nesterov) momentum, in Keras's form."""
from ..kernels.optim import sgd_scratch, sgd_step
from ..tensor import to_array
from .optimizer import Optimizer, check_range


class SGD(Optimizer):
    """Gradient descent with momentum (Polyak 1964; Nesterov momentum as in Sutskever et al.
    2013, "On the importance of initialization and momentum in deep learning").

    The step runs in place, into the variable (and the momentum's slot); on the CPU it goes
    through each variable a block at a time, reusing one temporary of a block's size (two
    with Nesterov), made by ``build``."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        check_range("momentum", momentum, 0, 1)
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, var_list):
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(var_list, "momentum")
        self._scratch = [sgd_scratch(to_array(v), self.nesterov) for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        momentum = self.writable(self.momentums[i]) if self.momentum != 0 else None  # no slot
        sgd_step(self.writable(variable), gradient, momentum, learning_rate,
                 variable.dtype.type(self.momentum), self.nesterov, self._scratch[i])
