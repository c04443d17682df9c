"""A whole run: train, validate, test, and fill the run directory (rank 0's alone, in an MPI
run: the other ranks train their shards and write nothing)."""
from dataclasses import dataclass, field

from .. import distributed
from .callbacks import Callback, EarlyStopping, best_epoch
from .header import describe
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
    micro_batches: int = 1  # parts each batch's gradient is accumulated over
    config: dict = field(default_factory=dict)
    preprocessing: dict = None  # what the training split fitted, for mt.load_run


class HistoryFile(Callback):
    """Rewrites metrics.csv after every epoch."""

    def __init__(self, run_dir):
        self.run_dir = run_dir

    def on_epoch_end(self, trainer, logs):
        self.run_dir.write_history(trainer.history)


def make_trainer(experiment, run_dir, progress_bar=False):
    shown = (ProgressBar if progress_bar and run_dir.writes else EpochLog)(run_dir.log)
    return Trainer(experiment.model, experiment.optimizer, experiment.loss, experiment.metrics,
                   callbacks=[*experiment.callbacks, HistoryFile(run_dir), shown],
                   checkpoint=run_dir.checkpoint, checkpoint_every=experiment.checkpoint_every,
                   checkpoint_unit=experiment.checkpoint_unit,
                   micro_batches=experiment.micro_batches)


def run_experiment(experiment, run_dir, resume=False, overwrite=False, progress_bar=False,
                   threads=None):
    """Train ``experiment`` into ``run_dir`` (a RunDirectory or a path); returns the summary
    that metrics.json holds. With ``resume``, continue from the run's checkpoint if it has one.
    The directory is locked for the run; a fresh run refuses one that holds a run, unless
    ``overwrite`` (a RunDirectoryError either way). ``threads``: the BLAS threads the caller
    set, for the header."""
    run_dir = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(run_dir)
    if not distributed.is_primary():
        run_dir = run_dir.replica()
    with run_dir.open(resume=resume, overwrite=overwrite):
        return _run(experiment, run_dir, resume, progress_bar, threads)


def _run(experiment, run_dir, resume, progress_bar, threads):
    trainer, resumed_from = make_trainer(experiment, run_dir, progress_bar), None
    train, ranks = experiment.train, distributed.world_size()
    if ranks > 1:  # each rank trains on its share of every batch
        train = train.shard(ranks, distributed.rank())
    if resume and run_dir.checkpoint.is_file():
        trainer.restore(run_dir.checkpoint, train)
        resumed_from = f"{run_dir.checkpoint} at epoch {trainer.epoch}, step {trainer.step}"
    elif resume:
        run_dir.log(f"no checkpoint in {run_dir.path} yet: starting from the beginning")
    # a resume may change the epochs, device and threads: the saved config says what ran
    run_dir.write_config(experiment.config)
    if experiment.preprocessing is not None:
        run_dir.write_preprocessing(experiment.preprocessing)
    for line in describe(experiment, run_dir, threads, resumed_from):
        run_dir.log(line)
    if ranks > 1:
        run_dir.log(f"data-parallel over {ranks} MPI processes: each trains on 1/{ranks} of "
                    f"every batch of {experiment.train.batch_size}")
    statuses = distributed.settle(0)  # no rank starts training while another has failed
    if any(statuses):
        raise distributed.PeerFailure(statuses)
    trainer.fit(train, experiment.epochs, experiment.validation)
    run_dir.write_history(trainer.history)
    summary = _summary(trainer, experiment)
    run_dir.write_weights(experiment.model)
    run_dir.write_summary(summary)
    if run_dir.writes:
        _draw_curves(run_dir)
    return summary


def _draw_curves(run_dir):
    """curves.png, where matplotlib is installed; else one line on how to get it."""
    from ..plot import write_curves
    if write_curves(run_dir.path) is None:
        run_dir.log("(no curves.png: pictures of the run need matplotlib, "
                    "pip install 'minitrain[plot]')")


def _summary(trainer, experiment):
    summary = {}
    if experiment.test is not None:
        summary.update({f"test_{k}": v for k, v in trainer.evaluate(experiment.test).items()})
    summary.update(wall_time_s=trainer.wall_time(), epochs=trainer.epoch, steps=trainer.step)
    baseline = (experiment.preprocessing or {}).get("unigram_loss", {}).get("val")
    if baseline is not None:  # a language model: its val_loss beside guessing by frequency
        summary["unigram_val_loss"] = baseline
    if trainer.history:  # early stopping's own best, below, is the epoch whose weights it kept
        epoch, value, monitor = best_epoch(trainer.history)
        summary.update(best_epoch=epoch, best_value=value, monitor=monitor)
    for callback in trainer.callbacks:
        if isinstance(callback, EarlyStopping):
            summary.update(stopped_early=callback.stopped_epoch is not None,
                           best_epoch=callback.best_epoch, best_value=callback.best,
                           monitor=callback.monitor)
    return summary
