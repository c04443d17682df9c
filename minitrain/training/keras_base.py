"""Keras's callback protocol (``keras.callbacks.Callback``), and the bridge that runs such
callbacks inside the Trainer's loop, so that ``Model.fit`` is the Trainer underneath.

Keras hooks receive an epoch or batch index (from 0) and a dict of logs; they reach the model
as ``self.model`` and stop a run with ``self.model.stop_training = True``.
"""
import collections
import csv
import math
from pathlib import Path

from .callbacks import Callback as TrainerCallback


class Callback:
    """The base of Keras callbacks: every hook does nothing until a subclass says otherwise."""

    def __init__(self):
        self.params, self._model = None, None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None):
        """Kept for Keras 2 callbacks: called by ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """Kept for Keras 2 callbacks: called by ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    # minitrain: state that a checkpoint carries, so a resumed run decides as an unbroken one
    def get_state(self):
        return None

    def set_state(self, state):
        pass


class CallbackList(TrainerCallback):
    """Keras callbacks as one Trainer callback: each Trainer hook calls the Keras hooks."""

    def __init__(self, callbacks, model, params):
        self.callbacks, self.last_logs = list(callbacks), None
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)

    def call(self, hook, *args):
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def on_train_begin(self, trainer):
        self.call("on_train_begin", {})

    def on_epoch_begin(self, trainer):
        self.call("on_epoch_begin", trainer.epoch, {})

    def on_batch_begin(self, trainer):
        self.call("on_train_batch_begin", trainer.batch, {})

    def on_batch_end(self, trainer):
        self.call("on_train_batch_end", trainer.batch - 1, trainer.running_logs())

    def on_epoch_end(self, trainer, logs):
        self.last_logs = logs
        self.call("on_epoch_end", trainer.epoch - 1, logs)

    def on_train_end(self, trainer):
        self.call("on_train_end", self.last_logs)

    def _keys(self):
        """'EarlyStopping:0' and so on: a resumed fit may be given callbacks in another
        order, or without the one that interrupted it."""
        seen = collections.Counter()
        for callback in self.callbacks:
            name = type(callback).__name__
            yield f"{name}:{seen[name]}", callback
            seen[name] += 1

    def get_state(self):
        return {key: callback.get_state() for key, callback in self._keys()}

    def set_state(self, state):
        for key, callback in self._keys():
            if state.get(key) is not None:
                callback.set_state(state[key])


class History(Callback):
    """``history``: {name: [value per epoch]}; ``epoch``: the epoch indices. ``fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.history, self.epoch, self._resumed = {}, [], False

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self

    def get_state(self):
        return {"history": self.history, "epoch": self.epoch}

    def set_state(self, state):
        self.history = {key: list(values) for key, values in state["history"].items()}
        self.epoch, self._resumed = list(state["epoch"]), True

    def on_train_begin(self, logs=None):
        if not self._resumed:  # a resumed run keeps the epochs its backup recorded
            self.epoch = []
        self._resumed = False


class LambdaCallback(Callback):
    """A callback from functions: ``on_epoch_end=lambda epoch, logs: ...`` and so on."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, function in hooks.items():
            if not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: unknown hook '{name}'")
            if function is not None:
                setattr(self, name, function)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is nan or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """One CSV row per epoch: ``epoch`` then the logs' keys, sorted, as Keras writes them."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = str(filename), separator, append
        self.keys, self.writer, self.csv_file = None, None, None

    def on_train_begin(self, logs=None):
        path = Path(self.filename)
        self.append_header = not (self.append and path.exists() and path.stat().st_size > 0)
        self.csv_file = open(path, "a" if self.append else "w", newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self.writer is None:
            dialect = type("Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict(epoch=epoch)
        row.update((key, logs.get(key, "NA")) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self.csv_file.close()
        self.writer = None
