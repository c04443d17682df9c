"""mt.Module as tf.Module: names, name scopes, and the order of the attribute walk (TF's
module.py _flatten_module and module_test.py), layers inside modules, and the "Introduction
to modules" and "Basic training loops" guides' programs run with `import minitrain as tf`."""
import numpy as np
import pytest

import minitrain as mt
from minitrain.module import camel_to_snake


def _module(**attributes):
    module = mt.Module()
    for name, value in attributes.items():
        setattr(module, name, value)
    return module


def _ids(values):
    return [id(v) for v in values]


# --- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize("class_name, name", [
    ("MyModule", "my_module"), ("SimpleModule", "simple_module"), ("MLP", "mlp"),
    ("HTTPServer", "http_server"), ("Module", "module"),
    ("Conv2D", "conv2_d"),  # TF's rule; a Keras layer's snake_case gives "conv2d"
])
def test_the_default_name_is_tensorflows_camel_to_snake_of_the_class_name(class_name, name):
    assert camel_to_snake(class_name) == name
    assert type(class_name, (mt.Module,), {})().name == name


def test_a_given_name_must_be_a_python_identifier():
    assert mt.Module(name="simple").name == "simple"
    with pytest.raises(ValueError, match=r"'\$Foo' is not a valid module name. Module names "
                                         r"must be valid Python identifiers"):
        mt.Module(name="$Foo")


def test_the_name_scope_is_named_with_a_slash_and_entering_it_gives_that_name():
    module = mt.Module(name="simple")
    assert module.name_scope.name == "simple/"
    with module.name_scope as scope:
        assert scope == "simple/"


def test_with_name_scope_enters_the_modules_scope_and_keeps_the_methods_name():
    entered = []

    class Scope:
        def __enter__(self):
            entered.append("in")

        def __exit__(self, *exc_info):
            entered.append("out")

    class Recorder(mt.Module):
        name_scope = Scope()  # as TF's ModuleOverridingNameScope test overrides it

        @mt.Module.with_name_scope
        def forward(self, x):
            """Doubles."""
            entered.append(x)
            return 2 * x

    assert Recorder().forward(3) == 6 and entered == ["in", 3, "out"]
    assert Recorder.forward.__name__ == "forward" and Recorder.forward.__doc__ == "Doubles."


# --- the walk ---------------------------------------------------------------------------------
def test_attributes_are_walked_in_sorted_name_order_lists_in_order_dicts_by_sorted_key():
    v = [mt.Variable(float(i), name=f"v{i}") for i in range(6)]
    module = _module(z=v[5], y={"k": v[4], "a": v[3]}, x=[v[1], (v[2],)], w=v[0])
    assert _ids(module.variables) == _ids(v)
    assert isinstance(module.variables, tuple)


def test_a_modules_own_variables_come_before_those_of_the_modules_it_holds():
    inner_w, own = mt.Variable(1.0), mt.Variable(2.0)
    inner = _module(w=inner_w)
    module = _module(a=[inner], b=own)  # inner is met first, its variables still come after
    assert _ids(module.variables) == _ids([own, inner_w])


def test_submodules_are_tensorflows_walk_each_modules_direct_ones_then_theirs():
    e, f = mt.Module(), mt.Module()
    d = _module(e=e)
    b, c = _module(d=d), _module(f=f)
    a = _module(b=b, c=c)
    # a's own (b, c), then b's walk (d, then d's: e), then c's (f); a plain breadth-first
    # order would put f before e
    assert _ids(a.submodules) == _ids([b, c, d, e, f])
    assert _ids(b.submodules) == _ids([d, e]) and c.submodules == (f,) and e.submodules == ()


def test_tensorflows_module_doc_example_and_recursive_module_test():
    a, b, c = mt.Module(), mt.Module(), mt.Module()
    a.b = b
    b.c = c
    assert list(a.submodules) == [b, c] and list(b.submodules) == [c]

    class RecursiveModule(mt.Module):
        def __init__(self, depth, trainable=True):
            super().__init__(name="badger")
            with self.name_scope:
                self.child = RecursiveModule(depth - 1, trainable) if depth > 1 else None
                self.w = mt.Variable(1.0, trainable=trainable, name="mushroom")

    m = RecursiveModule(3)
    assert _ids(m.variables) == _ids([m.w, m.child.w, m.child.child.w])
    assert _ids(m.trainable_variables) == _ids(m.variables)
    assert list(m.submodules) == [m.child, m.child.child]
    assert RecursiveModule(3, trainable=False).trainable_variables == ()


def test_each_variable_and_module_is_found_once_by_identity_and_cycles_end():
    v, sub = mt.Variable(1.0), mt.Module()
    module = _module(a=v, b=[v, sub], c={"again": sub})
    module.me = module
    sub.parent = module
    assert _ids(module.variables) == _ids([v]) and _ids(module.submodules) == _ids([sub])
    paths = [path for path, _ in module._flatten(predicate=lambda x: x is v, with_path=True)]
    # with paths, every path, as TF's walk gives them: a module met again while it is being
    # walked (a cycle) yields its own leaves but is not walked further
    assert paths == [("a",), ("b", 0), ("b", 1, "parent", "a"), ("b", 1, "parent", "b", 0),
                     ("c", "again", "parent", "a"), ("c", "again", "parent", "b", 0),
                     ("me", "a"), ("me", "b", 0)]


def test_trainable_and_non_trainable_variables_split_variables_in_its_order():
    frozen, trained = mt.Variable(1.0, trainable=False), mt.Variable(2.0)
    module = _module(a=frozen, b=trained)
    assert _ids(module.trainable_variables) == _ids([trained])
    assert _ids(module.non_trainable_variables) == _ids([frozen])


def test_flatten_takes_a_predicate_recursion_and_an_attribute_key():
    v0, v1, v2 = mt.Variable(0.0), mt.Variable(1.0), mt.Variable(2.0)
    module = _module(a=v0, b=v1, sub=_module(w=v2))
    assert _ids(module._flatten(recursive=False, predicate=lambda x: isinstance(x, mt.Variable))
                ) == _ids([v0, v1])
    reverse = module._flatten(predicate=lambda x: isinstance(x, mt.Variable),
                              attribute_traversal_key=lambda name: -ord(name[0]))
    assert _ids(reverse) == _ids([v1, v0, v2])


# --- layers are modules -----------------------------------------------------------------------
def _built(layer, width=4):
    layer(np.ones((2, width), np.float32))
    return layer


def test_a_module_holding_layers_finds_their_weights_each_layers_own_in_keras_order():
    dense, norm = _built(mt.layers.Dense(3)), _built(mt.layers.BatchNormalization())
    model = _built(mt.Sequential([mt.layers.Dense(5), mt.layers.Dense(2)]))
    scale = mt.Variable(1.0)
    module = _module(a_dense=dense, b_norm=norm, c_model=model, d_scale=scale)
    assert _ids(module.variables) == _ids(
        [scale, dense.kernel, dense.bias, norm.gamma, norm.beta, norm.moving_mean,
         norm.moving_variance, *model.weights])
    assert _ids(module.trainable_variables) == _ids(
        [scale, dense.kernel, dense.bias, norm.gamma, norm.beta, *model.trainable_variables])
    assert _ids(module.submodules) == _ids([dense, norm, model, *model.layers])


def test_a_layers_own_tracking_keeps_keras_order_and_lists():
    dense = _built(mt.layers.Dense(3))
    assert isinstance(dense, mt.Module) and isinstance(dense.trainable_variables, list)
    assert _ids(dense.trainable_variables) == _ids([dense.kernel, dense.bias])
    assert dense.name.startswith("dense") and dense.name_scope.name == f"{dense.name}/"
    assert mt.layers.Dense(2, name="not an identifier").name == "not an identifier"


def test_a_frozen_layer_in_a_module_gives_no_trainable_variables():
    dense = _built(mt.layers.Dense(3))
    dense.trainable = False
    module = _module(dense=dense)
    assert module.trainable_variables == () and len(module.variables) == 2


# --- the guides' programs, with `import minitrain as tf` --------------------------------------
def test_the_introduction_to_modules_guides_simple_module(capsys):
    import minitrain as tf

    class SimpleModule(tf.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.a_variable = tf.Variable(5.0, name="train_me")
            self.non_trainable_variable = tf.Variable(5.0, trainable=False,
                                                      name="do_not_train_me")

        def __call__(self, x):
            return self.a_variable * x + self.non_trainable_variable

    simple_module = SimpleModule(name="simple")
    assert simple_module(tf.constant(5.0)).numpy() == 30.0
    print("trainable variables:", simple_module.trainable_variables)
    print("all variables:", simple_module.variables)
    assert capsys.readouterr().out == (
        "trainable variables: (<tf.Variable 'train_me:0' shape=() dtype=float32, "
        "numpy=5.0>,)\n"
        "all variables: (<tf.Variable 'train_me:0' shape=() dtype=float32, numpy=5.0>, "
        "<tf.Variable 'do_not_train_me:0' shape=() dtype=float32, numpy=5.0>)\n")


def test_the_introduction_to_modules_guides_sequential_module_of_dense_modules(capsys):
    import minitrain as tf

    class Dense(tf.Module):
        def __init__(self, in_features, out_features, name=None):
            super().__init__(name=name)
            self.w = tf.Variable(tf.random.normal([in_features, out_features]), name="w")
            self.b = tf.Variable(tf.zeros([out_features]), name="b")

        def __call__(self, x):
            y = tf.matmul(x, self.w) + self.b
            return tf.nn.relu(y)

    class SequentialModule(tf.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.dense_1 = Dense(in_features=3, out_features=3)
            self.dense_2 = Dense(in_features=3, out_features=2)

        @tf.function
        def __call__(self, x):
            x = self.dense_1(x)
            return self.dense_2(x)

    my_model = SequentialModule(name="the_model")
    assert my_model.name == "the_model" and my_model.dense_1.name == "dense"
    assert my_model([[2.0, 2.0, 2.0]]).shape == (1, 2)
    assert my_model([[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]]).shape == (1, 2, 2)
    print("Submodules:", my_model.submodules)
    for var in my_model.variables:
        print(var, "\n")
    out = capsys.readouterr().out
    assert out.startswith("Submodules: (<") and out.count("Dense object at") == 2
    names_and_shapes = [(v.name, v.shape) for v in my_model.variables]
    assert names_and_shapes == [("b:0", (3,)), ("w:0", (3, 3)), ("b:0", (2,)), ("w:0", (3, 2))]
    assert out.count("<tf.Variable 'b:0' shape=(3,) dtype=float32") == 1


def test_the_basic_training_loops_guides_model_and_loop_fit_the_line():
    import minitrain as tf

    class MyModel(tf.Module):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.w = tf.Variable(5.0)
            self.b = tf.Variable(0.0)

        def __call__(self, x):
            return self.w * x + self.b

    def loss(target_y, predicted_y):
        return tf.reduce_mean(tf.square(target_y - predicted_y))

    def train(model, x, y, learning_rate):
        with tf.GradientTape() as t:
            current_loss = loss(y, model(x))
        dw, db = t.gradient(current_loss, [model.w, model.b])
        model.w.assign_sub(learning_rate * dw)
        model.b.assign_sub(learning_rate * db)

    model = MyModel()
    assert [v.numpy() for v in model.variables] == [0.0, 5.0]  # b, then w: sorted names
    assert model(3.0).numpy() == 15.0

    rng = np.random.default_rng(0)
    x_np = np.linspace(-2, 2, 201).astype(np.float32)
    y_np = (x_np * 3.0 + 2.0 + rng.normal(size=201)).astype(np.float32)
    x, y = tf.constant(x_np), tf.constant(y_np)
    w, b = 5.0, 0.0  # the same gradient descent in float64 numpy
    for _ in range(10):
        train(model, x, y, learning_rate=0.1)
        error = w * x_np + b - y_np
        w, b = w - 0.1 * 2 * np.mean(error * x_np), b - 0.1 * 2 * np.mean(error)
    assert f"W = {model.w.numpy():1.2f}, b = {model.b.numpy():1.2f}" == (
        f"W = {w:1.2f}, b = {b:1.2f}")
    np.testing.assert_allclose([model.w.numpy(), model.b.numpy()], [w, b], rtol=1e-5)
    assert abs(w - 3.0) < 0.3 and abs(b - 2.0) < 0.5
