"""What a run shows while it trains: a tqdm bar with the live loss and accuracy, or one plain
line per epoch (when stdout is not a terminal, or with --quiet)."""
import sys
import time

from tqdm import tqdm

from .callbacks import Callback

_SKIP = ("epoch", "step", "lr", "time")


def format_logs(logs):
    """'loss 0.1234  accuracy 0.965' from a dict of logs."""
    return "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k not in _SKIP)


class EpochLog(Callback):
    """One line per epoch through ``log`` (a function of one string)."""

    def __init__(self, log):
        self.log = log

    def on_epoch_end(self, trainer, logs):
        width = len(str(trainer.epochs))
        self.log(f"epoch {trainer.epoch:>{width}}/{trainer.epochs}  {format_logs(logs)}  "
                 f"lr {logs['lr']:.3g}  {logs['time']:.1f}s")


class ProgressBar(EpochLog):
    """A bar per epoch over its batches, showing the running loss and metrics."""

    def __init__(self, log, file=None, refresh=0.2):
        super().__init__(log)
        self.file, self.refresh = file or sys.stdout, refresh
        self.bar, self._shown = None, 0.0

    def on_epoch_begin(self, trainer):
        self._open(trainer, 0)

    def _open(self, trainer, done):
        self.close()
        self.bar = tqdm(total=trainer.steps_per_epoch, initial=done, leave=False,
                        file=self.file, dynamic_ncols=True, unit="batch",
                        mininterval=self.refresh,
                        desc=f"epoch {trainer.epoch + 1}/{trainer.epochs}")

    def on_batch_end(self, trainer):
        if self.bar is None:  # resumed mid-epoch: no on_epoch_begin for this epoch
            self._open(trainer, trainer.batch - 1)
        now = time.perf_counter()
        if now - self._shown >= self.refresh:  # the postfix costs a metric read: not per batch
            self._shown = now
            self.bar.set_postfix_str(format_logs(trainer.running_logs()), refresh=False)
        self.bar.update(1)

    def on_epoch_end(self, trainer, logs):
        self.close()
        super().on_epoch_end(trainer, logs)

    def on_train_end(self, trainer):
        self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
