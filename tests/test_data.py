"""Dataset, splits, DataLoader and Normalizer."""
import numpy as np
import pytest

import minitrain as mt
from minitrain.data import DataLoader, Dataset, Normalizer, split_sizes, train_val_test_split


def numbered(n, num_classes=3):
    """Sample i has features [i, 10 i] and label i % num_classes: every row names itself."""
    i = np.arange(n)
    return Dataset(np.stack([i, 10 * i], axis=1), i % num_classes)


def epoch_ids(loader):
    """The sample ids served in one epoch, batch by batch."""
    return [x.numpy()[:, 0].astype(int).tolist() for x, _ in loader]


# --- Dataset -----------------------------------------------------------------------------------
def test_dataset_len_indexing_and_classes():
    ds = numbered(7)
    assert len(ds) == 7 and ds.feature_shape == (2,)
    x, y = ds[3]
    assert x.tolist() == [3, 30] and y == 0
    x, y = ds[np.array([5, 1])]
    assert x[:, 0].tolist() == [5, 1] and y.tolist() == [2, 1]
    assert ds.is_classification and ds.num_classes == 3


def test_dataset_rejects_mismatched_lengths_and_bad_labels():
    with pytest.raises(ValueError, match=r"\(4, 2\) and \(3,\)"):
        Dataset(np.zeros((4, 2)), np.zeros(3, int))
    with pytest.raises(ValueError, match="0 or more"):
        Dataset(np.zeros((2, 1)), np.array([0, -1]))
    with pytest.raises(ValueError, match="up to 5"):
        Dataset(np.zeros((2, 1)), np.array([0, 5]), num_classes=3)


def test_float_labels_make_a_regression_dataset():
    ds = Dataset(np.zeros((3, 2)), np.zeros((3, 1), np.float32))
    assert not ds.is_classification and ds.num_classes is None


def test_dataset_of_features_and_labels_is_an_array_dataset_and_a_pipeline():
    ds = numbered(5)
    assert type(ds) is mt.data.ArrayDataset and isinstance(ds, Dataset)
    parts = ds.split((0.6, 0.4), seed=0) + (Normalizer("scale", scale=2).fit(ds)(ds),)
    assert all(type(p) is mt.data.ArrayDataset for p in parts)
    x, y = list(ds)[4]  # elements are (features[i], labels[i]) tensors, dtypes kept
    assert isinstance(x, mt.Tensor) and x.numpy().tolist() == [4, 40] and int(y) == 1
    assert x.dtype == ds.features.dtype and y.dtype == ds.labels.dtype
    batches = [b[0].numpy()[:, 0].tolist() for b in ds.batch(2)]
    assert batches == [[0, 1], [2, 3], [4]] and len(ds.batch(2)) == 3


def test_a_source_is_a_pipeline_in_its_own_dtypes():
    digits = mt.data.load_source("digits")
    x, y = next(iter(digits.shuffle(2000, seed=0).batch(64)))
    assert x.shape == (64, 64) and x.dtype == np.uint8 and y.dtype == digits.labels.dtype


# --- splits ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, fractions, sizes", [
    (1797, (0.8, 0.1, 0.1), [1437, 180, 180]),
    (10, (0.5, 0.5), [5, 5]),
    (10, (1.0, 0.0, 0.0), [10, 0, 0]),
    (7, (1 / 3, 1 / 3, 1 / 3), [3, 2, 2]),
])
def test_split_sizes_sum_to_n(n, fractions, sizes):
    assert split_sizes(n, fractions).tolist() == sizes


@pytest.mark.parametrize("fractions", [(0.8, 0.3), (1.2, -0.2)])
def test_split_sizes_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="sum to 1"):
        split_sizes(10, fractions)


@pytest.mark.parametrize("stratify", [False, True])
def test_split_is_disjoint_complete_and_deterministic(stratify):
    ds = numbered(101)
    parts = train_val_test_split(ds, val=0.2, test=0.1, seed=3, stratify=stratify)
    assert [len(p) for p in parts] == [71, 20, 10]
    ids = [set(p.features[:, 0].tolist()) for p in parts]
    assert set.union(*ids) == set(range(101)) and sum(map(len, ids)) == 101
    again = train_val_test_split(ds, val=0.2, test=0.1, seed=3, stratify=stratify)
    other = train_val_test_split(ds, val=0.2, test=0.1, seed=4, stratify=stratify)
    assert all(np.array_equal(a.features, b.features) for a, b in zip(parts, again))
    assert not np.array_equal(parts[1].features, other[1].features)
    assert all(p.num_classes == 3 for p in parts)


def test_stratified_split_keeps_class_shares():
    labels = np.repeat([0, 1, 2], [500, 300, 200])
    ds = Dataset(np.arange(1000)[:, None], labels)
    _, val, test = train_val_test_split(ds, val=0.1, test=0.2, seed=0, stratify=True)
    assert np.bincount(val.labels).tolist() == [50, 30, 20]
    assert np.bincount(test.labels).tolist() == [100, 60, 40]


def test_stratify_needs_class_labels():
    ds = Dataset(np.zeros((4, 1)), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="stratify"):
        ds.split((0.5, 0.5), stratify=True)


# --- DataLoader --------------------------------------------------------------------------------
@pytest.mark.parametrize("n, size, drop_last, sizes", [
    (10, 4, False, [4, 4, 2]),
    (10, 4, True, [4, 4]),
    (8, 4, False, [4, 4]),
    (3, 5, False, [3]),
    (3, 5, True, []),
])
def test_batch_sizes_and_len(n, size, drop_last, sizes):
    loader = DataLoader(numbered(n), batch_size=size, drop_last=drop_last)
    assert [len(x) for x, _ in loader] == sizes and len(loader) == len(sizes)


def test_batches_are_tensors_with_training_dtypes():
    x, y = next(iter(DataLoader(numbered(5), batch_size=2)))
    assert isinstance(x, mt.Tensor) and isinstance(y, mt.Tensor)
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.numpy().tolist() == [[0, 0], [1, 10]] and y.numpy().tolist() == [0, 1]
    reg = Dataset(np.zeros((3, 1), np.float64), np.ones((3, 1)))
    _, y = next(iter(DataLoader(reg, batch_size=3)))
    assert y.dtype == np.float32 and y.shape == (3, 1)


def test_batches_land_on_the_current_device(device):
    x, y = next(iter(DataLoader(numbered(5), batch_size=2)))
    assert x.device.startswith(device) and y.device.startswith(device)
    assert x.numpy().tolist() == [[0, 0], [1, 10]] and y.numpy().tolist() == [0, 1]


def test_unshuffled_order_is_the_dataset_order():
    assert epoch_ids(DataLoader(numbered(5), batch_size=2)) == [[0, 1], [2, 3], [4]]


def test_shuffle_is_a_permutation_that_changes_each_epoch():
    loader = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=0)
    first, second = sum(epoch_ids(loader), []), sum(epoch_ids(loader), [])
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != list(range(50)) and first != second
    assert loader.epoch == 2


def test_same_seed_same_order_other_seed_other_order():
    orders = [[epoch_ids(DataLoader(numbered(50), 8, shuffle=True, seed=s)) for _ in range(2)]
              for s in (5, 5, 6)]
    assert orders[0] == orders[1] and orders[0] != orders[2]


def test_unseeded_loader_follows_the_global_seed():
    mt.random.set_seed(11)
    a = epoch_ids(DataLoader(numbered(30), 4, shuffle=True))
    mt.random.set_seed(11)
    assert epoch_ids(DataLoader(numbered(30), 4, shuffle=True)) == a


def test_drop_last_with_shuffle_serves_distinct_samples():
    ids = sum(epoch_ids(DataLoader(numbered(10), 4, shuffle=True, drop_last=True, seed=1)), [])
    assert len(ids) == 8 and len(set(ids)) == 8


def run_epochs(loader, epochs):
    return [epoch_ids(loader) for _ in range(epochs)]


def test_state_resumes_after_a_finished_epoch():
    reference = run_epochs(DataLoader(numbered(20), 6, shuffle=True, seed=2), 3)
    loader = DataLoader(numbered(20), 6, shuffle=True, seed=2)
    epoch_ids(loader)
    state = loader.get_state()
    resumed = DataLoader(numbered(20), 6, shuffle=True, seed=999)  # the state carries the seed
    resumed.set_state(state)
    assert run_epochs(resumed, 2) == reference[1:]


def test_state_resumes_in_the_middle_of_an_epoch():
    reference = run_epochs(DataLoader(numbered(20), 6, shuffle=True, seed=2), 2)
    loader = DataLoader(numbered(20), 6, shuffle=True, seed=2)
    batches = iter(loader)
    next(batches), next(batches)
    resumed = DataLoader(numbered(20), 6, shuffle=True)
    resumed.set_state(loader.get_state())
    assert epoch_ids(resumed) == reference[0][2:]
    assert epoch_ids(resumed) == reference[1]


def test_each_iter_without_a_resume_starts_a_new_epoch():
    loader = DataLoader(numbered(20), 6, shuffle=True, seed=2)
    reference = run_epochs(DataLoader(numbered(20), 6, shuffle=True, seed=2), 2)
    next(iter(loader))  # a peek abandons epoch 0
    assert epoch_ids(loader) == reference[1]


@pytest.mark.parametrize("kwargs, match", [
    ({"dataset": np.zeros(3)}, "Dataset"),
    ({"dataset": Dataset.range(3)}, r"a tf.data-style pipeline \(<RangeDataset .*batches itself"),
    ({"batch_size": 0}, "batch_size"),
])
def test_loader_argument_errors(kwargs, match):
    args = {"dataset": numbered(3), "batch_size": 2} | kwargs
    with pytest.raises((TypeError, ValueError), match=match):
        DataLoader(**args)


# --- Normalizer --------------------------------------------------------------------------------
def test_standard_statistics_come_from_the_train_split_only():
    train = Dataset(np.array([[1.0, 5.0], [3.0, 5.0]]), np.array([0, 1]))
    test = Dataset(np.array([[100.0, 7.0]]), np.array([0]))
    norm = Normalizer("standard").fit(train)
    assert norm.mean.tolist() == [2.0, 5.0] and norm.std.tolist() == [1.0, 1.0]
    assert norm(train).features.tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert norm(test).features.tolist() == [[98.0, 2.0]]
    assert norm(test).features.dtype == np.float32 and norm(test).labels.tolist() == [0]


def test_standard_on_a_real_split_centres_train_but_not_test():
    train, _, test = train_val_test_split(mt.data.load_source("digits"), seed=0)
    norm = Normalizer("standard").fit(train)
    np.testing.assert_allclose(norm(train).features.mean(axis=0), 0, atol=1e-5)
    assert np.abs(norm(test).features.mean(axis=0)).max() > 0.05


@pytest.mark.parametrize("scale, expected", [(16, [0.25, 1.0]), (None, [0.5, 2.0])])
def test_scale_divides_by_given_or_train_max(scale, expected):
    norm = Normalizer("scale", scale=scale).fit(np.array([[2.0], [8.0]]))
    assert norm.transform(np.array([4.0, 16.0])).tolist() == expected


def test_none_only_casts():
    x = np.array([[1, 200]], np.uint8)
    out = Normalizer("none").transform(x)
    assert out.dtype == np.float32 and out.tolist() == [[1.0, 200.0]]


def test_normalizer_errors_and_state():
    with pytest.raises(ValueError, match="did you mean 'standard'"):
        Normalizer("standart")
    with pytest.raises(RuntimeError, match="fit"):
        Normalizer("standard").transform(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="empty"):
        Normalizer("standard").fit(np.zeros((0, 2)))
    fitted = Normalizer("standard").fit(np.array([[0.0], [4.0]]))
    restored = Normalizer("standard").set_state(fitted.get_state())
    assert restored.transform(np.array([[6.0]])).tolist() == [[2.0]]
