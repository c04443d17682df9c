"""``mt.keras.saving``: re-exports (Keras's ``keras.saving``)."""
from ..saving import load_model, save_model
from ..serialization import deserialize as deserialize_keras_object
from ..serialization import serialize as serialize_keras_object

__all__ = ["deserialize_keras_object", "load_model", "save_model", "serialize_keras_object"]
