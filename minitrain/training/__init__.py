"""Training: the Trainer loop, callbacks, checkpoints and the run directory.

```python
from minitrain.training import Trainer, EarlyStopping
trainer = Trainer(model, mt.optimizers.Adam(1e-3), mt.losses.MeanSquaredError(),
                  callbacks=[EarlyStopping("val_loss", patience=3)], checkpoint="ckpt.npz")
trainer.fit(train_loader, epochs=20, validation=val_loader)
trainer.evaluate(test_loader)  # {"loss": ...}
```

``Model.compile/fit/evaluate/predict`` (fit.py, Keras 3's API) run this same loop (fit_loop.py);
``keras_callbacks`` holds Keras's callbacks (``keras.callbacks.*``), bridged into the Trainer's
hooks. The Trainer's own callbacks (``Callback`` here) are given the Trainer itself.
"""
from . import keras_callbacks
from .callbacks import Callback, EarlyStopping
from .checkpoint import CheckpointError
from .fit import KerasTraining
from .progress import EpochLog, ProgressBar
from .run import Experiment, run_experiment
from .rundir import RunDirectory, RunDirectoryError
from .trainer import Trainer, TrainingError

__all__ = ["Callback", "CheckpointError", "EarlyStopping", "EpochLog", "Experiment",
           "KerasTraining", "ProgressBar", "RunDirectory", "RunDirectoryError", "Trainer",
           "TrainingError",
           "keras_callbacks", "run_experiment"]
