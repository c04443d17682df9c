"""Module (tf.Module): a named container whose variables and submodules are found by walking
its attributes, in the order TensorFlow walks them (``tensorflow/python/module/module.py``).

The walk visits a module's attributes sorted by name; each attribute's value is flattened
(lists and tuples in order, dicts by sorted key) and every leaf is met once, by identity. All
of a module's own leaves come before those of the modules it holds, which are walked next in
the order they were met, each in the same way. A module with ``self.z = v3``, ``self.y =
{"k": v2, "a": v1}`` and ``self.x = [sub, v0]``, where ``sub.w = v4``, has the variables v0,
v1, v2, v3, v4: x before y before z, "a" before "k", and sub's after all of its own.

A Layer is a Module: a module holding layers finds their weights, a layer's own ones first in
Keras's order. (A layer's ``weights`` see only layers, as in Keras, not plain modules.)

minitrain has no graph, so a name scope only names: ``module.name_scope.name`` is
``"my_module/"`` and entering it gives that name, but Variables keep the names they are given
(TensorFlow would prefix them with the scope).
"""
import functools
import re

from .naming import camel_to_snake
from .tensor import Variable

_IDENTIFIER = re.compile(r"^[a-zA-Z_]([a-zA-Z0-9_])*$")


def valid_identifier(name):
    return bool(_IDENTIFIER.match(name))


class NameScope:
    """What ``module.name_scope`` gives: ``.name`` ("my_module/"), and ``with`` yields it."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name if name.endswith("/") else f"{name}/"

    def __enter__(self):
        return self.name

    def __exit__(self, *exc_info):
        return False

    def __repr__(self):
        return f"<name_scope {self.name!r}>"


class Module:
    """A named container of Variables and other Modules (``tf.Module``).

    ``variables``, ``trainable_variables`` and ``submodules`` are found by walking the
    attributes each time they are read (see the module docstring for the order).
    """

    # attributes the walk skips: a subclass's bookkeeping that holds no user state
    _TF_MODULE_IGNORED_PROPERTIES = frozenset()

    def __init__(self, name=None):
        if name is None:
            name = camel_to_snake(type(self).__name__)
        elif not valid_identifier(name):
            raise ValueError(f"{name!r} is not a valid module name. Module names must be valid "
                             "Python identifiers (e.g. a valid class name).")
        self._name = name

    @property
    def name(self):
        """The name given to the constructor, or the class name in snake_case."""
        return self._name

    @property
    def name_scope(self):
        """A name scope for this module: ``with self.name_scope:``, ``.name``."""
        return NameScope(self.name)

    @property
    def variables(self):
        """Every Variable held by this module and its submodules, each once (a tuple)."""
        return tuple(self._flatten(predicate=_is_variable))

    @property
    def trainable_variables(self):
        """The trainable Variables, in the order of ``variables`` (a tuple)."""
        return tuple(self._flatten(predicate=_is_trainable_variable))

    @property
    def non_trainable_variables(self):
        """The Variables that are not trainable, in the order of ``variables`` (a tuple)."""
        return tuple(self._flatten(predicate=_is_non_trainable_variable))

    @property
    def submodules(self):
        """Every Module held, directly or through other modules, each once (a tuple)."""
        return tuple(self._flatten(predicate=_is_module))

    def _flatten(self, recursive=True, predicate=None, attribute_traversal_key=None,
                 with_path=False):
        """The leaves of the walk that satisfy ``predicate``, as TensorFlow's ``_flatten``.

        ``attribute_traversal_key`` re-keys attribute names before they are sorted;
        ``with_path`` yields ``(path, leaf)`` pairs, a path being the tuple of attribute
        names, indices and keys that lead to the leaf, and then leaves reached by several
        paths are yielded once per path.
        """
        return _flatten_module(self, recursive, predicate or (lambda _: True),
                               attribute_traversal_key, with_path, (), {id(self)}, [])

    def _walk_attributes(self, key=None):
        """(name, value) for each attribute the walk visits, in the order it visits them."""
        held, ignored = vars(self), self._TF_MODULE_IGNORED_PROPERTIES
        return [(name, held[name]) for name in sorted(held, key=key) if name not in ignored]

    @classmethod
    def with_name_scope(cls, method):
        """Decorate a method to run inside its module's name scope."""
        @functools.wraps(method)
        def method_with_name_scope(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)
        return method_with_name_scope


def _is_variable(value):
    return isinstance(value, Variable)


def _is_trainable_variable(value):
    return isinstance(value, Variable) and value.trainable


def _is_non_trainable_variable(value):
    return isinstance(value, Variable) and not value.trainable


def _is_module(value):
    return isinstance(value, Module)


def _leaves(value, path):
    """(path, leaf) for each leaf of ``value``: lists and tuples in order, dicts by key."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _leaves(value[key], path + (key,))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _leaves(item, path + (i,))
    else:
        yield path, value


def _flatten_module(module, recursive, predicate, key, with_path, path, seen, stack):
    """TensorFlow's walk: this module's leaves, then each module met, walked in turn.

    ``seen`` holds the ids already yielded (unused with paths); ``stack`` the modules being
    walked, so that a cycle (``a.a = a``) is not followed with paths either.
    """
    recursive = recursive and id(module) not in stack
    submodules = []
    for name, value in module._walk_attributes(key):
        for leaf_path, leaf in _leaves(value, path + (name,)):
            if not with_path:
                if id(leaf) in seen:
                    continue
                seen.add(id(leaf))
            if predicate(leaf):
                yield (leaf_path, leaf) if with_path else leaf
            if recursive and isinstance(leaf, Module):
                submodules.append((leaf_path, leaf))
    stack.append(id(module))
    for sub_path, submodule in submodules:
        yield from _flatten_module(submodule, recursive, predicate, key, with_path, sub_path,
                                   seen, stack)
    stack.pop()
