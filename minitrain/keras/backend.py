"""``mt.keras.backend``: re-exports of the basics TensorFlow programs call."""
from ..utils import clear_session, epsilon, floatx

__all__ = ["clear_session", "epsilon", "floatx"]
