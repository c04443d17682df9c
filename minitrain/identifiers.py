"""Turn Keras-style identifiers (``"adam"``, ``{"class_name": ..., "config": ...}``) into objects.

Names match without regard to case or underscores, so ``"sparse_categorical_crossentropy"``,
``"SparseCategoricalCrossentropy"`` and ``"sparsecategoricalcrossentropy"`` are one name.
"""
from .naming import canonical


def resolve(identifier, table, kind):
    """The object ``identifier`` names in ``table`` ({name: class}), built with its defaults.

    A string names a class; a dict ``{"class_name": name, "config": {...}}`` also gives its
    keyword arguments; a class is built with its defaults; any other callable (an instance
    already built) is returned unchanged.
    """
    if isinstance(identifier, str):
        name, config = identifier, {}
    elif isinstance(identifier, dict):
        extra = set(identifier) - {"class_name", "config"}
        if "class_name" not in identifier or extra:
            raise ValueError(f"a {kind} given as a dict needs the keys 'class_name' and "
                             f"(optionally) 'config', got {sorted(identifier)}")
        name, config = identifier["class_name"], dict(identifier.get("config") or {})
    elif isinstance(identifier, type):
        return identifier()
    elif callable(identifier):
        return identifier
    else:
        raise TypeError(f"cannot interpret {identifier!r} as a {kind}: give its name, a "
                        f"{{'class_name', 'config'}} dict or an instance")
    classes = {canonical(key): cls for key, cls in table.items()}
    cls = classes.get(canonical(name))
    if cls is None:
        raise ValueError(f"unknown {kind} '{name}'; valid names: {', '.join(sorted(table))}")
    return cls(**config)
