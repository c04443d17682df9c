"""Run one computation in TensorFlow and in minitrain and compare what comes out.

Used by tests/test_against_tensorflow.py only, and only where TensorFlow is importable: this
module imports neither library itself; the caller passes both modules in.

A case is a function ``fn(lib, *inputs)`` written once against TensorFlow's API and run with
``lib`` = ``tensorflow`` and ``lib`` = ``minitrain``. The float inputs are watched by a
GradientTape in each; the outputs (a tensor, or nested tuples/lists of them) are compared for
value, dtype and shape, and so are the gradients of a fixed random weighting of the float
outputs (a weighted sum, not a plain sum, so that e.g. softmax's gradient is not identically
zero) and, for order 2, the gradients of a fixed random weighting of those gradients.
"""
import numpy as np

TOLERANCES = {"float64": (1e-6, 1e-9), "float32": (1e-5, 1e-6), "float16": (1e-3, 1e-3)}


def flatten(structure):
    """The tensors of a possibly nested tuple/list (namedtuples included), in order."""
    if isinstance(structure, (list, tuple)):
        return [t for item in structure for t in flatten(item)]
    return [structure]


def dtype_name(dtype):
    name = getattr(dtype, "name", None)
    return name if isinstance(name, str) else np.dtype(dtype).name


def is_float(tensor):
    return dtype_name(tensor.dtype).startswith(("float", "bfloat"))


def _weights(shape, dtype, salt):
    rng = np.random.default_rng(1000 + salt)
    return rng.uniform(0.5, 1.5, size=tuple(shape)).astype(dtype_name(dtype))


def _weighted_sum(lib, tensors, salt):
    total = None
    for i, t in enumerate(tensors):
        if t is None or not is_float(t):
            continue
        w = lib.constant(_weights(list(t.shape), t.dtype, salt + i))
        term = lib.reduce_sum(t * w)
        total = term if total is None else total + lib.cast(term, total.dtype)
    return total


def run(lib, fn, inputs, order=1):
    """Outputs, first-order and (order 2) second-order gradients, all as numpy/None."""
    xs = [lib.constant(x) for x in inputs]
    watched = [x for x in xs if is_float(x)]
    grads = hess = None
    if order == 0:  # values only
        return fn(lib, *xs), None, None
    with lib.GradientTape(persistent=True) as outer:
        outer.watch(watched)
        with lib.GradientTape() as inner:
            inner.watch(watched)
            out = fn(lib, *xs)
            loss = _weighted_sum(lib, flatten(out), salt=0) if watched else None
        if loss is not None:
            grads = inner.gradient(loss, watched)
            if order >= 2:
                loss2 = _weighted_sum(lib, grads, salt=100)
        else:
            grads = []
    if order >= 2 and loss is not None:
        hess = outer.gradient(loss2, watched) if loss2 is not None else [None] * len(watched)
    del outer
    return out, grads, hess


def _dense(lib, tensors):
    """TensorFlow gives some gradients (gather's, gather_nd's) as IndexedSlices: densify."""
    if tensors is None:
        return None
    return [t if t is None or hasattr(t, "numpy") else lib.convert_to_tensor(t)
            for t in tensors]


def finite_differences(lib, fn, inputs, order=1, h=None):
    """The gradients ``run`` computes, by central differences of the forward computation
    alone (no tape): of the weighted outputs (order 1), or (order 2) of their directional
    derivative along the weights ``run`` gives the first-order gradients, itself taken by
    central differences. Float64 inputs only. With lib = tensorflow this is a reference that
    involves neither minitrain nor TensorFlow's registered gradients.
    """
    h = h or (1e-5 if order == 1 else 1e-4)
    floats = [i for i, x in enumerate(inputs) if np.asarray(x).dtype.kind == "f"]
    directions = {i: _weights(np.shape(inputs[i]), "float64", 100 + k)
                  for k, i in enumerate(floats)}

    def forward(values):
        out = fn(lib, *[lib.constant(v) for v in values])
        return float(_weighted_sum(lib, flatten(out), salt=0).numpy())

    def scalar(values):
        if order == 1:
            return forward(values)
        plus = [v + h * directions[i] if i in directions else v for i, v in enumerate(values)]
        minus = [v - h * directions[i] if i in directions else v for i, v in enumerate(values)]
        return (forward(plus) - forward(minus)) / (2 * h)

    result = []
    for i in floats:
        x = np.array(inputs[i], dtype=np.float64)
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            values = list(inputs)
            for sign in (1, -1):
                shifted = x.copy()
                shifted[index] += sign * h
                values[i] = shifted
                grad[index] += sign * scalar(values) / (2 * h)
        result.append(grad)
    return result


def assert_close_to_reference(what, got, want, rtol=1e-6, atol=1e-7):
    assert len(got) == len(want), f"{what}: minitrain gave {len(got)} gradients, FD {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g is not None, f"{what}[{i}]: minitrain gave None"
        np.testing.assert_allclose(np.asarray(g.numpy()), w, rtol=rtol, atol=atol,
                                   err_msg=f"{what}[{i}]: minitrain vs finite differences")


def assert_same_tensors(what, got, want, rtol=None, atol=None):
    """got (minitrain) and want (TensorFlow): same count, None-ness, shape, dtype and value."""
    got, want = flatten(got), flatten(want)
    assert len(got) == len(want), f"{what}: minitrain gave {len(got)} tensors, TF {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        label = f"{what}[{i}]"
        assert (g is None) == (w is None), f"{label}: minitrain {g!r} vs TF {w!r}"
        if w is None:
            continue
        assert dtype_name(g.dtype) == dtype_name(w.dtype), (
            f"{label} dtype: minitrain {dtype_name(g.dtype)} vs TF {dtype_name(w.dtype)}")
        assert list(g.shape) == list(w.shape), (
            f"{label} shape: minitrain {list(g.shape)} vs TF {list(w.shape)}")
        gv, wv = np.asarray(g.numpy()), np.asarray(w.numpy())
        if is_float(w):
            r, a = TOLERANCES.get(dtype_name(w.dtype), (1e-6, 1e-9))
            np.testing.assert_allclose(gv, wv, rtol=rtol or r, atol=atol or a,
                                       err_msg=f"{label}: minitrain vs TF")
        else:
            np.testing.assert_array_equal(gv, wv, err_msg=f"{label}: minitrain vs TF")


def _nan_as_zero(lib, tensors):
    """TensorFlow's gradients with its NaNs (asserted present) replaced by zeros."""
    result, nans = [], 0
    for t in tensors:
        if t is None:
            result.append(t)
            continue
        value = np.asarray(t.numpy())
        nans += int(np.isnan(value).sum())
        result.append(lib.constant(np.nan_to_num(value, nan=0.0)))
    assert nans, "TensorFlow's gradient has no NaN here any more: compare it directly"
    return result


def compare(tf, mt, fn, inputs, order=1, rtol=None, atol=None, fd_orders=(),
            tf_nan_gradient_is_zero=False):
    """Run ``fn`` in both libraries and assert the outputs and gradients agree.

    For the orders in ``fd_orders``, minitrain's gradients are compared with central
    differences of TensorFlow's computation instead of TensorFlow's own tape gradients: for
    the few places where TensorFlow's registered gradient is not the derivative (the rows
    that pass this say which and why).
    """
    want_out, want_g, want_h = run(tf, fn, inputs, order)
    got_out, got_g, got_h = run(mt, fn, inputs, order)
    want_g, want_h, got_g, got_h = (_dense(tf, want_g), _dense(tf, want_h),
                                    _dense(mt, got_g), _dense(mt, got_h))
    assert_same_tensors("output", got_out, want_out, rtol, atol)
    if order == 0:
        return
    if tf_nan_gradient_is_zero:
        want_g = _nan_as_zero(tf, want_g)
    if 1 in fd_orders:
        assert_close_to_reference("gradient", got_g, finite_differences(tf, fn, inputs, 1))
    else:
        assert_same_tensors("gradient", got_g, want_g, rtol, atol)
    if order >= 2 and 2 in fd_orders:
        assert_close_to_reference("second-order gradient", got_h,
                                  finite_differences(tf, fn, inputs, 2), rtol=1e-5, atol=1e-6)
    elif order >= 2:
        assert_same_tensors("second-order gradient", got_h, want_h, rtol, atol)
