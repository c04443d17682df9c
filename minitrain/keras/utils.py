"""``mt.keras.utils``: re-exports."""
from ..utils import set_random_seed, to_categorical

__all__ = ["set_random_seed", "to_categorical"]
