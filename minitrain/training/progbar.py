"""Keras 3's progress bar (``keras.utils.Progbar``) and ``keras.callbacks.ProgbarLogger``:
the same text, colours and timings as Keras prints, so ``fit``'s output reads as Keras's.

verbose=1: ``12/12 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9876 - loss: 0.1234``,
redrawn in place; verbose=2: one line per epoch, ``12/12 - 0s - 2ms/step - accuracy: ...``.
"""
import math
import os
import sys
import time

from .keras_base import Callback


class Progbar:
    """A bar over ``target`` steps showing each value's average since the start (Keras's)."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step"):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        # Keras redraws in place on any POSIX system (its test is "posix" in sys.modules)
        self._dynamic_display = sys.stdout.isatty() or os.name == "posix"
        self._values, self._values_order, self._seen_so_far = {}, [], 0
        self._start, self._last_update, self._time_after_first_step = time.time(), 0, None
        self._prev_total_width = 0

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for key, value in values or []:
            self._add(key, float(value), current, finalize)
        self._seen_so_far = current
        now = time.time()
        per_step = self._step_duration(current, now)
        if self.verbose == 1 and (finalize or now - self._last_update >= self.interval):
            self._draw(current, now, per_step, finalize)
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            info = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
            print(info + _format_time(per_step, self.unit_name) + self._metrics_text() + "\n",
                  end="", flush=True)
        self._last_update = now

    def _add(self, key, value, current, finalize):
        if key not in self._values_order:
            self._values_order.append(key)
        if key in self.stateful_metrics or finalize:
            self._values[key] = [value, 1]
            return
        base = max(current - self._seen_so_far, 1)
        total, count = self._values.get(key, [0.0, 0])
        self._values[key] = [total + value * base, count + base]

    def _draw(self, current, now, per_step, finalize):
        message = ("\b" * self._prev_total_width + "\r") if self._dynamic_display else "\n"
        special = 0  # the width of the colour codes, which take no room on screen
        if self.target:
            digits = int(math.log10(self.target)) + 1
            bar, special = f"\x1b[1m{current:{digits}d}/{self.target}\x1b[0m ", 8
            done = int(self.width * current / self.target)
            if done > 0:
                bar, special = bar + f"\33[32m{'━' * done}\x1b[0m", special + 9
            bar, special = bar + f"\33[37m{'━' * (self.width - done)}\x1b[0m", special + 9
        else:
            bar = f"{current:7d}/Unknown"
        if self.target and not finalize:
            info = f" \x1b[1m{_eta(per_step * (self.target - current))}\x1b[0m"
        else:
            info = f" \x1b[1m{now - self._start:.0f}s\x1b[0m"
        special += 8
        info += _format_time(per_step, self.unit_name) + self._metrics_text(use_abs=True)
        width = len(bar) + len(info) - special
        message += bar + info + " " * max(self._prev_total_width - width, 0)
        print(message + ("\n" if finalize else ""), end="", flush=True)
        self._prev_total_width = width

    def _metrics_text(self, use_abs=False):
        text = ""
        for key in self._values_order:
            total, count = self._values[key]
            avg = total / max(1, count)
            # (Keras compares abs(avg) on the bar but avg itself on the verbose=2 line)
            text += f" - {key}: {avg:.4f}" if (abs(avg) if use_abs else avg) > 1e-3 else (
                f" - {key}: {avg:.4e}")
        return text

    def _step_duration(self, current, now):
        """Seconds per step, leaving the first (slow, unrepresentative) step out once known."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            per_step = (now - self._time_after_first_step) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_step


def _eta(seconds):
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_time(per_unit, unit_name):
    if per_unit >= 1 or per_unit == 0:
        return f" {per_unit:.0f}s/{unit_name}"
    if per_unit >= 1e-3:
        return f" {per_unit * 1000.0:.0f}ms/{unit_name}"
    return f" {per_unit * 1000000.0:.0f}us/{unit_name}"


class ProgbarLogger(Callback):
    """Prints ``fit``'s progress: ``Epoch i/n`` (when n > 1), then the bar or the line."""

    def __init__(self):
        super().__init__()
        self.seen, self.progbar, self.target = 0, None, None
        self.verbose, self.epochs, self._called_in_fit = 1, 1, False

    def set_params(self, params):
        self.verbose = 1 if params["verbose"] == "auto" else params["verbose"]
        self.epochs, self.target = params["epochs"], params["steps"]

    def on_train_begin(self, logs=None):
        self._called_in_fit = True  # validation inside fit is silent

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(logs)

    def _reset(self):
        self.seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step")

    def _update(self, batch, logs):
        if self.progbar is None:  # resumed mid-epoch: no on_epoch_begin for this epoch
            self._reset()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        if self.progbar is None:
            self._reset()
        if self.target is None:
            self.target = self.progbar.target = self.seen
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)
