"""Gradient clipping as Keras 3's optimizers do it: by norm, by global norm, or by value."""
import numpy as np

from .. import backend


def clip(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    """The gradients (arrays) clipped by whichever limit is set (at most one is)."""
    if clipnorm and clipnorm > 0:
        return [_clip_by_norm(g, clipnorm) for g in grads]
    if global_clipnorm and global_clipnorm > 0:
        return _clip_by_global_norm(grads, global_clipnorm)
    if clipvalue and clipvalue > 0:
        return [g.clip(-g.dtype.type(clipvalue), g.dtype.type(clipvalue)) for g in grads]
    return grads


def _clip_by_norm(g, clipnorm):
    """g * c / max(||g||, c): rescaled to norm c when longer."""
    xp, c = backend.array_module(g), g.dtype.type(clipnorm)
    return g * c / xp.maximum(xp.sqrt(xp.sum(g * g)), c)


def _clip_by_global_norm(grads, clipnorm):
    """Every g times c / max(N, c), N the norm of all gradients together (Keras's form)."""
    xp = backend.array_module(grads[0])
    norm = xp.sqrt(sum(xp.sum(g * g) for g in grads))
    one, c = norm.dtype.type(1.0), norm.dtype.type(clipnorm)
    with np.errstate(divide="ignore"):  # a zero norm gives 1 / N = inf, and the minimum 1 / c
        # adding (N - N) makes the scale nan when N is inf or nan, as in Keras
        scale = c * xp.minimum(one / norm, norm.dtype.type(1.0 / clipnorm)) + (norm - norm)
    return [g * scale.astype(g.dtype) for g in grads]
