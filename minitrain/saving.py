"""Weights to and from ``.npz`` files, and whole models to and from ``.keras`` archives.

A weight's key names the structure, not the objects: the attribute that holds a layer
("encoder"), a list index ("layers/0") and the weight's name ("kernel"), e.g.
"layers/0/kernel". So a model built again by the same code (or from its config) loads the
file, whatever names its layers got this time.

A ``.keras`` file is Keras 3's: one zip archive holding ``config.json`` (the model's config,
with its compile config) and the weights, here ``model.weights.npz`` (Keras writes
``model.weights.h5``). Every file is written atomically. Loading runs no code: the config is
JSON whose class names are looked up among minitrain's own layers (or the ``custom_objects``
the caller passes), never imported; arrays are read by minitrain.npzfile, never unpickled.
"""
import io
import json
import os
import warnings
import zipfile
from importlib import metadata

import numpy as np

from . import backend
from .npzfile import BOMB_FLOOR, BOMB_RATIO, read_npz
from .serialization import compile_config, deserialize, revive_compile_config, serialize
from .storage import atomic_write

CONFIG, WEIGHTS, OPTIMIZER = "config.json", "model.weights.npz", "optimizer.weights.npz"


# --- weights files -----------------------------------------------------------------------------
def _check_weights_path(filepath, loading=False):
    filepath = os.fspath(filepath)
    if filepath.endswith((".h5", ".hdf5")):
        raise ValueError(f"minitrain writes weights as .npz files, not HDF5: the path must end "
                         f"in '.npz' (e.g. 'model.weights.npz'), got {filepath!r}")
    if not filepath.endswith(".npz"):
        raise ValueError(f"File format not supported: filepath={filepath}. minitrain only "
                         "supports `.keras` files and `.npz` weights files: the filename must "
                         "end in '.npz' (e.g. 'model.weights.npz')" if loading else
                         f"The filename must end in '.npz' (e.g. 'model.weights.npz'). "
                         f"Received: filepath={filepath}")
    return filepath


def _named_weights(layer, action, required=True):
    named = dict(layer._named_weights())
    if not named and required:
        raise ValueError(f"cannot {action} the weights of '{layer.name}': it has none yet. "
                         "Build it first (call it on a batch, or model.build(input_shape))")
    return named


def _arrays(layer, required=True):
    return {path: backend.to_numpy(v._data) for path, v in
            _named_weights(layer, "save", required).items()}


def save_weights(layer, filepath):
    """Write every weight of ``layer`` to ``filepath`` (.npz): a temporary file, then a rename."""
    filepath = _check_weights_path(filepath)
    arrays = _arrays(layer)
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save weights to {filepath}: no directory {directory}")
    atomic_write(filepath, lambda f: np.savez(f, **arrays))


def load_weights(layer, filepath):
    """Assign the weights saved in ``filepath`` (.npz, or the weights of a .keras archive);
    every name and shape is checked first."""
    filepath = os.fspath(filepath)
    if filepath.endswith(".keras"):
        with _open_archive(filepath) as archive:
            return _assign(layer, _read_member(archive, WEIGHTS, filepath), filepath)
    with open(_check_weights_path(filepath, loading=True), "rb") as f:
        _assign(layer, f.read(), filepath)


def _read_npz(data, filepath):
    """{key: array} from the bytes of an .npz file, read by minitrain.npzfile (headers checked
    before anything is allocated, nothing unpickled); only numeric arrays are weights."""
    arrays = read_npz(io.BytesIO(data), name=filepath)
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{filepath}: weight '{key}' has dtype {array.dtype}, not a "
                             "numeric one: refused (a weights file holds numeric arrays only)")
    return arrays


def _assign(layer, data, filepath, required=True):
    named = _named_weights(layer, "load", required)
    arrays = _read_npz(data, filepath)
    _check_match(named, arrays, filepath)
    for path, variable in named.items():
        variable.assign(arrays[path])


def _check_match(named, arrays, filepath):
    """Raise at the first difference: in the model's order, then the file's extra keys."""
    for path, variable in named.items():
        if path not in arrays:
            raise ValueError(f"{filepath}: the file has no weight '{path}', which the model "
                             f"needs (the file holds: {', '.join(arrays)})")
        if arrays[path].shape != variable.shape:
            raise ValueError(f"{filepath}: weight '{path}' has shape {arrays[path].shape} in "
                             f"the file but {variable.shape} in the model")
    for key in arrays:
        if key not in named:
            raise ValueError(f"{filepath}: the file holds a weight '{key}' that the model "
                             f"does not have (the model's weights: {', '.join(named)})")


# --- .keras archives ---------------------------------------------------------------------------
def _check_model_path(filepath):
    filepath = os.fspath(filepath)
    if filepath.endswith((".h5", ".hdf5")):
        raise ValueError(f"minitrain saves whole models as .keras archives, not HDF5: use a "
                         f"path ending in '.keras' (or save_weights to a '.weights.npz'), got "
                         f"{filepath!r}")
    if not filepath.endswith(".keras"):
        raise ValueError("Invalid filepath extension for saving. Please add a `.keras` "
                         "extension for the native Keras format (minitrain writes no HDF5). "
                         f"Received: filepath={filepath}.")
    return filepath


def _version():
    try:
        return metadata.version("minitrain")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return None


def model_config(model):
    """config.json's content: the serialized model, its compile config, minitrain's version."""
    entry = serialize(model)
    owner = _lambda_owner(entry)
    if owner is not None:
        raise ValueError(f"cannot save model '{model.name}': its layer '{owner}' holds a Python "
                         "lambda, and minitrain never stores code. Use a named function (and "
                         "pass it to load_model's custom_objects) or a Layer subclass")
    compiled = compile_config(model)
    if compiled is not None:
        entry["compile_config"] = compiled
    return {**entry, "minitrain_version": _version()}


def _lambda_owner(value, owner=None):
    """The name of the layer whose config holds a Python lambda, or None."""
    if isinstance(value, list):
        return next((found for v in value if (found := _lambda_owner(v, owner))), None)
    if not isinstance(value, dict):
        return None
    if value.get("class_name") == "__lambda__" or value.get("function") == "<lambda>":
        return owner or value.get("name")
    if isinstance(value.get("config"), dict):
        owner = value["config"].get("name", owner)
    return next((found for v in value.values() if (found := _lambda_owner(v, owner))), None)


def save_model(model, filepath, overwrite=True):
    """Write ``model`` (config, compile config, weights) to one .keras archive, atomically."""
    filepath = _check_model_path(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists, and overwrite=False")
    members = {CONFIG: json.dumps(model_config(model)),
               WEIGHTS: _npz(_arrays(model, required=False))}
    optimizer = getattr(model, "optimizer", None) if model.compiled else None
    if optimizer is not None and optimizer.built:  # its state, to train on where it stopped
        members[OPTIMIZER] = _npz({str(i): backend.to_numpy(v._data)
                                   for i, v in enumerate(optimizer.variables)})

    def write(file):
        with zipfile.ZipFile(file, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    atomic_write(filepath, write)


def _npz(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _restore_optimizer(model, data, filepath):
    """The optimizer's state (step count, rate, slots), in the order it was saved, after
    building it for the model's trainable variables; a mismatch warns, as Keras's does."""
    arrays = _read_npz(data, filepath)
    model.optimizer.build(model.trainable_variables)
    variables = model.optimizer.variables
    if len(arrays) != len(variables) or any(
            arrays.get(str(i), np.empty(0)).shape != v.shape for i, v in enumerate(variables)):
        warnings.warn(f"{filepath}: skipping the optimizer's state: the file holds "
                      f"{len(arrays)} variables, the optimizer built for the model has "
                      f"{len(variables)} (or their shapes differ)", stacklevel=3)
        return
    for i, variable in enumerate(variables):
        variable.assign(arrays[str(i)])


def _open_archive(filepath):
    if not os.path.isfile(filepath):
        raise ValueError(f"File not found: filepath={filepath}. Please ensure the file is an "
                         "accessible `.keras` zip file.")
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"{filepath} is not a .keras archive (a zip file)")
    archive = zipfile.ZipFile(filepath)
    for name in archive.namelist():
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            archive.close()
            raise ValueError(f"{filepath}: refusing an archive with the member '{name}', "
                             "whose path leaves the archive")
    return archive


def _read_member(archive, name, filepath):
    if name not in archive.namelist():
        raise ValueError(f"{filepath}: the archive has no '{name}' (it holds: "
                         f"{', '.join(archive.namelist())})")
    info = archive.getinfo(name)
    if info.file_size > max(BOMB_FLOOR, BOMB_RATIO * info.compress_size):
        raise ValueError(f"{filepath}: its member '{name}' declares {info.file_size} bytes "
                         f"but stores {info.compress_size}: refusing a decompression bomb")
    return archive.read(name)


def _read_config(archive, filepath):
    entry = json.loads(_read_member(archive, CONFIG, filepath))
    if not isinstance(entry, dict):
        raise ValueError(f"{filepath}: config.json holds no model config")
    return entry


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """The model saved by ``model.save(filepath)``: built from its config, its weights
    assigned, compiled again if it was. ``safe_mode`` is always on: nothing loads code."""
    filepath = os.fspath(filepath)
    if filepath.endswith((".h5", ".hdf5")):
        raise ValueError(f"File format not supported: filepath={filepath}. minitrain reads "
                         "no HDF5: it loads the `.keras` files model.save writes")
    if not filepath.endswith(".keras"):
        raise ValueError(f"File format not supported: filepath={filepath}. minitrain only "
                         "supports `.keras` files (and `.npz` weights via load_weights)")
    with _open_archive(filepath) as archive:
        entry = _read_config(archive, filepath)
        model = deserialize(entry, custom_objects)
        _assign(model, _read_member(archive, WEIGHTS, filepath), filepath, required=False)
        state = _read_member(archive, OPTIMIZER, filepath) if OPTIMIZER in \
            archive.namelist() else None
    if compile and entry.get("compile_config"):
        model.compile(**revive_compile_config(entry["compile_config"], custom_objects))
        if state is not None:
            _restore_optimizer(model, state, filepath)
    return model
