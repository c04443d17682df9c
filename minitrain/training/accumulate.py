"""Gradient accumulation: a batch split into parts whose gradients combine into the batch's.

The Trainer's ``micro_batches`` uses both functions; a data-parallel step uses ``accumulate``
on its own part, then sums across processes.
"""
import warnings


def split(n, parts):
    """(start, stop) of each part of a batch of ``n`` samples: consecutive slices, the first
    ``n % parts`` one sample longer (numpy.array_split's rule); min(parts, n) of them, so
    that no part is empty."""
    parts = max(1, min(parts, n))
    size, longer = divmod(n, parts)
    bounds = [i * size + min(i, longer) for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def accumulate(parts):
    """sum over parts of weight * gradients, for ``parts`` of (weight, gradients): with
    weight = part size / batch size and the gradients of each part's mean loss, the gradients
    of the whole batch's mean loss. A gradient None in every part (an unconnected variable)
    stays None. A data-parallel wrapper applies it to its own part, then sums across ranks."""
    total = None
    for weight, grads in parts:
        scaled = [None if g is None else g * weight for g in grads]
        total = scaled if total is None else [_add(a, b) for a, b in zip(total, scaled)]
    return total


def _add(a, b):
    return b if a is None else a if b is None else a + b


def warn_frozen():
    # Keras 3's train_step warns too: a frozen model trains nothing, which may be meant
    warnings.warn("the model has no trainable variables (is it frozen, trainable = False?): "
                  "the training steps update nothing", stacklevel=3)
