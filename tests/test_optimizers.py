"""mt.optimizers: each update against the paper's formula written out here in float64, the
base class's protocol (clipping, weight decay, missing gradients, schedules, saved state), the
steps that run in place, and what a subclass of only build + update_step gets from the base."""
import tracemalloc
import warnings

import numpy as np
import pytest

import minitrain as mt
from minitrain import optimizers

X0 = np.array([0.5, -1.5, 2.0])
# signs change and sizes shrink, so momentum, AMSGrad's maximum and centering all matter
GRADS = [np.array([1.0, -2.0, 0.5]), np.array([-3.0, 0.1, 0.5]), np.array([0.2, 0.2, -4.0])]


def sgd_reference(lr, momentum=0.0, nesterov=False):
    x, velocity = X0.copy(), np.zeros(3)
    for g in GRADS:
        velocity = momentum * velocity - lr * g
        x = x + (momentum * velocity - lr * g if nesterov else velocity)
        yield x


def adam_reference(lr, beta_1=0.9, beta_2=0.999, eps=1e-7, amsgrad=False, weight_decay=0.0):
    x, m, v, v_max = X0.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        x = x - lr * weight_decay * x
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        v_max = np.maximum(v_max, v)
        step_size = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        x = x - step_size * m / (np.sqrt(v_max if amsgrad else v) + eps)
        yield x


def rmsprop_reference(lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    x, ms, mg, velocity = X0.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    for g in GRADS:
        ms = rho * ms + (1 - rho) * g**2
        mg = rho * mg + (1 - rho) * g
        variance = ms - mg**2 if centered else ms
        velocity = momentum * velocity + lr * g / np.sqrt(variance + eps)
        x = x - velocity
        yield x


def adagrad_reference(lr, initial=0.1, eps=1e-7):
    x, accumulator = X0.copy(), np.full(3, initial)
    for g in GRADS:
        accumulator = accumulator + g**2
        x = x - lr * g / np.sqrt(accumulator + eps)
        yield x


# (optimizer factory, its first three iterates from the formula)
CASES = {
    "sgd": (lambda: optimizers.SGD(0.1), sgd_reference(0.1)),
    "sgd_momentum": (lambda: optimizers.SGD(0.1, momentum=0.9), sgd_reference(0.1, 0.9)),
    "sgd_nesterov": (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                     sgd_reference(0.1, 0.9, nesterov=True)),
    "adam": (lambda: optimizers.Adam(0.1), adam_reference(0.1)),
    "adam_betas": (lambda: optimizers.Adam(0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3),
                   adam_reference(0.05, 0.5, 0.9, 1e-3)),
    "amsgrad": (lambda: optimizers.Adam(0.1, amsgrad=True), adam_reference(0.1, amsgrad=True)),
    "adamw": (lambda: optimizers.AdamW(0.1, weight_decay=0.2),
              adam_reference(0.1, weight_decay=0.2)),
    "rmsprop": (lambda: optimizers.RMSprop(0.1), rmsprop_reference(0.1)),
    "rmsprop_momentum_centered": (
        lambda: optimizers.RMSprop(0.1, rho=0.8, momentum=0.5, centered=True),
        rmsprop_reference(0.1, 0.8, 0.5, centered=True)),
    "adagrad": (lambda: optimizers.Adagrad(0.1), adagrad_reference(0.1)),
    "adagrad_initial": (lambda: optimizers.Adagrad(0.3, initial_accumulator_value=1.0),
                        adagrad_reference(0.3, 1.0)),
}


@pytest.mark.parametrize("case", CASES)
def test_first_three_steps_follow_the_formula(case):
    make, reference = CASES[case]
    opt, x = make(), mt.Variable(X0.copy())
    for step, (g, expected) in enumerate(zip(GRADS, reference), start=1):
        opt.apply_gradients([(mt.constant(g), x)])
        assert int(opt.iterations) == step
        np.testing.assert_allclose(x.numpy(), expected, rtol=1e-12, atol=1e-15,
                                   err_msg=f"{case}, step {step}")


@pytest.mark.parametrize("make, expected", [
    (optimizers.SGD, {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}),
    (optimizers.Adam, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                       "epsilon": 1e-7, "amsgrad": False, "weight_decay": None}),
    (optimizers.AdamW, {"learning_rate": 0.001, "weight_decay": 0.004, "epsilon": 1e-7}),
    (optimizers.RMSprop, {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0,
                          "epsilon": 1e-7, "centered": False}),
    (optimizers.Adagrad, {"learning_rate": 0.001, "initial_accumulator_value": 0.1,
                          "epsilon": 1e-7}),
])
def test_keras_defaults(make, expected):
    opt = make()
    got = {key: getattr(opt, key) for key in expected}
    got["learning_rate"] = float(got["learning_rate"])
    assert got == expected


def test_float32_variables_stay_float32():
    x = mt.Variable(X0.astype(np.float32))
    opt = optimizers.Adam(0.1, weight_decay=0.01, clipnorm=1.0)
    opt.apply_gradients([(GRADS[0], x)])
    assert x.dtype == mt.float32 and all(v.dtype != mt.float64 for v in opt.variables[2:])
    assert not np.array_equal(x.numpy(), X0.astype(np.float32))


def sgd_step(grads, **clipping):
    """The change one plain SGD step (lr 1) makes to zero variables given these gradients."""
    variables = [mt.Variable(np.zeros_like(g)) for g in grads]
    optimizers.SGD(1.0, **clipping).apply_gradients(zip(grads, variables))
    return [-v.numpy() for v in variables]


def test_clipnorm_rescales_each_gradient_longer_than_the_limit():
    short, long = sgd_step([np.array([0.3, 0.4]), np.array([3.0, 4.0])], clipnorm=1.0)
    np.testing.assert_allclose(short, [0.3, 0.4])
    np.testing.assert_allclose(long, [0.6, 0.8])


def test_global_clipnorm_rescales_all_gradients_together():
    a, b = sgd_step([np.array([3.0]), np.array([4.0])], global_clipnorm=1.0)
    np.testing.assert_allclose([a[0], b[0]], [0.6, 0.8])  # per gradient, both would be 1.0
    a, b = sgd_step([np.array([0.3]), np.array([0.4])], global_clipnorm=1.0)
    np.testing.assert_allclose([a[0], b[0]], [0.3, 0.4])
    (zero,) = sgd_step([np.zeros(2)], global_clipnorm=1.0)
    np.testing.assert_array_equal(zero, [0.0, 0.0])


def test_clipvalue_clips_elementwise():
    (g,) = sgd_step([np.array([3.0, -4.0, 0.1])], clipvalue=1.0)
    np.testing.assert_allclose(g, [1.0, -1.0, 0.1])


def test_only_one_kind_of_clipping():
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)


def test_weight_decay_is_decoupled_and_can_exclude_variables():
    kernel, bias = mt.Variable(np.array([2.0, -4.0]), name="kernel"), mt.Variable([1.0],
                                                                                 name="bias")
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(np.zeros(2), kernel), (np.zeros(1), bias)])
    np.testing.assert_allclose(kernel.numpy(), [2.0 * 0.95, -4.0 * 0.95])
    np.testing.assert_array_equal(bias.numpy(), [1.0])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_list=[kernel])


def test_none_gradients_are_skipped_with_one_warning_naming_the_variable():
    used, unused = mt.Variable([1.0], name="used"), mt.Variable([1.0], name="unused")
    opt = optimizers.Adam(0.1)
    with pytest.warns(UserWarning, match="unused") as record:
        opt.apply_gradients([(np.ones(1), used), (None, unused)])
    assert len(record) == 1
    assert used.numpy()[0] < 1.0 and unused.numpy()[0] == 1.0
    with pytest.raises(ValueError, match="no gradient was provided for any variable"):
        opt.apply_gradients([(None, used)])


def test_variables_outside_the_built_set_and_bad_shapes_are_refused():
    x, stranger = mt.Variable([1.0]), mt.Variable([2.0], name="stranger")
    opt = optimizers.SGD(0.1)
    opt.apply_gradients([(np.ones(1), x)])
    with pytest.raises(ValueError, match="unknown variable 'stranger:0'"):
        opt.apply_gradients([(np.ones(1), stranger)])
    with pytest.raises(ValueError, match=r"shape \(2,\) was given for variable"):
        opt.apply_gradients([(np.ones(2), x)])


def test_a_schedule_drives_the_learning_rate_by_step():
    schedule = optimizers.schedules.PiecewiseConstantDecay([1], [1.0, 0.25])
    opt, x = optimizers.SGD(schedule), mt.Variable([0.0])
    seen = []
    for _ in range(4):
        seen.append(float(opt.learning_rate))
        opt.apply_gradients([(np.ones(1), x)])
    assert seen == [1.0, 1.0, 0.25, 0.25]  # steps 0 and 1 are <= the boundary
    assert x.numpy()[0] == -2.5
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.1


def test_learning_rate_can_be_set_between_steps():
    opt, x = optimizers.SGD(1.0), mt.Variable([0.0])
    opt.apply_gradients([(np.ones(1), x)])
    opt.learning_rate = 0.5
    opt.apply_gradients([(np.ones(1), x)])
    assert x.numpy()[0] == -1.5


SAVED_CASES = ["sgd_nesterov", "adam", "amsgrad", "adamw", "rmsprop_momentum_centered",
               "adagrad"]


def _train(opt, variables, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        grads = [rng.normal(size=v.shape).astype(np.float32) for v in variables]
        opt.apply_gradients(zip(grads, variables))
    return [v.numpy() for v in variables]


@pytest.mark.parametrize("case", SAVED_CASES)
def test_saved_state_resumes_bit_for_bit(case, tmp_path):
    make = CASES[case][0]
    variables = [mt.Variable(np.ones((2, 3), np.float32)), mt.Variable(np.zeros(3, np.float32))]
    opt = make()
    _train(opt, variables, 4, seed=1)
    state = {}
    opt.save_own_variables(state)
    np.savez(tmp_path / "opt.npz", **state)
    np.savez(tmp_path / "vars.npz", *[v.numpy() for v in variables])
    expected = _train(opt, variables, 4, seed=2)

    with np.load(tmp_path / "vars.npz", allow_pickle=False) as saved:
        restored = [mt.Variable(saved[f"arr_{i}"]) for i in range(len(variables))]
    resumed = make()
    resumed.build(restored)
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as saved:
        resumed.load_own_variables(saved)
    assert int(resumed.iterations) == 4
    for got, want in zip(_train(resumed, restored, 4, seed=2), expected):
        np.testing.assert_array_equal(got, want)


def test_loading_state_into_an_unbuilt_optimizer_says_what_to_do():
    opt = optimizers.Adam()
    opt.apply_gradients([(np.ones(1), mt.Variable([0.0]))])
    state = {}
    opt.save_own_variables(state)
    with pytest.raises(ValueError, match=r"not built yet: call optimizer.build\(var_list\)"):
        optimizers.Adam().load_own_variables(state)


@pytest.mark.parametrize("name, cls", [("sgd", optimizers.SGD), ("Adam", optimizers.Adam),
                                       ("adamw", optimizers.AdamW),
                                       ("RMSprop", optimizers.RMSprop),
                                       ("adagrad", optimizers.Adagrad)])
def test_get_by_name(name, cls):
    assert type(optimizers.get(name)) is cls


def test_get_from_config_instance_and_unknown_name():
    opt = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.1,
                                                          "momentum": 0.9}})
    assert (float(opt.learning_rate), opt.momentum) == (0.1, 0.9)
    assert optimizers.get(opt) is opt
    with pytest.raises(ValueError, match="valid names: adagrad, adam, adamw, rmsprop, sgd"):
        optimizers.get("adamax")


def test_no_warning_when_every_gradient_is_present():
    x = mt.Variable([1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizers.RMSprop().apply_gradients([(np.ones(1), x)])


# --- the step in place -------------------------------------------------------------------------
IN_PLACE_CASES = {"adam": lambda: optimizers.Adam(0.1),
                  "amsgrad": lambda: optimizers.Adam(0.1, amsgrad=True),
                  "sgd_momentum": lambda: optimizers.SGD(0.1, momentum=0.9),
                  "sgd_nesterov": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True)}


def _weights_and_grads(shape=(200, 300), steps=3):
    rng = np.random.default_rng(5)
    x = mt.Variable(rng.standard_normal(shape))
    return x, [rng.standard_normal(shape) for _ in range(steps)]


def _arrays(variable, opt):
    """The identities of the arrays behind the variable and the optimizer's slots."""
    return [id(v._data) for v in [variable, *opt.variables[2:]]]


@pytest.mark.parametrize("case", IN_PLACE_CASES)
def test_the_step_overwrites_the_variable_and_its_slots(case):
    x, grads = _weights_and_grads()
    opt = IN_PLACE_CASES[case]()
    opt.apply_gradients([(grads[0], x)])
    arrays = _arrays(x, opt)
    for g in grads[1:]:
        opt.apply_gradients([(g, x)])
        assert _arrays(x, opt) == arrays


@pytest.mark.parametrize("case", IN_PLACE_CASES)
def test_the_step_allocates_no_weight_sized_array(case):
    x, grads = _weights_and_grads()
    opt = IN_PLACE_CASES[case]()
    opt.apply_gradients([(grads[0], x)])  # builds: the slots and scratch are made here
    tracemalloc.start()
    try:
        for g in grads[1:]:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            opt.apply_gradients([(g, x)])
            assert tracemalloc.get_traced_memory()[1] - before < x.numpy().nbytes // 10
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("case", IN_PLACE_CASES)
def test_a_read_before_the_step_keeps_its_value(case):
    x, grads = _weights_and_grads((4, 3))
    opt = IN_PLACE_CASES[case]()
    opt.apply_gradients([(grads[0], x)])
    snapshots = [v.read_value() for v in [x, *opt.variables[2:]]]
    values = [s.numpy().copy() for s in snapshots]
    opt.apply_gradients([(grads[1], x)])
    for snapshot, value in zip(snapshots, values):
        np.testing.assert_array_equal(snapshot.numpy(), value)
    assert not np.array_equal(x.numpy(), values[0])


@pytest.mark.gpu
@pytest.mark.parametrize("case", IN_PLACE_CASES)
def test_the_gpu_step_matches_the_cpu_step_and_stays_in_place(case):
    x, grads = _weights_and_grads((64, 33))
    on_gpu = mt.Variable(x.numpy(), device="gpu")
    cpu, gpu = IN_PLACE_CASES[case](), IN_PLACE_CASES[case]()
    for step, g in enumerate(grads):
        cpu.apply_gradients([(g, x)])
        gpu.apply_gradients([(g, on_gpu)])
        if step == 0:
            arrays = _arrays(on_gpu, gpu)
        assert _arrays(on_gpu, gpu) == arrays
    for want, got in zip([x, *cpu.variables], [on_gpu, *gpu.variables]):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_in_float32_is_keras_formula_bit_for_bit(amsgrad):
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((5, 4)).astype(np.float32)
    grads = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(4)]
    x, opt = mt.Variable(x0), optimizers.Adam(0.01, amsgrad=amsgrad)
    c = np.float32
    want, m, v, v_hat = x0, np.zeros_like(x0), np.zeros_like(x0), np.zeros_like(x0)
    for t, g in enumerate(grads, start=1):
        opt.apply_gradients([(g, x)])
        alpha = c(0.01) * np.sqrt(1 - c(0.999) ** c(t)) / (1 - c(0.9) ** c(t))
        m = m + (g - m) * c(1 - 0.9)
        v = v + (g * g - v) * c(1 - 0.999)
        v_hat = np.maximum(v_hat, v)
        want = want - (m * alpha) / (np.sqrt(v_hat if amsgrad else v) + c(1e-7))
        np.testing.assert_array_equal(x.numpy(), want)


# --- a subclass is its build and its update_step -----------------------------------------------
class SignMomentum(optimizers.Optimizer):
    """x -= lr sign(m), m <- m + g: enough to show what the base class gives a subclass."""

    def __init__(self, learning_rate=0.1, name="sign_momentum", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)

    def build(self, var_list):
        self.sums = self.add_optimizer_variables(var_list, "sum")

    def update_step(self, gradient, variable, learning_rate):
        m = self.sums[self._get_variable_index(variable)]
        self.assign_add(m, gradient)
        self.assign_sub(variable, learning_rate * np.sign(m.numpy()))


def test_a_subclass_gets_steps_clipping_weight_decay_and_state_from_the_base():
    x = mt.Variable(np.array([2.0, -4.0]), name="kernel")
    opt = SignMomentum(0.1, weight_decay=0.5, clipvalue=1.0)
    opt.apply_gradients([(np.array([3.0, 0.5]), x)])
    opt.apply_gradients([(np.array([-0.2, -1.0]), x)])
    assert int(opt.iterations) == 2
    np.testing.assert_allclose(opt.sums[0].numpy(), [0.8, -0.5])  # 3.0 was clipped to 1.0
    decayed = np.array([2.0, -4.0]) * 0.95 - 0.1 * np.array([1.0, 1.0])
    np.testing.assert_allclose(x.numpy(), decayed * 0.95 - 0.1 * np.array([1.0, -1.0]))
    opt.build([x])  # built once: a second build makes no second set of slots
    state = {}
    opt.save_own_variables(state)
    assert len(state) == 3  # iterations, learning rate, one slot
    again = SignMomentum(0.1)
    again.build([mt.Variable(x.numpy())])
    again.load_own_variables(state)
    np.testing.assert_array_equal(again.sums[0].numpy(), opt.sums[0].numpy())


def test_a_keras_style_build_with_its_own_guard_still_builds_once():
    class KerasStyle(SignMomentum):
        def build(self, var_list):
            if self.built:
                return
            super().build(var_list)
            self.extra = self.add_optimizer_variables(var_list, "extra")

    x = mt.Variable([1.0])
    opt = KerasStyle()
    opt.apply_gradients([(np.ones(1), x)])
    opt.build([x])
    assert len(opt.variables) == 4 and int(opt.iterations) == 1
    assert x.numpy()[0] == pytest.approx(0.9)


@pytest.mark.parametrize("make", [lambda: mt.optimizers.Adam(0.1),
                                  lambda: mt.optimizers.SGD(0.1, momentum=0.9),
                                  lambda: mt.optimizers.SGD(0.1, momentum=0.9, nesterov=True)],
                         ids=["adam", "momentum", "nesterov"])
def test_a_scalar_variable_trains_with_the_in_place_kernels(make):
    """A weight of shape () (Attention's scale) once crashed the scratch buffers."""
    v, optimizer = mt.Variable(1.0), make()
    for _ in range(2):
        with mt.GradientTape() as tape:
            loss = v * v
        optimizer.apply_gradients([(tape.gradient(loss, v), v)])
    assert v.shape == () and 0 < float(v) < 1
