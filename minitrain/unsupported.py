"""TensorFlow names that minitrain deliberately lacks, each with what to use instead.

``mt.saved_model.save(...)`` then fails with a sentence saying so, where a bare
AttributeError would leave a TensorFlow user guessing whether the name is merely misspelt.
"""

INSTEAD = {
    "saved_model": "minitrain has no SavedModel format: save the weights with "
                   "model.save_weights(path) (an .npz file) and rebuild the model in code, or "
                   "train from a YAML config, whose run directory holds the config and weights",
    "distribute": "minitrain has no distribution strategies: train on one device "
                  "(mt.device('gpu') for a GPU)",
    "compat": "minitrain is TensorFlow 2 only and always eager: tf.compat.v1 graphs, sessions "
              "and placeholders do not exist; write the computation as Python that calls ops",
    "Graph": "minitrain has no graphs: ops run eagerly, and mt.function runs its function as is",
    "Session": "minitrain has no sessions: ops run eagerly and return their values",
    "autograph": "minitrain has no AutoGraph: mt.function runs its Python as it is written, "
                 "so there is nothing to convert",
    "xla": "minitrain has no XLA: mt.function(jit_compile=True) runs eagerly",
    "tpu": "minitrain runs on the CPU (numpy) or an NVIDIA GPU (CuPy), not on TPUs",
    "lite": "minitrain has no TensorFlow Lite converter: save the weights with "
            "model.save_weights(path) and load them into the runtime you deploy with",
    "estimator": "minitrain has no Estimators: write a training loop with mt.GradientTape, "
                 "or describe the run in a YAML config (python train.py --config ...)",
    "summary": "minitrain has no TensorBoard summaries: a YAML run writes its metrics to "
               "metrics.csv in its run directory",
}


class Unsupported:
    """Stands for a TensorFlow module or class that minitrain lacks: using it in any way (an
    attribute, a call) raises NotImplementedError with what to use instead."""

    def __init__(self, name):
        self._name = name

    def _refuse(self, *args, **kwargs):
        raise NotImplementedError(f"mt.{self._name}: {INSTEAD[self._name]}")

    __call__ = _refuse

    def __getattr__(self, attribute):
        if attribute.startswith("__"):  # copy, pickle and inspect probe these: not a use
            raise AttributeError(attribute)
        raise NotImplementedError(f"mt.{self._name}.{attribute}: {INSTEAD[self._name]}")

    def __repr__(self):
        return f"<mt.{self._name}: not in minitrain; {INSTEAD[self._name]}>"
