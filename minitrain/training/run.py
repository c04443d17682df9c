"""A whole run: train, validate, test, and fill the run directory."""
from dataclasses import dataclass, field

from .callbacks import Callback, EarlyStopping
from .progress import EpochLog, ProgressBar
from .rundir import RunDirectory
from .trainer import Trainer


@dataclass
class Experiment:
    """The built parts of a run (what ``minitrain.config.build`` makes from a config)."""

    model: object
    optimizer: object
    loss: object
    metrics: dict
    train: object
    validation: object
    test: object
    epochs: int
    callbacks: list = field(default_factory=list)
    checkpoint_every: int = 1
    checkpoint_unit: str = "epoch"
    config: dict = field(default_factory=dict)


class HistoryFile(Callback):
    """Rewrites metrics.csv after every epoch."""

    def __init__(self, run_dir):
        self.run_dir = run_dir

    def on_epoch_end(self, trainer, logs):
        self.run_dir.write_history(trainer.history)


def make_trainer(experiment, run_dir, progress_bar=False):
    shown = (ProgressBar if progress_bar else EpochLog)(run_dir.log)
    return Trainer(experiment.model, experiment.optimizer, experiment.loss, experiment.metrics,
                   callbacks=[*experiment.callbacks, HistoryFile(run_dir), shown],
                   checkpoint=run_dir.checkpoint, checkpoint_every=experiment.checkpoint_every,
                   checkpoint_unit=experiment.checkpoint_unit)


def run_experiment(experiment, run_dir, resume=False, overwrite=False, progress_bar=False):
    """Train ``experiment`` into ``run_dir`` (a RunDirectory or a path); returns the summary
    that metrics.json holds. With ``resume``, continue from the run's checkpoint if it has one.
    The directory is locked for the run; a fresh run refuses one that holds a run, unless
    ``overwrite`` (a RunDirectoryError either way)."""
    run_dir = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(run_dir)
    with run_dir.open(resume=resume, overwrite=overwrite):
        return _run(experiment, run_dir, resume, progress_bar)


def _run(experiment, run_dir, resume, progress_bar):
    trainer = make_trainer(experiment, run_dir, progress_bar)
    if resume and run_dir.checkpoint.is_file():
        trainer.restore(run_dir.checkpoint, experiment.train)
        run_dir.log(f"resumed from {run_dir.checkpoint} at epoch {trainer.epoch}, "
                    f"step {trainer.step}")
    else:
        if resume:
            run_dir.log(f"no checkpoint in {run_dir.path} yet: starting from the beginning")
        run_dir.write_config(experiment.config)
    trainer.fit(experiment.train, experiment.epochs, experiment.validation)
    run_dir.write_history(trainer.history)
    summary = _summary(trainer, experiment)
    experiment.model.save_weights(run_dir.weights)
    run_dir.write_summary(summary)
    return summary


def _summary(trainer, experiment):
    summary = {}
    if experiment.test is not None:
        summary.update({f"test_{k}": v for k, v in trainer.evaluate(experiment.test).items()})
    summary.update(wall_time_s=trainer.wall_time(), epochs=trainer.epoch, steps=trainer.step)
    for callback in trainer.callbacks:
        if isinstance(callback, EarlyStopping):
            summary.update(stopped_early=callback.stopped_epoch is not None,
                           best_epoch=callback.best_epoch, best_value=callback.best,
                           monitor=callback.monitor)
    return summary
