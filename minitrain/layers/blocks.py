"""The pieces a transformer block needs where a model is a list of layers (a YAML config, a
Sequential): a residual connection around layers, and self-attention called with one input.

```yaml
- Residual:                      # x + LayerNormalization -> SelfAttention (x)
    layers:
      - LayerNormalization
      - SelfAttention: {num_heads: 4, key_dim: 16, causal: true}
```
A config also repeats a block: ``- Repeat: {times: 4, layers: [...]}`` stands for ``times``
copies of the layers, each with weights of its own (config/build.py expands it).
"""
from .attention import MultiHeadAttention
from .base import Layer
from .serializable import layer_entry, layer_from_entry


class Residual(Layer):
    """``x + f(x)``, f the ``layers`` applied in order (He et al., 2016): the skip connection
    around each half of a transformer block. f must keep the input's shape."""

    def __init__(self, layers, **kwargs):
        super().__init__(**kwargs)
        from ..models import Sequential  # models imports layers: import at construction
        self.body = Sequential(list(layers))

    def call(self, inputs, training=None):
        return inputs + self.body(inputs, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        entries = [layer_entry(layer) for layer in self.body.layers]
        return {**super().get_config(), "layers": entries}

    @classmethod
    def from_config(cls, config):
        return super().from_config({**config, "layers": [layer_from_entry(entry) for entry in
                                                         config["layers"]]})


class SelfAttention(MultiHeadAttention):
    """MultiHeadAttention of a sequence with itself (query = value = key), called with the
    one input a list of layers passes; ``causal``: each position attends only to itself and
    the positions before it (``use_causal_mask``), as a language model must."""

    def __init__(self, num_heads, key_dim, causal=False, **kwargs):
        super().__init__(num_heads, key_dim, **kwargs)
        self.causal = bool(causal)

    def __call__(self, inputs, *args, training=None, **kwargs):
        if isinstance(inputs, dict):  # a functional graph replaying a call
            return super().__call__(inputs, training=training, **kwargs)
        return super().__call__(inputs, inputs, training=training,
                                use_causal_mask=kwargs.pop("use_causal_mask", self.causal),
                                **kwargs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "causal": self.causal}
