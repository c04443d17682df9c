"""What a run shows while it trains: one tqdm bar over the whole run (so its ETA is the run's),
with the live loss and accuracy and a line per epoch printed above it; or only the lines (when
stdout is not a terminal, or with --quiet). At the end, what other callbacks have to say
(EarlyStopping's ``message``); on Ctrl-C, where the run stood."""
import sys
import time

from tqdm import tqdm

from .callbacks import Callback, format_value

_SKIP = ("epoch", "step", "lr", "time")


def format_logs(logs):
    """'loss 0.1234  accuracy 0.9650' from a dict of logs (see ``format_value``)."""
    return "  ".join(f"{k} {format_value(v)}" for k, v in logs.items() if k not in _SKIP)


def interruption(trainer):
    """'interrupted at step 97 (epoch 3/60); the latest checkpoint holds step 80'."""
    epoch = min(trainer.epoch + 1, trainer.epochs)
    text = f"interrupted at step {trainer.step} (epoch {epoch}/{trainer.epochs})"
    if trainer.last_checkpoint is None:
        return text + "; no checkpoint was written yet"
    return text + f"; the latest checkpoint holds step {trainer.last_checkpoint[1]}"


class EpochLog(Callback):
    """One line per epoch through ``log`` (a function of one string)."""

    def __init__(self, log):
        self.log = log

    def on_epoch_end(self, trainer, logs):
        width = len(str(trainer.epochs))
        self.log(f"epoch {trainer.epoch:>{width}}/{trainer.epochs}  {format_logs(logs)}  "
                 f"lr {logs['lr']:.3g}  {logs['time']:.1f}s")

    def on_train_end(self, trainer):
        for callback in trainer.callbacks:
            if getattr(callback, "message", None):
                self.log(callback.message)

    def on_interrupt(self, trainer):
        self.log(interruption(trainer))


class ProgressBar(EpochLog):
    """A bar over every step of the run: its total is epochs x steps per epoch, started at the
    steps a resumed run has done, so the ETA is the run's. ``log`` must write around a live
    bar (``tqdm.write``, as RunDirectory.log does): the epoch lines print above it."""

    def __init__(self, log, file=None, refresh=0.2):
        super().__init__(log)
        self.file, self.refresh = file or sys.stdout, refresh
        self.bar, self._shown = None, 0.0

    def on_train_begin(self, trainer):
        self.close()
        per_epoch = trainer.steps_per_epoch
        self.bar = tqdm(total=None if per_epoch is None else trainer.epochs * per_epoch,
                        initial=trainer.step, leave=False, file=self.file, dynamic_ncols=True,
                        unit="step", mininterval=self.refresh,
                        desc=self._where(trainer, batch=False))  # a resumed batch is stale

    @staticmethod
    def _where(trainer, batch=True):
        """'epoch 3/60 batch 17/40': the bar's own count is the run's steps."""
        text = f"epoch {min(trainer.epoch + 1, trainer.epochs)}/{trainer.epochs}"
        if not batch:
            return text
        of = "" if trainer.steps_per_epoch is None else f"/{trainer.steps_per_epoch}"
        return f"{text} batch {trainer.batch}{of}"

    def _describe(self, trainer):
        self.bar.set_description_str(self._where(trainer), refresh=False)

    def on_epoch_begin(self, trainer):
        self._describe(trainer)
        self._shown = 0.0  # the first batch replaces the last epoch's values

    def on_batch_end(self, trainer):
        self._describe(trainer)  # no drawing: tqdm draws at most every ``refresh`` seconds
        now = time.perf_counter()
        if now - self._shown >= self.refresh:  # the postfix costs a metric read: not per batch
            self._shown = now
            self.bar.set_postfix_str(format_logs(trainer.running_logs()), refresh=False)
        self.bar.update(1)

    def on_epoch_end(self, trainer, logs):
        # the epoch's final training values (its metrics now hold the validation's)
        training = {k: v for k, v in logs.items() if not k.startswith("val_")}
        self.bar.set_postfix_str(format_logs(training), refresh=False)
        if self.bar.total is None:  # epochs of unknown length: the first one measures them
            self.bar.total = trainer.epochs * trainer.step // trainer.epoch
        super().on_epoch_end(trainer, logs)

    def on_train_end(self, trainer):
        self.close()
        super().on_train_end(trainer)

    def on_interrupt(self, trainer):
        self.close()
        super().on_interrupt(trainer)

    def close(self):
        """Take the bar off the terminal (idempotent)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
