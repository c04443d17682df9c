"""InputLayer and ``Input``: the symbolic tensor a functional model starts from (Keras 3's
``keras/src/layers/core/input_layer.py``)."""
import warnings

from ..keras_tensor import KerasTensor, Node
from .base import Layer


class InputLayer(Layer):
    """The layer behind ``Input``: it holds the symbolic input tensor and computes nothing."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, name=None, **kwargs):
        super().__init__(name=name)
        if "input_shape" in kwargs:
            warnings.warn("Argument `input_shape` is deprecated. Use `shape` instead.",
                          UserWarning, stacklevel=2)
            shape = kwargs.pop("input_shape")
        if kwargs:
            raise TypeError(f"InputLayer: unexpected keyword arguments {sorted(kwargs)}")
        if shape is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
        if batch_size is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `batch_size` and `batch_shape` at the same "
                             "time.")
        if shape is None and batch_shape is None and input_tensor is None:
            raise ValueError("You must pass a `shape` argument.")
        if sparse:
            raise ValueError("`sparse=True` is not supported by minitrain: it has no sparse "
                             "tensors")
        if input_tensor is None:
            batch_shape = batch_shape if shape is None else (batch_size,) + _shape(shape)
            input_tensor = KerasTensor(batch_shape, dtype or "float32", name=name)
        self._dtype = input_tensor.dtype
        self.batch_shape = input_tensor.shape
        self.sparse = False
        Node(self, (), input_tensor)
        object.__setattr__(self, "_output_shape", self.batch_shape)
        self.built = True

    def call(self):
        return None

    def get_config(self):
        """Keras 3's keys; ``ragged`` and ``optional`` are always False here."""
        return {"batch_shape": self.batch_shape, "dtype": self.dtype.name,
                "sparse": self.sparse, "ragged": False, "name": self.name, "optional": False}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("ragged", "optional"):
            if config.pop(key, False):
                raise ValueError(f"InputLayer: `{key}=True` is not supported by minitrain")
        return super().from_config(config)


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,  # noqa: N802
          name=None, tensor=None):
    """A symbolic tensor to call layers on: ``shape`` leaves out the batch size, which is
    None unless ``batch_size`` says otherwise (Keras's ``keras.Input``)."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                      batch_shape=batch_shape, input_tensor=tensor, name=name).output
