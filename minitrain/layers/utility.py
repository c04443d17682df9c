"""Lambda (a function as a layer) and Identity."""
import inspect

from .base import Layer


class Lambda(Layer):
    """``function(inputs, **arguments)`` as a layer; ``training`` (and ``mask``) are passed to a
    function that declares them. The function holds no weights: variables it creates or
    reads are not tracked, as in Keras."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}")
        self.function, self.mask = function, mask
        self.arguments = dict(arguments or {})
        self._given_output_shape = output_shape
        names = inspect.signature(function).parameters
        self._takes_training, self._takes_mask = "training" in names, "mask" in names

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._takes_mask:
            kwargs["mask"] = mask
        if self._takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        shape = self._given_output_shape
        if shape is None:
            raise NotImplementedError("Lambda: the output shape cannot be inferred without "
                                      "calling the function; pass output_shape")
        if callable(shape):
            return shape(input_shape)
        first = input_shape[0] if not isinstance(input_shape[0], (list, tuple)) else \
            input_shape[0][0]
        return (first, *shape)  # a given output_shape leaves out the batch axis

    def get_config(self):
        """The function by name only (found again through ``custom_objects``): minitrain never
        stores code, so a Lambda of a Python lambda cannot be saved."""
        config = {**super().get_config(), "function": getattr(
            self.function, "__name__", repr(self.function)), "arguments": self.arguments}
        if self._given_output_shape is not None and not callable(self._given_output_shape):
            config["output_shape"] = self._given_output_shape
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The function is looked up by its name in ``custom_objects``: never code from a file
        (Keras's safe mode, which minitrain cannot turn off)."""
        config = dict(config)
        name = config.get("function")
        if isinstance(name, dict):  # Keras's forms: {"class_name": "function" or "__lambda__"}
            name = name.get("config") if name.get("class_name") == "function" else "<lambda>"
        if name == "<lambda>" or not isinstance(name, str):
            raise ValueError(f"Requested the deserialization of a `Lambda` layer "
                             f"('{config.get('name')}') whose `function` is a Python lambda. "
                             "minitrain never loads code: rebuild the layer in code instead")
        if name not in (custom_objects or {}):
            raise ValueError(f"Lambda layer '{config.get('name')}' calls the function "
                             f"'{name}': pass it as custom_objects={{'{name}': {name}}}")
        config["function"] = custom_objects[name]
        return super().from_config(config)


class Identity(Layer):
    """Returns its inputs unchanged (a placeholder, as in Keras)."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, inputs):
        return inputs
