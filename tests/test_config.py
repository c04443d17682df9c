"""Configs in-process: defaults, overrides, where an error points, and what is rejected."""
import textwrap

import pytest
import yaml

from minitrain.config import ConfigError, build, load_config
from minitrain.config.loader import parse_override

BASE = {
    "data": {"source": "spirals", "options": {"n_samples": 60}},
    "model": [{"Dense": {"units": 4}}, {"Dense": {"units": 2}}],
    "loss": {"name": "sparse_categorical_crossentropy", "from_logits": True},
    "optimizer": {"name": "sgd", "learning_rate": 0.1},
    "training": {"epochs": 1},
}


def config_file(tmp_path, text, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error(**kwargs):
    with pytest.raises(ConfigError) as err:
        load_config(**kwargs)
    return str(err.value)


def test_defaults_fill_every_section_and_the_name_comes_from_the_file(tmp_path):
    path = config_file(tmp_path, yaml.safe_dump(BASE), name="tiny.yaml")
    config = load_config(path)
    assert config["name"] == "tiny" and config["seed"] == 0 and config["device"] == "cpu"
    assert config["data"]["splits"] == {"val": 0.1, "test": 0.2, "stratify": True}
    assert config["training"]["checkpoint"] == {"every": 1, "unit": "epoch"}
    assert config["training"]["early_stopping"] is None and config["metrics"] == []
    # the resolved config is plain data: saved as YAML and read back, it is the same config
    again = load_config(config_file(tmp_path, yaml.safe_dump(dict(config)), name="again.yaml"))
    assert again == config


def test_exponent_numbers_are_numbers_in_files_and_overrides(tmp_path):
    path = config_file(tmp_path, yaml.safe_dump(BASE).replace("0.1", "1e-1"))
    config = load_config(path, ["optimizer.momentum=5e-1"])
    assert config["optimizer"] == {"name": "sgd", "learning_rate": 0.1, "momentum": 0.5}


@pytest.mark.parametrize("text, path, value", [
    ("training.epochs=3", ("training", "epochs"), 3),
    ("model.0.Dense.units=128", ("model", 0, "Dense", "units"), 128),
    ("metrics=[accuracy]", ("metrics",), ["accuracy"]),
    ("data.shuffle=false", ("data", "shuffle"), False),
    ("training.early_stopping=", ("training", "early_stopping"), None),
    ("name=a=b", ("name",), "a=b"),
])
def test_overrides_parse_their_key_path_and_yaml_value(text, path, value):
    assert parse_override(text) == (path, value)


def test_overrides_apply_inside_lists_and_are_validated_like_the_file():
    config = load_config(data=BASE, overrides=["model.1.Dense.units=3", "seed=7"])
    assert config["model"][1] == {"Dense": {"units": 3}} and config["seed"] == 7
    assert "model is a list of 2; '5' is not one of its positions 0..1" in error(
        data=BASE, overrides=["model.5.Dense.units=3"])
    assert "seed must be a whole number, got True" in error(data=BASE, overrides=["seed=true"])
    assert "loss is 'mse', not a mapping; set loss whole instead" in error(
        data={**BASE, "loss": "mse"}, overrides=["loss.delta=0.5"])


def test_an_error_names_the_line_of_the_key_in_the_file(tmp_path):
    path = config_file(tmp_path, """\
        data: {source: spirals}
        model:
          - Dense:
              units: 4
              activaton: relu
          - Dense: {units: 2}
        loss: sparse_categorical_crossentropy
        optimizer: {name: sgd, learning_rate: 0.1}
        training: {epochs: 1}
        """)
    message = error(path=path)
    assert message.startswith(f"{path}, line 5: unknown key 'activaton' in model[0].Dense; "
                              "did you mean 'activation'?")


@pytest.mark.parametrize("change, fragment", [
    ({"training": {"epochs": 0}}, "training.epochs must be 1 or more, got 0"),
    ({"training": {"epochs": 2.5}}, "training.epochs must be a whole number, got 2.5"),
    ({"data": {"source": "spirals", "splits": {"val": 1.0}}},
     "data.splits.val must be at least 0.0 and below 1.0, got 1.0"),
    ({"data": {"source": "spirals", "splits": {"val": 0.6, "test": 0.4}}},
     "leave no training data"),
    ({"data": {"source": "spirals", "normalize": {"method": "standrd"}}},
     "data.normalize.method must be one of standard, scale, none, got 'standrd'; did you "
     "mean 'standard'?"),
    ({"data": {"source": "spirals", "normalize": {"scale": 16}}},
     "scale is only used by method 'scale'"),
    ({"model": []}, "model must list at least one layer"),
    ({"model": [{"Dense": {}}]}, "missing required key 'units' in model[0].Dense"),
    ({"model": [{"Dense": {"units": 2}, "Dropout": {"rate": 0.1}}]}, "names 2 layers"),
    ({"loss": {"from_logits": True}}, "missing required key 'name' in loss"),
    ({"loss": "mse", "metrics": ["accuracy"]}, "accuracy needs a classification loss"),
    ({"optimizer": {"name": "adam", "schedule": {"name": "cosine_decay",
                                                 "decay_steps": 5}}},
     "missing required key 'learning_rate' in optimizer"),
    ({"training": {"epochs": 1, "early_stopping": {"monitor": "val_acuracy"}}},
     "'val_acuracy' is not logged; did you mean 'val_accuracy'?"),
    ({"data": {"source": "spirals", "splits": {"val": 0.0}},
      "training": {"epochs": 1, "early_stopping": {}}}, "needs a validation split"),
    ({"training": {"epochs": 1, "checkpoint": {"unit": "steps"}}},
     "must be one of epoch, step, got 'steps'; did you mean 'step'?"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
    ({"metrics": ["mean"]}, "unknown metric 'mean'"),  # it averages values, not predictions
])
def test_what_the_schema_and_the_names_reject(change, fragment):
    assert fragment in error(data={**BASE, **change})


def test_a_schedule_starts_from_the_optimizers_learning_rate():
    config = load_config(data={**BASE, "optimizer": {
        "name": "adam", "learning_rate": 0.01,
        "schedule": {"name": "exponential_decay", "decay_steps": 10, "decay_rate": 0.5}}})
    assert config["optimizer"]["schedule"]["initial_learning_rate"] == 0.01
    optimizer = build(config).optimizer
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


def test_yaml_cannot_construct_python_objects(tmp_path):
    path = config_file(tmp_path, "seed: !!python/object/apply:os.system ['echo hacked']\n")
    message = error(path=path)
    assert message.startswith(f"{path}, line 1: YAML tag not allowed (a config holds plain "
                              "data only)") and "python/object/apply:os.system" in message


def test_build_errors_point_at_the_key_that_caused_them(tmp_path):
    text = yaml.safe_dump(BASE, sort_keys=False)
    path = config_file(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        build(load_config(path, ["data.options.n_sample=5"]))
    assert str(err.value).startswith("--set data.options.n_sample=5: data.options: data source "
                              "'spirals' has no option 'n_sample'; did you mean 'n_samples'?")
    with pytest.raises(ConfigError) as err:
        build(load_config(path, ["model.1.Dense.units=1"]))
    # the layer that sets the outputs is named, from the option that set its size
    assert str(err.value).startswith("--set model.1.Dense.units=1: model[1].Dense: 1 outputs, "
                                     "but the data has 2 classes")


def test_classification_reports_accuracy_even_when_not_listed():
    assert list(build(load_config(data=BASE)).metrics) == ["accuracy"]
    regression = {**BASE, "data": {"source": "regression"}, "loss": "mse",
                  "model": [{"Dense": {"units": 1}}]}
    assert build(load_config(data=regression)).metrics == {}
    with pytest.raises(ConfigError, match="needs class labels, but the data has regression"):
        build(load_config(data={**regression, "loss": "sparse_categorical_crossentropy"}))


def test_one_home_for_names_shared_by_the_config_the_kit_and_the_data_sources():
    from minitrain import identifiers, naming
    from minitrain.config import errors, names
    from minitrain.data import registry
    assert names.canonical is naming.canonical and names.snake_case is naming.snake_case
    assert errors.did_you_mean is naming.did_you_mean is registry.did_you_mean
    assert identifiers.canonical is naming.canonical
    assert naming.canonical("Sparse_Categorical_CrossEntropy") == "sparsecategoricalcrossentropy"
    assert naming.did_you_mean("rleu", ["relu", "tanh"]) == "; did you mean 'relu'?"
    assert naming.did_you_mean("xyz", ["relu", "tanh"]) == ""
