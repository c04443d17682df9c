"""Learning-rate schedules under Keras's names and formulas (``keras.optimizers.schedules``).

A schedule is called with the optimizer's step (its ``iterations`` before the update, so the
first update sees step 0) and returns the learning rate as a Python float. The arithmetic is
done in float64; the optimizer casts the result to each variable's dtype.
"""
import math


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(self, step)")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _positive_steps(name, value):
    if value <= 0:
        raise ValueError(f"`{name}` must be > 0, got {name}={value}")


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps); the exponent is floored
    when ``staircase`` is true."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        _positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate * self.decay_rate ** p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] once step > boundaries[-1]."""

    def __init__(self, boundaries, values):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"PiecewiseConstantDecay needs one more value than boundaries, got "
                             f"{len(boundaries)} boundaries {list(boundaries)} and "
                             f"{len(values)} values {list(values)}")
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must increase strictly, "
                             f"got {list(boundaries)}")
        self.boundaries = list(boundaries)
        self.values = list(values)

    def __call__(self, step):
        step = float(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values}


class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter 2017, SGDR, without restarts), with Keras's
    optional linear warmup.

    Without ``warmup_target``: lr(s) = initial * ((1 - alpha) * c(min(s, decay_steps)) + alpha),
    c(s) = (1 + cos(pi s / decay_steps)) / 2. With it, the first ``warmup_steps`` steps go
    linearly from ``initial_learning_rate`` to ``warmup_target``, and the cosine then decays
    ``warmup_target`` over the next ``decay_steps`` steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
                 warmup_steps=0):
        _positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step, decay_from_lr):
        cosine_decayed = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return float(decay_from_lr * ((1 - self.alpha) * cosine_decayed + self.alpha))

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return float(delta * (step / self.warmup_steps) + self.initial_learning_rate)
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}
