"""Training: the Trainer loop, callbacks, checkpoints and the run directory.

```python
from minitrain.training import Trainer, EarlyStopping
trainer = Trainer(model, mt.optimizers.Adam(1e-3), mt.losses.MeanSquaredError(),
                  callbacks=[EarlyStopping("val_loss", patience=3)], checkpoint="ckpt.npz")
trainer.fit(train_loader, epochs=20, validation=val_loader)
trainer.evaluate(test_loader)  # {"loss": ...}
```
"""
from .callbacks import Callback, EarlyStopping
from .checkpoint import CheckpointError
from .progress import EpochLog, ProgressBar
from .run import Experiment, run_experiment
from .rundir import RunDirectory
from .trainer import Trainer, TrainingError

__all__ = ["Callback", "CheckpointError", "EarlyStopping", "EpochLog", "Experiment",
           "ProgressBar", "RunDirectory", "Trainer", "TrainingError", "run_experiment"]
