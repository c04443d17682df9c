"""Model (a layer made of layers, Keras's subclassing style), Functional (``Model(inputs,
outputs)`` over a graph of layers called on ``Input``s) and Sequential."""
import functools
import inspect

from . import functional, nest, ops, saving, serialization
from .keras_tensor import KerasTensor
from .layers.base import Layer, shapes_of
from .layers.input_layer import InputLayer
from .summary import summary_text
from .training.fit import KerasTraining


class Model(KerasTraining, Layer):
    """Define layers in ``__init__`` and the forward pass in ``call``; the first call builds.

    Nested layers are not handed the ``training`` flag implicitly: pass it on in ``call``
    (``self.dropout(x, training=training)``), as ``Sequential`` does.

    ``Model(inputs, outputs)`` gives a ``Functional`` model instead, as in Keras.
    """

    def __new__(cls, *args, **kwargs):
        functional_call = len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs
        target = _functional_class(cls) if functional_call else cls
        return super().__new__(target, *args, **kwargs)  # the arguments: Keras's auto-config

    def _maybe_build(self, inputs):
        # a model's variables belong to its layers, which build as call() reaches them; only
        # a subclass's own build() runs here (marked built first: it may call Model.build)
        self.built = True
        if type(self).build is not Model.build:
            try:
                self.build(shapes_of(inputs))
            except BaseException:
                self.built = False
                raise

    def _casts(self, dtype):
        # floating inputs only: an integer one may be an Embedding's indices, and each layer
        # inside casts what it takes
        return self.autocast and dtype != self._dtype and dtype.kind == "f"

    def build(self, input_shape):
        """Create every variable by running the model once on zeros (None sizes become 1)."""
        if self.built:
            return
        shape = tuple(1 if n is None else int(n) for n in input_shape)
        self(ops.zeros(shape, self.dtype))

    @property
    def layers(self):
        """The layers held directly by this model, in the order they were assigned."""
        return [layer for _, layer in self._sublayers()]

    def get_layer(self, name=None, index=None):
        """A layer by its name or its index in ``layers`` (Keras's errors)."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        layers = self.layers
        if index is not None:
            if len(layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model "
                                 f"only has {len(layers)} layers.")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def summary(self, line_length=None, print_fn=None):
        """Print each layer with its output shape and parameter count, then the totals."""
        (print_fn or print)(summary_text(self, line_length))

    def save_weights(self, filepath):
        """Write every weight to a ``.npz`` file, keyed by its path in the model."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath):
        """Read weights saved by ``save_weights`` (or a .keras file's); names and shapes must
        match exactly."""
        saving.load_weights(self, filepath)

    def save(self, filepath, overwrite=True, zipped=None):
        """Keras 3's: one .keras archive with the config, compile config and weights."""
        if zipped is False:
            raise ValueError("minitrain saves a model as one zipped .keras file only")
        saving.save_model(self, filepath, overwrite)

    def compile(self, *args, **kwargs):
        """Keras's ``compile``; its arguments are kept, as Keras keeps them, for saving."""
        super().compile(*args, **kwargs)
        bound = inspect.signature(super().compile).bind(*args, **kwargs)
        bound.apply_defaults()
        object.__setattr__(self, "_compile_arguments", dict(bound.arguments))

    def get_compile_config(self):
        """compile()'s arguments as a config (None before compile), as Keras's."""
        return serialization.compile_config(self)

    def compile_from_config(self, config):
        """Compile as a compile config (``get_compile_config``'s) says."""
        self.compile(**serialization.revive_compile_config(config))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Keras 3's: a functional config revives a Functional model (for a class with
        Functional's constructor); any other config is passed to ``cls(**config)``."""
        if all(key in config for key in ("name", "layers", "input_layers", "output_layers")) \
                and _functional_like(cls):
            return _functional_from_config(Functional if cls is Model else cls, config,
                                           custom_objects)
        return serialization.construct_model(cls, config)


_functional_subclasses = {}


def _functional_class(cls):
    """The class a model built from (inputs, outputs) takes: Functional for Model itself, and
    for a subclass (Keras's "customizing fit": ``CustomModel(inputs, outputs)`` with its own
    train_step) the subclass with Functional behind it, as Keras injects it."""
    if issubclass(cls, Functional):
        return cls
    if cls is Model:
        return Functional
    if cls not in _functional_subclasses:
        _functional_subclasses[cls] = type(cls.__name__, (cls, Functional),
                                           {"__qualname__": cls.__qualname__,
                                            "__module__": cls.__module__})
    return _functional_subclasses[cls]


class Functional(Model):
    """A model over the graph of layers between symbolic ``inputs`` and ``outputs`` (each a
    KerasTensor, a list or a dict of them); calling it runs the graph on data."""

    def __init__(self, inputs, outputs, name=None, trainable=True):
        for what, structure in (("inputs", inputs), ("outputs", outputs)):
            for x in nest.flatten(structure):
                if not isinstance(x, KerasTensor):
                    raise ValueError(f"All `{what}` values must be KerasTensors. Received: "
                                     f"{what}={structure} including invalid value {x} of "
                                     f"type {type(x)}")
        super().__init__(trainable=trainable, name=name)
        flat_inputs, flat_outputs = nest.flatten(inputs), nest.flatten(outputs)
        if not flat_inputs or not flat_outputs:
            raise ValueError(f"`inputs` and `outputs` cannot be empty. Received: "
                             f"inputs={inputs}, outputs={outputs}")
        nodes, layers = functional.map_graph(flat_inputs, flat_outputs)
        # symbolic bookkeeping, set past __setattr__: it holds no weights of its own
        for key, value in (("_inputs_struct", inputs), ("_outputs_struct", outputs),
                           ("_inputs", flat_inputs), ("_outputs", flat_outputs),
                           ("_nodes", nodes)):
            object.__setattr__(self, key, value)
        self._layers = layers  # tracked: the weights are the layers', in this order
        self.autocast = False  # each input is converted to its Input's dtype instead
        self.built = True

    @property
    def layers(self):
        return list(self._layers)

    @property
    def inputs(self):
        """The flat list of the symbolic inputs."""
        return list(self._inputs)

    @property
    def outputs(self):
        """The flat list of the symbolic outputs."""
        return list(self._outputs)

    @property
    def input(self):
        """The symbolic inputs, in the structure the model was given them."""
        return self._inputs_struct

    @property
    def output(self):
        """The symbolic outputs, in the structure the model was given them."""
        return self._outputs_struct

    @property
    def input_shape(self):
        return _unpack_singleton(shapes_of(self._inputs_struct))

    @property
    def output_shape(self):
        return _unpack_singleton(shapes_of(self._outputs_struct))

    def get_config(self):
        """Keras 3's: the layers with their inbound nodes, and the inputs' and outputs'
        [layer, node, tensor] references."""
        if not _functional_like(type(self)):
            return Model.get_config(self)
        return functional.graph_config(self, serialization.serialize)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return _functional_from_config(cls, config, custom_objects)

    def call(self, inputs, training=None):
        values = functional.standardize_inputs(self._inputs_struct, self._inputs, inputs)
        outputs = functional.run_graph(self._nodes, self._inputs, values,
                                       self._outputs_struct, training)
        return _unpack_singleton(outputs)


def _functional_like(cls):
    """Keras's test: a class whose constructor is Functional's (or takes *args, **kwargs)."""
    spec = inspect.getfullargspec(cls.__init__)
    return cls in (Model, Functional) or spec.args == inspect.getfullargspec(
        Functional.__init__).args or (spec.varargs is not None and spec.varkw is not None)


def _functional_from_config(cls, config, custom_objects):
    def deserialize(entry):
        return serialization.deserialize(entry, custom_objects)
    inputs, outputs = functional.graph_from_config(config, deserialize)
    return cls(inputs=inputs, outputs=outputs, name=config.get("name"),
               trainable=config.get("trainable", True))


def _unpack_singleton(structure):
    return structure[0] if isinstance(structure, list) and len(structure) == 1 else structure


class Sequential(Model):
    """A stack of layers, each called on the output of the one before.

    Given an ``Input`` first (or a first layer given ``input_shape=``), it builds as each
    layer is added, as Keras's does; the InputLayer is not one of its ``layers``.
    """

    def __init__(self, layers=None, trainable=True, name=None, dtype=None):
        super().__init__(trainable=trainable, name=name, dtype=dtype)
        self._layers = []
        # set past __setattr__: not a sublayer, so the weights' paths do not depend on it
        object.__setattr__(self, "_input_layer", None)
        object.__setattr__(self, "_symbolic_output", None)
        for layer in layers or ():
            self.add(layer)

    def add(self, layer):
        """Append a layer (or an ``Input``, first); with an input, the layer builds now."""
        if isinstance(layer, KerasTensor) and isinstance(layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a Layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            return self._set_input(layer)
        if not self._layers and self._input_layer is None and layer._input_shape_arg:
            self._set_input(InputLayer(shape=layer._input_shape_arg))
        self._layers.append(layer)
        if self._symbolic_output is not None:
            object.__setattr__(self, "_symbolic_output", layer(self._symbolic_output))

    def _set_input(self, input_layer):
        if self._input_layer is not None or self._layers:
            raise ValueError(f"Sequential model '{self.name}' can take an Input only as its "
                             "first layer" + ("" if self._input_layer is None else
                                              ", and it has one already: input shape "
                                              f"{self._input_layer.batch_shape}"))
        object.__setattr__(self, "_input_layer", input_layer)
        object.__setattr__(self, "_symbolic_output", input_layer.output)
        self.built = True

    def pop(self):
        """Remove the last layer and return it."""
        if not self._layers:
            raise IndexError("Sequential.pop: the model has no layers")
        layer = self._layers.pop()
        if self._input_layer is not None:
            x = self._input_layer.output
            for kept in self._layers:
                x = kept(x)
            object.__setattr__(self, "_symbolic_output", x)
        return layer

    @property
    def input_shape(self):
        if self._input_layer is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input shape "
                                 "yet: give it an Input first")
        return self._input_layer.batch_shape

    @property
    def output_shape(self):
        if self._symbolic_output is None:
            return super().output_shape
        return self._symbolic_output.shape

    def get_config(self):
        """Keras 3's: the layers (an InputLayer first, if any) and the input shape."""
        given = [] if self._input_layer is None else [self._input_layer]
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name,
                  "layers": [serialization.serialize(layer) for layer in given + self._layers]}
        shape = self._build_shapes if self._input_layer is None else self.input_shape
        if shape is not None:
            config["build_input_shape"] = shape
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "name" not in config or "layers" not in config:
            raise ValueError("A Sequential model configuration must be a dictionary "
                             f"containing the 'name' and 'layers' keys. Received: {config}")
        model = cls(name=config["name"], trainable=config.get("trainable", True),
                    dtype=config.get("dtype"))
        for entry in config["layers"]:
            model.add(serialization.deserialize(entry, custom_objects))
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            serialization.build(model, shape)
        return model

    def call(self, inputs, training=False):
        if self._layers and getattr(self._layers[0], "mask_zero", False):
            return self._call_masked(inputs, training)
        x = inputs
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    def _call_masked(self, inputs, training):
        """Keras's mask flow, from an Embedding with mask_zero: each layer that takes a
        ``mask`` gets its input's, and ``compute_mask`` says what passes on."""
        x, mask = inputs, None
        for layer in self._layers:
            takes_mask = mask is not None and _call_takes_mask(type(layer))
            y = layer(x, training=training, mask=mask) if takes_mask else layer(
                x, training=training)
            x, mask = y, layer.compute_mask(x, mask)
        return x


@functools.cache
def _call_takes_mask(cls):
    """Whether a layer class's call has a ``mask`` argument (asked once per class, not once a
    step: inspecting a signature costs more than the check it saves)."""
    return "mask" in inspect.signature(cls.call).parameters
