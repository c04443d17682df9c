"""Nested structures of lists, tuples and dicts, flattened and rebuilt as TensorFlow does."""


def flatten(structure):
    """The leaves of ``structure`` in order (dicts by sorted key)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_sequence_as(structure, leaves):
    """``structure`` with its leaves replaced, in order, by ``leaves``."""
    return _rebuild(structure, iter(leaves))


def _rebuild(structure, leaves):
    # A module function, not a closure calling itself: such a closure is a reference cycle
    # that keeps every leaf (a step's gradients) alive until the garbage collector runs.
    if isinstance(structure, dict):
        return {key: _rebuild(structure[key], leaves) for key in sorted(structure)}
    if isinstance(structure, (list, tuple)):
        items = [_rebuild(item, leaves) for item in structure]
        if hasattr(structure, "_fields"):  # a namedtuple
            return type(structure)(*items)
        return type(structure)(items)
    return next(leaves)


def is_nested(structure):
    return isinstance(structure, (list, tuple, dict))
