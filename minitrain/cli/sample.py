"""``minitrain sample RUN_DIR --prompt "ROMEO:" --length 200 --temperature 0.8 [--seed 0]``.

Text from a language model trained on the ``text`` source: the prompt is encoded with the run's
vocabulary, then each next token is drawn from the model's prediction at the last position,
given the last ``window`` tokens (the window the run trained on), and appended. Temperature 0
always takes the likeliest token; higher temperatures flatten the distribution.
"""
import argparse
import math
import sys

import numpy as np

from ..data.registry import source_name
from ..data.text import Vocabulary
from .common import blas_threads, fail


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="minitrain sample", description="Generate text with a run trained on the text "
        "source, continuing a prompt.",
        epilog='example:\n  minitrain sample runs/lstm --prompt "ROMEO:" --length 200 '
        "--temperature 0.8 --seed 0", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", metavar="RUN_DIR", help="a run directory of a text model")
    parser.add_argument("--prompt", default="\n", help="the text to continue (default: a "
                        "newline)")
    parser.add_argument("--length", type=int, default=200, metavar="N",
                        help="tokens to generate: characters, or bytes for a byte vocabulary "
                        "(default 200)")
    parser.add_argument("--temperature", type=float, default=1.0, metavar="T",
                        help="divides the logits before the softmax; 0 takes the likeliest "
                        "token (default 1)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seeds the draws: the same seed gives the same text (default: "
                        "fresh randomness)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.length < 0:
        return fail(f"--length must be 0 or more, got {args.length}")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        return fail(f"--temperature must be a finite number, 0 or more, got {args.temperature}")
    if args.seed is not None and args.seed < 0:
        return fail(f"--seed must be 0 or more, got {args.seed}")
    from ..trained import RunError, load_run  # after --help: it builds a model
    try:
        run = load_run(args.run)
        vocabulary = vocabulary_of(run)
        prompt = vocabulary.encode(args.prompt)
        if not len(prompt):
            return fail("--prompt is empty: give at least one character to continue")
        with blas_threads(1):
            ids = generate(run.model, prompt, args.length, args.temperature,
                           int(run.preprocessing["feature_shape"][0]),
                           np.random.default_rng(args.seed), tokens=len(run.class_names))
    except (RunError, ValueError) as err:  # a config or checkpoint error too
        return fail(err)
    sys.stdout.write(vocabulary.decode(ids) + "\n")
    return 0


def vocabulary_of(run):
    """The run's Vocabulary; a ValueError for a run that was not trained on text."""
    source = run.config["data"]["source"]
    if source_name(source) != "text" or not run.class_names:
        raise ValueError(f"{run.path} was trained on the data source '{source}', not 'text': "
                         "sample needs a language model's run")
    return Vocabulary(run.class_names, run.config["data"]["options"].get("vocabulary", "char"))


def generate(model, prompt, length, temperature, window, rng, tokens=None):
    """``prompt`` (token ids) followed by ``length`` tokens drawn one at a time, from the
    first ``tokens`` outputs (a model may have more outputs than its vocabulary has tokens)."""
    ids = list(prompt)
    for _ in range(length):
        context = np.asarray(ids[-window:], np.float32)[None]
        logits = np.asarray(model(context, training=False).numpy(), np.float64)[0, -1]
        ids.append(next_token(logits[:tokens], temperature, rng))
    return ids


def next_token(logits, temperature, rng):
    """A token drawn from softmax(logits / temperature); the argmax at temperature 0."""
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))
