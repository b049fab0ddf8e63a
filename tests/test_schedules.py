"""Closed-form tests for :mod:`skbp._schedules`.

A schedule answers two questions at the end of an epoch: the learning rate
for the next epoch (``after_epoch``) and, when training has stalled, whether
to stop or to go on with a new rate (``on_stall``).  The rules are those of
scikit-learn's MLP ``learning_rate`` parameter.
"""

import dataclasses

import pytest

from skbp._schedules import Adaptive, Constant, InvScaling, make_schedule


def test_constant_keeps_the_rate_and_stops_on_stall():
    schedule = Constant(0.01)
    for n_samples_seen in (0, 1, 10, 10_000):
        assert schedule.after_epoch(0.01, n_samples_seen) == 0.01
    assert schedule.on_stall(0.01) == (True, 0.01)


@pytest.mark.parametrize("power_t", [0.5, 0.25, 1.0])
def test_invscaling_closed_form(power_t):
    schedule = InvScaling(0.2, power_t)
    for n_samples_seen in (0, 1, 99, 12_345):
        # learning_rate_init / (t + 1) ** power_t, t the samples seen so far;
        # it ignores the current rate and restarts from learning_rate_init.
        expected = 0.2 / (n_samples_seen + 1) ** power_t
        assert schedule.after_epoch(123.0, n_samples_seen) == pytest.approx(
            expected, rel=1e-15
        )


def test_invscaling_values_by_hand():
    schedule = InvScaling(0.1, 0.5)
    # 0.1 / sqrt(100) and 0.1 / sqrt(4).
    assert schedule.after_epoch(0.1, 99) == pytest.approx(0.01, rel=1e-15)
    assert schedule.after_epoch(0.1, 3) == pytest.approx(0.05, rel=1e-15)
    assert schedule.power_t == 0.5
    assert InvScaling(0.1).power_t == 0.5
    assert schedule.on_stall(0.05) == (True, 0.05)


def test_adaptive_keeps_the_rate_between_stalls():
    schedule = Adaptive(0.3)
    assert schedule.after_epoch(0.3, 500) == 0.3
    assert schedule.after_epoch(0.06, 1000) == 0.06


def test_adaptive_divides_by_five_until_the_floor():
    schedule = Adaptive(1e-3)
    rate, history = 1e-3, []
    while True:
        stop, new_rate = schedule.on_stall(rate)
        if stop:
            # Stopping keeps the rate it stopped at.
            assert new_rate == rate
            break
        assert new_rate == pytest.approx(rate / 5.0, rel=1e-15)
        rate = new_rate
        history.append(rate)
    # 1e-3 -> 2e-4 -> 4e-5 -> 8e-6 -> 1.6e-6 -> 3.2e-7, then stop: the first
    # rate at or below 1e-6 ends training.
    assert history == pytest.approx([2e-4, 4e-5, 8e-6, 1.6e-6, 3.2e-7], rel=1e-14)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (1e-6, (True, 1e-6)),  # the floor itself stops (<=, as scikit-learn)
        (5e-7, (True, 5e-7)),
        (1.0000001e-6, (False, 1.0000001e-6 / 5.0)),
        (0.5, (False, 0.1)),
    ],
)
def test_adaptive_floor(rate, expected):
    stop, new_rate = Adaptive(0.5).on_stall(rate)
    assert stop == expected[0]
    assert new_rate == pytest.approx(expected[1], rel=1e-15)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("constant", Constant), ("invscaling", InvScaling), ("adaptive", Adaptive)],
)
def test_make_schedule(name, cls):
    schedule = make_schedule(name, 0.05, 0.75)
    assert type(schedule) is cls
    assert schedule.learning_rate_init == 0.05
    if cls is InvScaling:
        assert schedule.power_t == 0.75


def test_schedules_are_immutable():
    # Schedules hold settings only; the current rate lives in the training
    # state, so a frozen schedule can be shared between fits.
    with pytest.raises(dataclasses.FrozenInstanceError):
        Constant(0.1).learning_rate_init = 0.2
