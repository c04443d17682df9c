"""Callbacks: code the Trainer calls at fixed points of the loop, Keras style.

A callback that keeps state across epochs (EarlyStopping's best value) returns it from
``get_state`` so that checkpoints carry it and a resumed run decides exactly as an
uninterrupted one would.
"""
import math


class Callback:
    """Hooks, each given the Trainer (``trainer.step``, ``trainer.epoch``, ``trainer.model``)."""

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer):
        pass

    def on_batch_begin(self, trainer):
        pass

    def on_batch_end(self, trainer):
        pass

    def on_epoch_end(self, trainer, logs):
        pass

    def on_train_end(self, trainer):
        pass

    def get_state(self):
        return None

    def set_state(self, state):
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best``, end with the weights of the best epoch.

    ``mode="auto"`` minimises losses and errors and maximises anything else (accuracy).
    """

    def __init__(self, monitor="val_loss", mode="auto", patience=5, min_delta=0.0,
                 restore_best=True):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            lower = ("loss", "error", "mse", "mae")
            mode = "min" if any(word in monitor for word in lower) else "max"
        self.monitor, self.mode, self.patience = monitor, mode, int(patience)
        self.min_delta, self.restore_best = abs(float(min_delta)), restore_best
        self.best, self.best_epoch, self.wait, self.best_weights = None, None, 0, None
        self.stopped_epoch = None

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, logs):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors '{self.monitor}', which the logs lack "
                           f"(logged: {', '.join(logs)})")
        value = float(logs[self.monitor])
        if math.isfinite(value) and self._improved(value):
            self.best, self.best_epoch, self.wait = value, trainer.epoch, 0
            if self.restore_best:
                self.best_weights = [w.copy() for w in trainer.model.get_weights()]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = trainer.epoch
            trainer.stop_training = True

    def on_train_end(self, trainer):
        if self.restore_best and self.best_weights is not None:
            trainer.model.set_weights(self.best_weights)

    def get_state(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def set_state(self, state):
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.stopped_epoch = state["stopped_epoch"]
        weights = state["best_weights"]
        self.best_weights = None if weights is None else list(weights)
