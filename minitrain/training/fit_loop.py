"""``Model.fit`` as the Trainer: FitLoop is the Trainer with the model's ``train_step`` as the
step, the model's metrics as its metrics and Keras's callbacks bridged into its hooks."""
import itertools
import math

import numpy as np

from . import fit_data
from .keras_base import CallbackList, History
from .monitors import BackupAndRestore
from .progbar import ProgbarLogger
from .trainer import Trainer


def floats(logs):
    """Logs as Keras gives them to callbacks: sorted by name, values as Python floats."""
    return {key: float(np.asarray(value.numpy() if hasattr(value, "numpy") else value))
            for key, value in sorted(logs.items())}


def configure_callbacks(callbacks, model, verbose, epochs, steps, history=True):
    """The user's callbacks, then a History (fit only) and a ProgbarLogger unless silent,
    as Keras's CallbackList adds them; ``params`` is Keras's {verbose, epochs, steps}."""
    verbose = 1 if verbose == "auto" else verbose
    callbacks = list(callbacks or ())
    if history and not any(isinstance(c, History) for c in callbacks):
        callbacks.append(History())
    if verbose and not any(isinstance(c, ProgbarLogger) for c in callbacks):
        callbacks.append(ProgbarLogger())
    return CallbackList(callbacks, model, {"verbose": verbose, "epochs": epochs,
                                           "steps": steps})


def evaluate_loop(model, data, callbacks, steps=None):
    """Keras's evaluate: the metrics reset, then ``test_step`` on each batch; the last logs."""
    model.reset_metrics()
    callbacks.call("on_test_begin", {})
    logs = None
    for i, batch in enumerate(itertools.islice(data, steps)):
        callbacks.call("on_test_batch_begin", i, {})
        logs = floats(model.test_step(batch))
        callbacks.call("on_test_batch_end", i, logs)
    if logs is None:
        raise ValueError("evaluate() got no batches: the data is empty")
    callbacks.call("on_test_end", logs)
    return logs


class _Whole:
    """Each batch of ``data`` ((x, y) or (x, y, sample_weight)) as the Trainer's (x, y) pair
    ``(batch, None)``, for ``FitLoop.train_step`` to pass on whole. With ``steps``
    (``steps_per_epoch``) an epoch is that many batches, each epoch going on where the last
    one stopped and a new pass over the data beginning when one ends, as in Keras."""

    def __init__(self, data, steps=None):
        self.data, self.steps = data, None if steps is None else int(steps)
        self._batches = None

    def __iter__(self):
        if self.steps is None:
            return ((batch, None) for batch in self.data)
        return ((self._next(), None) for _ in range(self.steps))

    def _next(self):
        for _attempt in range(2):  # the current pass, else a fresh one
            if self._batches is None:
                self._batches = iter(self.data)
            try:
                return next(self._batches)
            except StopIteration:
                self._batches = None
        raise ValueError("fit(): steps_per_epoch is set but the data yields no batch")

    def __len__(self):
        return len(self.data) if self.steps is None else self.steps

    def get_state(self):
        return self.data.get_state() if hasattr(self.data, "get_state") else None

    def set_state(self, state):
        self.data.set_state(state)


class FitLoop(Trainer):
    """The Trainer's loop driven by a compiled Keras-style model."""

    def __init__(self, model, callbacks, steps_per_epoch=None, validation_freq=1):
        backup = next((c for c in callbacks.callbacks if isinstance(c, BackupAndRestore)), None)
        by_step = backup is not None and backup.save_freq != "epoch"
        super().__init__(model, model.optimizer, model.loss,
                         metrics=_unique_names(model.metrics), callbacks=[callbacks],
                         checkpoint=None if backup is None else backup.path,
                         checkpoint_every=backup.save_freq if by_step else 1,
                         checkpoint_unit="step" if by_step else "epoch")
        self.backup, self.keras_callbacks = backup, callbacks
        self.max_steps, self.validation_freq, self._logs = steps_per_epoch, validation_freq, {}

    # the model's flag is the loop's: Keras callbacks set model.stop_training
    @property
    def stop_training(self):
        return self.model.stop_training

    @stop_training.setter
    def stop_training(self, value):
        self.model.stop_training = bool(value)

    def begin(self, train, initial_epoch):
        """Resume from the backup when there is one, else start at ``initial_epoch``."""
        if self.backup is not None and self.backup.path.is_file():
            if not self.model.built:  # weights are made by the first call; the backup's
                self.model(fit_data.unpack(next(iter(train)))[0])  # values replace them
            self.restore(self.backup.path, train)
        elif self.backup is not None:
            self.backup.backup_dir.mkdir(parents=True, exist_ok=True)
        else:
            self.epoch = int(initial_epoch)

    def fit(self, train, epochs, validation=None):
        return super().fit(_Whole(train, self.max_steps), epochs, validation)

    def train_step(self, batch, _):
        self._logs = floats(self.model.train_step(batch))
        return self._logs.get("loss", 0.0)

    def running_logs(self):
        return dict(self._logs) if self._logs else self.model.get_metrics_result()

    def evaluate(self, data):
        """The validation logs at the end of an epoch (each ``validation_freq`` epochs)."""
        if not _validates(self.epoch, self.validation_freq):
            return {}
        return evaluate_loop(self.model, data, self.keras_callbacks)

    def epoch_extras(self):
        return {}  # Keras's epoch logs hold the metrics and nothing else

    def learning_rate(self):
        rate = getattr(self.optimizer, "learning_rate", None)
        return math.nan if rate is None else float(np.asarray(rate))


def _validates(epoch, freq):
    return (epoch + 1) % freq == 0 if isinstance(freq, int) else (epoch + 1) in freq


def _unique_names(metrics):
    """{name: metric}, a repeated name ('accuracy' of two outputs) taking a suffix: the
    Trainer resets and checkpoints each metric under its key."""
    named = {}
    for metric in metrics:
        key, n = metric.name, 1
        while key in named:
            key, n = f"{metric.name}_{n}", n + 1
        named[key] = metric
    return named
