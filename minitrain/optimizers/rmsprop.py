"""RMSprop, plain or centered, with optional (heavy-ball) momentum, in Keras's form."""
from .. import backend
from ..tensor import to_array
from .optimizer import Optimizer, check_range


class RMSprop(Optimizer):
    """RMSprop (Hinton 2012, "Neural Networks for Machine Learning", lecture 6e); the
    centered form as in Graves 2013, "Generating Sequences With Recurrent Neural Networks".

    v <- rho v + (1 - rho) g^2;  mean_g <- rho mean_g + (1 - rho) g (centered);
    step = lr g / sqrt(v - mean_g^2 + epsilon);  velocity <- momentum velocity + step;
    x <- x - (velocity or step).
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="rmsprop", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        check_range("rho", rho, 0, 1)
        check_range("momentum", momentum, 0, 1)
        check_range("epsilon", epsilon, 0)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, var_list):
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = (self.add_optimizer_variables(var_list, "momentum")
                           if self.momentum > 0 else [])
        self._average_gradients = (self.add_optimizer_variables(var_list, "average_gradient")
                                   if self.centered else [])

    def update_step(self, gradient, variable, learning_rate):
        i, c, g = self._get_variable_index(variable), variable.dtype.type, gradient
        rho, one_minus_rho, epsilon = c(self.rho), c(1 - self.rho), c(self.epsilon)
        velocity = self._velocities[i]
        self.assign(velocity, rho * to_array(velocity) + one_minus_rho * (g * g))
        v = to_array(velocity)
        if self.centered:
            average = self._average_gradients[i]
            self.assign(average, rho * to_array(average) + one_minus_rho * g)
            mean_g = to_array(average)
            denominator = v - mean_g * mean_g + epsilon
        else:
            denominator = v + epsilon
        step = learning_rate * g / backend.array_module(g).sqrt(denominator)
        if self.momentum > 0:
            momentum = self._momentums[i]
            self.assign(momentum, c(self.momentum) * to_array(momentum) + step)
            step = to_array(momentum)
        self.assign_sub(variable, step)
