"""Every fenced block of README.md is checked, and runs as written.

- ```python blocks run: those of one README section in order, in one namespace, in a temporary
  directory holding links to configs/ and datasets/ (so the README's relative paths work and
  its runs are written there). A block of ``>>>`` lines is a session: each output is compared,
  an expected error (``Name: message``) is the exception raised. ``print(...)  # TEXT`` claims
  that TEXT (``...`` matching anything) is a line of the block's output; CLAIMS adds what the
  other comments say.
- ```yaml blocks are config fragments: merged into a shipped config (BASES) and built.
- ```bash blocks are commands: ``python train.py ...`` parses and its config and overrides
  load (those in RUN also run, with the substitution shown there); ``pip install -e`` names
  this project and its extras; ``pytest`` is this suite.
- ``` blocks without a language are output samples: train.py's error lines, made again by the
  mistakes in MISTAKES, and the layout tree, whose paths must exist.

A block is skipped only by ``<!-- not run: REASON -->`` on the line before its fence, and every
skipped block is listed in SKIPPED: test_every_block_has_a_checker_and_each_skip_is_listed
counts them and names any other.
"""
import contextlib
import doctest
import io
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path

import pytest
import yaml
from clirun import ENV

from minitrain.config import build, load_config

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# the README's sections whose blocks are skipped, by their visible marker (section: reason)
SKIPPED = {"Devices and the GPU": "needs a GPU"}

# after a block that holds the key line, these expressions hold in its namespace
CLAIMS = {
    'digits = tf.data.load_source("digits")': ["x.shape == (1797, 64)"],
    "history = trainer.fit(": [
        "isinstance(history, list) and all(isinstance(logs, dict) for logs in history)",
        "model.built and len(model.trainable_variables) == 4"],
    "experiment = build(config)": ["experiment.model.built"],
    "summary = run_experiment(": [
        "summary == json.loads(Path('runs/mine/metrics.json').read_text())"],
    "logits = experiment.model(x)": ["tuple(logits.shape) == (256, 10)"],
}

# commands that are also run, with the arguments added to keep the test fast
RUN = {"python train.py --config configs/mlp.yaml --output runs/mlp":
       ["--set", "training.epochs=2"]}  # 60 epochs train for 5 s; 2 make the same files

# the shipped config a YAML fragment completes, by its top-level key
BASES = {"model": "configs/cnn.yaml", "loss": "configs/mlp.yaml",
         "optimizer": "configs/mlp.yaml"}

# a README error line (by a part of it) -> (an edit of configs/mlp.yaml or None, train.py's
# arguments, its exit status, whether the line's numbers are only an example)
MLP = ["--config", "configs/mlp.yaml"]
DIVERGE = ["--config", "configs/regression.yaml", "--set", "optimizer.name=sgd",
           "--set", "optimizer.learning_rate=0.7", "--set", "training.checkpoint.unit=step",
           "--set", "training.checkpoint.every=5", "--output", "runs/x"]
MISTAKES = {
    "unknown key 'learnin_rate'": (("learning_rate: 0.001", "learnin_rate: 0.001"), MLP, 2, False),
    "unknown layer 'Dens'": (("- Dense: {units: 10}", "- Dens: {units: 10}"), MLP, 2, False),
    "training.epochs=ten": (None, [*MLP, "--set", "training.epochs=ten"], 2, False),
    "the loss is inf": (None, DIVERGE, 1, True),
}

FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
HEADING = re.compile(r"^#{1,6} (.+)$")
MARKER = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->")
PRINT_CLAIM = re.compile(r"^\s*print\(.*\)\s+#\s*(.+?)\s*$", re.M)


@dataclass
class Block:
    line: int  # the line of its first line of code
    lang: str
    section: str
    code: str
    skip: str | None  # the reason its marker gives

    def __str__(self):
        return f"README.md:{self.line} ({self.lang or 'text'}, section '{self.section}')"


def readme_blocks(text):
    """The fenced blocks of a markdown text, in order, with their section and skip marker."""
    lines, found, section, i = text.splitlines(), [], "", 0
    while i < len(lines):
        heading, fence = HEADING.match(lines[i]), FENCE.match(lines[i])
        if heading:
            section = heading.group(1)
        elif fence:
            indent, end = len(fence.group(1)), i + 1
            while end < len(lines) and not re.match(r"^\s*```\s*$", lines[end]):
                end += 1
            if end == len(lines):
                raise ValueError(f"README.md:{i + 1}: a fence that is never closed")
            marker = MARKER.search(lines[i - 1]) if i else None
            code = "".join(line[indent:] + "\n" for line in lines[i + 1:end])
            found.append(Block(i + 2, fence.group(2), section, code,
                               marker.group(1) if marker else None))
            i = end
        i += 1
    return found


BLOCKS = readme_blocks(README.read_text())
SECTIONS = list(dict.fromkeys(block.section for block in BLOCKS))


def pattern(text, numbers=False):
    """A regex for a line the README shows: ``...`` matches anything (and, for an example's
    numbers, every number matches any number)."""
    regex = re.escape(text).replace(re.escape("..."), ".*")
    return re.sub(r"\d+", r"\\d+", regex) if numbers else regex


# --- python -------------------------------------------------------------------------------------
def run_python(block, namespace):
    if block.code.lstrip().startswith(">>>"):
        return run_session(block, namespace)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(block.code, str(block), "exec"), namespace)
    printed = output.getvalue().splitlines()
    for claim in PRINT_CLAIM.findall(block.code):
        assert any(re.fullmatch(pattern(claim), line) for line in printed), (
            f"{block}: no line of its output is '{claim}':\n{output.getvalue()}")
    for key, claims in CLAIMS.items():
        if key in block.code:
            for claim in claims:
                assert eval(claim, {"json": json, "Path": Path, **namespace}), f"{block}: {claim}"


def run_session(block, namespace):
    """A ``>>>`` session: outputs compared, an error line checked against the exception."""
    for example in doctest.DocTestParser().get_examples(block.code):
        want, where = example.want.strip(), f"{block}, line {example.lineno + 1}"
        error = re.fullmatch(r"(\w+): (.*)", want)
        code = compile(example.source, where, "single")
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            if error is None:
                exec(code, namespace)
            else:
                with pytest.raises(Exception) as raised:
                    exec(code, namespace)
        if error is None:
            assert output.getvalue().strip() == want, where
        else:
            assert type(raised.value).__name__ == error[1], (where, raised.value)
            assert re.fullmatch(pattern(error[2]), str(raised.value)), (where, raised.value)


# --- yaml ---------------------------------------------------------------------------------------
def check_fragment(block, namespace):
    fragment = yaml.safe_load(block.code)
    (key,) = fragment  # one section of a config per block
    config = yaml.safe_load((ROOT / BASES[key]).read_text())
    config[key] = fragment[key]
    build(load_config(data=config))


# --- commands -----------------------------------------------------------------------------------
def check_commands(block, namespace):
    for line in block.code.splitlines():
        for command in line.split("&&"):
            words = shlex.split(command, comments=True)
            if words:
                check_command(block, words)


def check_command(block, words):
    if words[:1] == ["mpiexec"] and words[1:2] == ["-n"] and words[2].isdecimal():
        return check_command(block, words[3:])  # the command each process runs
    command = minitrain_command(words)
    if command is not None:
        check_minitrain(block, words, command)
    elif words[:2] == ["pip", "install"] and len(words) in (3, 4) and words[2:3] in (["-e"], [
            words[-1]]):
        path, extras = re.fullmatch(r"([^\[\]]+)(?:\[(.*)\])?", words[-1]).groups()
        assert (ROOT / path / "pyproject.toml").is_file(), f"{block}: {path} is not a project"
        for extra in extras.split(",") if extras else ():
            assert extra in project_extras(), f"{block}: no extra '{extra}' in pyproject.toml"
    elif words == ["pytest"]:
        assert (ROOT / "tests").is_dir()
    else:
        raise AssertionError(f"{block}: no check for the command {' '.join(words)!r}; add one "
                             "to tests/test_readme.py")


def minitrain_command(words):
    """``python train.py ...``, ``minitrain CMD ...`` or ``python -m minitrain CMD ...`` as
    the minitrain command's arguments [CMD, ...]; None for any other command."""
    if words[:2] == ["python", "train.py"]:
        return ["train", *words[2:]]
    for prefix in (["minitrain"], ["python", "-m", "minitrain"]):
        if words[:len(prefix)] == prefix:
            return words[len(prefix):]
    return None


def check_minitrain(block, words, command):
    from minitrain.cli import COMMANDS
    name, *rest = command or ["--help"]
    assert name in COMMANDS or name == "--help", f"{block}: no command {name!r}"
    if name == "train":
        args = train_script().parse_args(rest)
        if args.config is not None:
            load_config(args.config, args.set, device=args.device)  # a ConfigError fails
    elif name == "predict":
        from minitrain.cli import predict
        predict.parse_args(rest)
    if " ".join(words) in RUN:
        result = subprocess.run([sys.executable, "-m", "minitrain", *command,
                                 *RUN[" ".join(words)]], cwd=Path.cwd(), env=ENV,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{block}: {' '.join(words)}\n{result.stderr}"
        if name == "train":
            assert result.stdout.splitlines()[-1].startswith("done: "), result.stdout


def project_extras():
    """The names of pyproject.toml's optional dependencies (no tomllib on Python 3.10)."""
    text = (ROOT / "pyproject.toml").read_text()
    table = text.split("[project.optional-dependencies]\n", 1)[1].split("\n[", 1)[0]
    return re.findall(r"^(\w+)\s*=", table, re.M)


def train_script():
    """What train.py runs: ``minitrain train``."""
    from minitrain.cli import train
    return train


# --- output samples -----------------------------------------------------------------------------
def check_text(block, namespace):
    if block.code.startswith("error: "):
        for line in block.code.splitlines():
            check_error_line(block, line)
    elif block.section == "Layout":
        check_layout(block)
    else:
        raise AssertionError(f"{block}: an output sample with no check; add one to "
                             "tests/test_readme.py, or mark it <!-- not run: REASON -->")


def check_error_line(block, line):
    rows = [row for key, row in MISTAKES.items() if key in line]
    assert len(rows) == 1, f"{block}: no row of MISTAKES makes the error line\n{line}"
    (edit, args, status, example), = rows
    work = Path.cwd() / f"mistake{len(list(Path.cwd().glob('mistake*')))}"
    (work / "configs").mkdir(parents=True)
    (work / "datasets").symlink_to(ROOT / "datasets")
    for name in ("mlp.yaml", "regression.yaml"):
        text = (ROOT / "configs" / name).read_text()
        (work / "configs" / name).write_text(text if edit is None else text.replace(*edit))
    stderr, cwd = io.StringIO(), os.getcwd()
    os.chdir(work)
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            code = train_script().main(args)
    finally:
        os.chdir(cwd)
    assert code == status, f"{block}: {line}\n{stderr.getvalue()}"
    assert re.fullmatch(pattern(line, numbers=example), stderr.getvalue().rstrip("\n")), (
        f"{block}: the README shows\n{line}\ntrain.py prints\n{stderr.getvalue()}")


def check_layout(block):
    """Each line names a path (and siblings of it) that exists; indented lines go on."""
    for line in block.code.splitlines():
        if not line.strip() or line[0].isspace():
            continue
        first, *rest = line.split()
        siblings = takewhile(lambda word: re.fullmatch(r"[\w.]+(/|\.py)", word), rest)
        parent = Path(first.rstrip("/")).parent
        for path in [Path(first), *(parent / name for name in siblings)]:
            assert (ROOT / path).exists(), f"{block}: {path} does not exist"


CHECKERS = {"python": run_python, "yaml": check_fragment, "bash": check_commands,
            "sh": check_commands, "": check_text}


# --- the tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("section", SECTIONS)
def test_the_readme_blocks_of_each_section_run(section, tmp_path, monkeypatch):
    for name in ("configs", "datasets"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    blocks = [block for block in BLOCKS if block.section == section]
    namespace = {"__name__": "__readme__"}
    for block in blocks:
        if block.skip is None:
            CHECKERS[block.lang](block, namespace)
    if all(block.skip for block in blocks):
        pytest.skip("; ".join(f"{block}: not run: {block.skip}" for block in blocks))


def test_every_block_has_a_checker_and_each_skip_is_listed():
    skipped = [block for block in BLOCKS if block.skip]
    listing = "\n".join(f"{block}: {block.skip}" for block in skipped)
    unchecked = [str(block) for block in BLOCKS if block.lang not in CHECKERS]
    assert not unchecked, f"blocks in a language with no checker: {unchecked}"
    assert len(skipped) == len(SKIPPED), f"{len(skipped)} skipped blocks:\n{listing}"
    for block in skipped:
        assert block.skip.startswith(SKIPPED.get(block.section, "(not listed)")), listing


@pytest.mark.parametrize("table", [CLAIMS, RUN, MISTAKES], ids=["CLAIMS", "RUN", "MISTAKES"])
def test_each_row_of_the_tables_is_about_one_readme_block(table):
    for key in table:
        assert sum(key in block.code for block in BLOCKS) == 1, key


def test_the_extractor_finds_fences_sections_and_markers():
    text = ("# A\n```python\nx = 1\n```\n## B\n<!-- not run: needs a GPU -->\n```bash\n"
            "# not a heading\npytest\n```\n- item:\n  ```\n  indented\n  ```\n")
    a, b, c = readme_blocks(text)
    assert (a.line, a.lang, a.section, a.code, a.skip) == (3, "python", "A", "x = 1\n", None)
    assert (b.section, b.skip, b.code) == ("B", "needs a GPU", "# not a heading\npytest\n")
    assert (c.lang, c.section, c.code) == ("", "B", "indented\n")
    with pytest.raises(ValueError, match="never closed"):
        readme_blocks("```python\nx = 1\n")


def test_the_checkers_catch_a_false_claim_and_an_unknown_block():
    with pytest.raises(AssertionError, match="no line of its output is '2'"):
        run_python(Block(1, "python", "S", "print(1)  # 2\n", None), {})
    with pytest.raises(AssertionError, match="no check for the command"):
        check_commands(Block(1, "bash", "S", "make all\n", None), {})
    with pytest.raises(AssertionError, match="an output sample with no check"):
        check_text(Block(1, "", "S", "some table\n", None), {})
    with pytest.raises(AssertionError):
        run_session(Block(1, "python", "S", ">>> 1 + 1\n3\n", None), {})
