"""Train a model from a YAML config: ``python train.py --config configs/mlp.yaml``.

The same as ``minitrain train ...`` (``minitrain train --help`` lists every option). Exit
status: 0 when the run finished, 1 when training failed (a loss that became nan), 2 on bad
input, 130 on Ctrl-C.
"""
import sys

try:
    from minitrain.cli.train import main
except KeyboardInterrupt:  # Ctrl-C before anything ran: nothing to report, nothing to keep
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(main())
