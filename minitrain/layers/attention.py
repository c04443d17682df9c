"""MultiHeadAttention and Attention (Keras 3.15's) and PositionEmbedding (keras_hub 0.32's).

MultiHeadAttention keeps Keras's weight layout: EinsumDense-style projections "query", "key",
("gate", with ``use_gate``), "value" (kernels (d_model, num_heads, dim), biases (num_heads,
dim)) and "attention_output" (kernel (num_heads, value_dim, *output_shape), bias
(*output_shape,)), so ``get_weights()`` lists them in that order (kernel then bias), as Keras's
does. Its einsum equations are Keras's, built for any ``attention_axes``.

minitrain has no implicit Keras masks (``_keras_mask``): the masks Keras would read from the
inputs are passed explicitly, ``query_mask=``, ``value_mask=``, ``key_mask=`` (Keras 3's call
takes them too).
"""
import math
import string

import numpy as np

from .. import initializers, nn, ops, regularizers
from ..keras_tensor import KerasTensor
from .base import Layer, positive_int
from .core import Dropout
from .serializable import serialize

_LETTERS = string.ascii_lowercase
_LARGE_NEGATIVE = -1e9  # what Keras's Softmax layer puts in the masked logits


def _projection_equation(free, bound, out):
    """(free..., bound...) x kernel (bound..., out...) -> (free..., out...): Keras's
    ``_build_proj_equation``; the bias spans the ``out`` axes."""
    f, b = _LETTERS[:free], _LETTERS[free:free + bound]
    o = _LETTERS[free + bound:free + bound + out]
    return f"{f}{b},{b}{o}->{f}{o}"


def _attention_equations(rank, axes):
    """(key x query -> scores, scores x value -> output) for projected tensors of ``rank``
    (batch, <other axes>, <attention axes>, heads, channels): Keras's
    ``_build_attention_equation``. Scores are (<batch axes, heads>, <query axes>, <key axes>)."""
    target = _LETTERS[:rank]
    batch = [i for i in range(rank) if i not in axes and i != rank - 1]
    fresh = iter(_LETTERS[rank:])
    source = "".join(target[i] if i in batch or i == rank - 1 else next(fresh)
                     for i in range(rank))
    product = "".join([target[i] for i in batch] + [target[i] for i in axes]
                      + [source[i] for i in axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}"


def _as_bool(mask):
    return None if mask is None else ops.cast(mask, "bool")


def _positions(query_length, value_length):
    """(1, T, 1) query and (1, 1, S) key positions."""
    return (ops.reshape(ops.range_(query_length), (1, query_length, 1)),
            ops.reshape(ops.range_(value_length), (1, 1, value_length)))


def _causal_mask(query_length, value_length):
    """(1, T, S): True where the key position is at or before the query position."""
    return ops.greater_equal(*_positions(query_length, value_length))


def _window_mask(query_length, value_length, window):
    """(1, T, S): True where |query position - key position| < window (Keras's band)."""
    rows, cols = _positions(query_length, value_length)
    return ops.less(ops.abs(rows - cols), window)


def _and(first, second):
    return second if first is None else ops.logical_and(first, second)


def _no_constraint(value, what):
    if value is not None:
        raise NotImplementedError(f"{what}: minitrain has no weight constraints; pass None")


class _EinsumDense(Layer):
    """einsum(equation, inputs, kernel) + bias, the bias over the output's last axes: the
    projections inside MultiHeadAttention, weights named as Keras's EinsumDense names them."""

    def __init__(self, equation, kernel_shape, bias_shape, kernel_initializer,
                 bias_initializer, kernel_regularizer=None, bias_regularizer=None,
                 activation=None, **kwargs):
        super().__init__(**kwargs)
        self.equation, self.activation = equation, activation
        self.kernel = self.add_weight("kernel", kernel_shape, kernel_initializer,
                                      regularizer=kernel_regularizer)
        self.bias = (None if bias_shape is None else
                     self.add_weight("bias", bias_shape, bias_initializer,
                                     regularizer=bias_regularizer))
        self.built = True

    def call(self, inputs):
        y = ops.einsum(self.equation, inputs, self.kernel)
        y = y if self.bias is None else y + self.bias
        return y if self.activation is None else self.activation(y)


class MultiHeadAttention(Layer):
    """Keras 3's multi-head attention: softmax(q k / sqrt(key_dim)) v, per head, projected.

    Called as ``layer(query, value, key=None, attention_mask=None, ...)``; the tensors travel
    to the base class as one dict, so casting, building and symbolic (functional) calls treat
    them all as inputs.
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.num_heads = positive_int(num_heads, "MultiHeadAttention: num_heads")
        self.key_dim = positive_int(key_dim, "MultiHeadAttention: key_dim")
        self.value_dim = positive_int(value_dim or key_dim, "MultiHeadAttention: value_dim")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1), got {dropout!r}")
        self.dropout, self.use_bias, self.use_gate, self.seed = (
            dropout, bool(use_bias), bool(use_gate), seed)
        if sliding_window is not None and (isinstance(sliding_window, bool) or not isinstance(
                sliding_window, int) or sliding_window <= 0):
            raise ValueError("`sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        self.sliding_window = sliding_window
        self._projection_shape = self._output_shape_arg(output_shape)
        self._attention_axes = self._axes_arg(attention_axes)
        self.flash_attention = flash_attention  # accepted; the computation is the same
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        _no_constraint(kernel_constraint, "MultiHeadAttention: kernel_constraint")
        _no_constraint(bias_constraint, "MultiHeadAttention: bias_constraint")
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self.key_dim))

    @staticmethod
    def _output_shape_arg(output_shape):
        if not output_shape:
            return None
        shape = (output_shape,) if isinstance(output_shape, int) else output_shape
        try:
            return tuple(int(n) for n in shape)
        except TypeError:
            raise ValueError(f"Invalid `output_shape`: {output_shape}. When specified, the "
                             "`output_shape` should be of type tuple, list, or int.") from None

    @staticmethod
    def _axes_arg(axes):
        if axes is None or isinstance(axes, (list, tuple)):
            return None if axes is None else tuple(int(a) for a in axes)
        if isinstance(axes, int):
            return (axes,)
        raise ValueError(f"`attention_axes` must be an int, list, or tuple.Received: "
                         f"attention_axes={axes}")

    @property
    def attention_axes(self):
        return self._attention_axes

    # --- calling ----------------------------------------------------------------------------
    def __call__(self, query, value=None, key=None, attention_mask=None, query_mask=None,
                 value_mask=None, key_mask=None, **kwargs):
        if isinstance(query, dict) and value is None:  # a functional graph replaying a call
            return super().__call__(query, **kwargs)
        if value is None:
            raise TypeError("MultiHeadAttention needs a query and a value: layer(query, value)")
        given = {"query": query, "value": value, "key": key, "attention_mask": attention_mask,
                 "query_mask": query_mask, "value_mask": value_mask, "key_mask": key_mask}
        inputs = {name: x if isinstance(x, KerasTensor) else ops.as_tensor(x)
                  for name, x in given.items() if x is not None}
        if self._dtype is None:  # the query's dtype, whatever the masks' (first by key)
            self._learn_dtype([inputs["query"]])
        return super().__call__(inputs, **kwargs)

    def build(self, input_shape):
        query_shape, value_shape = input_shape["query"], input_shape["value"]
        key_shape = input_shape.get("key", value_shape)
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError("All dimensions of `value` and `key`, except the last one, must be "
                             f"equal. Received: value_shape={value_shape} and "
                             f"key_shape={key_shape}")
        rank = len(query_shape) + 1  # of the projections: (batch, ..., heads, channels)
        self._query_dense = self._dense("query", query_shape, self.key_dim)
        self._key_dense = self._dense("key", key_shape, self.key_dim)
        if self.use_gate:  # built between key and value, so its weights come there, as Keras's
            self._gate_dense = self._dense("gate", query_shape, self.value_dim,
                                           activation=ops.sigmoid)
        self._value_dense = self._dense("value", value_shape, self.value_dim)
        self._attention_axes = self._normalized_axes(rank - 1)
        self._dot_product_equation, self._combine_equation = _attention_equations(
            rank, self._attention_axes)
        self._dropout_layer = Dropout(rate=self.dropout, seed=self.seed, dtype=self.dtype)
        out = self._projection_shape or (query_shape[-1],)
        self._output_dense = _EinsumDense(
            _projection_equation(rank - 2, 2, len(out)), (self.num_heads, self.value_dim, *out),
            out if self.use_bias else None, name="attention_output", **self._common())

    def _normalized_axes(self, ndim):
        """The attention axes of an input of ``ndim`` axes: by default all but the batch and
        feature axes; negative ones count from the end of the input, as in Keras."""
        if self._attention_axes is None:
            return tuple(range(1, ndim - 1))
        axes = tuple(a if a >= 0 else ndim + a for a in self._attention_axes)
        if any(not 1 <= a < ndim - 1 for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"MultiHeadAttention: attention_axes {self._attention_axes} must "
                             f"be distinct axes of the query other than the batch axis (0) and "
                             f"the feature axis ({ndim - 1}), for a query of {ndim} axes")
        return axes

    def _dense(self, name, input_shape, dim, activation=None):
        equation = _projection_equation(len(input_shape) - 1, 1, 2)
        return _EinsumDense(equation, (input_shape[-1], self.num_heads, dim),
                            (self.num_heads, dim) if self.use_bias else None, name=name,
                            activation=activation, **self._common())

    def _common(self):
        return {"kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer,
                "kernel_regularizer": self.kernel_regularizer,
                "bias_regularizer": self.bias_regularizer,
                "activity_regularizer": self.activity_regularizer, "dtype": self.dtype}

    def call(self, inputs, return_attention_scores=False, training=None, use_causal_mask=False):
        query, value = inputs["query"], inputs["value"]
        mask = self._compute_attention_mask(inputs, use_causal_mask)
        q = self._query_dense(query)
        k = self._key_dense(inputs.get("key", value))
        v = self._value_dense(value)
        output, scores = self._compute_attention(q, k, v, mask, training)
        if self.use_gate:
            output = output * self._gate_dense(query)
        output = self._output_dense(output)
        return (output, scores) if return_attention_scores else output

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        """(output (batch, T, heads, value_dim), scores (batch, heads, T, S)): Keras's, the
        query scaled by 1/sqrt(key_dim) first, dropout on the probabilities only."""
        query = query * self._inverse_sqrt_key_dim  # a Python float: exact in any dtype
        scores = ops.einsum(self._dot_product_equation, key, query)
        scores = self._masked_softmax(scores, attention_mask)
        dropped = (self._dropout_layer(scores, training=training) if self.dropout > 0
                   else scores)
        return ops.einsum(self._combine_equation, dropped, value), scores

    def _masked_softmax(self, scores, mask=None):
        """softmax over the key axes, masked logits set to -1e9 first and masked probabilities
        to 0 after (Keras's Softmax layer: a row with no key left is all zeros)."""
        n = len(self._attention_axes)
        if mask is not None:
            while mask.ndim < scores.ndim:  # broadcast over the heads (and batch) axes
                mask = ops.expand_dims(mask, -2 * n - 1)
            scores = ops.where(mask, scores, _LARGE_NEGATIVE)
        if n == 1:
            probs = nn.softmax(scores, axis=-1)
        else:
            axes = list(range(scores.ndim - n, scores.ndim))
            probs = ops.exp(scores - ops.reduce_logsumexp(scores, axes, keepdims=True))
        return probs if mask is None else ops.where(mask, probs, 0.0)

    def _compute_attention_mask(self, inputs, use_causal_mask=False):
        """attention_mask & query_mask[..., None] & value_mask[:, None] & key_mask[:, None]
        & the causal mask & the sliding window's band, each where given (Keras's)."""
        query_mask, value_mask, key_mask, attention_mask = (
            _as_bool(inputs.get(name)) for name in
            ("query_mask", "value_mask", "key_mask", "attention_mask"))
        auto = None if query_mask is None else ops.expand_dims(query_mask, -1)
        for mask in (value_mask, key_mask):
            if mask is not None:
                auto = _and(auto, ops.expand_dims(mask, -2))
        lengths = inputs["query"].shape[1], inputs["value"].shape[1]  # Keras's: axis 1
        if use_causal_mask:
            auto = _and(auto, _causal_mask(*lengths))
        if self.sliding_window is not None:
            auto = _and(auto, _window_mask(*lengths, self.sliding_window))
        return attention_mask if auto is None else _and(attention_mask, auto)

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if isinstance(query_shape, dict):
            query_shape = query_shape["query"]
        query_shape = tuple(query_shape)
        return query_shape[:-1] + self._projection_shape if self._projection_shape else \
            query_shape

    @property
    def query_dense(self):
        return self._query_dense

    @property
    def key_dense(self):
        return self._key_dense

    @property
    def value_dense(self):
        return self._value_dense

    @property
    def output_dense(self):
        return self._output_dense

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout,
                "use_bias": self.use_bias, "use_gate": self.use_gate,
                "output_shape": self._projection_shape,
                "attention_axes": self._attention_axes, "sliding_window": self.sliding_window,
                "kernel_initializer": serialize(self.kernel_initializer),
                "bias_initializer": serialize(self.bias_initializer),
                "kernel_regularizer": serialize(self.kernel_regularizer),
                "bias_regularizer": serialize(self.bias_regularizer),
                "activity_regularizer": serialize(self.activity_regularizer),
                "kernel_constraint": None, "bias_constraint": None, "seed": self.seed}


class Attention(Layer):
    """Keras 3's dot-product (Luong) attention: softmax(scores(q, k)) v, on [query, value] or
    [query, value, key]; "dot" scores are q k^T (times ``scale``), "concat" scores are
    concat_score_weight * sum(tanh(scale * (q + k))) over the features."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of {'dot', "
                             f"'concat'}}. Received: score_mode={score_mode}")
        if not 0 <= dropout < 1:
            raise ValueError(f"Attention: dropout must be in [0, 1), got {dropout!r}")
        self.use_scale, self.score_mode, self.dropout, self.seed = (
            use_scale, score_mode, dropout, seed)
        self._seeds = None if seed is None else np.random.default_rng(seed)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = self.add_weight("scale", (), "ones") if self.use_scale else None
        self.concat_score_weight = (self.add_weight("concat_score_weight", (), "ones")
                                    if self.score_mode == "concat" else None)

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.matrix_transpose(key))
            return scores if self.scale is None else scores * self.scale
        total = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            total = self.scale * total
        return self.concat_score_weight * ops.reduce_sum(ops.tanh(total), -1)

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        if scores_mask is not None:
            scores = ops.where(scores_mask, scores, scores - 1.0e9)
        weights = nn.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            seed = None if self._seeds is None else int(self._seeds.integers(2**31))
            weights = nn.dropout(weights, self.dropout, seed=seed)
        return ops.matmul(weights, value), weights

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = (_as_bool(mask[0]), _as_bool(mask[1])) if mask else (None,) * 2
        scores = self._calculate_scores(query, key)
        scores_mask = None if value_mask is None else ops.expand_dims(value_mask, -2)
        if use_causal_mask:
            scores_mask = _and(scores_mask, _causal_mask(*scores.shape[-2:]))
        result, weights = self._apply_scores(scores, value, scores_mask, training)
        if query_mask is not None:
            result = ops.where(ops.expand_dims(query_mask, -1), result, 0.0)
        return (result, weights) if return_attention_scores else result

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, "
                             f"value] or [query, value, key]. Received: inputs={inputs}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely "
                             f"[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if mask is not None and (not isinstance(mask, (list, tuple)) or
                                 not 2 <= len(mask) <= 3):
            raise ValueError(f"{name} layer mask must be a list of length 2 or 3, namely "
                             f"[query_mask, value_mask]. Received: mask={mask}.")

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], input_shape[1][-1])

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}
