"""PositionEmbedding: keras_hub's learned positions, the transformer's sense of order."""
import numpy as np

from .. import initializers, ops
from .base import Layer, positive_int
from .serializable import serialize


class PositionEmbedding(Layer):
    """keras_hub's learned position embedding: rows ``start_index ...`` of a
    (sequence_length, features) table (or the rows at ``positions``), broadcast to the input's
    shape. It adds nothing: add it to the token embeddings yourself."""

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if sequence_length is None:
            raise ValueError("`sequence_length` must be an Integer, received `None`.")
        self.sequence_length = positive_int(sequence_length, "PositionEmbedding: "
                                            "sequence_length")
        self.initializer = initializers.get(initializer)

    def build(self, input_shape):
        self.position_embeddings = self.add_weight(
            "embeddings", (self.sequence_length, input_shape[-1]), self.initializer)

    def call(self, inputs, start_index=0, positions=None):
        if positions is not None:  # (seq,) or (batch, seq) indices
            indices = np.asarray(positions)
            rows = ops.gather(self.position_embeddings, indices[None] if indices.ndim == 1
                              else indices)
            return ops.broadcast_to(rows, inputs.shape)
        start, length = int(start_index), inputs.shape[-2]
        if not 0 <= start <= self.sequence_length - length:
            raise ValueError(f"PositionEmbedding '{self.name}': positions {start}.."
                             f"{start + length - 1} of an input of {length} positions do not "
                             f"fit in sequence_length {self.sequence_length}")
        return ops.broadcast_to(self.position_embeddings[start:start + length], inputs.shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length,
                "initializer": serialize(self.initializer)}
