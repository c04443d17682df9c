"""mt.losses against the formulas written out in numpy, and their tape gradients against
finite differences."""
import numpy as np
import pytest

import minitrain as mt
from minitrain import losses
from minitrain.gradcheck import check_gradients

EPS = 1e-7
rng = np.random.default_rng(0)
Y_REG, P_REG = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) * 2  # errors on both sides of 1
Y_BIN = rng.integers(0, 2, size=(4, 3)).astype(np.float64)
P_BIN = rng.uniform(0.05, 0.95, size=(4, 3))
LOGITS = rng.normal(size=(4, 3)) * 3
LABELS = np.array([0, 2, 1, 2])
ONE_HOT = np.eye(3)[LABELS]
P_CAT = rng.uniform(0.1, 1.0, size=(4, 3))  # rows that do not sum to 1: Keras renormalises


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_bce(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)), axis=-1)


def np_cce(y, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(y * np.log(p), axis=-1)


def np_huber(y, p, delta):
    e = np.abs(p - y)
    return np.mean(np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2), axis=-1)


# (loss, y_true, y_pred, per-sample losses computed from the formula)
CASES = {
    "mse": (losses.MeanSquaredError(), Y_REG, P_REG, np.mean((Y_REG - P_REG) ** 2, -1)),
    "mae": (losses.MeanAbsoluteError(), Y_REG, P_REG, np.mean(np.abs(Y_REG - P_REG), -1)),
    "huber": (losses.Huber(), Y_REG, P_REG, np_huber(Y_REG, P_REG, 1.0)),
    "huber_delta": (losses.Huber(delta=2.5), Y_REG, P_REG, np_huber(Y_REG, P_REG, 2.5)),
    "bce": (losses.BinaryCrossentropy(), Y_BIN, P_BIN, np_bce(Y_BIN, P_BIN)),
    "bce_logits": (losses.BinaryCrossentropy(from_logits=True), Y_BIN, LOGITS,
                   np_bce(Y_BIN, sigmoid(LOGITS))),
    "bce_smoothing": (losses.BinaryCrossentropy(label_smoothing=0.2), Y_BIN, P_BIN,
                      np_bce(Y_BIN * 0.8 + 0.1, P_BIN)),
    "cce": (losses.CategoricalCrossentropy(), ONE_HOT, P_CAT, np_cce(ONE_HOT, P_CAT)),
    "cce_logits": (losses.CategoricalCrossentropy(from_logits=True), ONE_HOT, LOGITS,
                   np_cce(ONE_HOT, softmax(LOGITS))),
    "cce_smoothing": (losses.CategoricalCrossentropy(label_smoothing=0.3), ONE_HOT, P_CAT,
                      np_cce(ONE_HOT * 0.7 + 0.1, P_CAT)),
    "scce": (losses.SparseCategoricalCrossentropy(), LABELS, P_CAT, np_cce(ONE_HOT, P_CAT)),
    "scce_logits": (losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, LOGITS,
                    np_cce(ONE_HOT, softmax(LOGITS))),
}


@pytest.mark.parametrize("case", CASES)
def test_loss_is_the_batch_mean_of_the_formula(case):
    loss, y_true, y_pred, per_sample = CASES[case]
    got = loss(y_true, mt.constant(y_pred))
    assert got.shape == ()
    np.testing.assert_allclose(float(got), per_sample.mean(), rtol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_function_form_gives_per_sample_losses(case):
    loss, y_true, y_pred, per_sample = CASES[case]
    kwargs = {k: v for k, v in loss.get_config().items() if k not in ("name", "reduction")}
    got = getattr(losses, loss.fn.__name__)(y_true, mt.constant(y_pred), **kwargs)
    np.testing.assert_allclose(got.numpy(), per_sample, rtol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_tape_gradient_matches_finite_differences(case):
    loss, y_true, y_pred, _ = CASES[case]
    check_gradients(lambda p: loss(y_true, p), [y_pred])


def test_regression_losses_differentiate_with_respect_to_the_labels_too():
    check_gradients(lambda y, p: losses.MeanSquaredError()(y, p), [Y_REG, P_REG])
    check_gradients(lambda y, p: losses.Huber()(y, p), [Y_REG, P_REG])


@pytest.mark.parametrize("loss, y_true, y_pred", [
    (losses.BinaryCrossentropy(from_logits=True), [[1.0, 0.0, 1.0, 0.0]],
     [[1000.0, -1000.0, -1000.0, 1000.0]]),
    (losses.CategoricalCrossentropy(from_logits=True), [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
     [[1000.0, -1000.0, 0.0], [-500.0, 500.0, 0.0]]),
    (losses.SparseCategoricalCrossentropy(from_logits=True), [1, 0],
     [[1000.0, -1000.0, 0.0], [-500.0, 500.0, 0.0]]),
])
def test_extreme_logits_give_finite_loss_and_gradient(loss, y_true, y_pred):
    logits = mt.Variable(np.array(y_pred))
    with mt.GradientTape() as tape:
        value = loss(y_true, logits)
    grad = tape.gradient(value, logits).numpy()
    assert np.isfinite(float(value)) and float(value) > 100  # confidently wrong rows cost ~1000
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("loss, y_true, y_pred", [
    (losses.BinaryCrossentropy(), [[1.0, 0.0]], [[0.0, 1.0]]),
    (losses.CategoricalCrossentropy(), [[0.0, 1.0]], [[1.0, 0.0]]),
    (losses.SparseCategoricalCrossentropy(), [1], [[1.0, 0.0]]),
])
def test_probabilities_of_exactly_zero_are_clipped_to_keras_epsilon(loss, y_true, y_pred):
    np.testing.assert_allclose(float(loss(y_true, np.array(y_pred))), -np.log(EPS), rtol=1e-9)


def test_from_logits_agrees_with_probabilities():
    np.testing.assert_allclose(
        float(losses.BinaryCrossentropy(from_logits=True)(Y_BIN, LOGITS)),
        float(losses.BinaryCrossentropy()(Y_BIN, sigmoid(LOGITS))), rtol=1e-6)
    np.testing.assert_allclose(
        float(losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, LOGITS)),
        float(losses.CategoricalCrossentropy()(ONE_HOT, softmax(LOGITS))), rtol=1e-9)


def test_column_predictions_do_not_broadcast_against_flat_labels():
    y_true, y_pred = np.array([1.0, 2.0, 3.0]), np.array([[1.5], [2.0], [2.0]])
    assert float(losses.MeanSquaredError()(y_true, y_pred)) == pytest.approx((0.25 + 1) / 3)


def test_sparse_labels_may_carry_a_trailing_axis_of_one():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(loss(LABELS[:, None], LOGITS)) == float(loss(LABELS, LOGITS))


def test_reductions_and_sample_weight():
    per_sample = CASES["mse"][3]
    weight = np.array([1.0, 0.0, 2.0, 0.5])
    np.testing.assert_allclose(losses.MeanSquaredError(reduction=None)(Y_REG, P_REG).numpy(),
                               per_sample)
    assert float(losses.MeanSquaredError(reduction="sum")(Y_REG, P_REG)) == pytest.approx(
        per_sample.sum())
    # Keras's "sum_over_batch_size" divides by the batch size, not by the sum of the weights
    weighted = losses.MeanSquaredError()(Y_REG, P_REG, sample_weight=weight)
    assert float(weighted) == pytest.approx((per_sample * weight).sum() / 4)
    column = losses.MeanSquaredError()(Y_REG, P_REG, sample_weight=weight[:, None])
    assert float(column) == pytest.approx(float(weighted))


def test_losses_keep_float32():
    value = losses.CategoricalCrossentropy()(ONE_HOT, P_CAT.astype(np.float32))
    assert value.dtype == mt.float32


def test_invalid_labels_are_reported():
    with pytest.raises(ValueError, match=r"outside the valid range \[0, 3\)"):
        losses.SparseCategoricalCrossentropy()([0, 3], P_CAT[:2])
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.CategoricalCrossentropy()(LABELS, P_CAT)
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")


@pytest.mark.parametrize("name, cls", [
    ("mse", losses.MeanSquaredError), ("MAE", losses.MeanAbsoluteError),
    ("huber", losses.Huber), ("binary_crossentropy", losses.BinaryCrossentropy),
    ("CategoricalCrossentropy", losses.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
])
def test_get_by_name(name, cls):
    assert type(losses.get(name)) is cls


def test_get_from_config_instance_and_unknown_name():
    loss = losses.get({"class_name": "SparseCategoricalCrossentropy",
                       "config": {"from_logits": True}})
    assert loss.get_config()["from_logits"] is True
    assert losses.get(loss) is loss
    with pytest.raises(ValueError, match="valid names: .*mse.*sparse_categorical_crossentropy"):
        losses.get("msee")


def test_the_fused_sparse_loss_matches_the_per_sample_losses_averaged():
    """Keras's usual classifier loss runs as one fused op; its value and gradient are those
    of the per-sample losses averaged (the path taken with a sample weight)."""
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    logits = mt.constant(LOGITS)
    with mt.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        fused = loss(LABELS, logits)
        averaged = loss(LABELS, logits, sample_weight=np.ones(len(LABELS)))
    np.testing.assert_allclose(float(fused), float(averaged), rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(fused, logits).numpy(),
                               tape.gradient(averaged, logits).numpy(), rtol=1e-12)


def test_the_fused_sparse_loss_reports_bad_labels_by_the_loss_name():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: a label is outside "
                                         r"the valid range \[0, 3\)"):
        loss([0, 3], LOGITS[:2])
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy: labels of shape"):
        loss([0, 1, 2], LOGITS[:2])
    with np.errstate(invalid="ignore"):  # the mean of nothing, as reduce_mean gives it
        assert np.isnan(float(loss(np.zeros(0, int), np.zeros((0, 3)))))
