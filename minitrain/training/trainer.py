"""Trainer: the loop of loss -> tape.gradient -> apply_gradients, with validation, metrics,
callbacks and checkpoints from which a killed run resumes bit for bit.

Everything a step depends on is saved: weights, optimizer slots, the random generator, the
DataLoader's position and the epoch's running sums. A run resumed from a checkpoint therefore
takes the same steps, in the same order, on the same numbers as one that was never stopped.

Gradient accumulation (``micro_batches=N``) splits each batch into N consecutive parts, runs
each part's forward and backward on its own and applies one update, the parts' gradients
weighted by their share of the batch: the step the whole batch gives, up to the order of the
float sums. Each part draws its own dropout masks (the random stream then differs from the
unsplit step's), and a BatchNormalization layer sees part-sized batches.
"""
import math
import numbers
import time
from pathlib import Path

import numpy as np

from .. import distributed, random
from ..backprop import GradientTape
from ..data.pipeline import INFINITE_CARDINALITY, Dataset
from . import checkpoint as ckpt
from .accumulate import accumulate, split, warn_frozen
from .parallel import DataParallel, this_rank
from .state import capture, columns, restore, rows


class TrainingError(RuntimeError):
    """A run that cannot go on (the CLI exits with status 1)."""


class Trainer(DataParallel):
    """Fits ``model`` with ``optimizer`` on ``loss`` (a mean over the batch).

    ``metrics``: a dict {name: metric} (or a list of metrics, named by their ``name``),
    computed on every training batch and on validation and test data. ``checkpoint``: a path
    to write checkpoints to, every ``checkpoint_every`` epochs or steps (``checkpoint_unit``).
    ``micro_batches``: the parts each batch is split into for gradient accumulation (see
    ``split``; a batch of fewer samples has one part per sample); config, not state, so a
    checkpoint does not record it.
    """

    def __init__(self, model, optimizer, loss, metrics=None, callbacks=(), checkpoint=None,
                 checkpoint_every=1, checkpoint_unit="epoch", micro_batches=1):
        if checkpoint_unit not in ("epoch", "step"):
            raise ValueError(f"checkpoint_unit must be 'epoch' or 'step', got {checkpoint_unit!r}")
        if isinstance(micro_batches, bool) or not isinstance(micro_batches, numbers.Integral) or (
                micro_batches < 1):
            raise ValueError(f"micro_batches must be a whole number, 1 or more, got "
                             f"{micro_batches!r}")
        self.micro_batches = int(micro_batches)
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.metrics = dict(metrics) if isinstance(metrics, dict) else {
            m.name: m for m in metrics or ()}
        self.callbacks = list(callbacks)
        self.checkpoint_path = None if checkpoint is None else Path(checkpoint)
        self.checkpoint_every, self.checkpoint_unit = int(checkpoint_every), checkpoint_unit
        self.last_checkpoint = None  # (path, step) of the latest good checkpoint
        self.step = self.epoch = self.batch = 0  # steps taken, epochs done, batches this epoch
        self.history, self.stop_training = [], False
        self._in_epoch, self._loss_total, self._loss_count = False, 0.0, 0
        self._elapsed, self._started = 0.0, None
        self.epochs, self.steps_per_epoch = None, None
        self._parallel, self._joined = False, False  # data-parallel; weights shared yet

    # --- one step ------------------------------------------------------------------------------
    def train_step(self, x, y):
        """One update on the batch; returns the batch loss as a float. A model not built yet
        is built by its call on the first batch: its variables are read after that call.
        With ``micro_batches`` > 1 the batch is split (see ``accumulated_step``)."""
        if self.micro_batches > 1 and len(x) > 1:
            return self.accumulated_step(x, y)
        with GradientTape() as tape:
            y_pred = self.model(x, training=True)
            loss = self.loss(y, y_pred)
        variables = self.model.trainable_variables  # after the call, which builds a new model
        if variables:
            self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        else:
            warn_frozen()
        for metric in self.metrics.values():
            metric.update_state(y, y_pred)
        return float(loss)

    def accumulated_step(self, x, y):
        """One update from the parts of the batch (``split``): each part's forward and
        backward on its own, the metrics updated on each, the gradients combined by
        ``accumulate``. The loss returned is the parts' losses weighted the same way."""
        loss, grads = self.accumulated_gradients(x, y)
        variables = self.model.trainable_variables
        if variables:
            self.optimizer.apply_gradients(zip(grads, variables))
        else:
            warn_frozen()
        return loss

    def accumulated_gradients(self, x, y):
        """(mean loss, gradients) of the batch from its ``micro_batches`` parts; nothing
        applied."""
        n, parts = len(x), []
        for start, stop in split(n, self.micro_batches):
            parts.append(((stop - start) / n, self.part_gradients(x[start:stop], y[start:stop])))
        loss = sum(weight * part_loss for weight, (part_loss, _) in parts)
        return loss, accumulate((weight, grads) for weight, (_, grads) in parts)

    def part_gradients(self, x, y):
        """(mean loss, gradients of the trainable variables) on one part of a batch, the
        metrics updated on it; nothing applied. The gradients are [] for a frozen model."""
        with GradientTape() as tape:
            y_pred = self.model(x, training=True)
            loss = self.loss(y, y_pred)
        variables = self.model.trainable_variables
        grads = tape.gradient(loss, variables) if variables else []
        for metric in self.metrics.values():
            metric.update_state(y, y_pred)
        return float(loss), grads

    def evaluate(self, data):
        """{'loss': ..., <metric>: ...} over every batch of ``data``, without training."""
        _check_finite(data, "evaluate()")
        for metric in self.metrics.values():
            metric.reset_state()
        total, count = 0.0, 0
        for x, y in data:
            y_pred = self.model(x, training=False)
            n = len(x)
            total, count = total + float(self.loss(y, y_pred)) * n, count + n
            for metric in self.metrics.values():
                metric.update_state(y, y_pred)
        if count == 0:
            raise ValueError("evaluate() got no batches: the data is empty")
        return {"loss": total / count, **self._metric_results()}

    def _metric_results(self):
        return {name: float(m.result()) for name, m in self.metrics.items()}

    # --- the loop ------------------------------------------------------------------------------
    def fit(self, train, epochs, validation=None):
        """Train until ``epochs`` epochs are done (counting those before a resume) or a
        callback stops the run; returns the history, one dict of logs per epoch. An epoch is
        one pass over ``train``: a DataLoader, a batched ``mt.data.Dataset`` or any iterable.

        A trainer stopped early stays stopped: a resumed run that had stopped does no more
        steps (set ``trainer.stop_training = False`` to go on anyway)."""
        self.epochs = int(epochs)
        self.steps_per_epoch = _length(_check_finite(train, "fit()"))
        self._parallel = distributed.world_size() > 1
        if self._parallel:
            self._join_world(train)
        self._started = time.perf_counter()
        # overflow on the way to a nan is reported once, by the finiteness checks, not by numpy
        try:
            with np.errstate(over="ignore", invalid="ignore"), distributed.deferred_interrupts():
                self._callback("on_train_begin")
                while self.epoch < self.epochs and not self.stop_training:
                    self._train_epoch(train)
                    self._end_epoch(train, validation)
                self._callback("on_train_end")
        except KeyboardInterrupt:  # Ctrl-C: the display takes its bar off the terminal
            self._callback("on_interrupt")
            raise
        except BaseException as err:
            # every rank meets a nan together; anything else (a file rank 0 cannot write)
            # happened on one rank only, while the others wait for it in a collective
            if self._parallel and not isinstance(err, TrainingError):
                distributed.abort(err)
            raise
        finally:
            self._elapsed, self._started = self.wall_time(), None
        return self.history

    def _train_epoch(self, train):
        if not self._in_epoch:
            self._in_epoch, self.batch, self._loss_total, self._loss_count = True, 0, 0.0, 0
            for metric in self.metrics.values():
                metric.reset_state()
            self._callback("on_epoch_begin")
        if self.steps_per_epoch is not None and self.batch >= self.steps_per_epoch:
            return  # resumed from a checkpoint taken after the epoch's last step
        for x, y in train:
            self._callback("on_batch_begin")
            if self._parallel:
                loss, n = self.parallel_step(x, y)
            else:
                loss, n = self.train_step(x, y), len(x)
            self.step, self.batch = self.step + 1, self.batch + 1
            self._loss_total, self._loss_count = self._loss_total + loss * n, (
                self._loss_count + n)
            self._callback("on_batch_end")
            if self._parallel:  # a callback's stop, decided by all ranks
                self.stop_training = distributed.agree(self.stop_training)
            # a callback that stops on a nan (Keras's TerminateOnNaN) ends the run quietly
            if not math.isfinite(loss) and not self.stop_training:
                raise self._diverged(f"the loss is {loss}")
            if self.checkpoint_unit == "step" and self._due(self.step):
                self.save_checkpoint(train)
            if self.stop_training:
                break

    def _end_epoch(self, train, validation):
        if self._parallel:  # BatchNormalization's moving statistics: rank 0's, on every rank
            distributed.broadcast_variables(self.model.non_trainable_weights)
        logs = self.running_logs()
        if validation is not None:
            logs.update({f"val_{k}": v for k, v in self.evaluate(validation).items()})
        self._in_epoch, self.epoch = False, self.epoch + 1
        logs.update(self.epoch_extras())
        self.history.append(logs)
        for callback in self.callbacks:
            callback.on_epoch_end(self, logs)
        if self._parallel:  # early stopping, decided by all ranks
            self.stop_training = distributed.agree(self.stop_training)
        # the last epoch always leaves a checkpoint: resuming a finished run does nothing
        last = self.stop_training or self.epoch >= self.epochs
        if self.checkpoint_path is not None and (last or (
                self.checkpoint_unit == "epoch" and self._due(self.epoch))):
            self.save_checkpoint(train)

    def running_logs(self):
        """The epoch so far: mean loss and metrics over the batches trained on."""
        loss = self._loss_total / self._loss_count if self._loss_count else math.nan
        return {"loss": loss, **self._metric_results()}

    def epoch_extras(self):
        """What an epoch's logs hold beside the loss and metrics."""
        return {"epoch": self.epoch, "step": self.step, "lr": self.learning_rate(),
                "time": self.wall_time()}

    def learning_rate(self):
        lr = getattr(self.optimizer, "learning_rate", None)
        return float(lr) if lr is not None else math.nan

    def wall_time(self):
        """Seconds spent training, summed over every session of a resumed run."""
        now = time.perf_counter()
        return self._elapsed + (now - self._started if self._started is not None else 0.0)

    def _due(self, count):
        return self.checkpoint_path is not None and self.checkpoint_every > 0 and (
            count % self.checkpoint_every == 0)

    def _callback(self, hook):
        for callback in self.callbacks:
            getattr(callback, hook)(self)

    def _diverged(self, what):
        where = f"at step {self.step} (epoch {self.epoch + 1}, batch {self.batch})"
        if self.last_checkpoint is None:
            last = "no checkpoint was written before it"
        else:
            path, step = self.last_checkpoint
            last = f"the last good checkpoint is {path} (step {step})"
        return TrainingError(f"training stopped: {what} {where}; {last}. A smaller "
                             "learning rate or gradient clipping (optimizer.clipnorm) may help")

    # --- checkpoints ---------------------------------------------------------------------------
    def state(self, train=None):
        """Everything needed to continue exactly from here, as arrays and plain values."""
        return {
            "weights": self.model.get_weights(),
            "optimizer": capture(self.optimizer),
            "metrics": {name: capture(m) for name, m in self.metrics.items()},
            "callbacks": [c.get_state() for c in self.callbacks],
            "rng": random.get_state(),
            "data": train.get_state() if hasattr(train, "get_state") else None,
            "loop": {"step": self.step, "epoch": self.epoch, "batch": self.batch,
                     "in_epoch": self._in_epoch, "loss_total": self._loss_total,
                     "loss_count": self._loss_count, "history": columns(self.history),
                     "elapsed": self.wall_time(), "stop_training": self.stop_training},
        }

    def save_checkpoint(self, train=None, path=None):
        path = Path(path or self.checkpoint_path)
        weights = self.model.get_weights()
        if not all(np.isfinite(w).all() for w in weights if w.dtype.kind == "f"):
            raise self._diverged("the weights are no longer finite")
        state = self.state(train)
        if self._parallel:  # the ranks differ only in their generators: rank 0 keeps them all
            state["world"] = {"size": distributed.world_size(),
                              "rng": distributed.gather_object(state["rng"])}
        if distributed.is_primary():
            ckpt.save(path, state)
        self.last_checkpoint = (path, self.step)

    def restore(self, path, train=None):
        """Continue from the checkpoint at ``path``; ``train`` is the loader to reposition.
        A checkpoint of another run (other sizes, optimizer, metrics or data) is refused with
        a CheckpointError naming the first thing that differs, before anything changes."""
        state = this_rank(ckpt.load(path), path)
        if hasattr(self.optimizer, "build"):
            self.optimizer.build(self.model.trainable_variables)
        self._check_fits(state, path, train)
        self.model.set_weights(list(state["weights"]))
        restore(self.optimizer, state["optimizer"])
        for name, metric in self.metrics.items():
            restore(metric, state["metrics"][name])
        for callback, saved in zip(self.callbacks, state["callbacks"]):
            if saved is not None:
                callback.set_state(saved)
        random.set_state(state["rng"])
        if train is not None and state["data"] is not None:
            train.set_state(state["data"])
        self._set_loop(state["loop"])
        self.last_checkpoint = (Path(path), self.step)
        self._joined = True  # the checkpoint gave every rank the same weights, and its stream

    def _set_loop(self, loop):
        self.step, self.epoch, self.batch = loop["step"], loop["epoch"], loop["batch"]
        self._in_epoch, self._loss_total = loop["in_epoch"], loop["loss_total"]
        self._loss_count, self.history = loop["loss_count"], rows(loop["history"])
        self._elapsed, self.stop_training = loop["elapsed"], loop["stop_training"]

    def _check_fits(self, state, path, train):
        """Raise a CheckpointError unless ``state`` has the structure of this run's own."""
        ours, found = self.state(train), dict(state) if isinstance(state, dict) else state
        if isinstance(found, dict) and isinstance(found.get("loop"), dict):
            # a history has any length; callbacks (a run may add one) restore what they know
            found["loop"] = {k: v for k, v in found["loop"].items() if k != "history"}
            found["callbacks"] = ours["callbacks"] = None
            del ours["loop"]["history"]
        problem = ckpt.mismatch(ours, found)
        if problem is None and min(found["loop"][k] for k in ("step", "epoch", "batch")) < 0:
            problem = "loop: a negative step, epoch or batch count"
        if problem is None:
            try:
                rows(state["loop"]["history"])
            except (KeyError, TypeError, ValueError, IndexError, AttributeError):
                problem = "loop.history: not a training history"
        if problem is not None:
            names = [getattr(w, "path", None) or w.name for w in self.model.weights]
            raise ckpt.CheckpointError(
                f"{path} does not fit this run: {ckpt.name_weight(problem, names)}. It was "
                "written by a run of another model, optimizer, metrics or data: resume with the "
                "config that wrote it, or start afresh in another directory")


def _check_finite(data, what):
    """``data``, unless it is a pipeline that repeats forever: its first pass would never end."""
    if isinstance(data, Dataset) and int(data.cardinality()) == INFINITE_CARDINALITY:
        raise ValueError(f"{what} got a dataset that repeats forever, so an epoch would never "
                         "end; drop the .repeat() (each epoch iterates the dataset afresh) or "
                         "cap it with .take(steps)")
    return data


def _length(data):
    """``len(data)``; None for an iterable without one (a generator, a pipeline after
    ``filter``, whose ``len`` raises TypeError as tf.data's does)."""
    try:
        return len(data)
    except TypeError:
        return None
