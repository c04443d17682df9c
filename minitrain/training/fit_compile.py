"""What ``compile(loss, loss_weights, metrics)`` builds, for a model with one output or
several, as Keras 3's ``trainers/compile_utils.py`` (CompileLoss, CompileMetrics) reads them.

A model's outputs are taken flat (a dict of outputs by sorted key, as ``nest.flatten``); an
output's name is its layer's name (Keras 3's ``Functional.output_names``).

- ``loss``: one loss for every output, a list (one per output, in output order) or a dict by
  output name. The total is ``sum(weight * loss)``; with several losses each one's value,
  *unweighted* (Keras 3.7 on, keras-team/keras#20476), is tracked as ``<output>_loss``.
- ``loss_weights``: a list or a dict matching the losses; a number only beside one loss.
- ``metrics``: with one output, a list of metrics; with several, a list with one entry per
  output (a metric or a list of them) or a dict by output name (outputs it omits get none),
  logged as ``<output>_<metric>``. A flat list is not spread over every output (that was
  Keras 2); Keras 3 asks for one entry per output.
"""
import numbers

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import nest


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


def get_metric(identifier):
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
    try:
        fn = getattr(losses_module.get(identifier), "fn", None)
    except ValueError:
        fn = None
    if fn is None:
        raise ValueError(f"compile(): unknown metric '{identifier}'; metrics are the names in "
                         f"mt.metrics (accuracy, mse, ...) or a loss's name")
    return metrics_module.MeanMetricWrapper(fn, name=identifier)


def output_names(model):
    """The names of the model's flat outputs (their layers' names), or None when the model
    does not know its outputs before it runs (a Sequential or subclassed model: one output)."""
    outputs = getattr(model, "_outputs", None)
    return None if outputs is None else [x._keras_history[0].name for x in outputs]


def _by_name(value, names, what, partial):
    """A dict keyed by output name as a list in output order (None where it has no key)."""
    unknown = [key for key in value if key not in (names or ())]
    missing = [name for name in names or () if name not in value]
    if names is None or unknown or (missing and not partial):
        raise ValueError(f"Expected keys {names} in {what} dict, but found "
                         f"{what}.keys()={list(value)}: each key must name one of the model's "
                         f"outputs (the name of the layer that makes it)")
    return [value.get(name) for name in names]


def _per_output(value, names, what, partial=False):
    """``value`` as a list with one entry per output: a dict by name, a list in order, or
    one value for every output."""
    count = len(names or [None])
    if isinstance(value, dict):
        return _by_name(value, names, what, partial)
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"For a model with {count} outputs ({names}), when providing the "
                             f"`{what}` argument as a list, it should have as many entries as "
                             f"the model has outputs. Received: {what}={value} of length "
                             f"{len(value)}")
        return list(value)
    return [value] * count


def _weights(loss_weights, loss, names, partial):
    """One weight (or None) per output, matching ``loss``."""
    if loss_weights is None:
        return [None] * len(names or [None])
    if isinstance(loss_weights, numbers.Number):
        if isinstance(loss, (list, tuple, dict)) and len(loss) > 1:
            raise ValueError(f"`loss_weights` must match the number of losses, got "
                             f"{len(loss)} losses and 1 weights.")
        return [float(loss_weights)] * len(names or [None])
    if not isinstance(loss_weights, (list, tuple, dict)):
        raise ValueError("Expected `loss_weights` argument to be a float (single output case) "
                         "or a list, tuple, or dict (multiple output case). Received instead: "
                         f"loss_weights={loss_weights} of type {type(loss_weights)}")
    if not isinstance(loss, (list, tuple, dict)) and len(loss_weights) != 1:
        raise ValueError(f"`loss_weights` must match the number of losses, got 1 losses and "
                         f"{len(loss_weights)} weights: give one loss per output (a list or "
                         "a dict) to weight them")
    return _per_output(loss_weights, names, "loss_weights", partial)


class CompiledLoss:
    """The compiled loss: ``(output index, Loss, weight)`` per output that has a loss."""

    def __init__(self, loss, loss_weights=None, names=None, partial=False):
        losses = _per_output(loss, names, "loss", partial)
        weights = _weights(loss_weights, loss, names, partial)
        self.terms = [(i, losses_module.get(fn), weight)
                      for i, (fn, weight) in enumerate(zip(losses, weights)) if fn is not None]
        several = len(self.terms) > 1
        self.trackers = [metrics_module.Mean(name=f"{names[i]}_loss")
                         for i, _, _ in self.terms] if several else []

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The weighted sum over the outputs, ``y_true`` and ``y_pred`` being flat lists."""
        total = None
        for n, (i, fn, weight) in enumerate(self.terms):
            value = fn(y_true[i], y_pred[i], sample_weight)
            if self.trackers:  # the unweighted value, as Keras 3 records it
                self.trackers[n].update_state(value, sample_weight=y_pred[i].shape[0])
            if weight is not None:
                value = value * weight
            total = value if total is None else total + value
        return total


class CompiledMetrics:
    """The compiled metrics: ``(output index, log key, metric)``; the key is the metric's name,
    prefixed by its output's name when the model has several outputs."""

    def __init__(self, metrics, names=None):
        several = names is not None and len(names) > 1
        if metrics and not isinstance(metrics, (list, tuple, dict)):
            raise ValueError("Expected `metrics` argument to be a list, tuple, or dict. "
                             f"Received instead: metrics={metrics} of type {type(metrics)}")
        if not several:
            metrics = list(metrics.values()) if isinstance(metrics, dict) else metrics
            per_output = [list(metrics or ())]
        else:
            per_output = _per_output(metrics or {}, names, "metrics", partial=True)
        self.entries, seen = [], {}
        for i, entry in enumerate(per_output):
            for metric in map(get_metric, _as_list(entry)):
                key = f"{names[i]}_{metric.name}" if several else metric.name
                seen[key] = seen.get(key, 0) + 1
                self.entries.append((i, key if seen[key] == 1 else f"{key}_{seen[key] - 1}",
                                     metric))

    @property
    def metrics(self):
        return [metric for _, _, metric in self.entries]

    def update_state(self, y_true, y_pred):
        for i, _, metric in self.entries:
            metric.update_state(y_true[i], y_pred[i])

    def results(self):
        return {key: metric.result() for _, key, metric in self.entries}


def _as_list(entry):
    if entry is None:
        return []
    return list(entry) if isinstance(entry, (list, tuple)) else [entry]


def flat_outputs(y_true, y_pred, names, partial=False):
    """``(y_true, y_pred)`` as flat lists in output order; ``y_true`` may be one array (one
    output), a list in output order or a dict by output name."""
    y_pred = nest.flatten(y_pred) if nest.is_nested(y_pred) else [y_pred]
    if isinstance(y_true, dict):
        y_true = _by_name(y_true, names, "y", partial)
    else:
        listed = isinstance(y_true, (list, tuple)) and (
            len(y_pred) > 1 or len(y_true) == 1 and hasattr(y_true[0], "shape"))
        y_true = list(y_true) if listed else [y_true]  # else one output's labels
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred have different structures: the model has "
                         f"{len(y_pred)} outputs ({names}), but y holds {len(y_true)} targets")
    return y_true, y_pred
