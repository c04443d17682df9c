"""Stochastic gradient descent with (Nesterov) momentum, in Keras's form."""
from ..kernels.optim import sgd_update
from ..tensor import to_array
from .optimizer import Optimizer, store, subtract


class SGD(Optimizer):
    """Gradient descent with momentum (Polyak 1964; Nesterov momentum as in Sutskever et al.
    2013, "On the importance of initialization and momentum in deep learning")."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="SGD"):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
        if not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float in [0, 1], got momentum={momentum}")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum == 0:  # x -= lr g, in place when nothing else holds x
            subtract(variable, gradient * learning_rate)
            return
        m = self.momentums[self._get_variable_index(variable)]
        x, m_new = sgd_update(to_array(variable), gradient, to_array(m), learning_rate,
                              variable.dtype.type(self.momentum), self.nesterov)
        store(m, m_new)
        store(variable, x)
