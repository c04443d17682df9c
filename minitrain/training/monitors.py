"""Keras's callbacks that watch a logged value: EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau, LearningRateScheduler; and BackupAndRestore, done by the Trainer's
checkpoints (a resumed run is bit for bit the uninterrupted one)."""
import math
import os
import warnings
from pathlib import Path

import numpy as np

from .keras_base import Callback

_UP = ("acc", "auc", "precision", "recall", "fmeasure")


def _direction(monitor, model, mode):
    """'min' or 'max': ``mode`` if given; else less for losses, and the metric's own direction
    (accuracies up, errors down) as Keras's ``_set_monitor_op`` reads it."""
    if mode in ("min", "max"):
        return mode
    name = monitor.removeprefix("val_")
    for metric in getattr(model, "metrics", ()):
        if metric.name == name and getattr(metric, "_direction", None):
            return "max" if metric._direction == "up" else "min"
    if name == "loss" or "error" in name or name in ("mse", "mae", "mape", "msle"):
        return "min"
    if any(word in name for word in _UP):
        return "max"
    raise ValueError(f"EarlyStopping callback received monitor={monitor} but Keras isn't able "
                     "to automatically determine whether that metric should be maximized or "
                     "minimized. Pass `mode='max'` in order to do early stopping based on the "
                     "highest metric value, or pass `mode='min'` in order to use the lowest "
                     "value.")


class _Restorable(Callback):
    """A callback whose ``on_train_begin`` reset is skipped once after a restore, so that a
    resumed run keeps the patience count and best value its checkpoint carried."""

    _state_keys = ()
    _restored = False

    def get_state(self):
        return {key: getattr(self, key) for key in self._state_keys}

    def set_state(self, state):
        for key in self._state_keys:
            value = state[key]
            setattr(self, key, list(value) if key == "best_weights" and value is not None
                    else value)
        self._restored = True

    def _fresh_start(self):
        fresh, self._restored = not self._restored, False
        return fresh


class EarlyStopping(_Restorable):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    _state_keys = ("wait", "stopped_epoch", "best", "best_epoch", "best_weights")

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"EarlyStopping mode {mode} is unknown, fallback to auto mode.",
                          stacklevel=2)
            mode = "auto"
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.verbose, self.mode, self.baseline = verbose, mode, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.wait, self.stopped_epoch, self.best_epoch, self.best_weights = 0, 0, 0, None
        self.best, self.sign = None, None

    def on_train_begin(self, logs=None):
        if self._fresh_start():
            self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0

    def _better(self, value, reference):
        # Keras's monitor_op(current - min_delta, best), min_delta negated when minimising
        return self.sign * (value - self.sign * self.min_delta) > self.sign * reference

    def on_epoch_end(self, epoch, logs=None):
        if self.sign is None:
            self.sign = 1 if _direction(self.monitor, self.model, self.mode) == "max" else -1
            self.best = -self.sign * math.inf if self.best is None else self.best
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}",
                          stacklevel=2)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._better(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch, self.model.stop_training = epoch, True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def _check_npz(filepath, what):
    """minitrain's weights are .npz files: an .h5 or .keras path is told the form to use."""
    path = str(filepath)
    for ending in (".weights.h5", ".h5", ".keras"):
        if path.endswith(ending):
            stem = path[:-len(ending)].removesuffix(".weights")
            raise ValueError(f"{what}: filepath {path!r} ends with '{ending}', but minitrain "
                             f"saves weights as .npz (no HDF5, no .keras archives); use "
                             f"'{stem}.weights.npz'")
    if not path.endswith(".npz"):
        raise ValueError(f"{what}: filepath {path!r} must end with '.npz' (minitrain saves "
                         f"weights as .npz), e.g. '{path}.weights.npz'")
    return path


class ModelCheckpoint(Callback):
    """Save the weights (to ``filepath``, formatted with the epoch and logs) every epoch or
    every ``save_freq`` batches; with ``save_best_only``, only when ``monitor`` improves."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = _check_npz(filepath, "ModelCheckpoint")
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        self.save_weights_only, self.mode, self.save_freq = save_weights_only, mode, save_freq
        self.best, self.sign, self._epoch, self._batches = initial_value_threshold, None, 0, 0
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                             "'epoch' or integer values")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.save_freq != "epoch" and self._batches % self.save_freq == 0:
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _save(self, epoch, batch, logs):
        extra = {} if batch is None else {"batch": batch + 1}
        filepath = self.filepath.format(epoch=epoch + 1, **extra, **logs)
        if os.path.dirname(filepath):
            os.makedirs(os.path.dirname(filepath), exist_ok=True)
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return self.model.save_weights(filepath)
        current = logs.get(self.monitor)
        if current is None:
            return warnings.warn(f"Can save best model only with {self.monitor} available, "
                                 "skipping.", stacklevel=2)
        if self.sign is None:
            self.sign = 1 if _direction(self.monitor, self.model, self.mode) == "max" else -1
            self.best = -self.sign * math.inf if self.best is None else self.best
        if self.sign * current > self.sign * self.best:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            self.model.save_weights(filepath)
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")


def _rate(model):
    return float(np.asarray(model.optimizer.learning_rate))


class LearningRateScheduler(Callback):
    """At each epoch's start, set the rate to ``schedule(epoch, lr)`` (or ``schedule(epoch)``)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        try:
            rate = self.schedule(epoch, _rate(self.model))
        except TypeError:  # a schedule of the epoch alone
            rate = self.schedule(epoch)
        if not isinstance(rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. "
                             f"Got: {rate}")
        self.model.optimizer.learning_rate = rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _rate(self.model)


class ReduceLROnPlateau(_Restorable):
    """Multiply the rate by ``factor`` once ``monitor`` has stalled for ``patience`` epochs."""

    _state_keys = ("wait", "cooldown_counter", "best")

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self.mode = mode if mode in ("auto", "min", "max") else "auto"
        self._reset()

    def _reset(self):
        # as Keras: in auto mode, a monitor whose name has "acc" in it is maximised
        self.sign = -1 if self.mode == "min" or (
            self.mode == "auto" and "acc" not in self.monitor) else 1
        self.best, self.cooldown_counter, self.wait = -self.sign * math.inf, 0, 0

    def on_train_begin(self, logs=None):
        if self._fresh_start():
            self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _rate(self.model)
        current = logs.get(self.monitor)
        if current is None:
            return warnings.warn(f"Learning rate reduction is conditioned on metric "
                                 f"`{self.monitor}` which is not available. Available metrics "
                                 f"are: {','.join(logs)}.", stacklevel=2)
        if self.cooldown_counter > 0:
            self.cooldown_counter, self.wait = self.cooldown_counter - 1, 0
        if self.sign * (current - self.best) > self.min_delta:
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch)

    def _reduce(self, epoch):
        old = _rate(self.model)
        if old > np.float32(self.min_lr):
            new = max(old * self.factor, self.min_lr)
            self.model.optimizer.learning_rate = new
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
            self.cooldown_counter, self.wait = self.cooldown, 0


class BackupAndRestore(Callback):
    """Back the run up in ``backup_dir`` every epoch (or every ``save_freq`` steps); a ``fit``
    started again after an interruption resumes from the backup, bit for bit. The Trainer's
    checkpoint does the work (weights, optimizer, generator, data position, callbacks)."""

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: {save_freq}")
        self.backup_dir, self.save_freq = Path(backup_dir), save_freq
        self.delete_checkpoint = delete_checkpoint
        self.path = self.backup_dir / "checkpoint.npz"

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and self.path.exists():
            self.path.unlink()
