"""TensorFlow's eager helpers (tf.print, tf.executing_eagerly) and the names minitrain lacks."""
import io
import sys

import pytest

import minitrain as mt


def _printed(*inputs, **kwargs):
    stream = io.StringIO()
    mt.print(*inputs, output_stream=stream, **kwargs)
    return stream.getvalue()


def test_print_summarizes_as_tensorflows_documentation_shows():
    tensor = mt.range(10)
    assert _printed(tensor) == "[0 1 2 ... 7 8 9]\n"
    assert _printed("tensors:", tensor, {2: tensor * 2}) == (
        "tensors: [0 1 2 ... 7 8 9] {2: [0 2 4 ... 14 16 18]}\n")
    assert _printed(mt.range(2), mt.range(2) * 2, sep=",") == "[0 1],[0 2]\n"


def test_print_writes_numbers_as_tensorflow_does():
    assert _printed(mt.constant([1.5, 2.0, 1 / 3])) == "[1.5 2 0.333333343]\n"
    assert _printed(mt.constant(3.0), mt.constant(0.1, dtype="float64")) == "3 0.1\n"
    assert _printed(mt.range(10), summarize=-1) == "[0 1 2 3 4 5 6 7 8 9]\n"
    assert _printed(mt.constant([[1, 2], [3, 4]]), end="") == "[[1 2]\n [3 4]]"


def test_print_goes_to_stderr_by_default(capsys):
    mt.print("loss", mt.constant(0.5))
    captured = capsys.readouterr()
    assert captured.err == "loss 0.5\n" and captured.out == ""


def test_minitrain_is_always_eager():
    assert mt.executing_eagerly() is True


@pytest.mark.parametrize("name, use", [
    ("saved_model", lambda m: m.saved_model.save(None, "path")),
    ("distribute", lambda m: m.distribute.MirroredStrategy()),
    ("compat", lambda m: m.compat.v1.placeholder("float32")),
    ("Session", lambda m: m.Session()),
    ("lite", lambda m: m.lite.TFLiteConverter),
])
def test_names_minitrain_lacks_say_what_to_use_instead(name, use):
    with pytest.raises(NotImplementedError, match=rf"mt\.{name}.*: minitrain "):
        use(mt)


def test_a_misspelt_name_is_an_attribute_error_with_a_suggestion():
    with pytest.raises(AttributeError, match="did you mean 'GradientTape'"):
        mt.GradientTap  # noqa: B018
    assert not hasattr(mt, "no_such_name")
    assert "saved_model" not in dir(sys.modules["minitrain"])  # nothing pretends to exist


def test_bool_operators_are_tensorflows_logical_ops():
    a, b = mt.constant([True, False]), mt.constant([False, False])
    assert (a & b).numpy().tolist() == [False, False] and (a | b).numpy().tolist() == [True, False]
    assert (~a).numpy().tolist() == [False, True] and (True & a).numpy().tolist() == [True, False]
    with pytest.raises(TypeError, match="&: needs bool tensors, got int32"):
        mt.constant([1, 2]) & mt.constant([1, 0])


def test_softmax_needs_a_floating_tensor():
    with pytest.raises(TypeError, match="softmax: needs a floating tensor, got int32"):
        mt.nn.softmax(mt.constant([1, 2]))


def test_watched_variables_come_in_creation_order_as_in_tensorflow():
    a, b = mt.Variable(1.0), mt.Variable(2.0)
    with mt.GradientTape() as tape:
        y = b * a
    assert [v is w for v, w in zip(tape.watched_variables(), (a, b))] == [True, True]
    tape.gradient(y, [a, b])
    assert [v is w for v, w in zip(tape.watched_variables(), (a, b))] == [True, True]


def test_split_and_reverse_as_tensorflow():
    m = mt.constant([[0.0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
    left, right = mt.split(m, 2, axis=1)
    assert left.numpy().tolist() == [[0, 1], [4, 5], [8, 9]] and right.shape == (3, 2)
    assert [p.shape for p in mt.split(m, [1, -1], 0)] == [(1, 4), (2, 4)]
    assert mt.reverse(m, [0, 1]).numpy()[0].tolist() == [11, 10, 9, 8]
    with pytest.raises(ValueError, match="split: 3 equal pieces"):
        mt.split(m, 3, axis=1)
    with pytest.raises(ValueError, match="do not add up"):
        mt.split(m, [1, 1], axis=0)


def test_a_second_derivative_through_relu_is_zero_not_unconnected():
    x = mt.Variable([1.0, -2.0])
    with mt.GradientTape() as outer:
        with mt.GradientTape() as inner:
            y = mt.nn.relu(x)
        g = inner.gradient(y, x)
    assert outer.gradient(g, x).numpy().tolist() == [0.0, 0.0]  # TensorFlow's zeros
