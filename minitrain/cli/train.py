"""``minitrain train``: a model from a YAML config, into a run directory (``python train.py``
is the same command).

Exit status: 0 when the run finished, 1 when training failed (a loss that became nan),
2 on bad input (a missing file, an invalid config or override, an unavailable device, a run
directory or checkpoint that cannot be used), 130 on Ctrl-C.

Under ``mpiexec -n N`` the run is data-parallel (minitrain.distributed): rank 0 writes the
run directory and prints; the other ranks train, write nothing and print nothing (but a
traceback), and exit with the same status.
"""
import argparse
import sys
import textwrap
import time
import warnings

import yaml

import minitrain as mt

from .. import distributed
from ..config import ConfigError, build, load_config, resume_config
from ..config.errors import ConfigWarning
from ..training import (
    CheckpointError,
    RunDirectory,
    RunDirectoryError,
    TrainingError,
    run_experiment,
)
from ..training.callbacks import format_value
from .common import blas_threads, fail

EXAMPLES = """\
examples:
  minitrain train --config configs/mlp.yaml
  minitrain train --config configs/mlp.yaml --set optimizer.learning_rate=0.003
  minitrain train --config configs/mlp.yaml --print-config      # the resolved config, then exit
  minitrain train --config configs/mlp.yaml --dry-run           # build, one batch, write nothing
  minitrain train --resume --output runs/mlp-20250101-120000    # continue a killed run
  minitrain train --resume --output runs/mlp-20250101-120000 --set training.epochs=100

names a config may use (case and underscores do not matter):
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="minitrain train", description="Train a model described by a YAML config "
        "(the README's 'Training runs from YAML' explains every key).",
        epilog=EXAMPLES + _names(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="the YAML config file (optional with --resume: the "
                        "run's saved config.yaml is used)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a config value, e.g. --set optimizer.learning_rate=0.01 "
                        "(repeatable; the value is read as YAML)")
    parser.add_argument("--device", help="cpu, gpu, gpu:N or cuda, cuda:N (overrides the "
                        "config's device)")
    parser.add_argument("--threads", type=_threads, metavar="N", help="BLAS threads (overrides "
                        "the config's threads, default 1; results are bit-identical for the "
                        "same count)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --output "
                        "(default: the latest run of this config) from its last checkpoint; "
                        "--set training.epochs=N extends it")
    parser.add_argument("--output", metavar="DIR", help="the run directory (default: "
                        "<output.dir>/<config name>-<date>-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="start afresh in an --output "
                        "that holds a run, deleting its files (without it, that is refused)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved "
                        "config (defaults filled in, overrides applied) and exit")
    parser.add_argument("--dry-run", action="store_true", help="build everything and train on "
                        "one batch, then exit; nothing is written")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar: one line per epoch")
    return parser.parse_args(argv)


def _threads(text):
    if not text.isdecimal() or not 1 <= int(text) <= 1024:
        raise argparse.ArgumentTypeError(f"expected a whole number of threads from 1 to 1024, "
                                         f"got {text!r}")
    return int(text)


def _names():
    """The names a config may use, from the registries the config is checked against."""
    from .. import data
    from ..config import names
    groups = [("data.source", data.available_sources()), ("layers", names.LAYERS.names),
              ("losses", names.LOSSES.names), ("optimizers", names.OPTIMIZERS.names),
              ("schedules", names.SCHEDULES.names),
              ("metrics", sorted({"accuracy", *names.METRICS.names}))]
    return "".join(textwrap.fill(", ".join(items), 96, initial_indent=f"  {title}: ",
                                 subsequent_indent="    ") + "\n" for title, items in groups)


def load(args, path, overrides):
    return load_config(path, overrides, device=args.device, threads=args.threads)


def resolve(args):
    """(config, run directory) from the arguments."""
    if args.config is None and not (args.resume and args.output):
        raise ConfigError("give --config FILE (or --resume with --output DIR of a run)",
                          source="train")
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues a run and --overwrite replaces it: give one",
                          source="train")
    config = None if args.config is None else load(args, args.config, args.set)
    if not args.resume:
        output = args.output or RunDirectory.new_path(config["output"]["dir"], config["name"])
        return config, RunDirectory(output, "--output" if args.output else "output.dir")
    output = args.output or RunDirectory.latest(config["output"]["dir"], config["name"])
    if output is None:
        raise ConfigError(f"no run of '{config['name']}' to resume in {config['output']['dir']}",
                          source="--resume")
    saved = resume_config(output, lambda path, sets: load(args, path, sets), config, args.set)
    return saved, RunDirectory(output, "--resume")


def main(argv=None):
    if distributed.init().size == 1:  # no mpiexec: mpi4py is not even imported
        return _main(argv)
    if not distributed.is_primary():
        warnings.simplefilter("ignore")  # rank 0 shows them once
    try:
        status = _main(argv)
    except BaseException:  # a crash before training: no rank is left waiting at its start
        distributed.settle(1)
        raise
    distributed.settle(status)  # a rank that failed before training tells the others
    return status


def _fail(err, status=2):
    """``fail`` on rank 0; the other ranks of an MPI run exit silently (the error is rank 0's
    too, or rank 0 reports theirs)."""
    return fail(err, status=status) if distributed.is_primary() else status


def _main(argv):
    args = parse_args(argv)
    warnings.formatwarning = _config_warnings_in_one_line(warnings.formatwarning)
    start, run_dir = time.perf_counter(), None
    try:
        config, run_dir = resolve(args)
        if not distributed.is_primary():
            run_dir = run_dir.replica()
        if args.print_config:
            if distributed.is_primary():
                print(yaml.safe_dump(dict(config), sort_keys=False), end="")
            return 0
        with mt.device(config["device"]), blas_threads(config["threads"]):
            # built before the run directory is touched: a config error leaves nothing behind
            experiment = build(config)
            if args.dry_run:
                line = dry_run(experiment)
                if distributed.is_primary():
                    print(line)
                return 0
            summary = run_experiment(experiment, run_dir, resume=args.resume,
                                     overwrite=args.overwrite, threads=config["threads"],
                                     progress_bar=not args.quiet and sys.stdout.isatty())
    except (ConfigError, CheckpointError, RunDirectoryError, mt.DeviceError) as err:
        return _fail(err)
    except distributed.PeerFailure as err:
        return _fail(err, status=err.status)
    except TrainingError as err:
        run_dir.log(f"error: {err}", console=False)
        return _fail(err, status=1)
    except OSError as err:  # a run file that cannot be written: a full disk, no permission
        name = err.filename2 or err.filename  # os.replace(temporary, name) names both
        return _fail(f"cannot write {name or 'the run directory'}: {err.strerror or err}"
                     f"{_what_is_kept(run_dir)}")
    except KeyboardInterrupt:
        message = f"interrupted{_how_to_continue(run_dir)}"
        if run_dir is not None and run_dir.log_file.parent.is_dir():
            run_dir.log(message, console=False)
        if distributed.is_primary():
            print(f"\n{message}", file=sys.stderr)
        return 130
    _report(summary, run_dir, time.perf_counter() - start, args.resume)
    return 0


def _config_warnings_in_one_line(format_warning):
    """A config's warning as one line, as its errors are; any other warning as Python shows
    it. (Idempotent: main may run many times in one process, as the tests do.)"""
    if getattr(format_warning, "config_warnings", False):
        return format_warning

    def one_line(message, category, filename, lineno, line=None):
        if issubclass(category, ConfigWarning):
            return f"warning: {message}\n"
        return format_warning(message, category, filename, lineno, line)
    one_line.config_warnings = True
    return one_line


def dry_run(experiment):
    """One training step on the first batch, to show that everything fits; the run
    directory is never opened, so nothing is written. Returns the line to print."""
    from ..training import Trainer
    trainer = Trainer(experiment.model, experiment.optimizer, experiment.loss,
                      experiment.metrics)
    x, y = next(iter(experiment.train))
    loss = trainer.train_step(x, y)
    return (f"dry run: built, and one training step on a batch of {len(x)} gave loss "
            f"{loss:.4f}; nothing written")


def _what_is_kept(run_dir):
    """What a failed write left intact, and how to go on from it."""
    if run_dir is None or not run_dir.checkpoint.is_file():
        return ""
    return (f". The checkpoint {run_dir.checkpoint} is intact: once the cause is fixed (free "
            f"some space), continue with: python train.py --resume --output {run_dir.path}")


def _how_to_continue(run_dir):
    """The --resume command, once the run has a checkpoint to continue from."""
    if run_dir is None or not run_dir.config.is_file():
        return " before training began"
    if not run_dir.checkpoint.is_file():
        return " before the first checkpoint: there is nothing to resume from"
    return f"; continue with: python train.py --resume --output {run_dir.path}"


def _report(summary, run_dir, seconds, resumed):
    tests = "  ".join(f"{k} {format_value(v)}" for k, v in summary.items()
                      if k.startswith("test_"))
    epochs = f"{summary['epochs']} epoch" + ("s" if summary["epochs"] != 1 else "")
    took = (f"{summary['wall_time_s']:.1f}s of training over all sessions; this one "
            f"{seconds:.1f}s with set-up and test" if resumed else f"{seconds:.1f}s")
    run_dir.log(f"done: {tests or 'no test split'}  ({epochs}, {summary['steps']} steps, "
                f"{took})  run directory: {run_dir.path}")
    baseline, best = summary.get("unigram_val_loss"), summary.get("best_value")
    if baseline is not None and best is not None:
        run_dir.log(f"unigram baseline: val_loss {baseline:.4f} nats a token by frequency "
                    f"alone; best {summary['monitor']} {best:.4f} ({best / baseline:.2f} of it)")
