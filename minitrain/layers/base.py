"""Layer: the base class that owns the protocol; a subclass fills ``build`` and ``call``.

On its first call a layer learns its dtype and input shape and runs ``build(input_shape)``,
where it creates its weights with ``add_weight``. The base class tracks what a layer holds:
the variables assigned to its attributes and the layers held in attributes, lists, tuples and
dicts, recursively, so ``weights``, ``trainable_variables``, freezing and saving need no help
from subclasses. Weights come in Keras's order: a layer's own trainable weights, then its own
non-trainable ones, then those of its sublayers in the order they were assigned.

Dtypes follow Keras: variables are float32 unless the layer is given ``dtype=``; a layer given
no dtype takes the dtype of the first floating input it sees (so float64 inputs give float64
weights); floating inputs are then cast to the layer's dtype (``autocast``). Integer inputs
are cast too, where the layer's dtype is floating: Keras leaves them to its ops, which promote
``uint8 @ float32`` to float32, but minitrain's ops, as TensorFlow's, do not promote. A layer
whose inputs are indices (Embedding) sets ``autocast = False``, as Keras's does.

Called on KerasTensors (``mt.Input``), a layer builds from their shapes and records a Node
instead of computing (see ``keras_tensor``): the functional API.
"""
import functools
import inspect
import itertools
import warnings
from collections import defaultdict

import numpy as np

from .. import initializers, nest, ops, regularizers
from ..keras_tensor import Node, is_symbolic, output_spec
from ..module import Module
from ..naming import snake_case
from ..tensor import Tensor, Variable, as_dtype, float32
from . import serializable
from .input_spec import assert_input_compatibility

# per base name, how many layers have taken it: default names are unique, as in Keras
# ("dense", "dense_1", ...); saved weights are keyed by structure, never by these names
_name_counts = defaultdict(itertools.count)


def _unique_name(base):
    count = next(_name_counts[base])
    return base if count == 0 else f"{base}_{count}"


def reset_layer_names():
    """Name layers from scratch again ("dense", "dense_1", ...): keras's clear_session."""
    _name_counts.clear()


def _layers_in(value, path, visit, seen, found):
    """``visit(layer, path, seen, found)`` for each layer in an attribute's value, lists,
    tuples and dicts included, in order; a path of None builds no strings. The one walk behind
    the sublayers and the weights (which a training step reads twice: so no generators)."""
    if isinstance(value, Layer):
        visit(value, path, seen, found)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _layers_in(item, None if path is None else f"{path}/{i}", visit, seen, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _layers_in(item, None if path is None else f"{path}/{key}", visit, seen, found)


def _may_hold_layers(value):
    """Whether a walk must look into ``value``: a layer, a list or dict (which may get one
    later), or a tuple holding either; not a tuple of numbers, such as a Conv2D's kernel_size
    (a training step walks the layers twice: the small CNN's walk 7.8 -> 3.2 us)."""
    if isinstance(value, tuple):
        return any(_may_hold_layers(item) for item in value)
    return isinstance(value, (Layer, list, dict))


def _add_layer(layer, path, seen, found):
    """Append (path, layer) to ``found``, the first time ``layer`` is met."""
    if id(layer) not in seen:
        seen.add(id(layer))
        found.append((path, layer))


def positive_int(value, what):
    """``value`` as an int, which must be 1 or more (a size: units, filters, ...)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) or (
            int(value) != value or value < 1):
        raise ValueError(f"{what} must be a whole number, 1 or more, got {value!r}")
    return int(value)


def _pop_input_shape(kwargs):
    """Keras 3 still takes ``input_shape=`` (or ``input_dim=``) on a layer, with a warning;
    Sequential turns it into an InputLayer."""
    input_dim = kwargs.pop("input_dim", None)
    shape = (input_dim,) if input_dim is not None else kwargs.pop("input_shape", None)
    if shape is not None:
        warnings.warn("Do not pass an `input_shape`/`input_dim` argument to a layer. When "
                      "using Sequential models, prefer using an `Input(shape)` object as the "
                      "first layer in the model instead.", UserWarning, stacklevel=4)
    return shape


def shapes_of(structure):
    if isinstance(structure, Tensor):
        return structure.shape
    return nest.pack_sequence_as(structure, [x.shape for x in nest.flatten(structure)])


def _marking_built(layer, build):
    """``build`` that leaves the layer built, as Keras's wrapper does: a layer built by hand
    (``dense.build((None, 4))``) is not built again by its first call. A subclass's
    super().build(...) reaches the class's method, not this one."""

    @functools.wraps(build)
    def build_and_mark(*args, **kwargs):
        build(*args, **kwargs)
        input_shape = args[0] if args else kwargs.get("input_shape")
        if layer._build_shapes is None and is_shape(input_shape):
            object.__setattr__(layer, "_build_shapes", tuple(input_shape))
        layer.built = True

    return build_and_mark


def is_shape(value):
    """Whether ``value`` is one input shape (a list or tuple of sizes or None), not several."""
    return isinstance(value, (list, tuple)) and all(n is None or isinstance(n, int)
                                                   for n in value)


class Layer(Module):
    """A callable with weights: ``build(input_shape)`` creates them, ``call(inputs)`` computes.

    A Module, so a module holding layers finds their weights; the layer's own ``weights`` and
    ``trainable_variables`` keep Keras's order and see only layers, as in Keras.
    """

    _call_takes_training = False
    # Keras's: a layer that keeps its input's time steps passes a mask on (compute_mask)
    supports_masking = False
    # bookkeeping the Module walk skips: _walk_attributes gives the own weights in order itself
    _TF_MODULE_IGNORED_PROPERTIES = frozenset({"_own", "_tracked", "_losses", "_regularized",
                                                "_auto_config", "_build_shapes",
                                                "_input_spec"})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # read once per class: Keras passes `training` only to a call() that declares it
        parameters = inspect.signature(cls.call).parameters.values()
        cls._call_takes_training = any(p.name == "training" or p.kind is p.VAR_KEYWORD
                                       for p in parameters)
        serializable.register(cls)

    def __new__(cls, *args, **kwargs):
        layer = super().__new__(cls)
        # set before any subclass __init__ runs, since every attribute assignment is tracked
        object.__setattr__(layer, "_own", [])  # (name, variable, trainable when created)
        object.__setattr__(layer, "_tracked", [])  # attributes that may hold layers
        object.__setattr__(layer, "_inbound_nodes", [])  # its calls on KerasTensors
        object.__setattr__(layer, "_losses", [])  # from add_loss, since the last call began
        object.__setattr__(layer, "_regularized", {})  # variable._id: its regularizer
        object.__setattr__(layer, "_nested", False)  # called from an outer layer's call
        object.__setattr__(layer, "_auto_config", serializable.auto_config(cls, args, kwargs))
        object.__setattr__(layer, "_build_shapes", None)  # the input shapes it was built for
        object.__setattr__(layer, "_input_spec", None)  # what a call may pass (InputSpec)
        object.__setattr__(layer, "build", _marking_built(layer, layer.build))
        return layer

    def __init__(self, trainable=True, name=None, dtype=None, activity_regularizer=None,
                 **kwargs):
        self.autocast = bool(kwargs.pop("autocast", True))
        self._input_shape_arg = _pop_input_shape(kwargs)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        # a Keras name, not held to a Module's rule (a Python identifier), as Keras does not
        self._name = name or _unique_name(snake_case(type(self).__name__))
        self._dtype = as_dtype(dtype)
        self._trainable = bool(trainable)
        self.built = False
        self._output_shape = None
        self.activity_regularizer = activity_regularizer

    def __setattr__(self, name, value):
        if isinstance(value, Variable):
            self._track_variable(name, value, value.trainable)
        elif _may_hold_layers(value) and name not in self._tracked:
            self._tracked.append(name)  # read again at each walk: later appends are seen
        object.__setattr__(self, name, value)

    def _track_variable(self, name, variable, trainable):
        if any(v is variable for _, v, _ in self._own):
            return
        if any(n == name for n, _, _ in self._own):
            raise ValueError(f"layer '{self.name}' already has a weight named '{name}'")
        # kept in Keras's order, those created trainable first, so each walk needs one pass
        at = sum(created for _, _, created in self._own) if trainable else len(self._own)
        self._own.insert(at, (name, variable, bool(trainable)))

    # --- the hooks --------------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights, knowing the input's shape (and ``self.dtype``)."""

    def call(self, inputs):
        raise NotImplementedError(f"{type(self).__name__} must define call(inputs)")

    # --- the protocol -----------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        if is_symbolic(inputs):
            return self._call_symbolic(inputs, args, kwargs)
        inputs = self._convert_inputs(inputs)
        if self._input_spec is not None:  # the whole cost on the hot path: a few compares
            self._check_input_spec(inputs)
        if not self.built:
            object.__setattr__(self, "_build_shapes", shapes_of(inputs))
            self._maybe_build(inputs)
        if "training" in kwargs and not self._call_takes_training:
            del kwargs["training"]
        outputs = self._call_clearing_losses(inputs, *args, **kwargs)
        if self._activity_regularizer is not None:
            self._add_activity_losses(outputs)
        # set past __setattr__: a structure of shapes holds no layers, so it is not tracked
        object.__setattr__(self, "_output_shape", shapes_of(outputs))
        return outputs

    def _call_symbolic(self, inputs, args, kwargs):
        """Build from the KerasTensors' shapes, find the output's by running ``call`` on zeros
        (in inference: ``training`` is left out, so no statistic moves) and record a Node."""
        self._learn_dtype(nest.flatten(inputs))
        if self._input_spec is not None:
            self._check_input_spec(inputs)
        if not self.built:
            object.__setattr__(self, "_build_shapes", shapes_of(inputs))
            self._maybe_build(inputs)
        probe_kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        outputs = output_spec(
            lambda x: self.call(self._convert_inputs(x), *args, **probe_kwargs), inputs)
        Node(self, inputs, outputs, args, kwargs)
        object.__setattr__(self, "_output_shape", shapes_of(outputs))
        return outputs

    def _learn_dtype(self, leaves):
        if self._dtype is None:
            floating = [x.dtype for x in leaves if x.dtype.kind == "f"]
            self._dtype = floating[0] if floating else float32

    def _casts(self, dtype):
        """Whether an input of ``dtype`` is cast to the layer's dtype (see the module doc)."""
        return self.autocast and dtype != self._dtype and (
            dtype.kind == "f" or dtype.kind in "iu" and self._dtype.kind == "f")

    def _convert_inputs(self, inputs):
        """Tensors, floating (and integer) ones in the layer's dtype, learnt from the first
        floating input seen."""
        dtype = self._dtype  # (None before the first input: numpy takes None for float64)
        if type(inputs) is Tensor and dtype is not None and inputs._data.dtype == dtype:
            return inputs  # the common case, with nothing to convert
        structured = isinstance(inputs, (list, tuple, dict)) and any(
            isinstance(x, (Tensor, np.ndarray)) for x in nest.flatten(inputs))
        leaves = [ops.as_tensor(x) for x in (nest.flatten(inputs) if structured else [inputs])]
        self._learn_dtype(leaves)
        leaves = [ops.cast(x, self._dtype) if self._casts(x.dtype) else x for x in leaves]
        return nest.pack_sequence_as(inputs, leaves) if structured else leaves[0]

    def _maybe_build(self, inputs):
        self.build(shapes_of(inputs))  # which marks it built (_marking_built)
        if self._input_spec is not None:  # build may have set the sizes it was built for
            self._check_input_spec(inputs)

    def _check_input_spec(self, inputs):
        """Keras's check of ``input_spec``, with what to do: a built layer keeps its sizes."""
        try:
            assert_input_compatibility(self._input_spec, inputs, self.name)
        except ValueError as error:
            if self._build_shapes is None:
                raise
            raise ValueError(f"{error}. The layer was built for inputs of shape "
                             f"{self._build_shapes}: pass inputs of that shape, or use a new "
                             f"layer for these") from None

    @property
    def input_spec(self):
        """Keras's: an InputSpec (or a structure of them) each call's first argument must meet,
        or None; layers set it in ``__init__`` and ``build``."""
        return self._input_spec

    @input_spec.setter
    def input_spec(self, value):
        # past __setattr__: a list of specs holds no layers, so it is not tracked
        object.__setattr__(self, "_input_spec", value)

    def _call_clearing_losses(self, inputs, *args, **kwargs):
        """``call``; a top-level call first clears the losses of the call before, in every
        layer inside, which it marks as nested meanwhile (so a layer called twice keeps both
        calls' losses), as Keras's call context does, without a global."""
        if self._nested:
            return self.call(inputs, *args, **kwargs)
        inner = self._flatten_layers()
        for layer in inner:
            layer._losses.clear()
            object.__setattr__(layer, "_nested", layer is not self)
        try:
            return self.call(inputs, *args, **kwargs)
        finally:
            for layer in inner:
                object.__setattr__(layer, "_nested", False)

    def _add_activity_losses(self, outputs):
        """activity_regularizer(y) / batch size, for each output tensor y (Keras 3)."""
        for y in nest.flatten(outputs):
            if isinstance(y, Tensor):
                loss = ops.as_tensor(self._activity_regularizer(y))
                batch = y.shape[0] if y.shape else 1
                self.add_loss(loss / batch if batch else loss * 0)  # Keras: divide_no_nan

    def add_weight(self, name=None, shape=(), initializer=None, trainable=True, dtype=None,
                   regularizer=None):
        """A new Variable owned by this layer (glorot_uniform unless told otherwise); the
        penalty ``regularizer(variable)`` joins ``losses`` while the variable is trainable."""
        if dtype is None:
            self._dtype = self.dtype  # weights made before any input fix the layer's dtype
        dtype = as_dtype(dtype) or self.dtype
        initializer = initializers.get(initializer or ("glorot_uniform" if dtype.kind == "f"
                                                       else "zeros"))
        name = name or f"variable_{len(self._own)}"
        variable = Variable(initializer(tuple(shape), dtype), trainable=trainable,
                            name=f"{self.name}/{name}", dtype=dtype)
        self._track_variable(name, variable, trainable)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._regularized[variable._id] = regularizer
        return variable

    @property
    def dtype(self):
        """The dtype of the layer's variables (float32 until a float input says otherwise)."""
        return self._dtype if self._dtype is not None else float32

    @property
    def output_shape(self):
        """The shape of the output of the last call (a structure for several outputs)."""
        if self._output_shape is None:
            raise AttributeError(f"layer '{self.name}' has not been called yet, so it has no "
                                 "output shape")
        return self._output_shape

    @property
    def input(self):
        """The KerasTensor(s) of the layer's first call on KerasTensors (Keras's)."""
        return self._first_node_tensors("input_tensors", "input")

    @property
    def output(self):
        """The KerasTensor(s) its first call on KerasTensors gave (Keras's)."""
        return self._first_node_tensors("output_tensors", "output")

    def _first_node_tensors(self, attribute, what):
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has "
                                 f"no defined {what}.")
        tensors = getattr(self._inbound_nodes[0], attribute)
        return tensors[0] if len(tensors) == 1 else tensors

    def compute_mask(self, inputs, previous_mask=None):
        """Keras's: the mask of this layer's output, given its input's; a Sequential hands it
        to the next layer whose call takes ``mask`` (an Embedding with mask_zero starts one)."""
        return previous_mask if self.supports_masking else None

    # --- config (Keras's) --------------------------------------------------------------------
    def get_config(self):
        """Keras's base config: name, trainable, the dtype's name (and the activity
        regularizer, if any); a layer adds its arguments with {**super().get_config(), ...}.
        A class that defines no get_config of its own gets its constructor's arguments, where
        they are plain values (Keras 3's auto-config), or Keras's error."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = serializable.serialize(self.activity_regularizer)
        own_init = type(self).__init__ is not Layer.__init__
        if type(self).get_config is not Layer.get_config or not own_init:
            return config
        if self._auto_config is None:
            raise serializable.not_serializable(type(self))
        return {**self._auto_config, **config}

    @classmethod
    def from_config(cls, config):
        """The layer ``cls(**config)`` makes (Keras's error names the class and config); a
        dtype given as Keras's policy ({"class_name": "DTypePolicy", ...}) is read as its name."""
        if isinstance(config.get("dtype"), dict):
            config = {**config, "dtype": (config["dtype"].get("config") or {}).get("name")}
        try:
            return cls(**config)
        except Exception as err:
            raise TypeError(f"Error when deserializing class '{cls.__name__}' using "
                            f"config={config}.\n\nException encountered: {err}") from err

    def get_build_config(self):
        """Keras's: the input shape(s) the layer was built for, or None if it was not."""
        return None if self._build_shapes is None else {"input_shape": self._build_shapes}

    # --- losses -----------------------------------------------------------------------------
    def add_loss(self, loss):
        """Add a scalar tensor (or a structure of them) to ``losses``, until the next call."""
        losses = nest.flatten(loss)
        for x in losses:
            if not isinstance(x, Tensor):
                raise ValueError("`add_loss()` can only be called from inside `build()` or "
                                 f"`call()`, on a tensor input. Received invalid value: {x!r}")
        self._losses.extend(losses)

    @property
    def losses(self):
        """Keras 3's: the losses added during the last call, this layer's then those of the
        layers inside it, then the penalties of the trainable weights' regularizers, computed
        now from their current values (read ``losses`` inside the tape to differentiate)."""
        layers = self._flatten_layers()
        regularized = {key: r for layer in layers for key, r in layer._regularized.items()}
        return [loss for layer in layers for loss in layer._losses] + [
            regularized[v._id](v) for v in self.trainable_weights if v._id in regularized]

    @property
    def activity_regularizer(self):
        """A penalty on each output, divided by the batch size, added to ``losses`` at each
        call; settable, like any regularizer identifier."""
        return self._activity_regularizer

    @activity_regularizer.setter
    def activity_regularizer(self, value):
        object.__setattr__(self, "_activity_regularizer", regularizers.get(value))

    # --- tracking ---------------------------------------------------------------------------
    def _walk_attributes(self, key=None):
        """tf.Module's walk meets a layer's own weights first, in Keras's order."""
        return [("_weights", [v for _, v, _ in self._own])] + super()._walk_attributes(key)

    def _sublayers(self):
        """(path, layer) for each distinct layer held in the attributes, in assignment order."""
        seen, found, held = set(), [], self.__dict__
        for attribute in self._tracked:
            _layers_in(held.get(attribute), attribute.lstrip("_"), _add_layer, seen, found)
        return found

    def _flatten_layers(self):
        """This layer and every distinct layer inside it, breadth first."""
        seen, found = {id(self)}, [(None, self)]
        for _, layer in found:  # the loop reaches what it appends: every level in turn
            held = layer.__dict__
            for attribute in layer._tracked:
                _layers_in(held.get(attribute), None, _add_layer, seen, found)
        return [layer for _, layer in found]

    def _named_weights(self):
        """(path, variable) for every weight, in Keras's order; paths name the structure."""
        found = []
        self._collect("", set(), found)
        return found

    def _collect(self, path, seen, found):
        """Append this layer's weights, then its sublayers', to ``found``: (path, variable)
        pairs under ``path``, or bare variables where ``path`` is None (``weights``: no
        strings). A layer held twice adds nothing the second time: its variables are seen."""
        prefix = None if path is None else f"{path}/" if path else ""
        for name, variable, _ in self._own:
            if variable._id not in seen:
                seen.add(variable._id)
                found.append(variable if prefix is None else (prefix + name, variable))
        held = self.__dict__
        for attribute in self._tracked:
            inner = None if prefix is None else prefix + attribute.lstrip("_")
            _layers_in(held.get(attribute), inner, Layer._collect, seen, found)

    @property
    def weights(self):
        found = []
        self._collect(None, set(), found)
        return found

    variables = weights

    @property
    def trainable_weights(self):
        return [v for v in self.weights if v.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        return [v for v in self.weights if not v.trainable] if self.trainable else self.weights

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freeze (False) or unfreeze this layer and everything in it."""
        self._trainable = bool(value)
        for _, variable, created_trainable in self._own:
            if created_trainable:  # a non-trainable statistic stays one when unfrozen
                variable.trainable = self._trainable
        for _, layer in self._sublayers():
            layer.trainable = value

    def get_weights(self):
        """The weights' values as numpy arrays, in the order of ``weights``."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        """Assign arrays in the order of ``get_weights``; every shape is checked first."""
        named, weights = list(self._named_weights()), list(weights)
        if len(weights) != len(named):
            raise ValueError(f"layer '{self.name}' has {len(named)} weights "
                             f"({', '.join(p for p, _ in named)}), but {len(weights)} arrays "
                             "were given")
        for (path, variable), value in zip(named, weights):
            shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
            if shape != variable.shape:
                raise ValueError(f"layer '{self.name}': weight '{path}' has shape "
                                 f"{variable.shape}, but the array given has shape {shape}")
        for (_, variable), value in zip(named, weights):
            variable.assign(value)

    def count_params(self):
        return sum(int(np.prod(v.shape)) for v in self.weights)

    def __repr__(self):
        return f"<{type(self).__name__} '{self.name}' built={self.built}>"
