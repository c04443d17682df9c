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
    it = iter(leaves)

    def rebuild(s):
        if isinstance(s, dict):
            return {key: rebuild(s[key]) for key in sorted(s)}
        if isinstance(s, (list, tuple)):
            items = [rebuild(item) for item in s]
            if hasattr(s, "_fields"):  # a namedtuple
                return type(s)(*items)
            return type(s)(items)
        return next(it)

    return rebuild(structure)


def is_nested(structure):
    return isinstance(structure, (list, tuple, dict))
