"""Differentiable ops: each forward runs on arrays, each gradient is registered by name."""
import types

from .arithmetic import (
    abs,
    add,
    divide,
    floor_div,
    floordiv,
    floormod,
    mod,
    multiply,
    negative,
    pow,
    reciprocal,
    rsqrt,
    sign,
    sqrt,
    square,
    subtract,
)
from .contraction import einsum, tensordot
from .core import as_tensor, read_variable, register_gradient
from .elementwise import (
    cos,
    erf,
    exp,
    expm1,
    log,
    log1p,
    sigmoid,
    sin,
    tan,
    tanh,
)
from .grids import eye, linspace, meshgrid, pad
from .indexing import (
    boolean_mask,
    gather_nd,
    scatter_nd,
    tensor_scatter_nd_add,
    tensor_scatter_nd_sub,
    tensor_scatter_nd_update,
)
from .linalg import matmul
from .norms import clip_by_global_norm, clip_by_norm, norm
from .reduce import (
    argmax,
    argmin,
    broadcast_to,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_std,
    reduce_sum,
    reduce_variance,
    sum_to_shape,
    tile,
)
from .scan import argsort, cumsum, reduce_prod, sort
from .selection import (
    cast,
    ceil,
    clip_by_value,
    equal,
    floor,
    greater,
    greater_equal,
    is_finite,
    is_nan,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    not_equal,
    round,
    where,
)
from .shape import (
    concat,
    copy_to_device,
    expand_dims,
    fill,
    gather,
    getitem,
    identity,
    matrix_transpose,
    one_hot,
    ones,
    ones_like,
    range_,
    rank,
    reshape,
    reverse,
    scatter_add,
    shape,
    size,
    split,
    squeeze,
    stack,
    stop_gradient,
    transpose,
    unstack,
    zeros,
    zeros_like,
)

convert_to_tensor = as_tensor

# the ops, not the submodules that hold them: `from .ops import *` must not rebind mt.linalg
__all__ = [name for name, value in list(globals().items())
           if not name.startswith("_") and not isinstance(value, types.ModuleType)]
