"""RMSprop, plain or centered, with optional (heavy-ball) momentum, in Keras's form."""
from .. import backend
from ..tensor import to_array
from .optimizer import Optimizer, store


def rmsprop_update(x, g, v, mean_g, velocity, lr, rho, one_minus_rho, momentum, epsilon):
    """One step on arrays, returning (x, v, mean_g, velocity); ``mean_g`` is None unless
    centered, ``velocity`` None without momentum.

    v <- rho v + (1 - rho) g^2;  mean_g <- rho mean_g + (1 - rho) g;
    step = lr g / sqrt(v - mean_g^2 + epsilon);  velocity <- momentum velocity + step;
    x <- x - (velocity or step).
    """
    xp = backend.array_module(x)
    v = rho * v + one_minus_rho * (g * g)
    if mean_g is not None:
        mean_g = rho * mean_g + one_minus_rho * g
        step = lr * g / xp.sqrt(v - mean_g * mean_g + epsilon)
    else:
        step = lr * g / xp.sqrt(v + epsilon)
    if velocity is not None:
        velocity = momentum * velocity + step
        return x - velocity, v, mean_g, velocity
    return x - step, v, mean_g, velocity


class RMSprop(Optimizer):
    """RMSprop (Hinton 2012, "Neural Networks for Machine Learning", lecture 6e); the
    centered form as in Graves 2013, "Generating Sequences With Recurrent Neural Networks"."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="rmsprop"):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = (self.add_optimizer_variables(var_list, "momentum")
                           if self.momentum > 0 else [])
        self._average_gradients = (self.add_optimizer_variables(var_list, "average_gradient")
                                   if self.centered else [])

    def update_step(self, gradient, variable, learning_rate):
        i, c = self._get_variable_index(variable), variable.dtype.type
        slots = [self._velocities[i],
                 self._average_gradients[i] if self.centered else None,
                 self._momentums[i] if self.momentum > 0 else None]
        x, *new = rmsprop_update(
            to_array(variable), gradient, *[None if s is None else to_array(s) for s in slots],
            learning_rate, c(self.rho), c(1 - self.rho), c(self.momentum), c(self.epsilon))
        for slot, value in zip(slots, new):
            if slot is not None:
                store(slot, value)
        store(variable, x)
