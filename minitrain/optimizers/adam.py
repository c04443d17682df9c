"""Adam, AMSGrad and AdamW, in Keras 3's form."""
import numpy as np

from .. import backend
from ..tensor import to_array
from .optimizer import Optimizer


def adam_update(x, g, m, v, v_hat, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """One step on arrays, returning (x, m, v, v_hat); ``v_hat`` is None without AMSGrad.

    m <- m + (g - m)(1 - beta_1);  v <- v + (g^2 - v)(1 - beta_2);  v_hat <- max(v_hat, v);
    x <- x - alpha m / (sqrt(v or v_hat) + epsilon).
    """
    xp = backend.array_module(x)
    m = m + (g - m) * one_minus_beta_1
    v = v + (g * g - v) * one_minus_beta_2
    if v_hat is not None:
        v_hat = xp.maximum(v_hat, v)
    return x - m * alpha / (xp.sqrt(v if v_hat is None else v_hat) + epsilon), m, v, v_hat


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"); with
    ``amsgrad``, Reddi et al. 2018, "On the Convergence of Adam and Beyond".

    As in Keras, the bias corrections fold into the step size,
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t), and epsilon is added to sqrt(v) uncorrected.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adam"):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
        self.beta_1, self.beta_2 = beta_1, beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._velocity_hats = (self.add_optimizer_variables(var_list, "velocity_hat")
                               if self.amsgrad else None)

    def update_step(self, gradient, variable, learning_rate):
        i, c = self._get_variable_index(variable), variable.dtype.type
        t = c(int(self.iterations) + 1)
        alpha = learning_rate * np.sqrt(1 - c(self.beta_2) ** t) / (1 - c(self.beta_1) ** t)
        m, v = self._momentums[i], self._velocities[i]
        v_hat = self._velocity_hats[i] if self.amsgrad else None
        x, m_new, v_new, v_hat_new = adam_update(
            to_array(variable), gradient, to_array(m), to_array(v),
            None if v_hat is None else to_array(v_hat), alpha, c(1 - self.beta_1),
            c(1 - self.beta_2), c(self.epsilon))
        m.assign(m_new)
        v.assign(v_new)
        if v_hat is not None:
            v_hat.assign(v_hat_new)
        variable.assign(x)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay
    Regularization"): before each Adam update, x <- x - x * weight_decay * lr."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adamw"):
        if weight_decay is None:
            raise ValueError("AdamW needs a float weight_decay, got weight_decay=None")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
