"""The recording layer: which tapes are recording, and what an op leaves on them.

No maths here. A tape marks the tensors it tracks by their integer identity:
``WATCHED`` for a tensor whose gradient can flow, or a reason string for one that depends on a
watched tensor through a cut (``mt.stop_gradient``, ``stop_recording()``, a non-differentiable
op). Cuts are kept as id-only records, so a missing gradient can be explained later.

Everything other modules do with tapes goes through the functions below (``push``/``pop``,
``active``, ``is_recording``, ``record``, ``producer``, ``variable_read``, ``collect_reads``,
``sweeping``/``may_fold``); the stack itself is private. It holds tapes weakly: a tape
that the user drops stops recording and frees its records.
"""
import contextlib
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
        self.cuts = []  # (op name, input ids, output ids, reason), for explanations only
        self.variables = []  # watched variables, in the order first watched
        self.watch_accessed_variables = watch_accessed_variables
        self.paused = False

    def watch(self, tensor):
        if self.marks.get(tensor._id) is not WATCHED:
            self.marks[tensor._id] = WATCHED
            if hasattr(tensor, "trainable"):
                self.variables.append(tensor)

    def refusal(self, name, outputs):
        """Why a watched op cannot be recorded now (None if it can)."""
        if self.paused:
            return "tape.stop_recording()"
        for y in outputs:
            if y._data.dtype.kind not in "fc":
                return f"op '{name}', whose output has the integer dtype {y.dtype.name}"
        return None

    def cut(self, name, inputs, outputs, reason):
        for y in outputs:
            self.marks[y._id] = reason
        self.cuts.append((name, [x._id for x in inputs], [y._id for y in outputs], reason))


_stack = []  # weak references to the tapes recording now, innermost last
_read_collectors = []  # lists collecting the variables read (for custom gradients)


def _prune():
    """Drop the references of tapes collected while on the stack. (Not a weakref callback:
    Python code run from a finalizer can swallow a Ctrl-C, printing it as 'ignored'.)"""
    _stack[:] = [ref for ref in _stack if ref() is not None]


def push(tape):
    _prune()
    _stack.append(weakref.ref(tape))


def pop(tape):
    for i in range(len(_stack) - 1, -1, -1):
        if _stack[i]() is tape:
            del _stack[i]
            return


# Whether any tape is on the stack (paused or not): the test every op makes before recording,
# the stack's own length, a C call (the stack is changed in place, never rebound).
active = _stack.__len__


def is_recording():
    """Whether an op run now could be recorded by some tape."""
    return any(ref() is not None and not ref().paused for ref in _stack)


def record(name, inputs, outputs, attrs=None, grad_fn=None, cut=None):
    """Leave the op on every tape that tracks one of its inputs: as an op to differentiate, or,
    where ``cut`` gives a reason (a non-differentiable op) or the tape refuses it, as a cut."""
    op = dropped = None
    for ref in _stack:
        tape = ref()
        if tape is None:
            dropped = True
            continue
        marks, mark = tape.marks, None
        for x in inputs:  # WATCHED if any input is, else an input's cut reason, if any
            mark = marks.get(x._id, mark)
            if mark is WATCHED:
                mark = cut or tape.refusal(name, outputs) or WATCHED
                break
        if mark is WATCHED:
            if op is None:
                op = Op(name, inputs, outputs, attrs, grad_fn)
            tape.ops.append(op)
            for y in outputs:
                tape.marks[y._id] = WATCHED
        elif mark is not None:
            tape.cut(name, inputs, outputs, mark)
    if dropped:  # a tape dropped without its gradient: forget it, so that ops go fast again
        _prune()


def producer(tensor):
    """The op that output ``tensor`` if it is the last one recorded on a tape recording now,
    else None: an op that would fold its gradient into its input's producer's asks."""
    for ref in _stack:
        tape = ref()
        last = tape.ops[-1] if tape is not None and tape.ops else None
        if last is not None and any(y is tensor for y in last.outputs):
            return last
    return None


_folding = []  # one flag per reverse sweep in progress, innermost last: see may_fold


@contextlib.contextmanager
def sweeping(to_variables_only):
    """A reverse sweep, ``to_variables_only`` if all its sources are variables."""
    _folding.append(to_variables_only)
    try:
        yield
    finally:
        _folding.pop()


def may_fold():
    """Whether an op's gradient may hand its input's producer a folded gradient, one only that
    producer's gradient understands: in a sweep that no tape records and whose sources are
    all variables (none of them an op's output), the gradient of an op's output is read by
    that op's gradient alone."""
    return bool(_folding) and _folding[-1] and not _stack


def variable_read(variable, value):
    """A read of ``variable`` gave ``value``: auto-watch it, then record the read, an op whose
    gradient is the identity, so that an assign after the read cannot change a gradient."""
    for collector in _read_collectors:
        collector.append(variable)
    for ref in _stack:
        tape = ref()
        if (tape is not None and not tape.paused and tape.watch_accessed_variables
                and variable.trainable):
            tape.watch(variable)
    record("read_variable", (variable,), (value,))


def reads_collected():
    """Whether some ``collect_reads`` block wants to see variable reads."""
    return bool(_read_collectors)


@contextlib.contextmanager
def collect_reads():
    """A block that lists the variables read inside it (yielded, filled as they are read)."""
    read = []
    _read_collectors.append(read)
    try:
        yield read
    finally:
        _read_collectors.pop()  # nested blocks close innermost first: ours is the last
