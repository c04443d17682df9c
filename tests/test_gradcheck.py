"""The gradient checker is itself tested: it passes right gradients and catches wrong ones."""
import numpy as np
import pytest

import minitrain as mt
from minitrain.gradcheck import check_gradients, gradient_function
from minitrain.ops.core import as_tensor, register_gradient, run
from minitrain.tensor import Tensor

# Throwaway ops, each computing x**3 (and x * y**2) but registered with its own gradient.


def _cube(name):
    return lambda x: run(name, lambda a: a * a * a, (as_tensor(x),))


right_cube = _cube("test_gradcheck.right_cube")
wrong_cube = _cube("test_gradcheck.wrong_cube")
patchy_cube = _cube("test_gradcheck.patchy_cube")
unrecorded_cube = _cube("test_gradcheck.unrecorded_cube")
missing_cube = _cube("test_gradcheck.missing_cube")
reshaped_cube = _cube("test_gradcheck.reshaped_cube")


@register_gradient("test_gradcheck.right_cube")
def _right_cube_grad(op, grad):
    """grad * 3x**2"""
    (x,) = op.inputs
    return (grad * 3 * x * x,)


@register_gradient("test_gradcheck.wrong_cube")
def _wrong_cube_grad(op, grad):
    """the factor 3 forgotten"""
    (x,) = op.inputs
    return (grad * x * x,)


@register_gradient("test_gradcheck.patchy_cube")
def _patchy_cube_grad(op, grad):
    """right except where x > 1.5, where it is 1% too large"""
    (x,) = op.inputs
    return (grad * 3 * x * x * (1 + 0.01 * mt.cast(x > 1.5, x.dtype)),)


@register_gradient("test_gradcheck.unrecorded_cube")
def _unrecorded_cube_grad(op, grad):
    """right in value, but computed on arrays: an outer tape cannot differentiate it"""
    (x,) = op.inputs
    return (grad * Tensor(3 * x.numpy() ** 2),)


@register_gradient("test_gradcheck.missing_cube")
def _missing_cube_grad(op, grad):
    return (None,)


@register_gradient("test_gradcheck.reshaped_cube")
def _reshaped_cube_grad(op, grad):
    """right values, flattened: the sweep cannot sum a (6,) gradient to a (2, 3) input"""
    (x,) = op.inputs
    return (mt.reshape(grad * 3 * x * x, [1, -1]),)


_x = np.array([[0.3, -1.2, 0.8], [1.1, -0.4, 1.7]])


def test_passes_a_right_gradient_and_returns_it():
    (grad,) = check_gradients(right_cube, [_x])
    assert grad.shape == _x.shape


def test_catches_a_wrong_gradient():
    with pytest.raises(AssertionError, match="input 0: tape gradient"):
        check_gradients(wrong_cube, [_x])


def test_catches_one_wrong_element_and_names_it():
    """Only x[1, 2] = 1.7 exceeds 1.5, so only that element may be reported."""
    with pytest.raises(AssertionError, match=r"at index \(np.int64\(1\), np.int64\(2\)\)"):
        check_gradients(patchy_cube, [_x])


def test_catches_a_missing_gradient():
    with pytest.raises(AssertionError, match="the tape gave no gradient"):
        check_gradients(missing_cube, [_x])


def test_catches_a_wrong_gradient_among_several_inputs():
    """The wrong op is applied to the second input only; the message names that input."""
    with pytest.raises(AssertionError, match="input 1:"):
        check_gradients(lambda x, y: right_cube(x) * wrong_cube(y), [_x, _x[::-1] + 0.1])


def test_a_gradient_of_the_wrong_shape_does_not_pass():
    """Its values are right once reshaped, so only the shape can give it away."""
    with pytest.raises(ValueError, match=r"\(1, 6\) is not a broadcast of \(2, 3\)"):
        check_gradients(reshaped_cube, [_x])


def test_checks_every_output_element_not_just_their_sum():
    """x * y and x * roll(y) have the same sum, hence the same gradient of the sum; only the
    per-element weighting of check_gradients tells a gradient that mixes elements up."""
    y = np.array([1.0, 2.0, 3.0])
    with pytest.raises(AssertionError):
        check_gradients(lambda x: _rolled_grad_multiply(x, y), [np.array([0.5, -1.0, 2.0])])


def _rolled_grad_multiply(x, y):
    return run("test_gradcheck.rolled_multiply", lambda a: a * y, (as_tensor(x),), {"y": y})


@register_gradient("test_gradcheck.rolled_multiply")
def _rolled_multiply_grad(op, grad):
    """wrong: grad's elements are shifted by one, which the sum of the outputs cannot see"""
    return (mt.concat([grad[1:], grad[:1]], 0) * op.attrs["y"],)


def test_second_derivative_passes_a_right_gradient():
    check_gradients(gradient_function(right_cube), [_x])


def test_second_derivative_catches_a_gradient_an_outer_tape_cannot_follow():
    check_gradients(unrecorded_cube, [_x])  # the first derivative is right...
    with pytest.raises(AssertionError, match="the tape gave no gradient"):
        check_gradients(gradient_function(unrecorded_cube), [_x])  # ...the second is lost


def test_gradient_function_differentiates_the_chosen_input():
    x, y = mt.constant([1.0, 2.0]), mt.constant([3.0, -1.0])
    np.testing.assert_allclose(gradient_function(mt.multiply, wrt=1)(x, y).numpy(), [1.0, 2.0])
    np.testing.assert_allclose(gradient_function(mt.multiply, wrt=0)(x, y).numpy(), [3.0, -1.0])


def test_gradient_function_gives_zeros_for_an_unconnected_input():
    grad = gradient_function(lambda x, y: y * 2, wrt=0)(mt.constant([1.0]), mt.constant([2.0]))
    np.testing.assert_array_equal(grad.numpy(), [0.0])


def test_tolerances_are_honoured():
    """A 1% error passes a 2% relative tolerance and fails a 0.5% one."""
    x = np.array([1.6, 1.8])
    check_gradients(patchy_cube, [x], rtol=2e-2)
    with pytest.raises(AssertionError):
        check_gradients(patchy_cube, [x], rtol=5e-3)
