"""The text source and language models: windows of token ids and their next tokens, splits by
position without overlap, sequence labels through the loss, the metric and the config probe,
a tiny LSTM run through train.py, and ``minitrain sample`` on it."""
import contextlib
import io
import re

import numpy as np
import pytest
import yaml
from clirun import TINY, refused, train

import minitrain as mt
from minitrain.cli import sample
from minitrain.config import ConfigError, build, load_config
from minitrain.data.text import BYTE_NAMES, SHAKESPEARE_PATH, Vocabulary, unigram_loss

TEXT = SHAKESPEARE_PATH.read_text(encoding="utf-8")
SMALL = 4000  # max_tokens of the tiny runs: the text's first speeches


def small_vocabulary():
    return len(set(TEXT[:SMALL]))


def tiny_config(**data):
    v = small_vocabulary()
    return {
        "data": {"source": "text", "batch_size": 16,
                 "options": {"window": 16, "max_tokens": SMALL}, **data},
        "model": [{"Embedding": {"input_dim": v, "output_dim": 8}},
                  {"LSTM": {"units": 16, "return_sequences": True}}, {"Dense": {"units": v}}],
        "loss": {"name": "sparse_categorical_crossentropy", "from_logits": True},
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "training": {"epochs": 1}}


# --- the source ----------------------------------------------------------------------------------
def test_char_windows_are_the_text_and_the_labels_its_next_characters():
    ds = mt.data.load_source("text", window=64)
    assert ds.class_names == sorted(set(TEXT)) and ds.num_classes == len(set(TEXT)) == 63
    assert ds.features.shape == ds.labels.shape == ((len(TEXT) - 1) // 64, 64)
    assert ds.features.dtype.kind in "iu" and ds.ordered
    names = np.array(ds.class_names)
    for i in (0, 7, len(ds) - 1):
        assert "".join(names[ds.features[i]]) == TEXT[64 * i:64 * i + 64]
        assert "".join(names[ds.labels[i]]) == TEXT[64 * i + 1:64 * i + 65]
    np.testing.assert_array_equal(ds.labels[:, :-1], ds.features[:, 1:])


def test_byte_vocabulary_has_a_distinct_name_for_each_of_256_bytes():
    ds = mt.data.load_source("text", vocabulary="byte", window=32, max_tokens=1000)
    assert ds.num_classes == 256 and ds.class_names == BYTE_NAMES
    assert len(set(BYTE_NAMES)) == 256 and BYTE_NAMES[10] == "\\n" and BYTE_NAMES[65] == "A"
    raw = TEXT.encode("utf-8")
    assert bytes(ds.features[1].tolist()) == raw[32:64]
    assert bytes(ds.labels[1].tolist()) == raw[33:65]


@pytest.mark.parametrize("window, stride", [(16, 16), (16, 5), (8, 1), (10, 30)])
def test_stride_sets_where_windows_start(window, stride):
    ds = mt.data.load_source("text", window=window, stride=stride, max_tokens=500)
    n = (500 - window - 1) // stride + 1
    assert len(ds) == n
    np.testing.assert_array_equal(ds.positions[:, 0], np.arange(n) * stride)
    np.testing.assert_array_equal(ds.positions[:, 1] - ds.positions[:, 0], window + 1)
    ids = Vocabulary.of(TEXT[:500]).encode(TEXT[:500])
    for i in (0, n - 1):
        np.testing.assert_array_equal(ds.features[i], ids[i * stride:i * stride + window])


def test_a_byte_text_need_not_be_utf8(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait, ".encode("latin-1") * 10)
    ds = mt.data.load_source("text", path=tmp_path / "latin1.txt", vocabulary="byte", window=4)
    assert 0xE9 in ds.features
    with pytest.raises(ValueError, match="not UTF-8 text.*vocabulary: byte"):
        mt.data.load_source("text", path=tmp_path / "latin1.txt", window=4)


@pytest.mark.parametrize("options, match", [
    ({"vocabulary": "word"}, "vocabulary must be one of char, byte, got 'word'"),
    ({"window": 0}, "window must be a whole number, at least 1, got 0"),
    ({"window": 8.0}, "window must be a whole number"),
    ({"stride": -1}, "stride must be a whole number, at least 1"),
    ({"window": 100, "max_tokens": 50}, "holds 50 tokens, too few for one window of 100"),
    ({"path": "no/such.txt"}, "no such file no/such.txt"),
    ({"widow": 3}, "no option 'widow'; did you mean 'window'"),
])
def test_bad_options_are_refused_naming_them(options, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        mt.data.load_source("text", **options)


def test_vocabulary_round_trips_and_names_unknown_characters():
    chars = Vocabulary.of("hello world")
    assert chars.decode(chars.encode("low held")) == "low held"
    with pytest.raises(ValueError, match=r"2 character\(s\) not in the vocabulary: 'X', 'z'"):
        chars.encode("Xhelz")
    octets = Vocabulary.of(b"", "byte")
    assert octets.decode(octets.encode("né")) == "né" and len(octets.encode("né")) == 3


# --- splits by position ----------------------------------------------------------------------
def overlapping(a, b):
    """Pairs of samples of a and b that read a common position of the text."""
    return np.sum((a.positions[:, None, 0] < b.positions[None, :, 1]) &
                  (b.positions[None, :, 0] < a.positions[:, None, 1]))


@pytest.mark.parametrize("stride", [1, 3, 16, 40])
def test_splits_are_contiguous_in_order_and_share_no_position(stride):
    ds = mt.data.load_source("text", window=16, stride=stride, max_tokens=3000)
    train, val, test = mt.data.train_val_test_split(ds, val=0.1, test=0.2, seed=3,
                                                    stratify=True)
    for earlier, later in ((train, val), (val, test), (train, test)):
        assert overlapping(earlier, later) == 0
        assert earlier.positions[:, 1].max() <= later.positions[:, 0].min()
    for part in (train, val, test):  # each part is a run of consecutive windows
        np.testing.assert_array_equal(np.diff(part.positions[:, 0]), stride)
    # only the windows that straddle a cut are dropped: ceil(17 / stride) - 1 at the most
    dropped = len(ds) - len(train) - len(val) - len(test)
    assert dropped <= 2 * (-(-17 // stride))
    assert len(test) == mt.data.split_sizes(len(ds), (0.7, 0.1, 0.2))[2]


def test_the_seed_does_not_change_a_split_by_position():
    ds = mt.data.load_source("text", window=16, max_tokens=3000)
    a = mt.data.train_val_test_split(ds, seed=0)
    b = mt.data.train_val_test_split(ds, seed=1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.positions, y.positions)


def test_independent_samples_have_no_contiguous_split():
    with pytest.raises(ValueError, match="needs ordered samples"):
        mt.data.load_source("spirals", n_samples=50).split_contiguous((0.5, 0.5))


@pytest.mark.parametrize("method", ["standard", "scale", "none"])
def test_a_run_splits_text_by_position_and_never_normalises_token_ids(method):
    experiment = build(load_config(data=tiny_config(
        normalize={"method": method}, options={"window": 16, "stride": 4, "max_tokens": SMALL})))
    train, val, test = (loader.dataset for loader in
                        (experiment.train, experiment.validation, experiment.test))
    assert overlapping(train, val) == overlapping(val, test) == overlapping(train, test) == 0
    raw = mt.data.load_source("text", window=16, stride=4, max_tokens=SMALL)
    np.testing.assert_array_equal(train.features, raw.features[:len(train)])
    assert experiment.preprocessing["normalizer"]["method"] == "none"
    assert experiment.preprocessing["class_names"] == raw.class_names
    baseline = experiment.preprocessing["unigram_loss"]
    assert baseline["val"] == pytest.approx(unigram_loss(train, val)) and 2 < baseline["val"] < 4


def test_unigram_loss_is_the_crossentropy_of_the_training_frequencies():
    train = mt.data.ArrayDataset(np.zeros((2, 3)), np.array([[0, 0, 1], [0, 0, 2]]))
    val = mt.data.ArrayDataset(np.zeros((1, 2)), np.array([[0, 2]]))
    p = np.array([5, 2, 2]) / 9  # counts 4, 1, 1, each plus one
    assert unigram_loss(train, val) == pytest.approx(-(np.log(p[0]) + np.log(p[2])) / 2)


def test_a_last_layer_with_fewer_units_than_the_vocabulary_is_refused():
    config = tiny_config()
    config["model"][-1] = {"Dense": {"units": 10}}
    with pytest.raises(ConfigError, match=rf"10 outputs, but the data has {small_vocabulary()} "
                                          rf"classes.*set units: {small_vocabulary()}"):
        build(load_config(data=config))


# --- sequence labels: loss and accuracy over every position ----------------------------------
def test_sparse_crossentropy_on_rank3_logits_is_the_mean_over_positions():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 6, 9)).astype(np.float32)
    labels = rng.integers(0, 9, size=(4, 6))
    z = logits - logits.max(-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_p, labels[..., None], -1).mean()
    loss = mt.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(loss(labels, logits)) == pytest.approx(expected, rel=1e-5)
    probabilities = mt.losses.SparseCategoricalCrossentropy()
    assert float(probabilities(labels, np.exp(log_p).astype(np.float32))) == pytest.approx(
        expected, rel=1e-5)
    accuracy = mt.metrics.SparseCategoricalAccuracy()
    accuracy.update_state(labels, logits)
    assert float(accuracy.result()) == pytest.approx((logits.argmax(-1) == labels).mean())


# --- a tiny run, and sampling from it --------------------------------------------------------
@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    (folder / "tiny.yaml").write_text(yaml.safe_dump(tiny_config()))
    result = train("--config", folder / "tiny.yaml", "--output", folder / "run", "--quiet")
    assert result.returncode == 0, result.stderr
    return folder / "run"


def run_sample(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = sample.main([str(a) for a in args])
    return status, out.getvalue(), err.getvalue()


def test_a_tiny_lstm_trains_one_epoch_and_keeps_the_vocabulary(text_run):
    run = mt.load_run(text_run)
    assert run.class_names == sorted(set(TEXT[:SMALL]))
    assert run.preprocessing["feature_shape"] == [16]
    assert set(run.preprocessing["unigram_loss"]) == {"train", "val", "test"}
    ids = np.array([Vocabulary(run.class_names).encode(TEXT[:16])])
    assert run.model(ids.astype(np.float32)).shape == (1, 16, small_vocabulary())


def test_sample_continues_the_prompt_for_the_length_asked_and_a_seed_repeats_it(text_run):
    status, out, err = run_sample(text_run, "--prompt", "First", "--length", 40,
                                  "--temperature", 0.8, "--seed", 0)
    assert status == 0, err
    text = out[:-1]  # printed with a newline
    assert text.startswith("First") and len(text) == 5 + 40
    assert set(text) <= set(TEXT[:SMALL])
    assert run_sample(text_run, "--prompt", "First", "--length", 40, "--temperature", 0.8,
                      "--seed", 0)[1] == out
    assert run_sample(text_run, "--prompt", "First", "--length", 40, "--temperature", 0.8,
                      "--seed", 1)[1] != out
    # temperature 0 takes the likeliest token: no randomness left
    greedy = {run_sample(text_run, "--prompt", "Ci", "--length", 20, "--temperature", 0,
                         "--seed", seed)[1] for seed in (0, 1)}
    assert len(greedy) == 1 and len(greedy.pop()) == 2 + 20 + 1


@pytest.mark.parametrize("args, match", [
    (["--prompt", "Citizen ü"], r"1 character\(s\) not in the vocabulary: 'ü' \(it has"),
    (["--prompt", ""], "--prompt is empty"),
    (["--length", "-1"], "--length must be 0 or more"),
    (["--temperature", "-0.5"], "--temperature must be a finite number, 0 or more"),
    (["--temperature", "nan"], "--temperature must be a finite number"),
])
def test_sample_refuses_bad_arguments_in_one_line(text_run, args, match):
    status, out, err = run_sample(text_run, *args)
    assert status == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1
    assert re.search(match, err), err


def test_sample_refuses_a_run_that_is_no_language_model(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    assert train("--config", tmp_path / "tiny.yaml", "--output", tmp_path / "run",
                 "--quiet").returncode == 0
    status, _, err = run_sample(tmp_path / "run", "--prompt", "a")
    assert status == 2 and "trained on the data source 'spirals', not 'text'" in err
    status, _, err = run_sample(tmp_path / "nothing", "--prompt", "a")
    assert status == 2 and "no such run directory" in err


def test_train_refuses_a_text_source_that_is_misconfigured(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "data: {source: text, options: {window: 0}}\nmodel: [{Dense: {units: 2}}]\n"
        "loss: {name: sparse_categorical_crossentropy, from_logits: true}\n"
        "optimizer: adam\ntraining: {epochs: 1}\n")
    result = train("--config", tmp_path / "bad.yaml", "--output", tmp_path / "run")
    assert refused(result) and "window must be a whole number" in result.stderr


def test_the_shipped_lstm_config_builds_and_takes_a_step():
    result = train("--config", "configs/lstm.yaml", "--dry-run")
    assert result.returncode == 0, result.stderr
    config = load_config("configs/lstm.yaml")
    vocabulary = len(set(TEXT))
    assert config["model"][0]["Embedding"]["input_dim"] == vocabulary
    assert config["model"][-1]["Dense"]["units"] == vocabulary


def test_sample_draws_only_tokens_of_the_vocabulary_when_the_model_has_more_outputs(tmp_path):
    """A run on the text's start knows fewer characters than a last layer sized for all."""
    out = tmp_path / "run"
    assert train("--config", "configs/lstm.yaml", "--set", "data.options.max_tokens=3000",
                 "--set", "training.epochs=1", "--set", "model.1.LSTM.units=8",
                 "--output", out, "--quiet").returncode == 0
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert sample.main([str(out), "--prompt", "First", "--length", "300",
                            "--seed", "1", "--temperature", "2"]) == 0
    assert len(text.getvalue()) == len("First") + 300 + 1
