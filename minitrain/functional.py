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
