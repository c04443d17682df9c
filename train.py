"""Train a model from a YAML config: ``python train.py --config configs/mlp.yaml``.

Exit status: 0 when the run finished, 1 when training failed (a loss that became nan),
2 on bad input (a missing file, an invalid config or override, an unavailable device).
"""
import argparse
import sys
import time

try:
    import minitrain as mt
    from minitrain.config import ConfigError, build, load_config, resume_config
    from minitrain.training import (
        CheckpointError,
        RunDirectory,
        RunDirectoryError,
        TrainingError,
        run_experiment,
    )
except KeyboardInterrupt:  # Ctrl-C before anything ran: nothing to report, nothing to keep
    sys.exit(130)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Train a model described by a YAML config (see the README).")
    parser.add_argument("--config", help="the YAML config file (optional with --resume: the "
                        "run's saved config.yaml is used)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a config value, e.g. --set optimizer.learning_rate=0.01 "
                        "(repeatable; the value is read as YAML)")
    parser.add_argument("--device", help="cpu, gpu or gpu:N (overrides the config's device)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --output "
                        "(default: the latest run of this config) from its last checkpoint")
    parser.add_argument("--output", metavar="DIR", help="the run directory (default: "
                        "<output.dir>/<config name>-<date>-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="start afresh in an --output "
                        "that holds a run, deleting its files (without it, that is refused)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar: one line per epoch")
    return parser.parse_args(argv)


def resolve(args):
    """(config, run directory) from the arguments."""
    if args.config is None and not (args.resume and args.output):
        raise ConfigError("give --config FILE (or --resume with --output DIR of a run)",
                          source="train.py")
    if args.resume and args.overwrite:
        raise ConfigError("--resume continues a run and --overwrite replaces it: give one",
                          source="train.py")
    config = None if args.config is None else load_config(args.config, args.set,
                                                          device=args.device)
    if not args.resume:
        output = args.output or RunDirectory.new_path(config["output"]["dir"], config["name"])
        return config, RunDirectory(output, "--output" if args.output else "output.dir")
    output = args.output or RunDirectory.latest(config["output"]["dir"], config["name"])
    if output is None:
        raise ConfigError(f"no run of '{config['name']}' to resume in {config['output']['dir']}",
                          source="--resume")
    saved = resume_config(output, lambda path, sets: load_config(path, sets, device=args.device),
                          config, args.set)
    return saved, RunDirectory(output, "--resume")


def main(argv=None):
    args = parse_args(argv)
    start, run_dir = time.perf_counter(), None
    try:
        config, run_dir = resolve(args)
        with mt.device(config["device"]):
            # built before the run directory is touched: a config error leaves nothing behind
            experiment = build(config)
            summary = run_experiment(experiment, run_dir, resume=args.resume,
                                     overwrite=args.overwrite,
                                     progress_bar=not args.quiet and sys.stdout.isatty())
    except (ConfigError, CheckpointError, RunDirectoryError, mt.DeviceError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except TrainingError as err:
        run_dir.log(f"error: {err}", console=False)
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a run file that cannot be written: a full disk, no permission
        name = err.filename2 or err.filename  # os.replace(temporary, name) names both
        print(f"error: cannot write {name or 'the run directory'}: {err.strerror or err}"
              f"{_what_is_kept(run_dir)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted{_how_to_continue(run_dir)}", file=sys.stderr)
        return 130
    _report(summary, run_dir, time.perf_counter() - start)
    return 0


def _what_is_kept(run_dir):
    """What a failed write left intact, and how to go on from it."""
    if run_dir is None or not run_dir.checkpoint.is_file():
        return ""
    return (f". The checkpoint {run_dir.checkpoint} is intact: once the cause is fixed (free "
            f"some space), continue with: python train.py --resume --output {run_dir.path}")


def _how_to_continue(run_dir):
    """The --resume command, once the run directory holds the config that resuming needs."""
    if run_dir is None or not run_dir.config.is_file():
        return " before training began"
    return f"; continue with: python train.py --resume --output {run_dir.path}"


def _report(summary, run_dir, seconds):
    tests = "  ".join(f"{k} {v:.4g}" for k, v in summary.items() if k.startswith("test_"))
    epochs = f"{summary['epochs']} epoch" + ("s" if summary["epochs"] != 1 else "")
    run_dir.log(f"done: {tests or 'no test split'}  ({epochs}, {summary['steps']} steps, "
                f"{seconds:.1f}s)  run directory: {run_dir.path}")


if __name__ == "__main__":
    sys.exit(main())
