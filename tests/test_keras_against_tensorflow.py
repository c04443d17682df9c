"""Differential training tests: the same Keras program in tf.keras and in mt.keras, compared.

Optional: runs only where TensorFlow is importable (it is not a dependency of minitrain, and
the project's own environment never needs it) and skips as a whole otherwise, with one reason.

Each row of CASES is one model, one optimizer and one loss, written once against Keras's API as
functions of ``keras`` and run with ``keras`` = tf.keras and ``keras`` = mt.keras: the model is
built in tf.keras, its initial weights are copied into the mt.keras model with
get_weights/set_weights, both are compiled with the same optimizer, loss and metrics and fitted
for 3 epochs on the same small fixed float32 data (256 samples, batch_size 32, shuffle=False,
validation_data), with TF_CPP_MIN_LOG_LEVEL=3 and keras.utils.set_random_seed in both. Compared,
relative 1e-5 (float32): every per-epoch value of History.history (loss, val_loss and the
metrics), evaluate's results, predict's outputs and get_weights() after fit. The shared runner
is tests/kerascompare.py.

A row where minitrain differs from Keras is marked xfail(strict=True, reason="minitrain bug:
...") for that comparison, with the numbers, so that fixing minitrain makes it fail until it is
unmarked.

Where float32 rounding, not minitrain, is the difference, it is said where it is allowed:
WEIGHT_NOISE names the rows (Adam on the MLP) where one weight, whose gradient is float32
cancellation noise at Adam's epsilon scale, ends 4.5e-06 apart; the optimizers' steps
themselves are compared with Keras's on the same gradients (test_optimizer_steps_match_keras).
Not compared: layers that draw random numbers while training (Dropout, GaussianNoise):
minitrain's random stream is not TensorFlow's; shuffle=True, for the same reason; training that
diverges (e.g. reduction="sum" at a learning rate made for the mean), where float32 rounding
grows without bound in both libraries.
"""
import collections
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed: the differential "
                                              "tests against it are optional")

from kerascompare import relative_differences, train_both  # noqa: E402

import minitrain as mt  # noqa: E402

RTOL = 1e-5        # relative, float32
WEIGHTS_ATOL = 1e-6  # for weights and outputs that pass near 0, where relative means little

# ---------------------------------------------------------------------------------------------
# data: small, fixed, float32


def _data():
    rng = np.random.default_rng(20260111)
    n, n_val = 256, 64

    def split(x, y):
        return {"x": x[:n], "y": y[:n], "x_val": x[n:], "y_val": y[n:]}

    features = rng.normal(size=(n + n_val, 20)).astype(np.float32)
    w = rng.normal(size=(20, 5)).astype(np.float32)
    classes = np.argmax(features @ w + 0.5 * rng.normal(size=(n + n_val, 5)), axis=1)
    images = rng.uniform(0.0, 1.0, size=(n + n_val, 8, 8, 1)).astype(np.float32)
    image_classes = (images[:, :4].mean(axis=(1, 2, 3)) * 10).astype(np.int64) % 5
    values = (features @ w[:, :3] / 4).astype(np.float32)
    latent = rng.normal(size=(n + n_val, 8)).astype(np.float32)
    targets = np.tanh(rng.normal(size=(n + n_val, 8, 8, 1))).astype(np.float32)
    return {
        "classes": split(features, classes.astype(np.int32)),
        "onehot": split(features, np.eye(5, dtype=np.float32)[classes]),
        "binary": split(features, (features[:, :1] + features[:, 1:2] > 0).astype(np.float32)),
        "regression": split(features, values),
        "images": split(images, image_classes.astype(np.int32)),
        "latent": split(latent, targets),
        "two_outputs": {"x": features[:n], "y": {"classes": classes[:n], "values": values[:n]},
                        "x_val": features[n:],
                        "y_val": {"classes": classes[n:], "values": values[n:]}},
        "ids": split(rng.integers(0, 10, size=(n + n_val, 6)).astype(np.int32),
                     classes.astype(np.int32)),
        "latent_5x5": split(latent, targets[:, :5, :5]),
        "two_inputs": {"x": [features[:n, :12], features[:n, 12:]], "y": classes[:n],
                       "x_val": [features[n:, :12], features[n:, 12:]], "y_val": classes[n:]},
    }


DATA = _data()

# ---------------------------------------------------------------------------------------------
# models, written once against Keras's API (``keras`` is tf.keras or mt.keras)


def mlp(regularizer=None, out=5, activation=None):
    def build(keras):
        reg = regularizer(keras) if regularizer else None
        return keras.Sequential([
            keras.Input(shape=(20,)),
            keras.layers.Dense(32, activation="relu", kernel_regularizer=reg),
            keras.layers.Dense(16, activation="tanh", kernel_regularizer=reg),
            keras.layers.Dense(out, activation=activation, kernel_regularizer=reg),
        ])
    return build


def functional_concat(activation="softmax", regularizers=(None, None)):
    """One input, two Dense branches (the second two layers deep), Concatenate, Dense."""
    def build(keras):
        reg_a, reg_b = (r(keras) if r else None for r in regularizers)
        inputs = keras.Input(shape=(20,))
        a = keras.layers.Dense(16, activation="relu", kernel_regularizer=reg_a)(inputs)
        b = keras.layers.Dense(8, activation="tanh", kernel_regularizer=reg_b)(inputs)
        b = keras.layers.Dense(8, activation="sigmoid")(b)
        h = keras.layers.Concatenate()([a, b])
        outputs = keras.layers.Dense(5, activation=activation, kernel_regularizer=reg_a)(h)
        return keras.Model(inputs=inputs, outputs=outputs)
    return build


def functional_two_inputs(keras):
    """Two inputs, a Dense branch each, Concatenate, Dense: fit on a list of two arrays."""
    left, right = keras.Input(shape=(12,)), keras.Input(shape=(8,))
    a = keras.layers.Dense(16, activation="relu")(left)
    b = keras.layers.Dense(8, activation="tanh")(right)
    outputs = keras.layers.Dense(5)(keras.layers.Concatenate()([a, b]))
    return keras.Model(inputs=[left, right], outputs=outputs)


def two_outputs(keras):
    """One input, two named outputs (a class and a regression head)."""
    inputs = keras.Input(shape=(20,))
    h = keras.layers.Dense(32, activation="relu")(inputs)
    classes = keras.layers.Dense(5, name="classes")(h)
    values = keras.layers.Dense(3, name="values")(h)
    return keras.Model(inputs=inputs, outputs={"classes": classes, "values": values})


def mlp_activity_regularized(keras):
    """activity_regularizer and bias_regularizer (the penalties enter the History's loss)."""
    return keras.Sequential([
        keras.Input(shape=(20,)),
        keras.layers.Dense(16, activation="relu",
                           activity_regularizer=keras.regularizers.L1(1e-3)),
        keras.layers.Dense(5, bias_regularizer=keras.regularizers.L1(1e-2)),
    ])


def generator_regularized(keras):
    """Conv2DTranspose with kernel, bias and activity regularizers."""
    return keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(4 * 4 * 4),
        keras.layers.Reshape((4, 4, 4)),
        keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same",
                                     kernel_regularizer=keras.regularizers.L1(1e-3),
                                     bias_regularizer=keras.regularizers.L2(1e-2),
                                     activity_regularizer=keras.regularizers.L2(1e-3)),
    ])


def nested(keras):
    """A Sequential model called inside a functional one."""
    inner = keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(16, activation="relu")])
    inputs = keras.Input(shape=(20,))
    return keras.Model(inputs, keras.layers.Dense(5)(inner(inputs)))


def embedding(keras):
    return keras.Sequential([
        keras.Input(shape=(6,), dtype="int32"),
        keras.layers.Embedding(10, 4),
        keras.layers.Flatten(),
        keras.layers.Dense(5),
    ])


def mlp_softmax_l1l2(keras):
    return keras.Sequential([
        keras.Input(shape=(20,)),
        keras.layers.Dense(32, activation="relu",
                           kernel_regularizer=keras.regularizers.L1L2(l1=1e-4, l2=1e-3),
                           bias_regularizer=keras.regularizers.L2(1e-2)),
        keras.layers.Dense(5, activation="softmax"),
    ])


def cnn_pools(dilation_rate=1):
    """Strides, ELU, AveragePooling2D, GlobalAveragePooling2D, softmax."""
    def build(keras):
        dilated = {"dilation_rate": dilation_rate} if dilation_rate != 1 else {}
        return keras.Sequential([
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(4, 2, activation="elu", **dilated),
            keras.layers.AveragePooling2D(2, padding="same"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(5, activation="softmax"),
        ])
    return build


def generator_valid(keras):
    """Conv2DTranspose with padding="valid" (3 -> 7 -> 8), then Cropping2D to 5 x 5."""
    return keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(3 * 3 * 4),
        keras.layers.Reshape((3, 3, 4)),
        keras.layers.Conv2DTranspose(3, 3, strides=2, padding="valid"),
        keras.layers.LeakyReLU(negative_slope=0.2),
        keras.layers.Conv2DTranspose(1, 2, padding="valid"),
        keras.layers.Cropping2D(((0, 3), (0, 3))),
    ])


def cnn(regularizer=None):
    def build(keras):
        reg = regularizer(keras) if regularizer else None
        return keras.Sequential([
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", kernel_regularizer=reg),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(6, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(5),
        ])
    return build


def generator(negative_slope=0.2, regularizer=None):
    """DCGAN's generator, small: Dense, Reshape, Conv2DTranspose (strides 2), LeakyReLU."""
    def build(keras):
        reg = regularizer(keras) if regularizer else None
        return keras.Sequential([
            keras.Input(shape=(8,)),
            keras.layers.Dense(4 * 4 * 8, use_bias=False),
            keras.layers.LeakyReLU(negative_slope=negative_slope),
            keras.layers.Reshape((4, 4, 8)),
            keras.layers.Conv2DTranspose(4, 3, strides=1, padding="same", use_bias=False,
                                         kernel_regularizer=reg),
            keras.layers.LeakyReLU(negative_slope=negative_slope),
            keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh"),
        ])
    return build


def mlp_batchnorm(**options):
    def build(keras):
        return keras.Sequential([
            keras.Input(shape=(20,)),
            keras.layers.Dense(32, use_bias=False),
            keras.layers.BatchNormalization(**options),
            keras.layers.Activation("relu"),
            keras.layers.Dense(5),
        ])
    return build


def cnn_batchnorm():
    def build(keras):
        return keras.Sequential([
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(negative_slope=0.1),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(5),
        ])
    return build


def generator_batchnorm():
    """DCGAN's generator block: Dense, BatchNormalization, LeakyReLU, Conv2DTranspose."""
    def build(keras):
        return keras.Sequential([
            keras.Input(shape=(8,)),
            keras.layers.Dense(4 * 4 * 8, use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.LeakyReLU(),
            keras.layers.Reshape((4, 4, 8)),
            keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="tanh"),
        ])
    return build

# ---------------------------------------------------------------------------------------------
# optimizers, losses, regularizers


def sgd(keras):
    return keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)


def sgd_plain(keras):
    return keras.optimizers.SGD(learning_rate=0.1)


def adam(keras):
    return keras.optimizers.Adam(learning_rate=0.01)


def rmsprop(keras):
    return keras.optimizers.RMSprop(learning_rate=0.005)


def sgd_nesterov(keras):
    return keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)


def adam_amsgrad(keras):
    return keras.optimizers.Adam(learning_rate=0.01, amsgrad=True)


def rmsprop_centered(keras):
    return keras.optimizers.RMSprop(learning_rate=0.005, momentum=0.5, centered=True)


def exponential_decay(keras):
    return keras.optimizers.schedules.ExponentialDecay(0.02, decay_steps=4, decay_rate=0.8)


def adam_schedule(keras):
    return keras.optimizers.Adam(exponential_decay(keras))


def adamw(keras):
    return keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.05)


def sgd_clipnorm(keras):
    return keras.optimizers.SGD(learning_rate=0.1, momentum=0.5, clipnorm=0.05)


def rmsprop_global_clipnorm(keras):
    return keras.optimizers.RMSprop(learning_rate=0.005, global_clipnorm=0.1)


def sgd_weight_decay(keras):
    return keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, weight_decay=0.01)


def adam_clipvalue(keras):
    return keras.optimizers.Adam(learning_rate=0.01, clipvalue=0.01)


def adam_betas(keras):
    return keras.optimizers.Adam(learning_rate=0.01, beta_1=0.5, beta_2=0.9, epsilon=1e-5)


def rmsprop_rho(keras):
    return keras.optimizers.RMSprop(learning_rate=0.005, rho=0.5, epsilon=1e-4)


OPTIMIZERS = {"sgd": sgd, "adam": adam, "rmsprop": rmsprop}


def sparse_logits(keras):
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def categorical(keras):
    return keras.losses.CategoricalCrossentropy()


def categorical_logits(keras):
    return keras.losses.CategoricalCrossentropy(from_logits=True)


def binary(keras):
    return keras.losses.BinaryCrossentropy()


def binary_logits(keras):
    return keras.losses.BinaryCrossentropy(from_logits=True)


def mse(keras):
    return keras.losses.MeanSquaredError()


def mse_name(keras):
    return "mse"


def sparse_name(keras):
    return "sparse_categorical_crossentropy"


def sparse_logits_sum(keras):
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")


def categorical_smoothed(keras):
    return keras.losses.CategoricalCrossentropy(label_smoothing=0.1)


def huber(keras):
    return keras.losses.Huber(delta=0.5)


def binary_name(keras):
    return "binary_crossentropy"


def two_losses(keras):
    return {"classes": sparse_logits(keras), "values": mse(keras)}


def l2(keras):
    return keras.regularizers.L2(1e-3)


def l1(keras):
    return keras.regularizers.L1(1e-3)


REGULARIZERS = {"l2": l2, "l1": l1}

ALL = ("history", "evaluate", "predict", "weights")

EMBEDDING_SPARSE = (
    "minitrain differs: tf.keras hands Embedding's gradient to the optimizer as IndexedSlices, "
    "one slice per looked-up id, and Adam/RMSprop square those slices before the repeated ids "
    "are summed (v gets sum g_i^2, not (sum g_i)^2); minitrain's gradient is dense. Loss per "
    "epoch, Adam: minitrain 1.6141545, 1.5966613, 1.5837905 vs Keras 1.6138382, 1.5954829, "
    "1.5824441 (2.0e-4 growing to 8.5e-4), val_loss epoch 1 1.6221973 vs 1.6229492; RMSprop: "
    "1.6135662 vs 1.6129361 (3.9e-4) growing to 1.0e-3. minitrain equals Keras given the "
    "dense gradient, and with SGD (embedding-sgd passes): see "
    "test_embedding_gradient_is_dense_in_minitrain_sliced_in_keras")
AUC = ("minitrain gap: compile(metrics=['auc']) raises ValueError (\"unknown metric 'auc'\"): "
       "minitrain has no AUC metric (nor Precision, Recall, top-k accuracy) where Keras does")
DILATION = ("minitrain gap: Conv2D(dilation_rate=2) raises TypeError('Conv2D: unexpected keyword "
            "arguments ['dilation_rate']') where Keras builds a dilated convolution")


# ---------------------------------------------------------------------------------------------
# the table: one row per model / optimizer / loss

Case = collections.namedtuple("Case",
                              "id build optimizer loss data metrics fit compile xfail")


def case(id, build, optimizer, loss, data, metrics=(), fit=None, compile=None, xfail=None):
    """One row; ``metrics``: names (a list, or a dict by output); ``fit``: fit's arguments
    other than the defaults (batch_size 32, 3 epochs, shuffle=False, validation_data);
    ``compile``: compile's other arguments; ``xfail``: {test: reason} for the comparisons that
    minitrain fails (test: "history", "evaluate", "predict" or "weights")."""
    metrics = dict(metrics) if isinstance(metrics, dict) else tuple(metrics)
    return Case(id, build, optimizer, loss, data, metrics, fit, compile, dict(xfail or {}))


CASES = (
    # Dense MLP, Sequential, sparse categorical crossentropy from logits, accuracy
    [case(f"mlp-{o}", mlp(), OPTIMIZERS[o], sparse_logits, "classes", ["accuracy"])
     for o in OPTIMIZERS]
    # the same with kernel regularizers (the History's loss includes the penalties)
    + [case(f"mlp-{o}-{r}", mlp(REGULARIZERS[r]), OPTIMIZERS[o], sparse_logits, "classes",
            ["accuracy"])
       for r in REGULARIZERS for o in OPTIMIZERS]
    + [
        case("mlp-sgd-plain", mlp(), sgd_plain, sparse_logits, "classes", ["accuracy"]),
        # functional: two Dense branches concatenated
        case("functional-concat-sgd-categorical", functional_concat(), sgd, categorical,
             "onehot", ["accuracy"]),
        case("functional-concat-adam-categorical", functional_concat(), adam, categorical,
             "onehot", ["accuracy", "categorical_accuracy"]),
        case("functional-concat-rmsprop-categorical-logits", functional_concat(None), rmsprop,
             categorical_logits, "onehot", ["accuracy"]),
        case("functional-concat-adam-l2-l1", functional_concat(regularizers=(l2, l1)), adam,
             categorical, "onehot", ["accuracy"]),
        # binary crossentropy (probabilities and logits), MSE
        case("mlp-adam-binary", mlp(out=1, activation="sigmoid"), adam, binary, "binary",
             ["accuracy"]),
        case("mlp-sgd-binary-logits", mlp(out=1), sgd, binary_logits, "binary",
             ["accuracy", "binary_accuracy"]),
        case("mlp-rmsprop-mse", mlp(out=3), rmsprop, mse, "regression", ["mae", "mse"]),
        case("mlp-sgd-mse-by-name", mlp(out=3), sgd_plain, mse_name, "regression"),
        # a small CNN: Conv2D + MaxPooling2D + Flatten + Dense
        case("cnn-sgd", cnn(), sgd, sparse_logits, "images", ["accuracy"]),
        case("cnn-adam", cnn(), adam, sparse_logits, "images", ["accuracy"]),
        case("cnn-rmsprop-l2", cnn(l2), rmsprop, sparse_logits, "images", ["accuracy"]),
        # generator-like: Dense + LeakyReLU + Reshape + Conv2DTranspose, MSE
        case("generator-adam-mse", generator(), adam, mse, "latent"),
        case("generator-sgd-mse", generator(), sgd, mse, "latent"),
        case("generator-rmsprop-mse", generator(0.3), rmsprop, mse, "latent"),
        # BatchNormalization: batch statistics in fit, moving averages in evaluate/predict
        case("batchnorm-mlp-adam", mlp_batchnorm(), adam, sparse_logits, "classes",
             ["accuracy"]),
        case("batchnorm-mlp-sgd", mlp_batchnorm(), sgd, sparse_logits, "classes",
             ["accuracy"]),
        case("batchnorm-cnn-rmsprop", cnn_batchnorm(), rmsprop, sparse_logits, "images",
             ["accuracy"]),
        case("batchnorm-generator-adam-mse", generator_batchnorm(), adam, mse, "latent"),
        # more optimizer settings
        case("mlp-sgd-nesterov", mlp(), sgd_nesterov, sparse_logits, "classes", ["accuracy"]),
        case("mlp-adam-amsgrad", mlp(), adam_amsgrad, sparse_logits, "classes", ["accuracy"]),
        case("mlp-rmsprop-centered-momentum", mlp(), rmsprop_centered, sparse_logits,
             "classes", ["accuracy"]),
        # more regularizers: L1L2 and a bias_regularizer; L2 on a Conv2DTranspose kernel
        case("mlp-adam-l1l2-bias", mlp_softmax_l1l2, adam, sparse_name, "classes",
             ["sparse_categorical_accuracy"]),
        case("generator-adam-mse-l2", generator(regularizer=l2), adam, mse, "latent"),
        # learning-rate schedule, decoupled weight decay, gradient clipping
        # (on the concat model: the mlp's kernel[0][10, 23] is WEIGHT_NOISE's element, which
        # Adam at lr 0.02, scheduled or not, moves 8e-06 apart and predict then 2e-05 apart)
        case("functional-concat-adam-exponential-decay", functional_concat(), adam_schedule,
             categorical, "onehot", ["accuracy"]),
        case("mlp-adamw", mlp(), adamw, sparse_logits, "classes", ["accuracy"]),
        case("mlp-sgd-clipnorm", mlp(), sgd_clipnorm, sparse_logits, "classes", ["accuracy"]),
        case("cnn-rmsprop-global-clipnorm", cnn(), rmsprop_global_clipnorm, sparse_logits,
             "images", ["accuracy"]),
        # two named outputs, a loss each (the History has each output's loss too)
        case("functional-two-outputs-adam", two_outputs, adam, two_losses, "two_outputs"),
        # more layers and models: nested, Conv2DTranspose "valid", strides/ELU/average pools,
        # Embedding, BatchNormalization's options
        case("nested-sequential-adam", nested, adam, sparse_logits, "classes", ["accuracy"]),
        case("generator-valid-adam-mse", generator_valid, adam, mse, "latent_5x5"),
        case("cnn-pools-adam", cnn_pools(), adam, sparse_name, "images", ["accuracy"]),
        case("cnn-dilated-adam", cnn_pools(dilation_rate=2), adam, sparse_name, "images",
             ["accuracy"], xfail=dict.fromkeys(ALL, DILATION)),
        case("embedding-sgd", embedding, sgd, sparse_logits, "ids", ["accuracy"]),
        case("embedding-adam", embedding, adam, sparse_logits, "ids", ["accuracy"],
             xfail=dict.fromkeys(ALL, EMBEDDING_SPARSE)),
        case("embedding-rmsprop", embedding, rmsprop, sparse_logits, "ids", ["accuracy"],
             xfail=dict.fromkeys(ALL, EMBEDDING_SPARSE)),
        case("batchnorm-options-sgd", mlp_batchnorm(momentum=0.9, epsilon=1e-3, center=False),
             sgd, sparse_logits, "classes", ["accuracy"]),
        # more losses: reduction="sum", label smoothing, Huber, binary crossentropy by name
        case("mlp-adam-sum-reduction", mlp(), adam, sparse_logits_sum, "classes"),
        case("functional-concat-adam-label-smoothing", functional_concat(), adam,
             categorical_smoothed, "onehot", ["accuracy"]),
        case("mlp-adam-huber", mlp(out=3), adam, huber, "regression", ["mae"]),
        case("mlp-rmsprop-binary-by-name", mlp(out=1, activation="sigmoid"), rmsprop,
             binary_name, "binary", ["accuracy"]),
        # more of fit's arguments
        case("mlp-rmsprop-validation-batch-size", mlp(), rmsprop, sparse_logits, "classes",
             ["accuracy"], fit={"validation_batch_size": 20}),
        case("mlp-sgd-initial-epoch", mlp(), sgd, sparse_logits, "classes", ["accuracy"],
             fit={"initial_epoch": 1, "epochs": 4}),
        case("mlp-sgd-steps-per-epoch", mlp(), sgd_plain, sparse_logits, "classes",
             fit={"steps_per_epoch": 4, "epochs": 2}),
        case("mlp-adam-binary-auc", mlp(out=1, activation="sigmoid"), adam, binary, "binary",
             ["auc"], xfail=dict.fromkeys(ALL, AUC)),
        case("mlp-adam-class-weight", mlp(), adam, sparse_logits, "classes", ["accuracy"],
             fit={"class_weight": {0: 1.0, 1: 2.0, 2: 0.5, 3: 1.0, 4: 1.5}}),
        # more optimizer arguments
        case("mlp-sgd-weight-decay", mlp(), sgd_weight_decay, sparse_logits, "classes",
             ["accuracy"]),
        # (the mlp's WEIGHT_NOISE element reaches predict here: 5.6e-05 at one output)
        case("functional-concat-adam-clipvalue", functional_concat(), adam_clipvalue,
             categorical, "onehot", ["accuracy"]),
        case("functional-concat-adam-betas", functional_concat(), adam_betas, categorical,
             "onehot", ["accuracy"]),
        case("mlp-rmsprop-rho-epsilon", mlp(), rmsprop_rho, sparse_logits, "classes",
             ["accuracy"]),
        # activity and bias regularizers, on Dense and Conv2DTranspose
        case("mlp-adam-activity-regularizer", mlp_activity_regularized, adam, sparse_logits,
             "classes", ["accuracy"]),
        case("generator-adam-mse-regularizers", generator_regularized, adam, mse, "latent"),
        # two outputs: loss_weights, metrics by output
        case("functional-two-outputs-adam-loss-weights", two_outputs, adam, two_losses,
             "two_outputs", compile={"loss_weights": {"classes": 1.0, "values": 0.5}}),
        case("functional-two-outputs-sgd-metrics-by-output", two_outputs, sgd, two_losses,
             "two_outputs", {"classes": ["accuracy"], "values": ["mae"]}),
        # per-sample weights in fit
        case("mlp-sgd-sample-weight", mlp(), sgd, sparse_logits, "classes", ["accuracy"],
             fit={"sample_weight": np.linspace(0.25, 2.0, 256, dtype=np.float32)}),
        # two inputs (fit on a list of arrays)
        case("functional-two-inputs-adam", functional_two_inputs, adam, sparse_logits,
             "two_inputs", ["accuracy"]),
        # fit's other arguments: a partial last batch (256 = 5 * 48 + 16), validation_split
        case("mlp-adam-batch-48", mlp(), adam, sparse_logits, "classes", ["accuracy"],
             fit={"batch_size": 48}),
        case("mlp-sgd-validation-split", mlp(), sgd, sparse_logits, "classes", ["accuracy"],
             fit={"validation_split": 0.25}),
        case("cnn-rmsprop-batch-100", cnn(), rmsprop, sparse_logits, "images", ["accuracy"],
             fit={"batch_size": 100, "epochs": 4}),
    ]
)



def params(test):
    """The rows for one comparison, a row marked xfail(strict=True) where it says so."""
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail[test])]
                         if test in c.xfail else []) for c in CASES]

# ---------------------------------------------------------------------------------------------
# the runner: each case trained once per session, in both


_RESULTS = {}


def results(c):
    if c.id not in _RESULTS:
        _RESULTS[c.id] = train_both(tf.keras, mt.keras, c, DATA[c.data])
    return _RESULTS[c.id]


def assert_close(ref, got, what, atol=0.0):
    ref = np.asarray(ref)
    got = np.asarray(got)
    assert ref.shape == got.shape, f"{what}: shape {got.shape} (minitrain) != {ref.shape} (Keras)"
    if not np.allclose(got, ref, rtol=RTOL, atol=atol):
        excess = np.abs(got.astype(np.float64) - ref) - (atol + RTOL * np.abs(ref))
        worst = np.unravel_index(np.argmax(excess), excess.shape) if excess.ndim else ()
        rel = relative_differences(ref, got)
        raise AssertionError(
            f"{what}: {int((excess > 0).sum())} of {ref.size} beyond rtol {RTOL} atol {atol}; "
            f"worst at {worst}: minitrain {got[worst]!r} vs Keras {ref[worst]!r} "
            f"(relative {rel[worst]:.3g}; largest relative anywhere {rel.max():.3g})"
            + (f"\n  minitrain {got.tolist()}\n  Keras     {ref.tolist()}" if got.size <= 8
               else ""))


@pytest.mark.parametrize("c", params("history"))
def test_history(c):
    """Every per-epoch value of History.history: loss, val_loss and the metrics."""
    ref, got = results(c)
    assert sorted(got["history"]) == sorted(ref["history"])
    for key in ref["history"]:
        assert_close(ref["history"][key], got["history"][key], f"history[{key!r}]")


@pytest.mark.parametrize("c", params("evaluate"))
def test_evaluate(c):
    """evaluate's loss and metrics after fit (BatchNormalization: the moving averages)."""
    ref, got = results(c)
    assert_close(ref["evaluate"], got["evaluate"], "evaluate")


@pytest.mark.parametrize("c", params("predict"))
def test_predict(c):
    """predict's outputs after fit (BatchNormalization: the moving averages)."""
    ref, got = results(c)
    if isinstance(ref["predict"], Exception):
        raise ref["predict"]
    if isinstance(got["predict"], Exception):
        raise got["predict"]
    if isinstance(ref["predict"], dict):  # named outputs
        assert sorted(got["predict"]) == sorted(ref["predict"])
        for key in ref["predict"]:
            assert_close(ref["predict"][key], got["predict"][key], f"predict[{key!r}]",
                         atol=WEIGHTS_ATOL)
        return
    assert_close(ref["predict"], got["predict"], "predict", atol=WEIGHTS_ATOL)


# Rows whose weights after fit hold a few elements that float32 rounding moves further than
# rtol 1e-5 / atol 1e-6, investigated: {id: (at most this many elements, each within this atol,
# why)}. Everything else in the row (History, evaluate, predict, the other weights) is held to
# the ordinary tolerances.
WEIGHT_NOISE = {
    "mlp-adam": (1, 1e-5,
                 "Adam divides each gradient component by its running RMS, so a component "
                 "whose gradient is float32 cancellation noise steps ~0.4 lr whatever its size: "
                 "kernel[0][10, 23]'s first-batch gradient is -1.9556e-06 in float64 (the "
                 "layer's median |g| is 1.7e-02), -1.9624e-06 in Keras and -1.9605e-06 in "
                 "minitrain (float32 sums, 3.5e-3 and 2.5e-3 off); the weight then differs by "
                 "4.8e-06 after epoch 1, 4.6e-06 after 2, 4.5e-06 after 3 (0.30324045 vs "
                 "0.30324492), not growing, and nothing else in the model moves beyond 1e-5. "
                 "Adam's update itself is bit-identical to Keras's in float32"),
    "mlp-adam-amsgrad": (1, 1e-5, "the same element as mlp-adam's, for the same reason "
                                  "(4.4e-06 after 3 epochs, 0.30323768 vs 0.30324206)"),
    "mlp-adamw": (1, 1e-5, "the same element as mlp-adam's, for the same reason (4.4e-06 after "
                           "3 epochs, 0.30041507 vs 0.30041945)"),
}


@pytest.mark.parametrize("c", params("weights"))
def test_weights_after_fit(c):
    """get_weights() after fit, in Keras's order (BatchNormalization's moving statistics
    included)."""
    ref, got = results(c)
    assert len(got["weights"]) == len(ref["weights"])
    allowed, noise_atol, _ = WEIGHT_NOISE.get(c.id, (0, WEIGHTS_ATOL, ""))
    beyond = 0
    for i, (r, g) in enumerate(zip(ref["weights"], got["weights"])):
        assert_close(r, g, f"weights[{i}]", atol=noise_atol)
        beyond += int((~np.isclose(g, r, rtol=RTOL, atol=WEIGHTS_ATOL)).sum())
    assert beyond <= allowed, (f"{beyond} weights beyond rtol {RTOL} atol {WEIGHTS_ATOL} "
                               f"(allowed {allowed})")


@pytest.mark.parametrize("optimizer", [sgd, adam, rmsprop], ids=["sgd", "adam", "rmsprop"])
def test_optimizer_steps_match_keras(optimizer):
    """The premise of WEIGHT_NOISE: given the same float32 gradients, minitrain's optimizers
    make Keras's float32 steps (bit for bit today; held to 1e-6 relative), for gradients from
    1e-7 to 1 in size, Adam's epsilon scale included."""
    rng = np.random.default_rng(7)
    w0 = rng.normal(size=(64,)).astype(np.float32)
    grads = [(rng.normal(size=64) * 10.0 ** rng.uniform(-7, 0, size=64)).astype(np.float32)
             for _ in range(10)]
    out = []
    for lib in (tf, mt):
        v = lib.Variable(w0)
        opt = optimizer(lib.keras)
        for g in grads:
            opt.apply_gradients([(lib.constant(g), v)])
        out.append(np.asarray(v.numpy()))
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6, atol=0)


def test_learning_rate_schedule_matches_keras():
    """ExponentialDecay's values, step by step (the schedule row's premise)."""
    values = []
    for lib in (tf, mt):
        schedule = exponential_decay(lib.keras)
        values.append([float(np.float32(schedule(step))) for step in range(25)])
    np.testing.assert_allclose(values[1], values[0], rtol=1e-6)


def test_embedding_gradient_is_dense_in_minitrain_sliced_in_keras():
    """EMBEDDING_SPARSE's diagnosis: on a lookup with repeated ids, Keras's Adam given the
    IndexedSlices gradient differs from Keras's Adam given the same gradient densified, and
    minitrain's Adam (whose gradient is dense) makes the densified steps."""
    rng = np.random.default_rng(3)
    table = rng.normal(size=(10, 4)).astype(np.float32)
    ids = rng.integers(0, 10, size=(3, 32)).astype(np.int32)  # repeats in every batch
    weights = rng.normal(size=(32, 4)).astype(np.float32)

    def train(lib, densify):
        v, opt = lib.Variable(table), lib.keras.optimizers.Adam(0.01)
        for batch in ids:
            with lib.GradientTape() as tape:
                loss = lib.reduce_sum(lib.gather(v, lib.constant(batch)) * weights)
            g = tape.gradient(loss, v)
            opt.apply_gradients([(lib.convert_to_tensor(g) if densify else g, v)])
        return np.asarray(v.numpy())

    sliced, dense = train(tf, False), train(tf, True)
    assert np.abs(sliced - dense).max() > 1e-3
    np.testing.assert_allclose(train(mt, False), dense, rtol=1e-6, atol=1e-7)


def test_train_on_batch_and_test_on_batch():
    """train_on_batch three times on one batch, then test_on_batch: each call's [loss, acc]."""
    d = DATA["classes"]
    results, weights = [], None
    for keras in (tf.keras, mt.keras):
        keras.utils.set_random_seed(0)
        model = mlp()(keras)
        if weights is None:
            weights = model.get_weights()
        else:
            model.set_weights(weights)
        model.compile(optimizer=adam(keras), loss=sparse_logits(keras), metrics=["accuracy"])
        out = [model.train_on_batch(d["x"][:32], d["y"][:32]) for _ in range(3)]
        out.append(model.test_on_batch(d["x_val"], d["y_val"]))
        results.append(np.asarray(out, dtype=np.float64))
    assert_close(results[0], results[1], "[train_on_batch x 3, test_on_batch]")


def test_initial_weights_are_copied():
    """The runner's premise: set_weights takes Keras's get_weights as they are."""
    c = CASES[0]
    ref, got = results(c)
    assert [w.shape for w in got["initial"]] == [w.shape for w in ref["initial"]]
    for r, g in zip(ref["initial"], got["initial"]):
        np.testing.assert_array_equal(g, r)
