"""Hostile and broken configs: every one is a ConfigError (exit 2), told in one line, quickly.

Each bound has a test of its own; the fuzz tests below then throw arbitrary --set texts,
mutated copies of configs/mlp.yaml and random arguments at load_config and build, which must
either work or raise ConfigError -- never another exception.
"""
import copy
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minitrain import optimizers
from minitrain.config import ConfigError, build, load_config, names
from minitrain.config.build import building
from minitrain.config.loader import MAX_DEPTH, load_yaml, parse_override, read_yaml

MLP = Path(__file__).resolve().parent.parent / "configs" / "mlp.yaml"
SMALL = {
    "data": {"source": "spirals", "options": {"n_samples": 60}},
    "model": [{"Dense": {"units": 4}}, {"Dense": {"units": 2}}],
    "loss": {"name": "sparse_categorical_crossentropy", "from_logits": True},
    "optimizer": {"name": "sgd", "learning_rate": 0.1},
    "training": {"epochs": 1},
}


def billion_laughs(flow=False):
    """The 9-level alias bomb: under 400 bytes of YAML, 10**9 strings once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    return "{" + ", ".join(lines) + "}" if flow else "\n".join(lines) + "\n"


def error_of(path=MLP, overrides=(), data=None):
    with pytest.raises(ConfigError) as err:
        load_config(path if data is None else None, overrides, data=data)
    text = str(err.value)
    assert "\n" not in text  # the CLI prints one line
    return text


def written(tmp_path, text, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def mlp_with(old, new):
    text = MLP.read_text()
    assert old in text
    return text.replace(old, new)


def line_of(text, fragment):
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


# --- the YAML text: aliases, depth, size ----------------------------------------------------
def test_the_alias_bomb_is_refused_in_milliseconds_in_a_file_and_in_a_set_value(tmp_path):
    path = written(tmp_path, billion_laughs())
    start = time.perf_counter()
    in_file = error_of(path)
    in_set = error_of(overrides=[f"data.options={billion_laughs(flow=True)}"])
    assert time.perf_counter() - start < 0.5
    assert "aliases" in in_file and "exp.yaml, line" in in_file
    assert "aliases" in in_set and in_set.startswith("--set data.options=")


def test_aliases_within_the_bound_still_work():
    data, _ = load_yaml("base: &b {units: 4}\nmodel: [{Dense: *b}, {Dense: *b}]")
    assert data["model"] == [{"Dense": {"units": 4}}, {"Dense": {"units": 4}}]
    merged, _ = load_yaml("a: &a {x: 1}\nb: {<<: *a, y: 2}")
    assert merged["b"] == {"x": 1, "y": 2}


def test_an_alias_to_its_own_container_is_refused():
    with pytest.raises(yaml.YAMLError, match="loop"):
        load_yaml("a: &a [1, *a]")


@pytest.mark.parametrize("nest", ["[" * 1000 + "]" * 1000, "{a: " * 1000 + "1" + "}" * 1000],
                         ids=["lists", "mappings"])
def test_deep_nesting_is_refused_in_a_file_and_in_a_set_value(tmp_path, nest):
    assert "nest more than 50" in error_of(written(tmp_path, f"seed: {nest}\n"))
    assert "nest more than" in error_of(overrides=[f"data.options.x={nest}"])


def test_depth_is_counted_through_aliases_and_below_the_set_key():
    deep = "[" * (MAX_DEPTH - 5) + "]" * (MAX_DEPTH - 5)
    with pytest.raises(yaml.YAMLError, match="nest more than"):
        load_yaml(f"a: &a {deep}\nb: [[[[[[[[*a]]]]]]]]")
    load_yaml(deep)  # within the bound alone
    assert "nest more than" in error_of(overrides=["a." * 10 + f"b={deep}"])
    assert "key path has" in error_of(overrides=["a." * MAX_DEPTH + "b=1"])


def test_a_text_larger_than_a_megabyte_is_refused_unparsed(tmp_path):
    assert "characters long" in error_of(written(tmp_path, "seed: 0\n" + "#" * 1_100_000))
    assert "bytes, far more" in error_of(written(tmp_path, "#" * 4_100_000))
    assert "characters long" in error_of(overrides=["name=" + "x" * 1_100_000])


def test_numbers_too_long_to_read_or_to_convert_are_config_errors(tmp_path):
    huge = "1" + "0" * 5000  # Python reads no int of more than 4300 digits
    assert "5,001 digits" in error_of(written(tmp_path, f"seed: {huge}\n"))
    assert "5,001 digits" in error_of(overrides=[f"model.0.Dense.units={huge}"])
    # 401 digits: readable, but float() of it overflows
    assert "a finite number" in error_of(overrides=["training.early_stopping.min_delta=1" +
                                                    "0" * 400])
    assert "a number of 16,610 bits" in error_of(data={**SMALL, "seed": 10**5000})


# --- the file itself -------------------------------------------------------------------------
def test_a_directory_is_named_as_one_with_a_yaml_file_inside_suggested(tmp_path):
    assert "is a directory" in error_of(tmp_path)
    written(tmp_path, "seed: 0\n", "inner.yaml")
    assert "such as" in error_of(tmp_path) and "inner.yaml" in error_of(tmp_path)


@pytest.mark.parametrize("path", ["", "  "])
def test_an_empty_config_name_asks_for_a_file(path):
    with pytest.raises(ConfigError, match="no config file given"):
        read_yaml(path)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x01binary\x89PNG", "name: caf\xe9\n".encode(
    "latin-1")])
def test_a_file_that_is_not_utf8_is_named(tmp_path, content):
    path = tmp_path / "bin.yaml"
    path.write_bytes(content)
    assert error_of(path).startswith(f"{path}: cannot read the config file: it is not UTF-8")


def test_utf8_binary_a_device_and_a_nul_in_the_name_are_config_errors(tmp_path):
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"seed: 0\x00\x01\x02")
    assert "YAML syntax error" in error_of(path)
    if Path("/dev/zero").exists():
        assert "not a regular file" in error_of("/dev/zero")
    assert "control character" in error_of("conf\x00ig.yaml")


# --- --set keys and strings that become paths ------------------------------------------------
def test_only_ascii_digits_index_a_list():
    assert parse_override("model.0.Dense.units=3")[0] == ("model", 0, "Dense", "units")
    assert parse_override("model.²=1")[0] == ("model", "²")
    assert "'²' is not one of its positions" in error_of(overrides=["model.²=1"])


@pytest.mark.parametrize("option, key", [
    ('name="a\\0b"', "name"), ('name="a\\nb"', "name"), ('output.dir="runs\\0x"', "output.dir"),
    ('model.0.Dense.name="x\\ty"', "model[0].Dense.name"),
    ('loss.name="sparse\\x00"', "loss.name"),
])
def test_control_characters_are_refused_where_a_string_names_something(option, key):
    message = error_of(overrides=[option])
    assert f"{key} holds the control character" in message and "remove it" in message


def test_a_run_name_is_one_short_path_component():
    assert "at most 100 characters" in error_of(overrides=["name=" + "x" * 300])


# --- numbers: the fixed schema and the open-ended arguments ----------------------------------
@pytest.mark.parametrize("option, fragment", [
    ("model.0.Dense.units=.inf", "model[0].Dense.units must be a whole number in [1, 1,048,576]"),
    ("model.0.Dense.units=.nan", "model[0].Dense.units must be a whole number"),
    ("model.0.Dense.units=10000000000000", "units must be a whole number in [1, 1,048,576]"),
    ("model.0.Dense.units=true", "units must be a whole number"),
    ("model.1.Dropout.rate=1", "model[1].Dropout.rate must be a number in [0, 1)"),
    ("model.1.Dropout.rate=.nan", "rate must be a number in [0, 1)"),
    ("optimizer.clipnorm=-1", "optimizer.clipnorm must be a number above 0"),
    ("optimizer.epsilon=0", "optimizer.epsilon must be a number above 0"),
    ("optimizer.learning_rate=-1", "optimizer.learning_rate must be a number above 0"),
    ("optimizer.beta_1=1", "optimizer.beta_1 must be a number in [0, 1)"),
    ("optimizer.schedule={name: exponential_decay, decay_steps: 10, decay_rate: -0.5}",
     "optimizer.schedule.decay_rate must be a number above 0"),
    ("optimizer.schedule={name: cosine_decay, decay_steps: 10, warmup_steps: -5}",
     "optimizer.schedule.warmup_steps must be a number at least 0"),
    ("optimizer.schedule={name: cosine_decay, decay_steps: 0}", "decay_steps must be a number"),
    ("loss={name: categorical_crossentropy, label_smoothing: 1e400}",
     "loss.label_smoothing must be a number in [0, 1]"),
    ("training.epochs=10000000000000", "training.epochs must be at most 1,000,000"),
    ("data.batch_size=10000000000000", "data.batch_size must be at most"),
    ("seed=-1", "seed must be 0 or more"),
    ("seed=99999999999", "seed must be at most 4,294,967,295"),
    ("training.checkpoint.every=1e400", "training.checkpoint.every must be a whole number"),
])
def test_every_number_has_a_bound_that_names_its_key(option, fragment):
    assert fragment in error_of(overrides=[option])


@pytest.mark.parametrize("layer, fragment", [
    ({"Conv1D": {"filters": 4, "kernel_size": [3, 10000000]}}, "kernel_size[1] must be"),
    ({"Reshape": {"target_shape": [-2, 4]}}, "target_shape[0] must be a whole number in [-1,"),
    ({"Rescaling": {"scale": 0.5, "offset": float("inf")}}, "offset must be a finite number"),
    ({"GaussianNoise": {"stddev": -1}}, "stddev must be a number at least 0"),
    ({"RepeatVector": {"n": 2**40}}, "n must be a whole number in [1, 1,048,576]"),
])
def test_layer_arguments_are_bounded_by_the_config_checker(layer, fragment):
    config = copy.deepcopy(SMALL)
    config["model"].insert(0, layer)
    assert fragment in error_of(data=config)


def test_arguments_that_allow_negatives_and_ordinary_values_still_load():
    config = copy.deepcopy(SMALL)
    config["model"] = [{"Rescaling": {"scale": 0.5, "offset": -1}}, {"Reshape": {
        "target_shape": [-1]}}, {"Dense": {"units": 4}},
        {"LayerNormalization": {"axis": -1}}, {"Dense": {"units": 2}}]
    config["optimizer"] = {"name": "sgd", "learning_rate": 0.1, "momentum": 1,
                           "clipnorm": 1e-3, "schedule": {"name": "exponential_decay",
                                                          "decay_steps": 5, "decay_rate": 0.5}}
    build(load_config(data=config))


# --- the optimizers' own constructors --------------------------------------------------------
@pytest.mark.parametrize("make, argument", [
    (lambda: optimizers.SGD(clipnorm=-1.0), "clipnorm"),
    (lambda: optimizers.Adam(clipvalue=float("nan")), "clipvalue"),
    (lambda: optimizers.RMSprop(global_clipnorm=-2), "global_clipnorm"),
    (lambda: optimizers.SGD(weight_decay=-0.1), "weight_decay"),
    (lambda: optimizers.AdamW(weight_decay=float("nan")), "weight_decay"),
    (lambda: optimizers.Adam(beta_1=1.0), "beta_1"),
    (lambda: optimizers.Adam(beta_2=-0.1), "beta_2"),
    (lambda: optimizers.Adam(epsilon=-1e-7), "epsilon"),
    (lambda: optimizers.RMSprop(rho=1.5), "rho"),
    (lambda: optimizers.RMSprop(momentum=-0.5), "momentum"),
    (lambda: optimizers.SGD(momentum=float("nan")), "momentum"),
    (lambda: optimizers.Adagrad(epsilon=-1.0), "epsilon"),
    (lambda: optimizers.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
])
def test_optimizers_refuse_meaningless_hyperparameters_naming_them(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}` must be"):
        make()


def test_keras_compatible_optimizer_calls_still_work():
    optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=0.0)  # 0: no clipping, as Keras
    optimizers.Adam(1e-3, beta_1=0.0, epsilon=0.0, clipvalue=1.0, weight_decay=0.0)
    optimizers.RMSprop(rho=0.0, momentum=1.0, centered=True, global_clipnorm=5.0)
    optimizers.Adagrad(initial_accumulator_value=0.0)


# --- where an error points -------------------------------------------------------------------
@pytest.mark.parametrize("old, new, fragment", [
    ("  learning_rate: 0.001", "  learning_rate: -1", "learning_rate: -1"),
    ("  learning_rate: 0.001", "  learning_rate: 0.001\n  lrr: 3", "lrr: 3"),
    ("  learning_rate: 0.001", "  learning_rate: 0.001\n  schedule:\n    name: exponential_decay"
     "\n    decay_steps: 10\n    decay_rate: -0.5", "decay_rate: -0.5"),
    ("  learning_rate: 0.001", "  learning_rate: 0.001\n  clipnorm: 1\n  clipvalue: 1",
     "clipnorm: 1"),
    ("  - Dense: {units: 10}", "  - Dense:\n      units: 10\n      activation: nope",
     "activation: nope"),
    ("  - Dropout: {rate: 0.2}", "  - Dropout:\n      rate: 0.2\n      seed: -3", "seed: -3"),
])
def test_an_argument_error_names_the_arguments_own_line(tmp_path, old, new, fragment):
    text = mlp_with(old, new)
    path = written(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        build(load_config(path))
    assert err.value.line == line_of(text, fragment), str(err.value)


def test_a_memory_error_while_building_is_a_config_error():
    with pytest.raises(ConfigError, match=r"model\[0\].Dense: too large for this machine's "
                                          r"memory .* make it smaller"):
        with building(("model", 0, "Dense")):
            raise MemoryError("Unable to allocate 8.00 TiB")


# --- fuzzing ---------------------------------------------------------------------------------
def loads_or_refuses(path=None, overrides=(), data=None, then_build=False):
    """load_config (and build) either work or raise ConfigError: any other exception fails."""
    try:
        config = load_config(path, overrides, data=data)
        if then_build:
            build(config)
    except ConfigError as err:
        assert "\n" not in str(err)


KEYS = ["name", "seed", "model", "model.0", "model.0.Dense", "model.0.Dense.units", "model.9",
        "optimizer", "optimizer.learning_rate", "optimizer.schedule", "data.options", "loss",
        "training.epochs", "training.checkpoint.every", "metrics", "metrics.0", "output.dir"]
NASTY = ["[", "{", "*a", "&a 1", "&a [*a]", ".inf", "-.inf", ".nan", "1e400", "-1", "0", "2e9",
         "[1, 2]", "{a: 1}", "!!binary aGk=", "!!python/object:os.system", "2020-01-01", "null",
         "~", '"a\\0b"', '"\\ud800"', "? [1]\n: 2", "'", "a: b: c", "10000000000000", "true",
         "[[[[[[[[[[]]]]]]]]]]", "{name: adam, clipnorm: -1}", "- x", "<<: *a", "%", "|\n x",
         "1" + "0" * 400, "1" + "0" * 5000, "-0x" + "f" * 300]
# The fuzzers run the same examples every time (conftest.py's "ci" profile), so a run never
# fails by chance; HYPOTHESIS_PROFILE=explore draws new ones on every run.
SET_TEXTS = st.one_of(
    st.text(max_size=60),
    st.builds("{}={}".format, st.one_of(st.sampled_from(KEYS), st.text(max_size=12)),
              st.one_of(st.sampled_from(NASTY), st.text(max_size=20))))


@settings(max_examples=200)
@given(st.lists(SET_TEXTS, max_size=3))
def test_fuzz_any_set_text_loads_or_is_a_config_error(overrides):
    loads_or_refuses(MLP, overrides)


MLP_LINES = MLP.read_text().splitlines()
SNIPPETS = NASTY + ["", "]", "}", ":", "- ", "  ", "\t", "\ufeff", "---", "...", "%YAML 1.1",
                    "units: 0", "rate: 2", "- Dense: {units: 0}", "- Flatten", "- Dropout",
                    "- Conv1D: {filters: 2, kernel_size: 99}", "schedule: cosine_decay",
                    "name: rmsprop", "momentum: 1", "clipnorm: 0", "source: spirals"]


@st.composite
def mutated_mlp(draw):
    """configs/mlp.yaml with up to four lines replaced, inserted, deleted or spliced into."""
    lines = list(MLP_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        snippet = draw(st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=10)))
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        edit = draw(st.sampled_from(["replace", "insert", "delete", "splice"]))
        if edit == "replace":
            lines[i] = snippet
        elif edit == "insert":
            lines.insert(i, indent + snippet)
        elif edit == "delete" and len(lines) > 1:
            del lines[i]
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + snippet + lines[i][at:]
    return "\n".join(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(text=mutated_mlp())
def test_fuzz_a_mutated_mlp_config_builds_or_is_a_config_error(tmp_path, text):
    path = tmp_path / "mutated.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    loads_or_refuses(path, then_build=True)


YAMLISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
              st.sampled_from(NASTY)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=12)


@settings(max_examples=200)
@given(section=st.sampled_from(["seed", "data", "model", "loss", "optimizer", "metrics",
                                "training", "output", "name"]), value=YAMLISH)
def test_fuzz_a_random_yaml_section_loads_or_is_a_config_error(tmp_path_factory, section,
                                                               value):
    text = yaml.safe_dump({**SMALL, section: value}, allow_unicode=True)
    path = tmp_path_factory.mktemp("yamlish") / "c.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    loads_or_refuses(path)


NUMBERS = st.one_of(st.integers(-3, 5), st.floats(), st.sampled_from(
    [2**31, 2**64, 10**400, 1e300, -1, True, False, 0.5, 1.0]))
VALUES = st.recursive(st.one_of(NUMBERS, st.none(), st.text(max_size=5), st.sampled_from(
    ["same", "valid", "relu", "channels_last", "zeros", "l2"])), lambda inner: st.lists(
    inner, max_size=3), max_leaves=6)
REGISTRIES = {"layer": names.LAYERS, "optimizer": names.OPTIMIZERS, "loss": names.LOSSES,
              "metric": names.METRICS, "schedule": names.SCHEDULES}


def arguments(draw, cls):
    signature = list(names.parameters(cls)[0]) or ["x"]
    keys = draw(st.lists(st.sampled_from(signature), max_size=3, unique=True))
    return {key: draw(VALUES) for key in keys}


@st.composite
def random_parts(draw):
    """SMALL with a few layers, an optimizer, a schedule, a loss or metrics of random
    arguments."""
    config = copy.deepcopy(SMALL)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(sorted(REGISTRIES)))
        registry = REGISTRIES[kind]
        name = draw(st.sampled_from(sorted(registry.by_key)))
        part = arguments(draw, registry.by_key[name])
        if kind == "layer":
            config["model"].insert(draw(st.integers(0, 2)), {name: part})
        elif kind == "schedule":
            config["optimizer"]["schedule"] = {"name": name, **part}
        elif kind == "metric":
            config.setdefault("metrics", []).append({"name": name, **part})
        else:
            config[kind] = {"name": name, **part}
    return config


@pytest.mark.filterwarnings("ignore::minitrain.config.errors.ConfigWarning")  # from_logits
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_parts())
def test_fuzz_random_arguments_build_or_are_a_config_error(config):
    loads_or_refuses(data=config, then_build=True)
