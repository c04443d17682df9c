"""The recording layer: which tapes are recording, and what an op leaves on them.

No maths here. A tape marks the tensors it tracks by their integer identity:
``WATCHED`` for a tensor whose gradient can flow, or a reason string for one that depends on a
watched tensor through a cut (``mt.stop_gradient``, ``stop_recording()``, a non-differentiable
op). Cuts are kept as id-only records, so a missing gradient can be explained later.

The stack holds tapes weakly: a tape that the user drops stops recording and frees its records.
"""
import weakref

WATCHED = True


class Op:
    """One recorded op: what its gradient function needs later."""

    __slots__ = ("name", "inputs", "outputs", "attrs", "grad_fn", "needs_grad")

    def __init__(self, name, inputs, outputs, attrs, grad_fn=None):
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.attrs = attrs
        self.grad_fn = grad_fn  # set only for custom gradients; otherwise the registry's
        self.needs_grad = None  # which inputs need a gradient: the sweep sets it before each call

    def __repr__(self):
        return f"<Op {self.name}>"


class Tape:
    """What one GradientTape has seen: marks, recorded ops and cuts."""

    def __init__(self, watch_accessed_variables=True):
        self.marks = {}  # tensor id -> WATCHED or the reason its gradient is cut
        self.ops = []  # in execution order, which is a topological order
        self.reads = {}  # snapshot id -> the variable it was read from (a read is not an Op)
        self.cuts = []  # (op name, input ids, output ids, reason), for explanations only
        self.variables = []  # watched variables, in the order first watched
        self.watch_accessed_variables = watch_accessed_variables
        self.paused = False

    def watch(self, tensor):
        if self.marks.get(tensor._id) is not WATCHED:
            self.marks[tensor._id] = WATCHED
            if hasattr(tensor, "trainable"):
                self.variables.append(tensor)

    def mark_of(self, inputs):
        """WATCHED if any input is watched, else the first cut reason among them, else None."""
        found = None
        marks = self.marks
        for x in inputs:
            mark = marks.get(x._id)
            if mark is WATCHED:
                return WATCHED
            if mark is not None and found is None:
                found = mark
        return found

    def cut(self, name, inputs, outputs, reason):
        for y in outputs:
            self.marks[y._id] = reason
        self.cuts.append((name, [x._id for x in inputs], [y._id for y in outputs], reason))


_tapes = []  # weak references to the tapes recording now, innermost last
_variable_watchers = []  # lists collecting the variables read (for custom gradients)


def _prune():
    """Drop the references of tapes collected while on the stack. (Not a weakref callback:
    Python code run from a finalizer can swallow a Ctrl-C, printing it as 'ignored'.)"""
    _tapes[:] = [ref for ref in _tapes if ref() is not None]


def push(tape):
    _prune()
    _tapes.append(weakref.ref(tape))


def pop(tape):
    for i in range(len(_tapes) - 1, -1, -1):
        if _tapes[i]() is tape:
            del _tapes[i]
            return


def is_recording():
    """Whether an op run now could be recorded by some tape."""
    return any(ref() is not None and not ref().paused for ref in _tapes)


def record(name, inputs, outputs, attrs=None, grad_fn=None):
    """Leave the op on every recording tape that watches one of its inputs."""
    op = dropped = None
    for ref in _tapes:
        tape = ref()
        if tape is None:
            dropped = True
            continue
        marks, mark = tape.marks, None
        for x in inputs:
            mark = marks.get(x._id, mark)
            if mark is WATCHED:
                break
        if mark is None:
            continue
        if mark is WATCHED and tape.paused:
            mark = "tape.stop_recording()"
        if mark is WATCHED and op is None:
            if not _all_floating(outputs):
                mark = f"op '{name}', whose output has the integer dtype {outputs[0].dtype.name}"
            else:
                op = Op(name, inputs, outputs, attrs, grad_fn)
        if mark is not WATCHED:
            tape.cut(name, inputs, outputs, mark)
            continue
        tape.ops.append(op)
        for y in outputs:
            marks[y._id] = WATCHED
    if dropped:  # a tape dropped without its gradient: forget it, so that ops go fast again
        _prune()


def _all_floating(outputs):
    if len(outputs) == 1:
        return outputs[0]._data.dtype.kind in "fc"
    return all(y._data.dtype.kind in "fc" for y in outputs)


def record_cut(name, inputs, outputs, reason):
    """Note an op through which no gradient flows, on every tape tracking one of its inputs."""
    for ref in _tapes:
        tape = ref()
        if tape is not None and tape.mark_of(inputs) is not None:
            tape.cut(name, inputs, outputs, reason)


def variable_read(variable, value):
    """A read of ``variable`` gave ``value``: auto-watch it, then record the read."""
    for watcher in _variable_watchers:
        watcher.append(variable)
    for ref in _tapes:
        tape = ref()
        if (tape is not None and not tape.paused and tape.watch_accessed_variables
                and variable.trainable):
            tape.watch(variable)
    _record_read(variable, value)


def _record_read(variable, value):
    """A read links the snapshot to its variable: the sweep hands the snapshot's gradient
    straight to the variable. Kept as a link rather than an Op, as every step reads every
    weight and the read's gradient is the identity."""
    for ref in _tapes:
        tape = ref()
        if tape is None:
            continue
        mark = tape.marks.get(variable._id)
        if mark is WATCHED and tape.paused:
            mark = "tape.stop_recording()"
        if mark is WATCHED and value._data.dtype.kind not in "fc":
            mark = f"op 'read_variable', whose output has the integer dtype {value.dtype.name}"
        if mark is WATCHED:
            tape.reads[value._id] = variable
            tape.marks[value._id] = WATCHED
        elif mark is not None:
            tape.cut("read_variable", (variable,), (value,), mark)
