"""compile/fit/evaluate for models with several inputs and outputs, as Keras 3's CompileLoss
and CompileMetrics (keras/src/trainers/compile_utils.py): a loss per output (one for all, a
list, a dict by output name), loss_weights, per-output metrics, and their log names.

The model is the Keras Functional API guide's ticket model ("Models with multiple inputs and
outputs": title, body and tags in; priority and department out), with its LSTMs replaced by
global average pooling (minitrain has no LSTM) and its sizes cut to run in a second."""
import numpy as np
import pytest

import minitrain as mt

NUM_TAGS, NUM_WORDS, NUM_DEPARTMENTS = 12, 50, 4


def _ticket_model(as_dict=False, seed=0):
    mt.random.set_seed(seed)
    title_input = mt.keras.Input(shape=(None,), name="title")
    body_input = mt.keras.Input(shape=(None,), name="body")
    tags_input = mt.keras.Input(shape=(NUM_TAGS,), name="tags")
    title_features = mt.layers.Embedding(NUM_WORDS, 8)(title_input)
    body_features = mt.layers.Embedding(NUM_WORDS, 8)(body_input)
    title_features = mt.layers.GlobalAveragePooling1D()(title_features)
    body_features = mt.layers.GlobalAveragePooling1D()(body_features)
    x = mt.layers.concatenate([title_features, body_features, tags_input])
    priority_pred = mt.layers.Dense(1, name="priority")(x)
    department_pred = mt.layers.Dense(NUM_DEPARTMENTS, name="department")(x)
    outputs = ({"priority": priority_pred, "department": department_pred} if as_dict
               else [priority_pred, department_pred])
    return mt.keras.Model(inputs=[title_input, body_input, tags_input], outputs=outputs)


def _ticket_data(n=64):
    rng = np.random.default_rng(0)
    x = {"title": rng.integers(NUM_WORDS, size=(n, 10)),
         "body": rng.integers(NUM_WORDS, size=(n, 20)),
         "tags": rng.integers(2, size=(n, NUM_TAGS)).astype("float32")}
    y = {"priority": rng.random(size=(n, 1)).astype("float32"),
         "department": np.eye(NUM_DEPARTMENTS, dtype="float32")[
             rng.integers(NUM_DEPARTMENTS, size=n)]}
    return x, y


_BCE = mt.losses.BinaryCrossentropy(from_logits=True)
_CCE = mt.losses.CategoricalCrossentropy(from_logits=True)


def _compile_list(model, **kwargs):
    model.compile(optimizer=mt.optimizers.RMSprop(1e-3), loss=[_BCE, _CCE],
                  loss_weights=[1.0, 0.2], **kwargs)
    return model


def _compile_dict(model, **kwargs):
    model.compile(optimizer=mt.optimizers.RMSprop(1e-3),
                  loss={"priority": _BCE, "department": _CCE},
                  loss_weights={"priority": 1.0, "department": 0.2}, **kwargs)
    return model


def test_the_guides_model_trains_with_list_losses_and_weights():
    x, y = _ticket_data()
    model = _compile_list(_ticket_model())
    history = model.fit([x["title"], x["body"], x["tags"]], [y["priority"], y["department"]],
                        epochs=3, batch_size=16, verbose=0)
    assert list(history.history) == ["department_loss", "loss", "priority_loss"]
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_the_guides_dict_form_trains_on_dicts_of_inputs_and_targets():
    x, y = _ticket_data()
    model = _compile_dict(_ticket_model(as_dict=True))
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    assert list(history.history) == ["department_loss", "loss", "priority_loss",
                                     "val_department_loss", "val_loss", "val_priority_loss"]


def test_the_total_is_the_weighted_sum_of_the_unweighted_output_losses():
    """Keras 3.7 on (keras-team/keras#20476) logs each output's loss before its weight."""
    x, y = _ticket_data(32)
    model = _compile_list(_ticket_model())
    logs = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    priority, department = model.predict(x, verbose=0)
    by_hand = {"priority_loss": float(_BCE(y["priority"], priority)),
               "department_loss": float(_CCE(y["department"], department))}
    for key, value in by_hand.items():
        assert logs[key] == pytest.approx(value, rel=1e-5)
    total = by_hand["priority_loss"] + 0.2 * by_hand["department_loss"]
    assert logs["loss"] == pytest.approx(total, rel=1e-5)


def test_dict_and_list_forms_give_the_same_numbers():
    x, y = _ticket_data()
    runs = []
    for compile_as, targets in ((_compile_list, [y["priority"], y["department"]]),
                                (_compile_dict, y)):
        model = compile_as(_ticket_model())
        history = model.fit(x, targets, epochs=2, batch_size=16, shuffle=False, verbose=0)
        runs.append((history.history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_evaluate_lists_the_loss_the_output_losses_then_the_metrics_sorted():
    """Keras 3's _flatten_metrics_in_order: model.metrics' names first (the loss, each
    output's loss), then the other keys sorted (the prefixed metrics)."""
    x, y = _ticket_data(32)
    model = _compile_list(_ticket_model(), metrics=[[], ["accuracy", "mae"]])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(logs) == ["department_accuracy", "department_loss", "department_mae",
                            "loss", "priority_loss"]
    values = model.evaluate(x, y, verbose=0)
    order = ["loss", "priority_loss", "department_loss", "department_accuracy",
             "department_mae"]
    assert values == [logs[key] for key in order]


def test_metrics_as_a_dict_name_each_output():
    x, y = _ticket_data(32)
    model = _compile_dict(_ticket_model(), metrics={"priority": "mae",
                                                    "department": ["accuracy", "accuracy"]})
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "priority_loss", "department_loss", "priority_mae",
                         "department_accuracy", "department_accuracy_1"}
    department = model.predict(x, verbose=0)[1]
    expected = np.mean(department.argmax(-1) == y["department"].argmax(-1))
    assert logs["department_accuracy"] == pytest.approx(expected)


def test_one_loss_for_every_output():
    x, y = _ticket_data(32)
    model = _ticket_model()
    model.compile(loss="mse", loss_weights=0.5)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(0.5 * (logs["priority_loss"] +
                                                logs["department_loss"]), rel=1e-5)


def test_predict_returns_the_outputs_structure():
    x, _ = _ticket_data(10)
    out = _ticket_model(as_dict=True).predict(x, batch_size=4, verbose=0)
    assert sorted(out) == ["department", "priority"]
    assert out["department"].shape == (10, NUM_DEPARTMENTS) and out["priority"].shape == (10, 1)


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": {"priority": "mse", "urgency": "mse"}}, r"Expected keys \['priority', "
                                                      r"'department'\] in loss dict"),
    ({"loss": {"priority": "mse"}}, "in loss dict"),
    ({"loss": ["mse"]}, "should have as many entries as the model has outputs"),
    ({"loss": ["mse", "mse", "mse"]}, "of length 3"),
    ({"loss": "mse", "loss_weights": [1.0, 0.2]}, "`loss_weights` must match the number"),
    ({"loss": ["mse", "mse"], "loss_weights": [1.0]}, "as many entries"),
    ({"loss": "mse", "loss_weights": {"priority": 1.0, "urgency": 2.0}}, "must match"),
    ({"loss": ["mse", "mse"], "loss_weights": {"urgency": 2.0}}, "in loss_weights dict"),
    ({"loss": "mse", "metrics": ["mae"]}, "should have as many entries"),
    ({"loss": "mse", "metrics": {"urgency": "mae"}}, "in metrics dict"),
])
def test_errors_name_what_does_not_match_the_outputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _ticket_model().compile(**kwargs)


def test_targets_that_do_not_match_the_outputs_say_so():
    x, y = _ticket_data(8)
    model = _ticket_model()
    model.compile(loss="mse")
    with pytest.raises(ValueError, match="2 outputs"):
        model.evaluate(x, [y["priority"]] * 3, verbose=0)
    with pytest.raises(ValueError, match="in y dict"):
        model.evaluate(x, {"priority": y["priority"]}, verbose=0)


def test_a_dict_model_may_leave_an_output_without_loss():
    """Keras 3 builds a loss dict over a dict of outputs path by path: an output the dict
    leaves out has no loss (and no '<output>_loss')."""
    x, y = _ticket_data(16)
    model = _ticket_model(as_dict=True)
    model.compile(loss={"department": _CCE})
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    department = model.predict(x, verbose=0)["department"]
    assert logs == {"loss": pytest.approx(float(_CCE(y["department"], department)), rel=1e-5)}


def test_a_model_with_one_named_output_takes_a_dict_or_a_list_of_one():
    x, y = _ticket_data(16)
    model = _ticket_model()
    single = mt.keras.Model(model.inputs, model.outputs[1])
    single.compile(loss={"department": _CCE}, metrics=["accuracy"])
    logs = single.evaluate(x, {"department": y["department"]}, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert single.evaluate(x, [y["department"]], verbose=0, return_dict=True) == logs


def test_history_holds_each_outputs_loss_of_the_step():
    """One step on one batch: History's output losses are those of the predictions the
    step began from, and its loss their weighted sum."""
    x, y = _ticket_data(32)
    model = _compile_dict(_ticket_model(as_dict=True))
    before = model.predict(x, verbose=0)
    history = model.fit(x, y, batch_size=32, verbose=0).history
    priority = float(_BCE(y["priority"], before["priority"]))
    department = float(_CCE(y["department"], before["department"]))
    assert history["priority_loss"][0] == pytest.approx(priority, rel=1e-5)
    assert history["department_loss"][0] == pytest.approx(department, rel=1e-5)
    assert history["loss"][0] == pytest.approx(priority + 0.2 * department, rel=1e-5)
