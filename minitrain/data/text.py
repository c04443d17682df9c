"""The ``text`` source: a text file as windows of token ids, for a next-token language model.

Sample ``i`` is the window of ``window`` tokens that starts at token ``i * stride``; its
labels are the same window shifted by one (the token that follows each position), so an
Embedding -> LSTM(return_sequences=True) -> Dense(vocabulary size) model learns to predict
every next token. The tokens are the text's characters (``vocabulary: char``, the sorted
distinct characters) or its UTF-8 bytes (``vocabulary: byte``, all 256 values); the
vocabulary is the dataset's ``class_names``, so a run keeps it. The windows are ``ordered``:
a run splits them by position (train, then validation, then test), never at random, and does
not normalise them.
"""
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset
from .elements import whole_number
from .registry import register_source

# the repository's datasets/, as for the digits (see images.py)
SHAKESPEARE_PATH = Path(__file__).resolve().parents[1] / "datasets" / "shakespeare.txt"
VOCABULARIES = ("char", "byte")
# a byte's name: itself where printable ASCII, else its escape as Python writes it ('\\n')
BYTE_NAMES = [repr(bytes([b]))[2:-1] for b in range(256)]


class Vocabulary:
    """Token ids <-> text, for ``kind`` char (``names`` are the characters) or byte."""

    def __init__(self, names, kind="char"):
        if kind not in VOCABULARIES:
            raise ValueError(f"vocabulary must be one of {', '.join(VOCABULARIES)}, got {kind!r}")
        self.names, self.kind = list(names), kind
        self._ids = {name: i for i, name in enumerate(self.names)}

    @classmethod
    def of(cls, text, kind="char"):
        """The vocabulary of ``text``: its distinct characters, sorted, or every byte."""
        return cls(sorted(set(text)) if kind == "char" else BYTE_NAMES, kind)

    def __len__(self):
        return len(self.names)

    def encode(self, text):
        """The token ids of ``text``; a character outside the vocabulary is a ValueError
        naming it."""
        if self.kind == "byte":
            return np.frombuffer(text.encode("utf-8"), np.uint8).astype(np.int64)
        unknown = sorted(set(text) - set(self._ids))
        if unknown:
            raise ValueError(f"{len(unknown)} character(s) not in the vocabulary: "
                             f"{', '.join(map(repr, unknown[:10]))} (it has {len(self)}: "
                             f"{''.join(self.names)!r})")
        return np.array([self._ids[c] for c in text], np.int64)

    def decode(self, ids):
        """The text of token ids (bytes that are no valid UTF-8 become U+FFFD)."""
        if self.kind == "byte":
            return bytes(int(i) for i in ids).decode("utf-8", errors="replace")
        return "".join(self.names[int(i)] for i in ids)


@register_source("text")
def text(path=None, vocabulary="char", window=64, stride=None, max_tokens=None):
    """Windows of ``window`` token ids from the text at ``path`` (default: the shipped
    Shakespeare), one every ``stride`` tokens (default ``window``: no overlap), labelled with
    the next token at each position; ``max_tokens`` keeps only the text's first tokens."""
    path = Path(path) if path is not None else SHAKESPEARE_PATH
    window = _whole("window", window, 1)
    stride = window if stride is None else _whole("stride", stride, 1)
    raw = _read(path, vocabulary)
    if max_tokens is not None:
        raw = raw[:_whole("max_tokens", max_tokens, 2)]
    vocab = Vocabulary.of(raw, vocabulary)
    ids = vocab.encode(raw) if vocabulary == "char" else np.frombuffer(raw, np.uint8)
    if len(ids) < window + 1:
        raise ValueError(f"data source 'text': {path} holds {len(ids)} tokens, too few for "
                         f"one window of {window} and its next token; lower window")
    windows = np.lib.stride_tricks.sliding_window_view(
        ids.astype(np.uint8 if len(vocab) <= 256 else np.int32), window + 1)[::stride]
    starts = np.arange(len(windows), dtype=np.int64) * stride
    return ArrayDataset(windows[:, :-1].copy(), windows[:, 1:].copy(), origin=path,
                        class_names=vocab.names,
                        positions=np.stack([starts, starts + window + 1], axis=1))


def unigram_loss(train, evaluated):
    """The crossentropy (nats per token) on ``evaluated``'s labels of predicting each token by
    its frequency in ``train``'s labels: the loss of a model that ignores the context, the
    baseline that a language model must beat. Counts start at 1, so that a token unseen in
    training costs a finite loss."""
    counts = np.bincount(train.labels.ravel(), minlength=train.num_classes) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(-log_p[evaluated.labels.ravel()].mean())


def _read(path, vocabulary):
    if vocabulary not in VOCABULARIES:
        raise ValueError(f"data source 'text': vocabulary must be one of "
                         f"{', '.join(VOCABULARIES)}, got {vocabulary!r}")
    if not path.is_file():
        raise FileNotFoundError(f"data source 'text': no such file {path} (looked in "
                                f"{path.resolve()})")
    raw = path.read_bytes()
    if vocabulary == "byte":
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"data source 'text': {path} is not UTF-8 text ({err}); use "
                         "vocabulary: byte for any file") from None


def _whole(option, value, low):
    number = whole_number(value)
    if number is None or number < low:
        raise ValueError(f"data source 'text': {option} must be a whole number, at least "
                         f"{low}, got {value!r}")
    return number
