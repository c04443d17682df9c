"""einsum and tensordot: one op whose gradient is itself, an einsum of the other operands.

An equation is first made explicit: each operand's ``...`` becomes letters of its own (the
broadcast axes, right-aligned as numpy aligns them) and an implicit output is spelled out, so
the forward, the gradient and the gradient's gradient all run the same explicit einsum.
"""
import re
import string

from .. import backend
from ..tensor import Tensor
from .core import as_tensor, register_gradient, run, xp_of

_SUBSCRIPTS = re.compile(r"^([a-zA-Z.,]*)(->[a-zA-Z.]*)?$")


def einsum(equation, *inputs, **kwargs):
    """The Einstein sum ``equation`` (numpy's notation, ``...`` broadcasting) of ``inputs``.

    Without ``->`` the output is the labels that appear once, sorted, after the ellipsis if
    there is one (numpy's rule; TensorFlow's also drops an ellipsis that two inputs share, and
    then refuses it, as it refuses any output without the ellipsis when that stands for axes).
    Keyword arguments (``name``, ``optimize``) are accepted and unused.
    """
    xs = [as_tensor(x) for x in inputs]
    if not xs:
        raise ValueError("einsum: needs at least one input")
    if len({x.dtype for x in xs}) > 1:
        raise TypeError(f"einsum: inputs have different dtypes {[x.dtype.name for x in xs]}")
    labels, output = _explicit(equation, [x.shape for x in xs])
    _check_sizes(equation, labels, xs, set(equation) & set(string.ascii_letters))
    return _einsum(labels, output, xs)


def _einsum(labels, output, xs):
    """The einsum of operands labelled explicitly, one letter per axis (a label of size 1
    broadcasts, as the gradients of broadcast ellipsis axes need)."""
    equation = ",".join(labels) + "->" + output
    xp = xp_of(xs[0])
    on_cpu = not backend.is_device_array(xs[0]._data)
    optimize = {"optimize": True} if on_cpu and _large(xs) else {}
    return run("einsum", lambda *arrays: xp.einsum(equation, *arrays, **optimize), tuple(xs),
               {"labels": labels, "output": output})


def _large(xs):
    """Whether numpy's einsum should plan its contraction: then a product of two operands
    runs as a BLAS GEMM (a (32, 128, 64) @ (32, 64, 128) batch: 23 -> 1.9 ms), where its
    own loops multiply element by element; planning costs about 30 microseconds, which
    small operands would notice."""
    return max(x._data.size for x in xs) >= _PLANNED_SIZE


_PLANNED_SIZE = 4096


@register_gradient("einsum")
def _einsum_grad(op, grad):
    """d/dx_k: the einsum of grad with every other operand, to x_k's labels"""
    return tuple(_operand_grad(op, grad, k) if need else None
                 for k, need in enumerate(op.needs_grad))


def _operand_grad(op, grad, k):
    """grad contracted with the operands other than x_k, labelled as x_k.

    A label only x_k has was summed away: a ones vector brings it back (broadcast). A label
    x_k repeats (a diagonal, 'ii') takes a fresh letter tied to the first by an identity matrix.
    """
    labels, x = op.attrs["labels"], op.inputs[k]
    operands = [(op.attrs["output"], grad)]
    operands += [(lab, t) for j, (lab, t) in enumerate(zip(labels, op.inputs)) if j != k]
    present = set("".join(lab for lab, _ in operands))
    spare = iter(sorted(set(string.ascii_letters) - present - set(labels[k])))
    xp, target = xp_of(grad), ""
    for letter, n in zip(labels[k], x.shape):
        if letter in target:  # a repeat: the identity ties the fresh letter to the first
            fresh = next(spare)
            operands.append((letter + fresh, Tensor(xp.eye(n, dtype=grad.dtype))))
            letter = fresh
        elif letter not in present:
            operands.append((letter, Tensor(xp.ones(n, dtype=grad.dtype))))
            present.add(letter)
        target += letter
    return _einsum([lab for lab, _ in operands], target, [t for _, t in operands])


def _explicit(equation, shapes):
    """(one explicit subscript string per operand, the output's), letters only."""
    compact = equation.replace(" ", "")
    match = _SUBSCRIPTS.match(compact)
    if not match or "." in compact.replace("...", ""):
        raise ValueError(f"einsum: subscripts have an incorrect format: {equation!r}")
    inputs = match.group(1).split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: got {len(shapes)} inputs for equation {equation!r}, "
                         f"expecting {len(inputs)}")
    output = match.group(2)[2:] if match.group(2) else _implicit_output(inputs)
    spare = sorted(set(string.ascii_letters) - set(compact))
    rank = max(_ellipsis_rank(sub, shape, i, equation) for i, (sub, shape)
               in enumerate(zip(inputs, shapes)))
    broadcast = "".join(spare[:rank])
    labels = [sub.replace("...", broadcast[rank - _ellipsis_rank(sub, shape, i, equation):])
              for i, (sub, shape) in enumerate(zip(inputs, shapes))]
    _check_output(output, inputs, equation)
    if broadcast and "..." not in output:
        raise ValueError(f"einsum: the output of {equation!r} needs an ellipsis, as the inputs' "
                         f"ellipses stand for {rank} axes")
    return labels, output.replace("...", broadcast)


def _implicit_output(inputs):
    """The ellipsis if an input has one, then the labels that occur once, sorted."""
    letters = "".join(inputs).replace("...", "").replace(",", "")
    once = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return ("..." if any("..." in sub for sub in inputs) else "") + once


def _ellipsis_rank(sub, shape, i, equation):
    """How many axes input i's ellipsis stands for (0 without one)."""
    named = len(sub.replace("...", ""))
    if sub.count("...") > 1:
        raise ValueError(f"einsum: input {i} of {equation!r} has more than one ellipsis")
    if named > len(shape) or ("..." not in sub and named != len(shape)):
        raise ValueError(f"einsum: subscripts {sub!r} of input {i} of {equation!r} name "
                         f"{named} axes, but its shape {tuple(shape)} has {len(shape)}")
    return len(shape) - named


def _check_output(output, inputs, equation):
    letters = output.replace("...", "")
    if len(set(letters)) != len(letters) or output.count("...") > 1:
        raise ValueError(f"einsum: output subscripts of {equation!r} repeat a label")
    missing = set(letters) - set("".join(inputs))
    if missing:
        raise ValueError(f"einsum: output subscripts of {equation!r} contain {sorted(missing)}, "
                         "not present in the input subscripts")


def _check_sizes(equation, labels, xs, named):
    """Each label has one size; only an ellipsis's axes broadcast (a 1 against any size)."""
    sizes = {}
    for lab, x in zip(labels, xs):
        for letter, n in zip(lab, x.shape):
            seen = sizes.setdefault(letter, n)
            if seen != n and (letter in named or 1 not in (seen, n)):
                raise ValueError(f"einsum: in {equation!r}, label {letter!r} has sizes {seen} "
                                 f"and {n} (operand shapes {[tuple(x.shape) for x in xs]})")
            sizes[letter] = max(seen, n)


def tensordot(a, b, axes, name=None):
    """Sum of products over ``axes`` of a and b: an int N (a's last N axes with b's first N)
    or a pair of axis lists; the result has a's free axes, then b's."""
    a, b = as_tensor(a), as_tensor(b)
    axes_a, axes_b = _tensordot_axes(a, b, axes)
    letters = iter(string.ascii_letters)
    label_a = [next(letters) for _ in range(a.ndim)]
    label_b = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(axes_a, axes_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: axis {i} of a (shape {a.shape}) and axis {j} of b "
                             f"(shape {b.shape}) differ in size")
        label_b[j] = label_a[i]
    free = [lab for i, lab in enumerate(label_a) if i not in axes_a]
    free += [lab for j, lab in enumerate(label_b) if j not in axes_b]
    return einsum("".join(label_a) + "," + "".join(label_b) + "->" + "".join(free), a, b)


def _tensordot_axes(a, b, axes):
    """(a's contracted axes, b's), non-negative, as TensorFlow reads ``axes``."""
    if hasattr(axes, "tolist"):  # a numpy array or a tensor
        axes = axes.tolist() if not isinstance(axes, Tensor) else axes.numpy().tolist()
    if isinstance(axes, int):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes = {axes} must lie in [0, {min(a.ndim, b.ndim)}] "
                             f"for shapes {a.shape} and {b.shape}")
        return list(range(a.ndim - axes, a.ndim)), list(range(axes))
    if not isinstance(axes, (list, tuple)) or len(axes) != 2:
        raise ValueError(f"tensordot: axes must be an integer or a pair of axis lists, "
                         f"got {axes!r}")
    pair = [[p] if isinstance(p, int) else list(p) for p in axes]
    if len(pair[0]) != len(pair[1]):
        raise ValueError(f"tensordot: different numbers of contraction axes for a and b, "
                         f"{len(pair[0])} != {len(pair[1])}")
    return [[_axis(i, x, "tensordot") for i in p] for p, x in zip(pair, (a, b))]


def _axis(i, x, name):
    if not -x.ndim <= i < x.ndim:
        raise ValueError(f"{name}: axis {i} is out of range for a tensor of shape {x.shape}")
    return i % x.ndim
