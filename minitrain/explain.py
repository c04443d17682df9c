"""Why a source got no gradient: the message behind unconnected_gradients='raise'."""
from . import tape


class UnconnectedGradientError(ValueError):
    """The target does not depend on a source, and the caller asked to be told why."""


def _describe(source):
    if hasattr(source, "trainable"):
        return f"variable '{source.name}'"
    return f"the tensor of shape {source.shape} and dtype {source.dtype.name}"


def explain_unconnected(recorded, source, targets, watch_accessed_variables):
    """A sentence naming the reason ``source`` is not connected to ``targets``."""
    what = _describe(source)
    if source.dtype.kind not in "fc":
        return (f"{what} has the integer dtype {source.dtype.name}; only floating tensors carry "
                "gradients: cast it with mt.cast(x, mt.float32) before using it")
    if recorded.marks.get(source._id) is not tape.WATCHED:
        return _never_watched(what, source, watch_accessed_variables)
    reason = _path_reason(recorded, source, targets)
    if reason is not None:
        return f"the path from {what} to the target is cut by {reason}"
    return (f"{what} was watched but not used in computing the target (while the tape was "
            "recording)")


def _never_watched(what, source, watch_accessed_variables):
    if hasattr(source, "trainable") and not source.trainable:
        return (f"{what} has trainable=False, so tapes do not watch it automatically; call "
                "tape.watch(v) before using it")
    if hasattr(source, "trainable") and not watch_accessed_variables:
        return (f"{what} was never watched: the tape has watch_accessed_variables=False, so "
                "call tape.watch(v) before using it")
    if hasattr(source, "trainable"):
        return (f"{what} was not read while the tape was recording: a trainable variable is "
                "watched when an op inside the tape uses it (a value taken out with .numpy(), "
                "float() or np.asarray leaves the tape, and so does a read before the tape "
                "began or inside tape.stop_recording())")
    return (f"{what} was never watched by this tape: call tape.watch(x) before using it, "
            "or make it a trainable mt.Variable")


def _path_reason(recorded, source, targets):
    """Walk back from the targets over recorded ops and cuts; the cut that leads to the source."""
    producers = {}
    for op in recorded.ops:
        for y in op.outputs:
            producers[y._id] = ([x._id for x in op.inputs], None)
    for _name, input_ids, output_ids, reason in recorded.cuts:
        for y in output_ids:
            producers.setdefault(y, (input_ids, reason))
    frontier = [(t._id, None) for t in targets]
    seen = set()
    while frontier:
        tensor_id, cut = frontier.pop()
        if tensor_id == source._id:
            return cut
        if (tensor_id, cut) in seen or tensor_id not in producers:
            continue
        seen.add((tensor_id, cut))
        input_ids, reason = producers[tensor_id]
        # walking back from the target, the latest cut met is the one nearest the source
        frontier.extend((i, reason or cut) for i in input_ids)
    return None
