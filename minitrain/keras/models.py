"""``mt.keras.models``: re-exports (Keras's ``keras.models``)."""
from ..models import Model, Sequential
from ..saving import load_model, save_model
from ..serialization import clone_model

__all__ = ["Model", "Sequential", "clone_model", "load_model", "save_model"]
