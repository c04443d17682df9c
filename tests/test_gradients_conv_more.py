"""conv2d_transpose, depthwise and separable conv2d, conv1d and 1-D pooling: gradient tables.

These ops register no gradient of their own (they are im2col, col2im, matmul and shape ops), so
the rows check that the composition differentiates right, to the second order, in float64.
"""
from gradcases import Inputs, case, table_tests

import minitrain as mt

rng = Inputs(seed=11)
u = rng.uniform

TRANSPOSE_GEOMETRIES = [  # (input shape, kernel (kh, kw, c_out, c_in), output shape, strides, pad)
    ((1, 3, 3, 2), (3, 3, 2, 2), (1, 5, 5, 2), 1, "VALID"),
    ((1, 3, 3, 2), (3, 3, 1, 2), (1, 6, 6, 1), 2, "SAME"),
    ((2, 2, 3, 1), (3, 2, 2, 1), (2, 5, 6, 2), (2, 2), "VALID"),
    ((1, 3, 2, 2), (2, 3, 2, 2), (1, 5, 4, 2), (2, 2), "SAME"),
]


def _transpose(output_shape, strides, padding):
    return lambda x, w: mt.nn.conv2d_transpose(x, w, output_shape, strides, padding)


def _depthwise(strides, padding):
    return lambda x, w: mt.nn.depthwise_conv2d(x, w, strides, padding)


def _conv1d(stride, padding):
    return lambda x, w: mt.nn.conv1d(x, w, stride, padding)


def _pool1d(pool, ksize, strides, padding):
    return lambda x: pool(x, ksize, strides, padding)


TRANSPOSE_CASES = [
    case(f"conv2d_transpose {x}-{k}-{o}-{s}-{p}", _transpose(o, s, p), u(*x), u(*k))
    for x, k, o, s, p in TRANSPOSE_GEOMETRIES]
DEPTHWISE_CASES = [
    case("depthwise_conv2d valid", _depthwise(1, "VALID"), u(1, 4, 4, 2), u(3, 3, 2, 2)),
    case("depthwise_conv2d same stride 2", _depthwise([1, 2, 2, 1], "SAME"), u(1, 5, 4, 3),
         u(2, 3, 3, 1)),
    case("separable_conv2d", lambda x, d, p: mt.nn.separable_conv2d(x, d, p, 2, "SAME"),
         u(1, 4, 5, 2), u(3, 3, 2, 2), u(1, 1, 4, 3)),
]
ONE_D_CASES = [
    case("conv1d valid", _conv1d(1, "VALID"), u(2, 6, 2), u(3, 2, 3)),
    case("conv1d same stride 2", _conv1d(2, "SAME"), u(1, 7, 2), u(3, 2, 2)),
    case("max_pool1d valid", _pool1d(mt.nn.max_pool1d, 2, 2, "VALID"), rng.distinct(2, 6, 2)),
    case("max_pool1d same", _pool1d(mt.nn.max_pool1d, 3, 2, "SAME"), rng.distinct(1, 7, 2)),
    case("avg_pool1d valid", _pool1d(mt.nn.avg_pool1d, 3, 1, "VALID"), u(2, 5, 2)),
    case("avg_pool1d same", _pool1d(mt.nn.avg_pool1d, 2, 2, "SAME"), u(1, 5, 3)),
]

FIRST_ORDER = TRANSPOSE_CASES + DEPTHWISE_CASES + ONE_D_CASES
SECOND_ORDER = [  # small sizes: every block of the Hessian is checked by finite differences
    case("conv2d_transpose same stride 2", _transpose((1, 4, 4, 1), 2, "SAME"), u(1, 2, 2, 2),
         u(3, 3, 1, 2)),
    case("conv2d_transpose valid stride 2", _transpose((1, 5, 5, 2), 2, "VALID"),
         u(1, 2, 2, 1), u(3, 3, 2, 1)),
    case("depthwise_conv2d same", _depthwise(1, "SAME"), u(1, 3, 3, 2), u(2, 2, 2, 2)),
    case("separable_conv2d valid", lambda x, d, p: mt.nn.separable_conv2d(x, d, p, 1, "VALID"),
         u(1, 3, 3, 2), u(2, 2, 2, 1), u(1, 1, 2, 2)),
    case("conv1d same stride 2", _conv1d(2, "SAME"), u(1, 5, 2), u(3, 2, 2)),
    case("max_pool1d", _pool1d(mt.nn.max_pool1d, 2, 1, "VALID"), rng.distinct(1, 4, 2)),
    case("avg_pool1d same", _pool1d(mt.nn.avg_pool1d, 2, 2, "SAME"), u(1, 5, 2)),
]


test_gradient, test_second_derivative = table_tests(FIRST_ORDER, SECOND_ORDER)
