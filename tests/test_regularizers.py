"""Regularizers and layer losses, checked against Keras 3's formulas, defaults and semantics.

Keras 3's references: keras/src/regularizers/regularizers.py (formulas, defaults, configs),
keras/src/regularizers/__init__.py (``get``), keras/src/layers/layer.py (``add_loss``,
``losses``, the activity regularizer divided by the batch size, losses cleared when a
top-level call begins).
"""
import numpy as np
import pytest
from gradcases import Inputs

import minitrain as mt
from minitrain import gradcheck, layers, regularizers
from minitrain.regularizers import L1, L1L2, L2, OrthogonalRegularizer

rng = Inputs(seed=11)
X = rng.signed(4, 3)  # away from 0, where |x| has its kink


def _orthogonal_rows(x, factor):
    """Keras's test formula: factor * 0.5 * sum |U U^T - diag| / (n (n - 1) / 2)."""
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    return factor * 0.5 * np.sum(np.abs(u @ u.T * (1 - np.eye(n)))) / (n * (n - 1) / 2)


VALUE_CASES = [  # (id, regularizer, expected value on X)
    ("L1", L1(0.1), 0.1 * np.abs(X).sum()),
    ("L1 default 0.01", L1(), 0.01 * np.abs(X).sum()),
    ("L2", L2(0.1), 0.1 * np.square(X).sum()),
    ("L2 default 0.01", L2(), 0.01 * np.square(X).sum()),
    ("L1L2", L1L2(l1=0.1, l2=0.2), 0.1 * np.abs(X).sum() + 0.2 * np.square(X).sum()),
    ("L1L2 only l2", L1L2(l2=0.3), 0.3 * np.square(X).sum()),
    ("L1L2 defaults are 0", L1L2(), 0.0),
    ("OrthogonalRegularizer rows", OrthogonalRegularizer(0.1), _orthogonal_rows(X, 0.1)),
    ("OrthogonalRegularizer columns", OrthogonalRegularizer(0.1, "columns"),
     _orthogonal_rows(X.T, 0.1)),
]


@pytest.mark.parametrize("regularizer, expected", [row[1:] for row in VALUE_CASES],
                         ids=[row[0] for row in VALUE_CASES])
def test_values_follow_the_formulas_in_the_input_dtype(regularizer, expected):
    for dtype in ("float32", "float64"):
        value = regularizer(mt.Variable(X.astype(dtype)))
        assert value.shape == () and value.dtype == dtype
        np.testing.assert_allclose(value.numpy(), expected, rtol=1e-6 if dtype == "float32"
                                   else 1e-12)


@pytest.mark.parametrize("regularizer", [row[1] for row in VALUE_CASES],
                         ids=[row[0] for row in VALUE_CASES])
def test_gradients_match_finite_differences(regularizer):
    gradcheck.check_gradients(lambda x: regularizer(x), [X])


@pytest.mark.parametrize("make", [lambda v: L1(v), lambda v: L2(v), lambda v: L1L2(l1=v),
                                  lambda v: OrthogonalRegularizer(v)])
@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), "0.1", True, [0.1]])
def test_a_factor_must_be_a_non_negative_number(make, value):
    with pytest.raises(ValueError, match="expected a non-negative float"):
        make(value)


def test_none_means_the_default_factor_as_in_keras():
    assert L1(None).l1 == 0.01 and L2(None).l2 == 0.01
    assert L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


def test_orthogonal_regularizer_checks_its_mode_and_the_rank():
    with pytest.raises(ValueError, match="Received: mode=diagonal"):
        OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match=r"must have rank 2. Received: inputs.shape=\(2, 2, 2\)"):
        OrthogonalRegularizer()(mt.ones((2, 2, 2)))


@pytest.mark.parametrize("regularizer", [L1(0.1), L2(0.2), L1L2(0.1, 0.2),
                                         OrthogonalRegularizer(0.1, "columns")], ids=repr)
def test_get_config_round_trips(regularizer):
    config = regularizer.get_config()
    assert type(regularizer).from_config(config).get_config() == config
    serialized = {"class_name": type(regularizer).__name__, "config": config}
    assert regularizers.get(serialized).get_config() == config
    keras_form = {"module": "keras.regularizers", "registered_name": None, **serialized}
    assert regularizers.get(keras_form).get_config() == config


def test_the_base_class_has_no_config_and_no_penalty():
    with pytest.raises(NotImplementedError, match="does not implement get_config"):
        regularizers.Regularizer().get_config()
    assert regularizers.Regularizer()(mt.ones(3)) == 0.0


@pytest.mark.parametrize("name, cls", [("l1", L1), ("l2", L2), ("l1l2", L1L2), ("l1_l2", L1L2),
                                       ("L1L2", L1L2), ("L2", L2),
                                       ("orthogonal_regularizer", OrthogonalRegularizer)])
def test_get_by_name_builds_the_class_with_its_defaults(name, cls):
    regularizer = regularizers.get(name)
    assert type(regularizer) is cls
    assert regularizer.get_config() == cls().get_config()


def test_get_passes_instances_and_functions_through_and_builds_classes():
    assert regularizers.get(None) is None
    l2 = L2(0.5)
    assert regularizers.get(l2) is l2
    assert type(regularizers.get(L1)) is L1

    def penalty(x):
        return mt.reduce_sum(x)

    assert regularizers.get(penalty) is penalty
    assert regularizers.l1_l2 is L1L2 and regularizers.l2 is L2  # Keras's aliases


@pytest.mark.parametrize("identifier", ["typo", 3, {"class_name": "Nope"}])
def test_get_rejects_what_it_cannot_interpret(identifier):
    with pytest.raises(ValueError):
        regularizers.get(identifier)


# --- layer losses ---------------------------------------------------------------------------
class AddsItsInputSum(layers.Layer):
    def call(self, inputs):
        self.add_loss(mt.reduce_sum(inputs))
        return inputs


class CallsTwice(layers.Layer):
    def __init__(self):
        super().__init__()
        self.inner = AddsItsInputSum()

    def call(self, inputs):
        return self.inner(self.inner(inputs) * 2.0)


def _values(losses):
    return [float(loss) for loss in losses]


def test_add_loss_keeps_the_losses_of_the_last_call_only():
    layer = AddsItsInputSum()
    layer(mt.ones((2, 3)))
    layer(mt.ones((1, 3)))
    assert _values(layer.losses) == [3.0]


def test_losses_of_nested_layers_are_collected_and_a_shared_layer_keeps_both_calls():
    model = mt.Sequential([AddsItsInputSum(), CallsTwice()])
    model(mt.ones((1, 2)))
    assert _values(model.losses) == [2.0, 2.0, 4.0]
    model(mt.ones((1, 1)))  # the next top-level call starts afresh, in every layer
    assert _values(model.losses) == [1.0, 1.0, 2.0]
    assert _values(model.layers[1].losses) == [1.0, 2.0]


def test_a_call_that_raises_leaves_no_layer_marked_as_nested():
    class Fails(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = AddsItsInputSum()

        def call(self, inputs):
            self.inner(inputs)
            raise RuntimeError("fails after the inner call")

    outer = Fails()
    with pytest.raises(RuntimeError):
        outer(mt.ones((1, 2)))
    outer.inner(mt.ones((1, 3)))  # a top-level call of its own again: it starts afresh
    outer.inner(mt.ones((1, 3)))
    assert _values(outer.inner.losses) == [3.0]


def test_add_loss_takes_tensors_only():
    with pytest.raises(ValueError, match="on a tensor input. Received invalid value: 1.0"):
        AddsItsInputSum().add_loss(1.0)


def test_the_keras_docstring_example_kernel_and_activity_losses():
    # keras/src/regularizers/regularizers.py: 0.25 from the kernel, 25 / batch 5 from activity
    layer = layers.Dense(5, kernel_initializer="ones", kernel_regularizer=L1(0.01),
                         activity_regularizer=L2(0.01))
    layer(mt.ones((5, 5)) * 2.0)
    assert sorted(_values(layer.losses)) == pytest.approx([0.25, 5.0])
    layer(mt.ones((5, 5)) * 2.0)
    assert len(layer.losses) == 2  # the activity loss is replaced, not appended


def test_the_activity_loss_is_divided_by_the_batch_size():
    rows = rng.uniform(1, 4)
    layer = layers.Activation("linear", activity_regularizer="l2")
    for batch in (1, 3):
        layer(np.repeat(rows, batch, axis=0))
        assert _values(layer.losses) == pytest.approx([0.01 * np.square(rows).sum()])
    layer(np.zeros((0, 4)))
    assert _values(layer.losses) == [0.0]  # an empty batch adds nothing (divide_no_nan)


def test_activity_regularizer_is_a_settable_property_on_every_layer():
    layer = layers.Flatten()
    assert layer.activity_regularizer is None and layer(mt.ones((2, 2))) is not None
    assert layer.losses == []
    layer.activity_regularizer = "l1"
    assert type(layer.activity_regularizer) is L1
    layer(mt.ones((2, 3)))
    assert _values(layer.losses) == pytest.approx([0.01 * 6 / 2])


def test_weight_penalties_are_computed_from_the_current_weights():
    layer = layers.Dense(2, kernel_regularizer=L2(0.5), bias_regularizer=L1(0.25))
    layer(mt.ones((1, 3)))
    layer.kernel.assign(np.full((3, 2), 2.0))
    layer.bias.assign([1.0, -3.0])
    assert _values(layer.losses) == [0.5 * 4 * 6, 0.25 * 4]


def test_weight_penalties_come_from_trainable_weights_only():
    model = mt.Sequential([layers.Dense(2, kernel_regularizer="l2"),
                           layers.Dense(2, kernel_regularizer="l2")])
    model(mt.ones((1, 3)))
    model.layers[0].trainable = False
    assert len(model.losses) == 1
    model.trainable = False
    assert model.losses == []


@pytest.mark.parametrize("make, x, weight", [
    (lambda r: layers.Conv2D(2, 3, kernel_regularizer=r, bias_regularizer=r,
                             bias_initializer="ones"), np.ones((1, 4, 4, 1)), "kernel"),
    (lambda r: layers.Embedding(4, 3, embeddings_regularizer=r), np.array([[0, 3]]),
     "embeddings"),
])
def test_conv2d_and_embedding_take_weight_regularizers(make, x, weight):
    layer = make(L2(0.1))
    layer(x)
    expected = [0.1 * np.square(v.numpy()).sum() for v in layer.trainable_weights]
    assert _values(layer.losses) == pytest.approx(expected)
    assert getattr(layer, f"{weight}_regularizer").get_config() == {"l2": 0.1}


# --- gradients in a custom training loop -----------------------------------------------------
def _regularized_model():
    mt.random.set_seed(3)
    return mt.Sequential([
        layers.Dense(4, activation="tanh", kernel_regularizer=L1L2(0.01, 0.02),
                     bias_regularizer="l2", bias_initializer="ones",
                     activity_regularizer=L2(0.05), dtype="float64"),
        CallsTwice(),
        layers.Dense(2, kernel_regularizer=OrthogonalRegularizer(0.1, "columns"),
                     dtype="float64"),
    ])


def test_a_tape_loop_gets_the_gradients_of_loss_plus_model_losses():
    """The tape's gradients of loss + sum(model.losses), read inside the tape, against
    central differences of the same function of the weights (float64)."""
    model, x, y = _regularized_model(), rng.uniform(5, 3), rng.uniform(5, 2)
    model(x)
    variables = model.trainable_variables

    def total_loss():
        loss = mt.reduce_mean(mt.square(model(x) - y))
        return loss + sum(model.losses)

    def of_weights(*values):
        for variable, value in zip(variables, values):
            variable.assign(value)
        return total_loss()

    start = [v.numpy() for v in variables]
    numeric = gradcheck.numerical_gradients(of_weights, start)
    of_weights(*start)
    with mt.GradientTape() as tape:
        loss = total_loss()
    # numerical_gradients differentiates w * f, w its fixed cotangent (a scalar here)
    weight = mt.constant(gradcheck._cotangent(()))
    grads = tape.gradient(loss, variables, output_gradients=weight)
    for variable, got, want in zip(variables, grads, numeric):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-7,
                                   err_msg=variable.name)


def test_the_gradient_of_an_l2_penalty_alone_is_2_l2_w():
    layer = layers.Dense(3, kernel_regularizer=L2(0.1), use_bias=False)
    layer(mt.ones((1, 2)))
    with mt.GradientTape() as tape:
        penalty = sum(layer.losses)
    np.testing.assert_allclose(tape.gradient(penalty, layer.kernel).numpy(),
                               0.2 * layer.kernel.numpy(), rtol=1e-6)
