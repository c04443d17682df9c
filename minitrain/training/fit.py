"""Keras 3's training API on a Model: ``compile``, ``fit``, ``evaluate``, ``predict``, the
``*_on_batch`` methods and the overridable ``train_step`` / ``test_step`` ("Customizing what
happens in fit()"). ``fit`` is the Trainer's loop with the model's ``train_step`` as its step,
so it has the Trainer's determinism, checkpoints (BackupAndRestore) and nan check.
"""
import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers
from ..backprop import GradientTape
from . import fit_data
from .fit_loop import FitLoop, configure_callbacks, evaluate_loop, floats


class _Accuracy(metrics_module.MeanMetricWrapper):
    """'accuracy' in compile(): binary, sparse categorical or categorical accuracy, chosen by
    the shapes of the first batch as Keras 3's ``compile_utils.get_metric`` chooses."""

    def __init__(self, name):
        super().__init__(self._accuracy, name=name)
        self._chosen = None

    def _accuracy(self, y_true, y_pred):
        if self._chosen is None:
            true, pred = tuple(y_true.shape), tuple(y_pred.shape)
            sparse = len(true) < len(pred) or (true[-1:] == (1,) and pred[-1] > 1)
            chosen = (metrics_module.BinaryAccuracy if pred[-1] == 1 else
                      metrics_module.SparseCategoricalAccuracy if sparse else
                      metrics_module.CategoricalAccuracy)
            self._chosen = chosen()._fn
        return self._chosen(y_true, y_pred)


def _metric(identifier):
    """A metric as Keras's compile() reads one: a string names the metric ('accuracy' is
    chosen by the data's shapes; a loss's name, "mae", is the mean of that loss)."""
    if identifier in ("accuracy", "acc"):
        return _Accuracy(identifier)
    if not isinstance(identifier, str):
        return metrics_module.get(identifier)
    try:
        return type(metrics_module.get(identifier))(name=identifier)
    except ValueError:
        pass
    # a loss's name ("mae") as a metric: the mean of its per-sample values, as Keras wraps it
    fn = getattr(losses_module.get(identifier), "fn", None)
    if fn is None:
        raise ValueError(f"compile(): unknown metric '{identifier}'")
    return metrics_module.MeanMetricWrapper(fn, name=identifier)


class KerasTraining:
    """The mixin that gives ``Model`` Keras's training methods (see the module docstring)."""

    compiled, stop_training, history = False, False, None

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        if loss_weights is not None or weighted_metrics is not None:
            raise NotImplementedError("loss_weights and weighted_metrics are for models with "
                                      "several outputs, which minitrain's compile lacks")
        object.__setattr__(self, "optimizer", optimizers.get(optimizer))
        object.__setattr__(self, "loss", None if loss is None else losses_module.get(loss))
        object.__setattr__(self, "_loss_tracker", metrics_module.Mean(name="loss"))
        object.__setattr__(self, "_compile_metrics",
                           [_metric(m) for m in metrics or ()])
        self.compiled, self.stop_training = True, False

    @property
    def metrics(self):
        """The loss tracker ('loss') then the compiled metrics, as Keras's ``model.metrics``."""
        if not self.compiled:
            return []
        return [self._loss_tracker, *self._compile_metrics]

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    # --- the steps a subclass may override ----------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus every loss the layers added (``model.losses``)."""
        terms = [] if self.loss is None else [self.loss(y, y_pred)]
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
        for metric in self._compile_metrics:
            metric.update_state(y, y_pred)
        return self.get_metrics_result()

    def get_metrics_result(self):
        return floats({metric.name: metric.result() for metric in self.metrics})

    def train_step(self, data):
        x, y, sample_weight = fit_data.unpack(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        self._loss_tracker.update_state(loss, sample_weight=len(x))
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = fit_data.unpack(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=len(x))
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
        if class_weight is not None or sample_weight is not None:
            raise NotImplementedError("fit(): class_weight and sample_weight are not supported "
                                      "by minitrain yet")
        if validation_split and validation_data is None:
            (x, y), validation_data = fit_data.split(x, y, validation_split)
        train = fit_data.batches(x, y, batch_size, shuffle, "fit()")
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
        data = fit_data.batches(x, y, batch_size, False, "evaluate()")
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
            outputs.append(np.asarray(self.predict_step(batch).numpy()))
            callbacks.call("on_predict_batch_end", i, {"outputs": outputs[-1]})
        callbacks.call("on_predict_end", {})
        return np.concatenate(outputs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        self._assert_compiled("train_on_batch")
        logs = self.train_step((fit_data.as_batch(x), fit_data.as_batch(y)))
        return logs if return_dict else self._flatten_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        logs = self.test_step((fit_data.as_batch(x), fit_data.as_batch(y)))
        return logs if return_dict else self._flatten_in_order(logs)

    def predict_on_batch(self, x):
        return np.asarray(self.predict_step(fit_data.as_batch(x)).numpy())

    def _assert_compiled(self, what):
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model; {what} "
                             f"was called on '{self.name}' before compile()")
