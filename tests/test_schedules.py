"""mt.optimizers.schedules against their formulas, step by step."""
import math

import numpy as np
import pytest

import minitrain as mt
from minitrain.optimizers import schedules

STEPS = [0, 1, 7, 10, 25, 99, 100, 101, 250]


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    schedule = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5,
                                          staircase=staircase)
    for step in STEPS:
        exponent = step // 10 if staircase else step / 10
        assert schedule(step) == pytest.approx(0.1 * 0.5**exponent, rel=1e-12), step


def test_piecewise_constant_decay_switches_after_each_boundary():
    schedule = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    got = {step: schedule(step) for step in [0, 10, 11, 20, 21, 1000]}
    assert got == {0: 1.0, 10: 1.0, 11: 0.5, 20: 0.5, 21: 0.1, 1000: 0.1}


def cosine(step, initial, decay_steps, alpha):
    step = min(step, decay_steps)
    return initial * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / decay_steps)) + alpha)


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_cosine_decay(alpha):
    schedule = schedules.CosineDecay(2.0, decay_steps=100, alpha=alpha)
    for step in STEPS:
        assert schedule(step) == pytest.approx(cosine(step, 2.0, 100, alpha), rel=1e-12), step
    assert schedule(0) == 2.0
    assert schedule(100) == pytest.approx(2.0 * alpha, abs=1e-15)
    assert schedule(250) == schedule(100)


def test_cosine_decay_with_linear_warmup():
    schedule = schedules.CosineDecay(0.0, decay_steps=100, alpha=0.1, warmup_target=1.0,
                                     warmup_steps=10)
    for step in range(10):  # a straight line from 0 to the target
        assert schedule(step) == pytest.approx(step / 10, rel=1e-12)
    for step in [10, 11, 35, 60, 109, 110, 500]:  # then the cosine, shifted by the warmup
        assert schedule(step) == pytest.approx(cosine(step - 10, 1.0, 100, 0.1), rel=1e-12)
    assert schedule(60) == pytest.approx(0.55)  # halfway: (1 - alpha) / 2 + alpha
    warm_from = schedules.CosineDecay(0.2, decay_steps=5, warmup_target=1.0, warmup_steps=4)
    assert warm_from(2) == pytest.approx(0.2 + 0.8 * 2 / 4)


def test_a_step_variable_is_accepted():
    schedule = schedules.ExponentialDecay(1.0, 2, 0.5)
    assert schedule(mt.Variable(np.int64(4))) == 0.25


def test_invalid_arguments_are_reported():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.CosineDecay(0.1, -1)
    with pytest.raises(ValueError, match="one more value than boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="increase strictly"):
        schedules.PiecewiseConstantDecay([2, 1], [1.0, 0.5, 0.1])


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True),
    schedules.PiecewiseConstantDecay([5], [0.1, 0.01]),
    schedules.CosineDecay(0.0, 50, alpha=0.1, warmup_target=0.1, warmup_steps=5),
])
def test_config_round_trip(schedule):
    copy = type(schedule).from_config(schedule.get_config())
    assert [copy(s) for s in STEPS] == [schedule(s) for s in STEPS]
