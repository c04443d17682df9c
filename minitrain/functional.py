"""The functional API's parts below the Model: the graph of Nodes between a model's inputs
and outputs (Keras 3's ``map_graph``), and running it on data.

Keras 3 (``keras/src/ops/function.py``) orders a graph's layers by depth, the inputs first,
layers of the same depth in the order a depth-first walk from the outputs first met them;
that is ``model.layers``. The walk's own order (every node after the nodes it reads) is the
order the graph runs in.
"""
from . import nest, ops
from .keras_tensor import KerasTensor


def _history(tensor):
    layer, node_index, _ = tensor._keras_history
    return layer, layer._inbound_nodes[node_index]


def _walk(tensor, inputs, state):
    """Depth-first from ``tensor`` back to ``inputs``: each node once, after its parents."""
    done, in_progress, order, first_seen = state
    layer, node = _history(tensor)
    first_seen.setdefault(layer, len(first_seen))
    if node in done or any(tensor is x for x in inputs):
        return
    if node in in_progress:
        raise ValueError(f"Tensor {tensor} from layer '{layer.name}' is part of a cycle.")
    if node.is_input:
        raise ValueError(f"Graph disconnected: cannot find parent for tensor {tensor} at "
                         f"layer '{layer.name}'. It is not one of the model's inputs: pass "
                         "every Input the outputs depend on in `inputs`")
    in_progress.add(node)
    for parent in node.input_tensors:
        _walk(parent, inputs, state)
    in_progress.remove(node)
    done.add(node)
    order.append(node)


def map_graph(inputs, outputs):
    """(the nodes in an order to run them in, the layers in Keras's order)."""
    order, first_seen = [], {}
    state = (set(), set(), order, first_seen)
    for tensor in outputs:
        _walk(tensor, inputs, state)
    depths, layer_depths = {}, {}
    for node in reversed(order):  # outputs first: a node is deeper than every reader
        depth = max(depths.setdefault(node, 0), layer_depths.get(node.layer, 0))
        depths[node] = layer_depths[node.layer] = depth
        for parent in node.parent_nodes:
            depths[parent] = max(depth + 1, depths.get(parent, 0))
    for tensor in inputs:  # an InputLayer, even one no output needs, is the model's
        layer, node = _history(tensor)
        if node.is_input:
            layer_depths[layer] = depths.get(node, 0)
            first_seen.setdefault(layer, -1)
    layers = sorted(layer_depths, key=lambda layer: (-layer_depths[layer], first_seen[layer]))
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the '
                             "model. All layer names should be unique.")
    return order, layers


def run_graph(nodes, inputs, values, outputs, training=None):
    """The value of each tensor of ``outputs`` (a structure), ``values`` being those of the
    tensors ``inputs`` (flat lists); ``training`` is passed on where a node did not fix it."""
    known = {id(x): value for x, value in zip(inputs, values)}
    for node in nodes:
        args = nest.pack_sequence_as(node.inputs, [
            known[id(x)] if isinstance(x, KerasTensor) else x for x in nest.flatten(node.inputs)])
        kwargs = dict(node.kwargs)
        if training is not None:
            kwargs.setdefault("training", training)
        results = nest.flatten(node.layer(args, *node.args, **kwargs))
        known.update((id(x), y) for x, y in zip(node.output_tensors, results))
    return nest.pack_sequence_as(outputs, [known[id(x)] for x in nest.flatten(outputs)])


def standardize_inputs(structure, inputs, data):
    """``data`` as a flat list matching the flat ``inputs``, each in its Input's dtype; a dict
    is matched to a list of inputs by the inputs' names, as Keras 3 does."""
    if isinstance(data, dict) and not isinstance(structure, dict):
        missing = [x.name for x in inputs if x.name not in data]
        if missing:
            raise ValueError(f"the model's inputs are named {[x.name for x in inputs]}, but "
                             f"the dict given has the keys {sorted(data)}")
        data = [data[x.name] for x in inputs]
    flat = nest.flatten(data) if nest.is_nested(data) else [data]
    if len(flat) != len(inputs):
        raise ValueError(f"the model takes {len(inputs)} inputs "
                         f"({', '.join(x.name for x in inputs)}), but {len(flat)} were given")
    converted = []
    for x, value in zip(inputs, flat):
        value = ops.as_tensor(value)
        _check_shape(x, value)
        converted.append(value if value.dtype == x.dtype else ops.cast(value, x.dtype))
    return converted


def _check_shape(x, value):
    """Keras's check: the same rank, and the same size where the Input fixes one."""
    if len(value.shape) != len(x.shape) or any(
            n is not None and n != m for n, m in zip(x.shape, value.shape)):
        raise ValueError(f"Functional was passed incompatible inputs. For input '{x.name}', "
                         f"expected shape {x.shape}, but received instead a tensor with shape "
                         f"{tuple(value.shape)}.")


def connections(layer, nodes):
    """The "Connected to" cell: ``name[node index][tensor index]`` per input, or "-"."""
    cells = [f"{x._keras_history[0].name}[{x._keras_history[1]}][{x._keras_history[2]}]"
             for node in layer._inbound_nodes if node in nodes for x in node.input_tensors]
    return ", ".join(cells) or "-"


# --- the graph as a config (Keras 3's Functional.get_config / functional_from_config) --------
def _own_nodes(model):
    """The nodes of the model's graph: those it runs, and those of its Inputs."""
    return set(model._nodes) | {x._keras_history[0]._inbound_nodes[x._keras_history[1]]
                                for x in model._inputs}


def _tensor_ref(tensor, own):
    """[layer name, node index, tensor index], counting only the nodes the config keeps."""
    layer, node_index, tensor_index = tensor._keras_history
    kept = sum(node in own for node in layer._inbound_nodes[:node_index])
    return [layer.name, kept, tensor_index]


def _map(fn, structure):
    return nest.pack_sequence_as(structure, [fn(x) for x in nest.flatten(structure)])


def _node_config(node, own):
    def value(x):
        if isinstance(x, KerasTensor):
            return {"class_name": "__keras_tensor__", "config": {
                "shape": list(x.shape), "dtype": x.dtype.name,
                "keras_history": _tensor_ref(x, own)}}
        return x
    return {"args": [_map(value, node.inputs), *_map(value, list(node.args))],
            "kwargs": _map(value, node.kwargs)}


def graph_config(model, serialize):
    """The layers, each with the calls (inbound nodes) the graph makes of it, and the
    inputs' and outputs' [layer, node, tensor] references, in their structures."""
    own = _own_nodes(model)
    layers = []
    for layer in model.layers:
        entry = {**serialize(layer), "name": layer.name}
        entry["inbound_nodes"] = [_node_config(node, own) for node in layer._inbound_nodes
                                  if node in own and not node.is_input]
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": _map(lambda x: _tensor_ref(x, own), model._inputs_struct),
            "output_layers": _map(lambda x: _tensor_ref(x, own), model._outputs_struct)}


def _tensor(ref, created):
    """The KerasTensor a [layer name, node index, tensor index] reference names; IndexError
    while that node has not been made yet."""
    if not (isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str)
            and all(isinstance(i, int) and i >= 0 for i in ref[1:])):
        raise ValueError(f"Invalid Functional model configuration: {ref!r} is not a "
                         "[layer name, node index, tensor index] reference")
    name, node_index, tensor_index = ref
    if name not in created:
        raise ValueError(f"Invalid Functional model configuration: it refers to the layer "
                         f"'{name}', which it does not define")
    node = created[name]._inbound_nodes[node_index]  # IndexError: not made yet
    if tensor_index >= len(node.output_tensors):
        raise ValueError(f"Invalid Functional model configuration: layer '{name}' has no "
                         f"output {tensor_index}")
    return node.output_tensors[tensor_index]


def _decode(value, created):
    """A node's arguments, each serialized KerasTensor replaced by the tensor it names."""
    if isinstance(value, list):
        return [_decode(v, created) for v in value]
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return _tensor((value.get("config") or {}).get("keras_history"), created)
    if isinstance(value, dict):
        return {key: _decode(v, created) for key, v in value.items()}
    return value


def _refs(structure, created):
    if isinstance(structure, list) and structure and isinstance(structure[0], str):
        return _tensor(structure, created)
    if isinstance(structure, dict):
        return {key: _refs(v, created) for key, v in structure.items()}
    return [_refs(v, created) for v in structure]


def _make_calls(pending, created):
    """Call each layer as its nodes say, a node once the nodes it reads exist (a layer
    shared at several depths waits for them), until none is left."""
    while any(pending.values()):
        progressed = False
        for name, nodes in pending.items():
            while nodes:
                try:
                    args = _decode(nodes[0].get("args", []), created)
                except IndexError:
                    break
                created[name](*args, **_decode(nodes.pop(0).get("kwargs", {}), created))
                progressed = True
        if not progressed:
            raise ValueError("Invalid Functional model configuration. The graph of the "
                             "Functional model either has loops or disconnected nodes. The "
                             f"following nodes failed to be resolved: {pending}")


def graph_from_config(config, deserialize):
    """(inputs, outputs) of the graph a ``graph_config`` describes, its layers made by
    ``deserialize(entry)`` and called again as the config's nodes say."""
    created, pending = {}, {}
    for entry in config["layers"]:
        layer = deserialize(entry)
        name = entry.get("name", layer.name)
        created[name], pending[name] = layer, list(entry.get("inbound_nodes") or [])
    _make_calls(pending, created)
    return (_refs(config["input_layers"], created), _refs(config["output_layers"], created))
