"""SimpleRNN, LSTM and GRU: Keras 3's recurrent layers, looped over time in Python.

Each step is minitrain ops (matmul, slicing, sigmoid, tanh, where), so gradients through time,
of any order, come from the tape. The weights are Keras 3's, in its ``get_weights`` order and
layout, so arrays copied from a Keras layer give its outputs:

    kernel (input_dim, g * units), recurrent_kernel (units, g * units), bias
    SimpleRNN g = 1; LSTM g = 4, gates i, f, c, o, bias (4 * units,);
    GRU g = 3, gates z, r, h, bias (2, 3 * units) (input, recurrent) with reset_after=True,
    else (3 * units,)

Keras's semantics, from keras/src/layers/rnn and backend rnn: ``go_backwards`` reads the
sequence from its end and returns the outputs in that (reversed) order; a ``mask`` (batch,
time) of False skips a step, carrying the states over and repeating the previous output (zeros
before any step, or always zeros with ``zero_output_for_mask``, as Bidirectional sets);
dropout masks are drawn once per call and kept across the time steps. minitrain has no mask
propagation between layers, so a mask is passed to the call explicitly.
"""
import numpy as np

from .. import activations, initializers, nn, ops, regularizers
from ..tensor import Tensor
from .base import Layer, positive_int
from .input_spec import InputSpec
from .serializable import serialize, serialize_function


def _no_constraint(value, what):
    if value is not None:
        raise ValueError(f"{what}: constraints are not supported by minitrain, got {value!r}")


def _rate(value):
    return min(1.0, max(0.0, float(value)))  # Keras clips the dropout rates into [0, 1]


def _blocks(h, kernel, masks, units, gates):
    """h @ kernel[:, gates], with the dropout mask of each gate (one mask for all, or none)."""
    columns = [kernel[:, g * units:(g + 1) * units] for g in gates]
    if masks is None or len(masks) == 1:
        h = h if masks is None else h * masks[0]
        whole = kernel if len(gates) * units == kernel.shape[1] else ops.concat(columns, 1)
        return ops.matmul(h, whole)
    return ops.concat([ops.matmul(h * masks[g], c) for g, c in zip(gates, columns)], -1)


class _RNN(Layer):
    """What the recurrent layers share: arguments, weights, the loop, masks and dropout; a
    subclass sets ``gates`` and ``state_count`` and fills ``_step`` (and ``_bias_weight``)."""

    gates, state_count = 1, 1

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer,
                 bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                 constraints, dropout, recurrent_dropout, seed, return_sequences, return_state,
                 go_backwards, stateful, unroll, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.units = positive_int(units, f"{name}: units")
        for which, value in zip(("kernel", "recurrent", "bias"), constraints):
            _no_constraint(value, f"{name}: {which}_constraint")
        if stateful:
            raise NotImplementedError(
                f"{name}: stateful=True is not supported by minitrain. Carry the state across "
                "batches yourself: return_state=True gives the last states, and "
                "layer(x, initial_state=states) starts from them.")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout, self.recurrent_dropout = _rate(dropout), _rate(recurrent_dropout)
        self.seed = seed
        self._seeds = None if seed is None else np.random.default_rng(seed)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), False, bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.input_spec = InputSpec(ndim=3)  # Keras's

    # --- weights -----------------------------------------------------------------------------
    def build(self, input_shape):
        width = self.gates * self.units
        self.input_spec = InputSpec(ndim=3, axes={-1: input_shape[-1]})
        self.kernel = self.add_weight("kernel", (input_shape[-1], width),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer)
        self.bias = (self.add_weight("bias", self._bias_shape(), self._bias_initializer(),
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def _input_bias(self):
        return self.bias

    # --- the loop ----------------------------------------------------------------------------
    def compute_mask(self, inputs, previous_mask=None):
        """Keras's: the steps' mask goes on with the sequence, not with its last output."""
        return previous_mask if self.return_sequences else None

    def call(self, sequences, initial_state=None, mask=None, training=False):
        states = self._initial_states(sequences, initial_state)
        dp, rec_dp = self._dropout_masks(sequences, training)
        projected = _blocks(sequences, self.kernel, dp, self.units, range(self.gates))
        if self.use_bias and self._input_bias() is not None:
            projected = projected + self._input_bias()
        outputs, states = self._loop(projected, states, self._step_mask(mask, sequences),
                                     rec_dp)
        output = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return (output, *states) if self.return_state else output

    def _loop(self, projected, states, mask, rec_dp):
        """Outputs (in the order the steps run) and the last states; masked steps carry the
        states over and repeat the previous output (zeros at first, or always zeros)."""
        steps = range(projected.shape[1])
        outputs, previous = [], ops.zeros_like(states[0])
        for t in reversed(steps) if self.go_backwards else steps:
            output, new = self._step(projected[:, t], states, rec_dp)
            if mask is not None:
                keep = mask[:, t:t + 1]
                output = ops.where(keep, output, ops.zeros_like(output)
                                   if self.zero_output_for_mask else previous)
                new = [ops.where(keep, n, s) for n, s in zip(new, states)]
            states, previous = new, output
            outputs.append(output)
        return outputs, states

    def _step(self, x, states, rec_dp):
        """(output, new states) from the projected input x (bias added) and the states."""
        raise NotImplementedError

    def _step_mask(self, mask, sequences):
        if mask is None:
            return None
        mask = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if mask.shape != tuple(sequences.shape[:2]):
            raise ValueError(f"{type(self).__name__} '{self.name}': the mask must have shape "
                             f"(batch, timesteps) = {tuple(sequences.shape[:2])}, got "
                             f"{mask.shape}")
        return ops.as_tensor(mask.astype(bool))

    def _initial_states(self, sequences, initial_state):
        shape = (sequences.shape[0], self.units)
        if initial_state is None:
            return [ops.zeros(shape, self.dtype) for _ in range(self.state_count)]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
            initial_state]
        if len(states) != self.state_count or any(tuple(ops.as_tensor(s).shape) != shape
                                                  for s in states):
            raise ValueError(f"{type(self).__name__} '{self.name}': initial_state must be "
                             f"{self.state_count} tensor(s) of shape {shape}, got "
                             f"{[tuple(np.shape(s)) for s in states]}")
        return [ops.cast(ops.as_tensor(s), self.dtype) for s in states]

    # --- dropout -----------------------------------------------------------------------------
    def _mask_count(self):
        return 1

    def _draw(self, like, rate, training):
        """None, or the masks (0 or 1 / (1 - rate)) of one call, the same at every step."""
        if not training or not 0.0 < rate < 1.0:
            return None
        ones = ops.ones(like, self.dtype)
        return [nn.dropout(ones, rate, seed=self._seed()) for _ in range(self._mask_count())]

    def _seed(self):
        return None if self._seeds is None else int(self._seeds.integers(2**31))

    def _dropout_masks(self, sequences, training):
        batch, _, features = sequences.shape
        dp = self._draw((batch, 1, features), self.dropout, training)
        return dp, self._draw((batch, self.units), self.recurrent_dropout, training)

    # --- shapes and config ------------------------------------------------------------------
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        states = [(batch, self.units)] * self.state_count
        return (output, *states) if self.return_state else output

    def get_config(self):
        own = {"units": self.units, "activation": serialize_function(self.activation),
               "use_bias": self.use_bias}
        held = {key: serialize(value) for key, value in vars(self).items()
                if key.endswith(("_initializer", "_regularizer")) and not key.startswith("_")}
        constraints = {f"{w}_constraint": None for w in ("kernel", "recurrent", "bias")}
        loop = {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask,
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}
        return {**super().get_config(), **own, **held, **constraints, **loop,
                "activity_regularizer": serialize(self.activity_regularizer)}



def _use_cudnn(value, name):
    """Keras's check of ``use_cudnn``; minitrain has one implementation, so it is ignored."""
    if value not in ("auto", True, False):
        raise ValueError(f"{name}: invalid value received for argument `use_cudnn`. Expected "
                         f"one of {{'auto', True, False}}. Received: use_cudnn={value}")
    return value


class SimpleRNN(_RNN):
    """h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer,
                         (kernel_constraint, recurrent_constraint, bias_constraint), dropout,
                         recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                         stateful, unroll, activity_regularizer=activity_regularizer, **kwargs)

    def _step(self, x, states, rec_dp):
        h = self.activation(x + _blocks(states[0], self.recurrent_kernel, rec_dp, self.units,
                                        range(1)))
        return h, [h]

    def get_config(self):
        config = super().get_config()
        del config["seed"]  # Keras 3's SimpleRNN leaves it out of its config too
        return config


class LSTM(_RNN):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), gates i, f, c, o:
    c_t = f * c_{t-1} + i * activation(z_c), h_t = o * activation(c_t), where
    z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias and i, f, o are
    recurrent_activation of their quarters of z. States [h, c]."""

    gates, state_count = 4, 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        kwargs.pop("implementation", None)  # Keras's two are the same maths
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer,
                         (kernel_constraint, recurrent_constraint, bias_constraint), dropout,
                         recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                         stateful, unroll, activity_regularizer=activity_regularizer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.use_cudnn = _use_cudnn(use_cudnn, "LSTM")

    def _bias_initializer(self):
        """With unit_forget_bias, the forget gate's quarter starts at ones (Jozefowicz et
        al., 2015), the others from bias_initializer, as Keras concatenates them."""
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, init = self.units, self.bias_initializer
        return lambda shape, dtype=None: ops.concat(
            [init((units,), dtype), ops.ones((units,), dtype), init((2 * units,), dtype)], 0)

    def _step(self, x, states, rec_dp):
        h, c = states
        units, f_ = self.units, self.recurrent_activation
        z = x + _blocks(h, self.recurrent_kernel, rec_dp, units, range(4))
        i, f, o = (f_(z[:, g * units:(g + 1) * units]) for g in (0, 1, 3))
        c = f * c + i * self.activation(z[:, 2 * units:3 * units])
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": serialize_function(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRU(_RNN):
    """Gated recurrent unit (Cho et al., 2014), gates z, r, h: h_t = z * h_{t-1} + (1 - z) *
    activation(x_h + r * (h_{t-1} @ R_h + b_h)) with reset_after (Keras's default, cuDNN's
    form), activation(x_h + (r * h_{t-1}) @ R_h) without; z and r are recurrent_activation of
    x @ kernel + h_{t-1} @ recurrent_kernel plus the biases, in their thirds."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer,
                         (kernel_constraint, recurrent_constraint, bias_constraint), dropout,
                         recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                         stateful, unroll, activity_regularizer=activity_regularizer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.use_cudnn = _use_cudnn(use_cudnn, "GRU")
        # Keras's implementation 1 (forced by recurrent dropout) draws a mask per gate
        self.implementation = 1 if self.recurrent_dropout else implementation

    def _mask_count(self):
        return 3 if self.implementation == 1 else 1

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    def _step(self, x, states, rec_dp):
        (h,), units, f_ = states, self.units, self.recurrent_activation
        kernel = self.recurrent_kernel
        inner = _blocks(h, kernel, rec_dp, units, range(3) if self.reset_after else range(2))
        if self.reset_after and self.use_bias:
            inner = inner + self.bias[1]
        z = f_(x[:, :units] + inner[:, :units])
        r = f_(x[:, units:2 * units] + inner[:, units:2 * units])
        if self.reset_after:
            recurrent_h = r * inner[:, 2 * units:]
        else:
            masked = h if rec_dp is None else h * rec_dp[-1]
            recurrent_h = ops.matmul(r * masked, kernel[:, 2 * units:])
        h = z * h + (1 - z) * self.activation(x[:, 2 * units:] + recurrent_h)
        return h, [h]

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": serialize_function(self.recurrent_activation),
                "reset_after": self.reset_after}
