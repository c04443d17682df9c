"""Train one Keras model in tf.keras and in mt.keras and say what each produced.

Used by tests/test_keras_against_tensorflow.py only, and only where TensorFlow is importable:
this module imports neither library itself; the caller passes both ``keras`` modules in.

A case is written once against Keras's API as functions of ``keras``: ``build(keras)`` returns
an uncompiled model, ``optimizer(keras)`` and ``loss(keras)`` what ``compile`` takes. The model
is built in tf.keras first; its initial weights (``get_weights``) are copied into the mt.keras
model (``set_weights``), so both start from the same numbers. Each is then compiled and fitted
the same way (``shuffle=False``, so the batches are the same; ``case.fit``, a dict, may
change fit's other arguments, ``case.compile`` compile's, e.g. loss_weights) and the History,
``evaluate``, ``predict`` and the weights after fit are returned as numpy for the caller to
compare.
"""
import numpy as np

SEED = 0
BATCH_SIZE = 32
EPOCHS = 3


def _numpy_weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def train(keras, case, data, weights=None):
    """Build, (optionally) load ``weights``, compile, fit, evaluate and predict one model.

    Returns a dict: ``initial`` (the weights before fit), ``history`` (History.history),
    ``evaluate`` (a list: the loss, then each metric), ``predict`` (or the exception it
    raised) and ``weights`` (after fit).
    """
    keras.utils.set_random_seed(SEED)
    model = case.build(keras)
    if weights is not None:
        model.set_weights([w.copy() for w in weights])
    initial = _numpy_weights(model)
    metrics = case.metrics if isinstance(case.metrics, dict) else list(case.metrics)
    model.compile(optimizer=case.optimizer(keras), loss=case.loss(keras), metrics=metrics,
                  **(getattr(case, "compile", None) or {}))
    x, y = data["x"], data["y"]
    options = {"batch_size": BATCH_SIZE, "epochs": EPOCHS, "verbose": 0, "shuffle": False,
               "validation_data": (data["x_val"], data["y_val"])}
    options.update(getattr(case, "fit", None) or {})
    if "validation_split" in options:
        del options["validation_data"]
    history = model.fit(x, y, **options)
    batch_size = options["batch_size"]
    evaluated = model.evaluate(data["x_val"], data["y_val"], batch_size=batch_size, verbose=0)
    if not isinstance(evaluated, (list, tuple)):
        evaluated = [evaluated]
    try:  # a failure here is reported by the predict comparison alone
        predicted = model.predict(data["x_val"], batch_size=batch_size, verbose=0)
        predicted = ({k: np.asarray(v) for k, v in predicted.items()}
                     if isinstance(predicted, dict) else np.asarray(predicted))
    except Exception as error:  # noqa: BLE001
        predicted = error
    return {
        "initial": initial,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "evaluate": [float(v) for v in evaluated],
        "predict": predicted,
        "weights": _numpy_weights(model),
    }


def train_both(tf_keras, mt_keras, case, data):
    """The same case in tf.keras (weights drawn there) and mt.keras (weights copied)."""
    ref = train(tf_keras, case, data)
    got = train(mt_keras, case, data, weights=ref["initial"])
    return ref, got


def relative_differences(ref, got):
    """Per-element |got - ref| / |ref| (|got - ref| where ref is 0), for a report."""
    ref = np.asarray(ref, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    scale = np.where(ref == 0, 1.0, np.abs(ref))
    return np.abs(got - ref) / scale
