"""mt.data.Dataset as tf.data's: each expected value below is TensorFlow's documented behaviour
(the docstrings of tensorflow/python/data/ops/dataset_ops.py and the *_op.py files), run after
``import minitrain as tf``."""
import collections

import numpy as np
import pytest

import minitrain as mt
import minitrain as tf  # the tests read as the TF programs they come from

Dataset = tf.data.Dataset


def values(ds):
    """The elements as plain Python values (lists for arrays), structure kept."""
    return [_plain(e) for e in ds.as_numpy_iterator()]


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, tuple):
        items = [_plain(v) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    return x.tolist()


# --- from_tensor_slices: structures and dtypes -------------------------------------------------
Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("tensors, expected", [
    ([1, 2, 3], [1, 2, 3]),                                   # a 1-D tensor: scalar elements
    ([[1, 2], [3, 4]], [[1, 2], [3, 4]]),                     # a list is one tensor, not a tuple
    (([1, 2], [3, 4], [5, 6]), [(1, 3, 5), (2, 4, 6)]),       # a tuple of tensors
    ({"a": [1, 2], "b": [3, 4]}, [{"a": 1, "b": 3}, {"a": 2, "b": 4}]),
    ({"a": ([1, 2], [3, 4]), "b": [5, 6]}, [{"a": (1, 3), "b": 5}, {"a": (2, 4), "b": 6}]),
    (Point([1, 2], [3, 4]), [Point(1, 3), Point(2, 4)]),
])
def test_slices_keep_the_element_structure(tensors, expected):
    ds = Dataset.from_tensor_slices(tensors)
    assert values(ds) == expected and len(ds) == len(expected)
    assert type(values(ds)[0]) is type(expected[0])


def test_iteration_yields_tensors_in_the_structure():
    x, y = np.arange(6.0).reshape(3, 2), np.array([0, 1, 2])
    elements = list(Dataset.from_tensor_slices((x, {"label": y})))
    first_x, first = elements[0]
    assert isinstance(first_x, mt.Tensor) and isinstance(first["label"], mt.Tensor)
    assert first_x.shape == (2,) and first["label"].shape == ()
    assert elements[2][0].numpy().tolist() == [4.0, 5.0] and int(elements[2][1]["label"]) == 2


@pytest.mark.parametrize("tensors, dtype", [
    ([1, 2, 3], np.int32),                        # Python ints: int32, as tf.constant
    ([1.0, 2.0], np.float32),                     # Python floats: float32
    (np.array([1.0, 2.0]), np.float64),           # numpy keeps its dtype
    (np.array([1, 2], np.int64), np.int64),
    (np.array([1, 2], np.uint8), np.uint8),
    (mt.constant([1.0, 2.0], dtype=mt.float64), np.float64),
    ([True, False], np.bool_),
])
def test_slices_take_tensorflows_dtypes(tensors, dtype):
    ds = Dataset.from_tensor_slices(tensors)
    assert next(iter(ds)).dtype == dtype and next(ds.as_numpy_iterator()).dtype == dtype


def test_slices_are_a_copy_of_the_input():
    x = np.arange(3)
    ds = Dataset.from_tensor_slices(x)
    x[0] = 99
    assert values(ds) == [0, 1, 2]


@pytest.mark.parametrize("tensors, message", [
    ((np.zeros((3, 2)), np.zeros(2)), "Dimensions 3 and 2 are not compatible"),
    ({"a": [1, 2, 3], "b": [1, 2]}, "Dimensions 3 and 2 are not compatible"),
    (5, r"only supported for rank >= 1"),
    ((), "should not be empty"),
])
def test_slices_reject_what_tensorflow_rejects(tensors, message):
    with pytest.raises(ValueError, match=message):
        Dataset.from_tensor_slices(tensors)


def test_empty_datasets_have_no_elements_and_length_zero():
    ds = Dataset.from_tensor_slices(np.zeros((0, 3), np.float32))
    assert len(ds) == 0 and list(ds) == [] and bool(ds)  # bool never asks len, as in TF
    assert len(ds.batch(4)) == 0 and list(ds.batch(4)) == []
    assert list(ds.repeat()) == [] and len(ds.repeat()) == 0  # ends instead of spinning
    assert list(ds.shuffle(10).map(lambda x: x * 2)) == []


# --- batch and unbatch -------------------------------------------------------------------------
@pytest.mark.parametrize("drop_remainder, expected", [
    (False, [[0, 1, 2], [3, 4, 5], [6, 7]]),
    (True, [[0, 1, 2], [3, 4, 5]]),
])
def test_batch_with_and_without_the_last_partial_batch(drop_remainder, expected):
    ds = Dataset.range(8).batch(3, drop_remainder=drop_remainder)
    assert values(ds) == expected and len(ds) == len(expected)
    assert next(iter(ds)).dtype == np.int64  # range is int64


def test_batch_stacks_every_component_of_a_nested_element():
    x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    ds = Dataset.from_tensor_slices(({"pixels": x}, y)).batch(2)
    (features, labels), *_ = ds
    assert features["pixels"].shape == (2, 2) and labels.shape == (2,)
    assert [b[1].numpy().tolist() for b in ds] == [[0, 1], [2, 3], [4]]


def test_batch_errors():
    with pytest.raises(ValueError, match="Batch size must be greater than zero"):
        Dataset.range(3).batch(0)
    ragged = Dataset.from_tensors([1, 2]).concatenate(Dataset.from_tensors([1, 2, 3])).batch(2)
    with pytest.raises(ValueError, match=r"different shapes in component 0. First element had "
                                         r"shape \[2\] and element 1 had shape \[3\]"):
        list(ragged)


def test_unbatch_is_the_inverse_of_batch():
    ds = Dataset.from_tensor_slices((np.arange(7), np.arange(7) * 10.0))
    assert values(ds.batch(3).unbatch()) == values(ds)
    with pytest.raises(TypeError, match="The dataset length is unknown."):
        len(ds.batch(3).unbatch())
    with pytest.raises(ValueError, match="Cannot unbatch an input with scalar components."):
        list(ds.unbatch())


# --- shuffle -----------------------------------------------------------------------------------
def test_shuffle_with_a_seed_is_deterministic_and_a_permutation():
    first = values(Dataset.range(20).shuffle(20, seed=7))
    assert first == values(Dataset.range(20).shuffle(20, seed=7))
    assert sorted(first) == list(range(20)) and first != list(range(20))
    assert first != values(Dataset.range(20).shuffle(20, seed=8))


@pytest.mark.parametrize("reshuffle", [True, False])
def test_reshuffle_each_iteration(reshuffle):
    ds = Dataset.range(10).shuffle(10, seed=1, reshuffle_each_iteration=reshuffle)
    epochs = [values(ds) for _ in range(3)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert (epochs[0] != epochs[1]) == reshuffle and (epochs[1] != epochs[2]) == reshuffle
    # the same holds across repeat's passes (TF's TF1-style epochs)
    repeated = values(Dataset.range(10).shuffle(10, seed=1, reshuffle_each_iteration=reshuffle)
                      .repeat(2))
    assert (repeated[:10] != repeated[10:]) == reshuffle


def test_shuffle_without_a_seed_follows_the_global_seed():
    mt.random.set_seed(3)
    a = Dataset.range(30).shuffle(30)
    mt.random.set_seed(3)
    b = Dataset.range(30).shuffle(30)
    first_a, first_b = values(a), values(b)
    second_a, second_b = values(a), values(b)
    assert first_a == first_b and second_a == second_b and first_a != second_a


def test_a_small_buffer_only_reaches_that_far_ahead():
    """Output i is drawn from a buffer that has seen inputs 0 .. i + buffer_size - 1 only."""
    for seed in range(5):
        out = values(Dataset.range(50).shuffle(4, seed=seed))
        assert sorted(out) == list(range(50))
        assert all(v < i + 4 for i, v in enumerate(out))
    assert values(Dataset.range(6).shuffle(1, seed=0)) == list(range(6))  # a buffer of 1


def test_a_full_buffer_can_put_any_element_first():
    ds = Dataset.range(4).shuffle(4, seed=0)
    assert {values(ds)[0] for _ in range(100)} == {0, 1, 2, 3}


def test_shuffle_needs_a_positive_buffer():
    with pytest.raises(ValueError, match="buffer_size must be greater than zero"):
        Dataset.range(3).shuffle(0)


# --- repeat, take, skip, and lengths -----------------------------------------------------------
@pytest.mark.parametrize("make, expected", [
    (lambda ds: ds.repeat(3), [1, 2, 3] * 3),
    (lambda ds: ds.repeat().take(7), [1, 2, 3, 1, 2, 3, 1]),
    (lambda ds: ds.repeat(0), []),
    (lambda ds: ds.take(2), [1, 2]),
    (lambda ds: ds.take(-1), [1, 2, 3]),
    (lambda ds: ds.take(10), [1, 2, 3]),
    (lambda ds: ds.skip(2), [3]),
    (lambda ds: ds.skip(-1), []),
    (lambda ds: ds.skip(10), []),
    (lambda ds: ds.repeat(2).skip(2).take(3), [3, 1, 2]),
    (lambda ds: ds.skip(1).take(1).repeat(2), [2, 2]),
    (lambda ds: ds.repeat().skip(4).take(3), [2, 3, 1]),
])
def test_repeat_take_skip(make, expected):
    ds = make(Dataset.from_tensor_slices([1, 2, 3]))
    assert values(ds) == expected and len(ds) == len(expected)


@pytest.mark.parametrize("make, cardinality", [
    (lambda ds: ds, 10),
    (lambda ds: ds.batch(3), 4),
    (lambda ds: ds.batch(3, drop_remainder=True), 3),
    (lambda ds: ds.repeat(), tf.data.INFINITE_CARDINALITY),
    (lambda ds: ds.repeat().take(5), 5),
    (lambda ds: ds.repeat().skip(5), tf.data.INFINITE_CARDINALITY),
    (lambda ds: ds.filter(lambda x: x > 3), tf.data.UNKNOWN_CARDINALITY),
    (lambda ds: ds.filter(lambda x: x > 3).take(2), tf.data.UNKNOWN_CARDINALITY),
    (lambda ds: ds.shuffle(4).map(lambda x: x + 1).prefetch(tf.data.AUTOTUNE), 10),
    (lambda ds: Dataset.zip(ds, ds.take(4)), 4),
    (lambda ds: Dataset.zip(ds.repeat(), ds.repeat()), tf.data.INFINITE_CARDINALITY),
])
def test_cardinality(make, cardinality):
    ds = make(Dataset.range(10))
    assert int(ds.cardinality()) == cardinality and ds.cardinality().dtype == np.int64
    if cardinality >= 0:
        assert len(ds) == cardinality


def test_len_of_an_infinite_or_unknown_dataset_raises_typeerror():
    with pytest.raises(TypeError, match=r"^The dataset is infinite\.$"):
        len(Dataset.range(3).repeat())
    with pytest.raises(TypeError, match=r"^The dataset length is unknown\.$"):
        len(Dataset.range(3).filter(lambda x: x > 0))


# --- map, filter, enumerate, zip, concatenate ---------------------------------------------------
def test_map_unpacks_tuples_and_passes_dicts_whole():
    pairs = Dataset.from_tensor_slices(([1, 2], [10, 20]))
    assert values(pairs.map(lambda x, y: x + y)) == [11, 22]
    assert values(pairs.map(lambda x, y: [y, x])) == [(10, 1), (20, 2)]  # a list: a tuple
    records = Dataset.from_tensor_slices({"a": [1, 2], "b": [3, 4]})
    assert values(records.map(lambda d: d["a"] * d["b"])) == [3, 8]
    seen = []
    values(Dataset.range(2).map(lambda x: seen.append(type(x)) or x, num_parallel_calls=-1))
    assert seen == [mt.Tensor, mt.Tensor]


def test_map_converts_what_the_function_returns_as_tensorflow():
    ds = Dataset.range(2).map(lambda x: (37.0, [42, 16], np.array([1.0, 2.0])))
    a, b, c = next(iter(ds))
    assert (a.dtype, b.dtype, c.dtype) == (np.float32, np.int32, np.float64)
    assert b.shape == (2,)
    with pytest.raises(TypeError, match="Unsupported return value"):
        list(Dataset.range(2).map(lambda x: None))


def test_filter():
    assert values(Dataset.range(10).filter(lambda x: x % 2 == 0)) == [0, 2, 4, 6, 8]
    pairs = Dataset.from_tensor_slices(([1, 2, 3], [3, 2, 1]))
    assert values(pairs.filter(lambda x, y: x < y)) == [(1, 3)]
    with pytest.raises(ValueError, match="must return a `tf.bool` scalar tensor"):
        list(Dataset.range(3).filter(lambda x: x + 1))


def test_enumerate():
    ds = Dataset.from_tensor_slices([1, 2, 3]).enumerate(start=5)
    assert values(ds) == [(5, 1), (6, 2), (7, 3)]
    index, element = next(iter(ds))
    assert index.dtype == np.int64 and element.dtype == np.int32
    ds = Dataset.from_tensor_slices([(7, 8), (9, 10)]).enumerate()
    assert values(ds) == [(0, [7, 8]), (1, [9, 10])]


def test_zip_takes_datasets_in_a_structure_and_stops_at_the_shortest():
    a, b = Dataset.range(1, 4), Dataset.range(4, 7)
    assert values(Dataset.zip(a, b)) == [(1, 4), (2, 5), (3, 6)]
    assert values(Dataset.zip((b, a))) == [(4, 1), (5, 2), (6, 3)]
    assert values(Dataset.zip(datasets={"x": a, "y": b})) == [
        {"x": 1, "y": 4}, {"x": 2, "y": 5}, {"x": 3, "y": 6}]
    c = Dataset.range(7, 13).batch(2)
    assert values(Dataset.zip(a, b, c))[1] == (2, 5, [9, 10])
    assert values(Dataset.zip(a, Dataset.range(13, 15))) == [(1, 13), (2, 14)]


def test_zip_errors():
    with pytest.raises(TypeError, match="Must pass at least one dataset"):
        Dataset.zip()
    with pytest.raises(TypeError, match="Python `list` is not supported"):
        Dataset.zip([Dataset.range(2), Dataset.range(2)])
    with pytest.raises(TypeError, match="encountered object of type <class 'int'>"):
        Dataset.zip((Dataset.range(2), 3))


def test_concatenate_and_from_tensors():
    ds = Dataset.range(1, 4).concatenate(Dataset.range(4, 8))
    assert values(ds) == [1, 2, 3, 4, 5, 6, 7] and len(ds) == 7
    assert values(Dataset.from_tensors([1, 2, 3]).repeat(2)) == [[1, 2, 3], [1, 2, 3]]


# --- cache, prefetch, AUTOTUNE -----------------------------------------------------------------
def test_cache_replays_the_first_complete_pass():
    calls = []
    ds = Dataset.range(5).map(lambda x: calls.append(1) or x ** 2).cache()
    next(iter(ds))                         # an unfinished pass is not cached
    assert values(ds) == [0, 1, 4, 9, 16] and len(calls) == 6
    assert values(ds) == [0, 1, 4, 9, 16] and len(calls) == 6  # read from the cache
    with pytest.raises(NotImplementedError, match="in memory only"):
        Dataset.range(2).cache("cache_file")


def test_prefetch_and_autotune():
    assert tf.data.AUTOTUNE == tf.data.experimental.AUTOTUNE == -1
    assert values(Dataset.range(3).prefetch(2)) == [0, 1, 2]
    assert values(Dataset.range(3).prefetch(tf.data.AUTOTUNE)) == [0, 1, 2]


def test_range_follows_python_range():
    assert values(Dataset.range(2, 5)) == [2, 3, 4]
    assert values(Dataset.range(1, 5, 2)) == [1, 3] and values(Dataset.range(5, 1)) == []
    assert values(Dataset.range(1, 5, 2, output_type=tf.float32)) == [1.0, 3.0]


def test_elements_land_on_the_current_device(device):
    (x, y), = Dataset.from_tensor_slices((np.ones((2, 3), np.float32), [0, 1])).batch(2)
    assert x.device.startswith(device) and y.device.startswith(device)
    assert x.numpy().sum() == 6


# --- the in-memory ArrayDataset is a Dataset --------------------------------------------------
def test_array_datasets_are_pipelines():
    ds = tf.data.Dataset(np.arange(8).reshape(4, 2), np.array([0, 1, 0, 1]))
    assert isinstance(ds, tf.data.ArrayDataset) and isinstance(ds, Dataset)
    batches = values(ds.batch(3))
    assert batches == [([[0, 1], [2, 3], [4, 5]], [0, 1, 0]), ([[6, 7]], [1])]
    assert len(ds.shuffle(4, seed=0).batch(3)) == 2


def test_the_dataloader_says_a_pipeline_batches_itself():
    with pytest.raises(TypeError, match=r"ArrayDataset; a tf.data-style pipeline "
                                        r"\(<RangeDataset cardinality=4>\) batches itself"):
        tf.data.DataLoader(Dataset.range(4), batch_size=2)


# --- a TensorFlow guide program: "Writing a training loop from scratch" ------------------------
def test_training_loop_from_scratch_on_the_digits():
    tf.random.set_seed(0)
    digits = tf.data.load_source("digits")
    x_train, y_train = digits.features.astype("float32") / 16, digits.labels
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    train_dataset = train_dataset.shuffle(buffer_size=1024).batch(64)

    model = tf.Sequential([tf.layers.Dense(64, activation="relu"), tf.layers.Dense(10)])
    optimizer = tf.optimizers.Adam(learning_rate=1e-2)
    loss_fn = tf.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_acc_metric = tf.metrics.SparseCategoricalAccuracy()
    log = []  # the guide prints these lines
    for epoch in range(3):
        for step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
            with tf.GradientTape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            train_acc_metric.update_state(y_batch_train, logits)
            if step % 7 == 0:
                log.append((epoch, step, float(loss_value)))
        assert step == 28 and len(x_batch_train) == 1797 - 28 * 64  # the last, partial batch
    first_loss, last_epoch = log[0][2], [loss for epoch, _, loss in log if epoch == 2]
    assert first_loss > 2.0 and max(last_epoch) < first_loss / 5
    assert float(train_acc_metric.result()) > 0.8  # over all three epochs


@pytest.mark.parametrize("n, shards, index", [(10, 3, 0), (10, 3, 2), (2, 4, 3), (9, 1, 0)])
def test_shard_keeps_every_nth_element_as_tf_data(n, shards, index):
    sharded = mt.data.Dataset.range(n).shard(shards, index)
    values = [int(v) for v in sharded]
    assert values == list(range(n))[index::shards]
    assert int(sharded.cardinality()) == len(values)


@pytest.mark.parametrize("shards, index, told", [(0, 0, "greater than zero"),
                                                 (3, 3, "between 0 and 2"),
                                                 (3, -1, "between 0 and 2")])
def test_shard_refuses_what_tf_data_refuses(shards, index, told):
    with pytest.raises(ValueError, match=told):
        mt.data.Dataset.range(5).shard(shards, index)
