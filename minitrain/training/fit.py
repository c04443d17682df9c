"""Keras 3's training API on a Model: ``compile``, ``fit``, ``evaluate``, ``predict``, the
``*_on_batch`` methods and the overridable ``train_step`` / ``test_step`` ("Customizing what
happens in fit()"). ``fit`` is the Trainer's loop with the model's ``train_step`` as its step,
so it has the Trainer's determinism, checkpoints (BackupAndRestore) and nan check.
"""
import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import nest, optimizers
from ..backprop import GradientTape
from . import fit_data
from .fit_compile import CompiledLoss, CompiledMetrics, flat_outputs, output_names
from .fit_loop import FitLoop, configure_callbacks, evaluate_loop, floats


class KerasTraining:
    """The mixin that gives ``Model`` Keras's training methods (see the module docstring)."""

    compiled, stop_training, history = False, False, None
    _compile_loss, _output_names = None, (None, False)  # until compile() sets them

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Keras 3's compile; ``loss``, ``loss_weights`` and ``metrics`` may name each output
        of a model with several (see fit_compile.py)."""
        if weighted_metrics is not None:
            raise NotImplementedError("compile(): weighted_metrics are not supported by "
                                      "minitrain yet; pass metrics=... (unweighted)")
        names = output_names(self)
        partial = isinstance(getattr(self, "_outputs_struct", None), dict)
        nested = isinstance(loss, (list, tuple, dict))
        for key, value in (
                ("optimizer", optimizers.get(optimizer)),
                ("loss", loss if nested or loss is None else losses_module.get(loss)),
                ("_compile_loss", None if loss is None else
                 CompiledLoss(loss, loss_weights, names, partial)),
                ("_compile_metrics", CompiledMetrics(metrics, names)),
                ("_output_names", (names, partial)),
                ("_loss_tracker", metrics_module.Mean(name="loss"))):
            object.__setattr__(self, key, value)
        self.compiled, self.stop_training = True, False

    @property
    def metrics(self):
        """The loss tracker ('loss'), the compiled metrics, then each output's loss tracker
        ('<output>_loss', with several losses), in Keras 3's order."""
        if not self.compiled:
            return []
        trackers = [] if self._compile_loss is None else self._compile_loss.trackers
        return [self._loss_tracker, *self._compile_metrics.metrics, *trackers]

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    # --- the steps a subclass may override ----------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss (summed over the outputs, weighted) plus every loss the layers
        added (``model.losses``)."""
        terms = []
        if self._compile_loss is not None:
            y, y_pred = flat_outputs(y, y_pred, *self._output_names)
            terms.append(self._compile_loss(y, y_pred, sample_weight))
        terms += list(getattr(self, "losses", None) or ())
        if not terms:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        total = terms[0]
        for term in terms[1:]:  # summed inside the caller's tape, as Keras sums them
            total = total + term
        return total

    def compiled_loss(self, y, y_pred, sample_weight=None, regularization_losses=None):
        """Keras 2's spelling, kept by Keras 3 (deprecated there): ``compute_loss``."""
        return self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        self._compile_metrics.update_state(*flat_outputs(y, y_pred, *self._output_names))
        return self.get_metrics_result()

    def get_metrics_result(self):
        """Each metric's result under its log key (``<output>_<name>`` with several outputs)."""
        compiled = self._compile_metrics.metrics if self.compiled else []
        logs = {m.name: m.result() for m in self.metrics if not any(m is c for c in compiled)}
        logs.update(self._compile_metrics.results() if self.compiled else {})
        return floats(logs)

    def train_step(self, data):
        x, y, sample_weight = fit_data.unpack(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        self._loss_tracker.update_state(loss, sample_weight=fit_data.batch_size(x))
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = fit_data.unpack(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=fit_data.batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = fit_data.unpack(data)
        return self(x, training=False)

    # --- the loops ----------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the History (``.history``, ``.epoch``)."""
        self._assert_compiled("fit")
        if class_weight is not None:
            sample_weight = fit_data.class_weights(y, class_weight, sample_weight, "fit()")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = fit_data.split(x, y, sample_weight,
                                                                    validation_split)
        train = fit_data.batches(x, y, batch_size, shuffle, "fit()", sample_weight)
        val = fit_data.validation(validation_data, validation_batch_size or batch_size)
        steps = steps_per_epoch or fit_data.length(train)
        callbacks = configure_callbacks(callbacks, self, verbose, epochs, steps)
        loop = FitLoop(self, callbacks, steps_per_epoch, validation_freq)
        loop.begin(train, initial_epoch)
        loop.fit(train, epochs, val)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """The loss (and metrics) over ``x``: a scalar, a list [loss, *metrics] or a dict."""
        self._assert_compiled("evaluate")
        data = fit_data.batches(x, y, batch_size, False, "evaluate()", sample_weight)
        logs = evaluate_loop(self, data, configure_callbacks(
            callbacks, self, verbose, 1, steps or fit_data.length(data), history=False), steps)
        return logs if return_dict else self._flatten_in_order(logs)

    def _flatten_in_order(self, logs):
        names = [m.name for m in self.metrics]
        results = [logs[n] for n in names if n in logs]
        results += [logs[key] for key in sorted(logs) if key not in names]
        return results[0] if len(results) == 1 else results

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs on every batch of ``x``, joined into one numpy array."""
        batches = list(fit_data.inputs(x, batch_size))[:steps]
        callbacks = configure_callbacks(callbacks, self, verbose, 1, len(batches),
                                        history=False)
        callbacks.call("on_predict_begin", {})
        outputs = []
        for i, batch in enumerate(batches):
            callbacks.call("on_predict_batch_begin", i, {})
            outputs.append(_numpy(self.predict_step((batch,))))  # (x,), as Keras hands it
            callbacks.call("on_predict_batch_end", i, {"outputs": outputs[-1]})
        callbacks.call("on_predict_end", {})
        joined = [np.concatenate(leaves) for leaves in zip(*map(nest.flatten, outputs))]
        return nest.pack_sequence_as(outputs[0], joined)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        self._assert_compiled("train_on_batch")
        if class_weight is not None:
            sample_weight = fit_data.class_weights(y, class_weight, sample_weight,
                                                   "train_on_batch()")
        self.reset_metrics()  # each call's results are its own batch's, as in Keras
        logs = self.train_step(tuple(map(fit_data.as_batch, (x, y, sample_weight))))
        return logs if return_dict else self._flatten_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        self.reset_metrics()
        logs = self.test_step(tuple(map(fit_data.as_batch, (x, y, sample_weight))))
        return logs if return_dict else self._flatten_in_order(logs)

    def predict_on_batch(self, x):
        return _numpy(self.predict_step((fit_data.as_batch(x),)))

    def _assert_compiled(self, what):
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model; {what} "
                             f"was called on '{self.name}' before compile()")


def _numpy(outputs):
    """The model's outputs (one, or a list or dict of them) as numpy arrays."""
    return nest.pack_sequence_as(outputs, [np.asarray(y.numpy()) for y in nest.flatten(outputs)])
