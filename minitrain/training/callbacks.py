"""Callbacks: code the Trainer calls at fixed points of the loop, Keras style.

A callback that keeps state across epochs (EarlyStopping's best value) returns it from
``get_state`` so that checkpoints carry it and a resumed run decides exactly as an
uninterrupted one would. A callback with something to tell the user at the end of the run
(EarlyStopping: why it stopped) sets ``message``; the display callbacks (EpochLog,
ProgressBar) print it, to the console and train.log, at ``on_train_end``.
"""
import math

LOWER_IS_BETTER = ("loss", "error", "mse", "mae")


class Callback:
    """Hooks, each given the Trainer (``trainer.step``, ``trainer.epoch``, ``trainer.model``).

    ``on_interrupt`` runs when the run is interrupted (Ctrl-C) mid-training, instead of
    ``on_train_end``: release what the callback holds (a progress bar on the terminal)."""

    message = None  # a line for the user, shown at the end of the run

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

    def on_interrupt(self, trainer):
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
        self.monitor, self.mode, self.patience = monitor, _mode(monitor, mode), int(patience)
        self.min_delta, self.restore_best = abs(float(min_delta)), restore_best
        self.best, self.best_epoch, self.wait, self.best_weights = None, None, 0, None
        self.stopped_epoch = None

    def on_train_begin(self, trainer):
        self.message = None

    def on_epoch_end(self, trainer, logs):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors '{self.monitor}', which the logs lack "
                           f"(logged: {', '.join(logs)})")
        value = float(logs[self.monitor])
        if math.isfinite(value) and _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, trainer.epoch, 0
            if self.restore_best:
                self.best_weights = [w.copy() for w in trainer.model.get_weights()]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = trainer.epoch
            trainer.stop_training = True
            self.message = self._stop_message()

    def _stop_message(self):
        """'epoch 23: early stopping; best epoch 18 (val_loss 0.0310), weights restored'."""
        stopped = f"epoch {self.stopped_epoch}: early stopping"
        if self.best is None:
            return f"{stopped}; {self.monitor} was never finite, weights of the last epoch kept"
        kept = ("weights restored" if self.restore_best and self.best_weights is not None
                else "weights of the last epoch kept")
        return (f"{stopped}; best epoch {self.best_epoch} "
                f"({self.monitor} {format_value(self.best)}), {kept}")

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


def best_epoch(history, monitor="val_loss", mode="auto"):
    """(epoch, value, monitor) of the best epoch of ``history`` (the Trainer's: one dict of logs
    per epoch): the first with the lowest finite ``monitor`` (highest for an accuracy, as
    EarlyStopping's ``mode="auto"``). Without that key in the logs (no validation data), the
    training ``loss``; (None, None, monitor) when no epoch has a finite value."""
    if history and monitor not in history[-1]:
        monitor = "loss"
    mode, best, epoch = _mode(monitor, mode), None, None
    for logs in history:
        value = float(logs.get(monitor, math.nan))
        if math.isfinite(value) and _improved(value, best, mode):
            best, epoch = value, logs["epoch"]
    return epoch, best, monitor


def _mode(monitor, mode):
    """'min' for losses and errors, 'max' for anything else (accuracy), under ``"auto"``."""
    if mode != "auto":
        return mode
    return "min" if any(word in monitor for word in LOWER_IS_BETTER) else "max"


def _improved(value, best, mode, min_delta=0.0):
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def format_value(value):
    """A loss or metric as a run prints it: 4 decimals, or 4 significant digits in scientific
    form below 1e-3 (Keras's rule), so 0.9444 and 1.0000 line up and 1.2e-05 is no 0.0000."""
    if value == 0 or abs(value) >= 1e-3 or not math.isfinite(value):
        return f"{value:.4f}"
    return f"{value:.4e}"
