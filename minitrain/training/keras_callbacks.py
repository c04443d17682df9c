"""``keras.callbacks``: Keras 3's callbacks under their names, re-exports only."""
from .keras_base import Callback, CallbackList, CSVLogger, History, LambdaCallback, TerminateOnNaN
from .monitors import (
    BackupAndRestore,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from .progbar import ProgbarLogger

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping",
           "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
           "ProgbarLogger", "ReduceLROnPlateau", "TerminateOnNaN"]
