"""GradientTape: watch, record, and the reverse sweep (gradients, jacobians)."""
import contextlib
import enum
import warnings

from . import backend, nest, ops, tape
from .explain import UnconnectedGradientError, explain_unconnected
from .ops.core import _is_variable, _scalar_like, gradient_function
from .ops.reduce import sum_to_shape
from .tensor import Tensor


class UnconnectedGradients(enum.Enum):
    """What ``gradient`` returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"
    RAISE = "raise"  # minitrain's own: an error that says why the source is unconnected


def sweep(recorded, targets, seeds, sources):
    """Reverse-mode accumulation over the recorded ops: a dict tensor id -> gradient.

    Ops were recorded in execution order, so walking them backwards visits every op after all
    the ops that consume its outputs. Only ops on a path from a source are differentiated, and
    each is asked only for the gradients of the inputs that lead back to a source. Gradients are
    ops, so a tape recording the sweep can differentiate it again.
    """
    wanted = {s._id for s in sources}
    grads = {}
    for target, seed in zip(targets, seeds):
        _accumulate(grads, target._id, seed)
    with tape.sweeping(all(_is_variable(s) for s in sources)):
        for op, needs in reversed(_ops_reached_from(recorded, set(wanted))):
            out_grads = _take_output_grads(grads, op.outputs, wanted)
            if out_grads is None:
                continue
            op.needs_grad = needs
            for x, grad, need in zip(op.inputs, gradient_function(op)(op, *out_grads), needs):
                if need and grad is not None:
                    key, shape = x._id, x._data.shape
                    if grad._data.shape != shape:  # broadcasting is undone here, and only here
                        grad = sum_to_shape(grad, shape)
                    previous = grads.get(key)
                    grads[key] = grad if previous is None else previous + grad
    return grads


def _ops_reached_from(recorded, reached):
    """(op, which inputs depend on a source) for each op that depends on one, in order;
    ``reached`` (the ids of the sources) grows by the outputs of those ops."""
    live = []
    for op in recorded:
        needs = [x._id in reached for x in op.inputs]
        if True in needs:
            for y in op.outputs:
                reached.add(y._id)
            live.append((op, needs))
    return live


def _take_output_grads(grads, outputs, wanted):
    """The gradients of an op's outputs (None for one that has none), or None if none has one.

    They are popped: nothing downstream needs them again, unless they are asked for.
    """
    if len(outputs) == 1:
        key = outputs[0]._id
        grad = grads.get(key) if key in wanted else grads.pop(key, None)
        return None if grad is None else (grad,)
    found = [grads.get(y._id) if y._id in wanted else grads.pop(y._id, None) for y in outputs]
    return None if found.count(None) == len(found) else found


def _accumulate(grads, key, grad):
    previous = grads.get(key)
    grads[key] = grad if previous is None else previous + grad


def _unconnected_mode(value):
    if isinstance(value, UnconnectedGradients):
        return value  # the common case: an enum call costs microseconds
    try:
        return UnconnectedGradients(getattr(value, "value", value))
    except ValueError:
        raise ValueError(f"unconnected_gradients must be 'none', 'zero' or 'raise', "
                         f"got {value!r}") from None


class GradientTape:
    """Records ops on watched tensors, then differentiates targets with respect to sources.

    Used with ``with``, it records inside the block. Used without, it starts recording at its
    first ``watch()`` and, unless persistent, stops when its gradient is taken.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = persistent
        self._watch_accessed_variables = watch_accessed_variables
        self._tape = tape.Tape(watch_accessed_variables)
        self._recording = self._entered = False
        self._started = False  # recording began once (a with block, or a first watch)
        self._released_variables = ()
        self._warned = set()  # ids of the integer tensors watch() warned about already

    def __enter__(self):
        if self._entered:
            raise RuntimeError("this GradientTape is already recording in an enclosing `with` "
                               "block; a tape cannot be entered twice (nest a new tape instead)")
        self._entered = True
        self._start()
        return self

    def __exit__(self, *exc_info):
        self._entered = False
        self._stop()

    def _start(self):
        if self._tape is None:
            raise RuntimeError("this GradientTape has already computed its gradient; "
                               "create a new tape (or use persistent=True)")
        if not self._recording:
            tape.push(self._tape)
            self._recording = self._started = True

    def _stop(self):
        if self._recording:
            tape.pop(self._tape)
            self._recording = False

    def watch(self, tensor):
        """Track ``tensor`` (or every tensor in a nested structure) on this tape."""
        tensors = nest.flatten(tensor)
        for x in tensors:
            if not isinstance(x, Tensor):
                raise TypeError(f"watch() takes tensors or variables, got {type(x).__name__}")
        if self._tape is not None and not self._started:
            self._start()  # a tape used without `with` begins at its first watch()
        for x in tensors:
            if x.dtype.kind not in "fc":
                warnings.warn(f"watch(): the watched tensor has dtype {x.dtype.name}; only "
                              "floating tensors carry gradients, so its gradient will be None",
                              stacklevel=2)
                self._warned.add(x._id)  # gradient() need not warn about it again
                continue
            self._live_tape().watch(x)

    def stop_recording(self):
        """A context in which this tape records nothing."""
        if not self._recording:
            raise RuntimeError("stop_recording(): this tape is not recording; use it inside "
                               "the tape's `with` block")
        return _Paused(self)

    def reset(self):
        """Forget everything recorded, as if the tape had just been entered."""
        self._tape = tape.Tape(self._watch_accessed_variables)
        if self._recording:
            self._recording = False
            self._start()

    def watched_variables(self):
        """The variables watched, in the order they were created (as TensorFlow lists them)."""
        variables = self._released_variables if self._tape is None else self._tape.variables
        return tuple(sorted(variables, key=lambda v: v._id))

    def _live_tape(self):
        if self._tape is None:
            raise RuntimeError(
                "a non-persistent GradientTape can be used to compute gradients only once; "
                "create it with mt.GradientTape(persistent=True) to call gradient() or "
                "jacobian() more than once")
        return self._tape

    @contextlib.contextmanager
    def _differentiating(self):
        """The scaffold of gradient() and the jacobians: yields what was recorded; a
        non-persistent tape stops recording first and releases its records after."""
        recorded = self._live_tape()
        if not self._persistent:
            self._stop()
        try:
            yield recorded
        finally:
            if not self._persistent:
                self._released_variables = tuple(recorded.variables)
                self._tape = None  # release every recorded op and tensor

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients=UnconnectedGradients.NONE):
        """d(sum of target) / d(each source); the result mirrors ``sources``."""
        mode = _unconnected_mode(unconnected_gradients)
        flat_targets, flat_sources = _checked_targets(target), nest.flatten(sources)
        self._warn_integer_sources(flat_sources)
        with self._differentiating() as recorded:
            targets = [t if isinstance(t, Tensor) else ops.as_tensor(t) for t in flat_targets]
            seeds = self._seeds(targets, output_gradients)
            grads = self._gradients_by_id(recorded, targets, seeds, flat_sources)
            results = [self._finish(grads, s, targets, recorded, mode) for s in flat_sources]
        return nest.pack_sequence_as(sources, results)

    def _warn_integer_sources(self, sources):
        """TensorFlow's warning for a source that can have no gradient (an integer Variable,
        most often: ``mt.Variable(3)``), unless watch() gave one for it already."""
        for s in sources:
            if isinstance(s, Tensor) and s.dtype.kind not in "fc" and s._id not in self._warned:
                self._warned.add(s._id)
                warnings.warn(
                    f"The dtype of the source tensor must be floating (e.g. tf.float32) when "
                    f"calling GradientTape.gradient, got {s.dtype.name}: its gradient is None. "
                    f"Make it floating, e.g. mt.Variable(3.0) or mt.cast(x, mt.float32)",
                    stacklevel=3)

    def _seeds(self, targets, output_gradients):
        if output_gradients is None:  # a scalar loss's seed is a shared constant 1
            return [_scalar_like(1, t) if t.ndim == 0 else ops.ones_like(t) for t in targets]
        seeds = nest.flatten(output_gradients)
        if len(seeds) != len(targets):
            raise ValueError(f"gradient(): {len(seeds)} output_gradients for "
                             f"{len(targets)} targets")
        return [ops.ones_like(t) if s is None else _seed(s, t) for s, t in zip(seeds, targets)]

    def _gradients_by_id(self, recorded, targets, seeds, sources):
        """Check the sources, then sweep the recorded ops back from the targets to them."""
        for s in sources:
            if not isinstance(s, Tensor):
                raise TypeError(f"gradient(): sources must be tensors or variables, "
                                f"got {type(s).__name__}")
        reachable = [s for s in sources if _reachable(recorded, s, targets)]
        return sweep(recorded.ops, targets, seeds, reachable)

    def _finish(self, grads, source, targets, recorded, mode):
        grad = grads.get(source._id) if _reachable(recorded, source, targets) else None
        if grad is not None:
            return grad
        if mode is UnconnectedGradients.ZERO:
            return ops.zeros_like(source)
        if mode is UnconnectedGradients.RAISE:
            raise UnconnectedGradientError(
                explain_unconnected(recorded, source, targets, self._watch_accessed_variables))
        return None

    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor=True):
        """d target[i...] / d source[j...], shaped target.shape + source.shape per source."""
        mode = _unconnected_mode(unconnected_gradients)
        _checked_targets(target)
        with self._differentiating() as recorded:
            y = target
            flat_sources = nest.flatten(sources)
            rows = [self._gradients_by_id(recorded, [y], [_basis(y, i)], flat_sources)
                    for i in range(y._data.size)]
            results = [self._stack_rows(rows, s, y.shape, s.shape, mode, recorded, y)
                       for s in flat_sources]
        return nest.pack_sequence_as(sources, results)

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor=True):
        """Per example b: d target[b, i...] / d source[b, j...] (examples must not interact)."""
        mode = _unconnected_mode(unconnected_gradients)
        _checked_targets(target)
        with self._differentiating() as recorded:
            y, batch = target, target.shape[0]
            if source.shape[0] != batch:
                raise ValueError(f"batch_jacobian: target batch size {batch} differs from "
                                 f"source batch size {source.shape[0]}")
            width = y._data.size // max(batch, 1)
            rows = [self._gradients_by_id(recorded, [y], [_batch_basis(y, j)], [source])
                    for j in range(width)]
            jac = self._stack_rows(rows, source, (width,), source.shape, mode, recorded, y)
        if jac is None:
            return None
        # rows stack as (width, batch, ...): move the batch axis first
        jac = ops.transpose(jac, [1, 0] + list(range(2, jac.ndim)))
        return ops.reshape(jac, y.shape + source.shape[1:])

    def _stack_rows(self, rows, source, row_shape, source_shape, mode, recorded, target):
        found = [row.get(source._id) for row in rows]
        shape = tuple(row_shape) + tuple(source_shape)
        if not found:  # an empty target: no rows to tell whether it is connected
            return _zeros(shape, source)
        if not _reachable(recorded, source, [target]) or all(g is None for g in found):
            if self._finish({}, source, [target], recorded, mode) is None:
                return None
            return _zeros(shape, source)  # rows of zeros, as for a connected source
        found = [ops.zeros_like(source) if g is None else g for g in found]
        return ops.reshape(ops.stack(found), shape)


def _checked_targets(target):
    """The flat targets; None (a function that forgot its ``return``?) raises TensorFlow's
    TypeError before anything is released, so the tape can still be used."""
    message = ("Argument `target` should be a list or nested structure of Tensors, Variables "
               "or CompositeTensors to be differentiated, but received None")
    if target is None:
        raise TypeError(f"{message}.")
    flat = nest.flatten(target)
    for i, t in enumerate(flat):
        if t is None:
            raise TypeError(f"{message} as entry {i} of the {len(flat)} in its flattened "
                            f"structure; drop it, or give the tensor it stands for")
    return flat


def _reachable(recorded, source, targets):
    """Whether a gradient can reach ``source``: the tape watches it, or it is one of the
    targets itself (``result = v`` inside the tape), whose gradient is its seed, as in
    TensorFlow."""
    return (recorded.marks.get(source._id) is tape.WATCHED
            or any(t._id == source._id for t in targets))


def _seed(output_gradient, target):
    """One output gradient, checked against its target's shape."""
    seed = ops.as_tensor(output_gradient, target.dtype)
    if seed.shape != target.shape:
        raise ValueError(f"gradient(): an output_gradients entry of shape {seed.shape} for a "
                         f"target of shape {target.shape}; they must have the same shape")
    return seed


def _zeros(shape, source):
    """Zeros of ``shape`` in the source's dtype, on its device."""
    return Tensor(backend.array_module(source._data).zeros(shape, source.dtype))


def _basis(y, i):
    """A one-hot seed selecting element i of y."""
    xp = backend.array_module(y._data)
    seed = xp.zeros(y._data.size, dtype=y.dtype)
    seed[i] = 1
    return Tensor(seed.reshape(y.shape))


def _batch_basis(y, j):
    """A seed selecting element j of every example of y."""
    xp = backend.array_module(y._data)
    seed = xp.zeros((y.shape[0], y._data.size // max(y.shape[0], 1)), dtype=y.dtype)
    seed[:, j] = 1
    return Tensor(seed.reshape(y.shape))


class _Paused:
    def __init__(self, gradient_tape):
        self._tape = gradient_tape._live_tape()

    def __enter__(self):
        self._was_paused, self._tape.paused = self._tape.paused, True

    def __exit__(self, *exc_info):
        self._tape.paused = self._was_paused
