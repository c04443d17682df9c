"""The ``minitrain`` command: ``minitrain train|predict|plot|sample ...`` (``python -m
minitrain`` too).

Each subcommand is a module with a ``main(argv) -> exit status``; this one only dispatches, so
that ``minitrain --help`` and a mistyped subcommand answer without loading the others.
"""
import importlib
import sys

from ..naming import did_you_mean

COMMANDS = {
    "train": ("minitrain.cli.train", "train a model from a YAML config into a run directory"),
    "predict": ("minitrain.cli.predict", "predict with a trained run on new raw data"),
    "plot": ("minitrain.plot", "draw a run's curves, or compare several runs"),
    "sample": ("minitrain.cli.sample", "generate text with a run trained on the text source"),
}
ENTRY = {"minitrain.plot": "plot_main"}  # the module's function, where it is not main


def usage():
    lines = ["usage: minitrain COMMAND [options]   (minitrain COMMAND --help for its options)",
             "", "commands:"]
    lines += [f"  {name:<9} {what}" for name, (_, what) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, *rest = argv
    if name not in COMMANDS:
        print(f"error: unknown command '{name}'{did_you_mean(name, COMMANDS)}\n\n{usage()}",
              file=sys.stderr)
        return 2
    module_name = COMMANDS[name][0]
    module = importlib.import_module(module_name)
    return getattr(module, ENTRY.get(module_name, "main"))(rest)
