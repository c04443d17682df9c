"""Adam, AMSGrad and AdamW, in Keras 3's form."""
import numpy as np

from ..kernels.optim import adam_scratch, adam_step
from ..tensor import to_array
from .optimizer import Optimizer, check_range


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"); with
    ``amsgrad``, Reddi et al. 2018, "On the Convergence of Adam and Beyond".

    As in Keras, the bias corrections fold into the step size,
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t), and epsilon is added to sqrt(v) uncorrected.
    The step runs in place, into the slots and the variable; on the CPU it reuses two
    temporaries of each variable's size, made by ``build`` (see ``kernels.optim``).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adam", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        # a beta of 1 divides by 1 - beta**t = 0
        check_range("beta_1", beta_1, 0, 1, below=True)
        check_range("beta_2", beta_2, 0, 1, below=True)
        check_range("epsilon", epsilon, 0)
        self.beta_1, self.beta_2 = beta_1, beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._velocity_hats = (self.add_optimizer_variables(var_list, "velocity_hat")
                               if self.amsgrad else None)
        self._scratch = [adam_scratch(to_array(v)) for v in var_list]  # not state: not saved

    def update_step(self, gradient, variable, learning_rate):
        i, c = self._get_variable_index(variable), variable.dtype.type
        t = c(int(self.iterations) + 1)
        alpha = learning_rate * np.sqrt(1 - c(self.beta_2) ** t) / (1 - c(self.beta_1) ** t)
        v_hat = self.writable(self._velocity_hats[i]) if self.amsgrad else None
        adam_step(self.writable(variable), gradient, self.writable(self._momentums[i]),
                  self.writable(self._velocities[i]), v_hat, alpha, c(1 - self.beta_1),
                  c(1 - self.beta_2), c(self.epsilon), self._scratch[i])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay
    Regularization"): before each Adam update, x <- x - x * weight_decay * lr."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW needs a float weight_decay, got weight_decay=None")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, name=name, **kwargs)
