"""CSV data as users have it (class names, headers, missing values), source names in any case,
and the Keras-style checks of a config's last layer against its loss and its data."""
import warnings

import numpy as np
import pytest
from clirun import refused, train

from minitrain.config import ConfigError, build, load_config
from minitrain.config.errors import ConfigWarning
from minitrain.data import load_source

IRIS = """\
sepal_length,petal_width,species
5.1,0.2,setosa
7.0,1.4,versicolor
6.3,2.5,virginica
4.9,0.2,setosa
6.4,1.5, versicolor
"""


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def config(source="spirals", options=None, model=None, **loss):
    return {
        "data": {"source": source, "options": {"n_samples": 60} if options is None else options},
        "model": model or [{"Dense": {"units": 4}}, {"Dense": {"units": 2}}],
        "loss": {"name": "sparse_categorical_crossentropy", **loss},
        "optimizer": {"name": "sgd", "learning_rate": 0.1},
        "training": {"epochs": 1},
    }


def config_warnings(data):
    """The ConfigWarnings that building ``data`` raises (each one, however often)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(load_config(data=data))
    return [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]


# --- CSV ---------------------------------------------------------------------------------------
def test_string_labels_become_sorted_class_ids_with_their_names(tmp_path):
    ds = load_source("csv", path=write(tmp_path, IRIS), label="species")
    assert ds.class_names == ["setosa", "versicolor", "virginica"]  # sorted, stripped
    assert ds.labels.tolist() == [0, 1, 2, 0, 1] and ds.labels.dtype == np.int64
    assert ds.num_classes == 3 and ds.features.shape == (5, 2)
    assert ds.subset([1, 2]).class_names == ds.class_names  # splits keep the names


def test_string_labels_without_a_header_by_index(tmp_path):
    path = write(tmp_path, "b,1,2\na,3,4\nb,5,6\n")
    ds = load_source("csv", path=path, label=0)
    assert ds.class_names == ["a", "b"] and ds.labels.tolist() == [1, 0, 1]
    assert ds.features.tolist() == [[1, 2], [3, 4], [5, 6]]
    forced = load_source("csv", path=write(tmp_path, "x,y,c\n1,2,a\n3,4,b\n", "h.csv"),
                         header=True)
    assert forced.class_names == ["a", "b"] and forced.labels.tolist() == [0, 1]


def test_numeric_labels_stay_numbers(tmp_path):
    ds = load_source("csv", path=write(tmp_path, "a,label\n1,2\n3,0\n"))
    assert ds.labels.tolist() == [2, 0] and ds.class_names is None and ds.num_classes == 3


@pytest.mark.parametrize("text, options, match", [
    ("a,c\n1,x\n2,y\n", {"task": "regression"}, "task='regression' needs numeric targets"),
    ("a,c\n1,x\n2,0\n", {}, "line 2, column 1: 'x' is not a number, yet line 3 has the number"),
    ("a,b,c\n1,x,p\n2,3,q\n", {}, r"line 2, column 1: 'x' is not a number; the feature column "
                                  r"'b' must hold numbers \(only the label column, 'c'"),
])
def test_class_name_errors_say_where(tmp_path, text, options, match):
    with pytest.raises(ValueError, match=match):
        load_source("csv", path=write(tmp_path, text), **options)


@pytest.mark.parametrize("cell", ["", "NA", "NaN", "nan", "?", "null", " N/A "])
def test_a_missing_value_is_named_by_line_and_column(tmp_path, cell):
    text = IRIS.replace("6.3,2.5,", f"6.3,{cell},")  # line 4, the third sample
    with pytest.raises(ValueError) as err:
        load_source("csv", path=write(tmp_path, text))
    assert str(err.value).startswith(
        f"{tmp_path / 'data.csv'}, line 4, column 'petal_width': missing value")
    assert "fill or drop the rows with missing values" in str(err.value)


@pytest.mark.parametrize("cell", ["", "NA", "?"])
def test_a_missing_value_without_a_header_is_named_by_index(tmp_path, cell):
    with pytest.raises(ValueError, match=r"line 2, column 1: missing value"):
        load_source("csv", path=write(tmp_path, f"1,2,0\n3,{cell},1\n"))


def test_a_missing_label_is_refused_too(tmp_path):
    text = IRIS.replace("4.9,0.2,setosa", "4.9,0.2,")
    with pytest.raises(ValueError, match=r"line 5, column 'species': missing value;"):
        load_source("csv", path=write(tmp_path, text))


# --- source names in any case ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["CSV", "Csv", "csv"])
def test_source_names_in_any_case_through_load_config_and_build(tmp_path, name):
    path = write(tmp_path, IRIS * 1 + "".join(IRIS.splitlines(True)[1:]) * 3)
    data = config(name, {"path": str(path), "label": "species"},
                  [{"Dense": {"units": 3}}], from_logits=True)
    experiment = build(load_config(data=data))
    assert experiment.train.dataset.num_classes == 3


def test_digits_in_capitals_and_a_misspelt_source_still_fails():
    data = config("Digits", {}, [{"Dense": {"units": 10}}], from_logits=True)
    assert build(load_config(data=data)).train.dataset.num_classes == 10
    with pytest.raises(ConfigError, match="unknown data source 'Digitz'.*did you mean"):
        load_config(data=config("Digitz", {}))


# --- from_logits against the last activation ---------------------------------------------------
@pytest.mark.parametrize("last, loss, fragment", [
    ({"Dense": {"units": 2}}, {}, "set loss.from_logits: true"),
    ({"Dense": {"units": 2, "activation": "softmax"}}, {"from_logits": True},
     "drop the softmax"),
    ({"Softmax": {}}, {"from_logits": True}, "drop the softmax"),
    ({"Dense": {"units": 2, "activation": "relu"}}, {}, "set loss.from_logits: true"),
])
def test_a_from_logits_mismatch_warns_once_naming_loss_and_layer(last, loss, fragment):
    model = [{"Dense": {"units": 2}}, last] if "Softmax" in last else [last]
    told = config_warnings(config(model=model, **loss))
    assert len(told) == 1, told
    assert "loss 'sparse_categorical_crossentropy'" in told[0] and fragment in told[0]
    assert f"model[{len(model) - 1}].{next(iter(last))}" in told[0]


def test_the_warning_looks_past_dropout_to_the_layer_that_sets_the_activation():
    model = [{"Dense": {"units": 2, "activation": "softmax"}}, {"Dropout": {"rate": 0.1}}]
    told = config_warnings(config(model=model, from_logits=True))
    assert len(told) == 1 and "model[0].Dense" in told[0]


@pytest.mark.parametrize("last, loss", [
    ({"Dense": {"units": 2}}, {"from_logits": True}),
    ({"Dense": {"units": 2, "activation": "softmax"}}, {}),
    ({"Dense": {"units": 2, "activation": "softmax"}}, {"from_logits": False}),
])
def test_matching_from_logits_does_not_warn(last, loss):
    assert config_warnings(config(model=[last], **loss)) == []


def test_binary_crossentropy_with_a_sigmoid_and_from_logits_warns():
    data = config(model=[{"Dense": {"units": 1, "activation": "sigmoid"}}], from_logits=True)
    data["loss"]["name"] = "binary_crossentropy"
    told = config_warnings(data)
    assert len(told) == 1 and "drop the sigmoid" in told[0] and "model[0].Dense" in told[0]
    data["loss"]["from_logits"] = False
    assert config_warnings(data) == []


def test_a_regression_loss_never_warns():
    data = {"data": {"source": "regression"}, "model": [{"Dense": {"units": 1}}],
            "loss": {"name": "mse"}, "optimizer": "sgd", "training": {"epochs": 1}}
    assert config_warnings(data) == []


# --- the last layer against the classes --------------------------------------------------------
def test_too_few_outputs_for_the_classes_names_the_layer():
    model = [{"Dense": {"units": 8}}, {"Dense": {"units": 5}}, {"Softmax": {}}]
    with pytest.raises(ConfigError) as err:
        build(load_config(data=config("digits", {}, model)))
    assert ("model[1].Dense: 5 outputs, but the data has 10 classes (labels 0..9): "
            "set units: 10") in str(err.value)


def test_binary_crossentropy_with_more_than_one_output_is_refused():
    data = config(model=[{"Dense": {"units": 2, "activation": "sigmoid"}}])
    data["loss"]["name"] = "binary_crossentropy"
    with pytest.raises(ConfigError, match=r"model\[0\].Dense: 2 outputs, but "
                                          r"binary_crossentropy takes one output .*set units: 1"):
        build(load_config(data=data))


def test_the_cli_exits_2_naming_a_last_layer_too_small(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "data: {source: digits}\n"
        "model: [{Dense: {units: 16, activation: relu}}, {Dropout: {rate: 0.1}},\n"
        "        {Dense: {units: 5}}]\n"
        "loss: {name: sparse_categorical_crossentropy, from_logits: true}\n"
        "optimizer: adam\ntraining: {epochs: 1}\n")
    result = train("--config", tmp_path / "c.yaml", "--output", tmp_path / "run")
    assert refused(result), result.stderr
    assert "model[2].Dense: 5 outputs, but the data has 10 classes (labels 0..9): set units: 10" \
        in result.stderr
    assert not (tmp_path / "run").exists()
