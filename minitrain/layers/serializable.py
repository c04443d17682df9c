"""Keras's ``get_config`` / ``from_config`` for the layers that define them here.

Keras's base layer contributes ``name``, ``trainable`` and ``dtype`` (here the dtype's name,
which Keras also accepts when it reads a config); each layer adds its constructor's arguments
with ``{**super().get_config(), ...}``, as in Keras. When ``Layer`` itself gains
``get_config``, this mixin can go.
"""


class Serializable:
    """A layer whose constructor arguments round-trip through a plain dict."""

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
