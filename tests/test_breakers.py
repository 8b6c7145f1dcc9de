"""Circuit breakers: which statuses open at once, which count, when they close.

Time is a ManualClock moved by hand: a 30 s cooldown is tested without waiting.
"""

from __future__ import annotations

import math

import pytest

from policyeng.runtime.breakers import Breakers
from policyeng.runtime.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def breakers(clock) -> Breakers:
    return Breakers(cooldown=30, allowed_fails=3, clock=clock)


@pytest.mark.parametrize("status", [401, 403, 404, 429])
def test_refusals_open_at_once(breakers, status):
    assert breakers.failure("m", status=status) is True
    assert breakers.open_models() == {"m"}


@pytest.mark.parametrize("status", [None, 408, 500, 502, 503, 599])
def test_counted_failures_open_past_allowed_fails(breakers, status):
    for _ in range(3):
        assert breakers.failure("m", status=status) is False
    assert breakers.open_models() == frozenset()
    assert breakers.failure("m", status=status) is True
    assert breakers.open_models() == {"m"}


@pytest.mark.parametrize("status", [200, 302, 400, 409, 413, 422])
def test_the_requests_own_faults_are_not_held_against_the_model(breakers, status):
    for _ in range(10):
        assert breakers.failure("m", status=status) is False
    assert breakers.open_models() == frozenset()


def test_only_failures_within_the_cooldown_count(breakers, clock):
    for _ in range(3):
        breakers.failure("m", status=500)
        clock.advance(11)  # the first falls out of the 30 s window before the fourth
    assert breakers.failure("m", status=500) is False
    assert breakers.open_models() == frozenset()
    assert breakers.failure("m", status=500) is True


def test_allowed_fails_zero_opens_on_the_first_counted_failure(clock):
    breakers = Breakers(cooldown=5, allowed_fails=0, clock=clock)
    assert breakers.failure("m") is True


def test_an_open_breaker_closes_after_the_cooldown(breakers, clock):
    breakers.failure("m", status=429)
    assert breakers.next_expiry == clock.monotonic() + 30
    clock.advance(29.9)
    assert breakers.expire() is False
    assert breakers.open_models() == {"m"}
    clock.advance(0.1)
    assert breakers.expire() is True
    assert breakers.open_models() == frozenset()
    assert breakers.next_expiry == math.inf


def test_retry_after_opens_at_once_and_sets_the_time(breakers, clock):
    assert breakers.failure("m", status=503, retry_after=120) is True
    clock.advance(119)
    breakers.expire()
    assert breakers.open_models() == {"m"}
    clock.advance(1)
    breakers.expire()
    assert breakers.open_models() == frozenset()


def test_a_success_closes_the_breaker_and_clears_the_count(breakers):
    breakers.failure("m", status=429)
    assert breakers.success("m") is True
    assert breakers.open_models() == frozenset()
    assert breakers.success("m") is False
    for _ in range(3):
        breakers.failure("m", status=500)
    breakers.success("m")
    assert breakers.failure("m", status=500) is False  # the count starts again


def test_version_changes_exactly_when_the_open_set_or_its_times_change(breakers, clock):
    version = breakers.version
    breakers.failure("m", status=500)
    assert breakers.version == version
    breakers.failure("m", status=429)
    assert breakers.version == version + 1
    breakers.success("other")
    assert breakers.version == version + 1


def test_open_until_lists_open_models_with_wall_clock_times(breakers, clock):
    breakers.failure("b", status=401)
    breakers.failure("a", status=404, retry_after=5)
    assert breakers.open_until() == [("a", clock.time() + 5), ("b", clock.time() + 30)]


def test_a_huge_retry_after_is_cut_to_a_day(breakers, clock):
    breakers.failure("m", retry_after=1e300)
    assert breakers.open_until() == [("m", clock.time() + 86400)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cooldown": -1}, "cooldown is a number of seconds, 0 or more, not -1"),
        ({"cooldown": math.nan}, "cooldown is a number of seconds, 0 or more, not nan"),
        ({"cooldown": "30"}, "cooldown is a number of seconds, 0 or more, not '30'"),
        ({"allowed_fails": -1}, "allowed_fails is a whole number, 0 or more, not -1"),
        ({"allowed_fails": 1.5}, "allowed_fails is a whole number, 0 or more, not 1.5"),
        ({"allowed_fails": True}, "allowed_fails is a whole number, 0 or more, not True"),
    ],
)
def test_bad_settings_are_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError) as info:
        Breakers(**kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 42}, "status is an HTTP status code (100-599) or None, not 42"),
        ({"status": "429"}, "status is an HTTP status code (100-599) or None, not '429'"),
        ({"retry_after": -1}, "retry_after is a number of seconds, 0 or more, not -1"),
        ({"retry_after": math.nan}, "retry_after is a number of seconds, 0 or more, not nan"),
    ],
)
def test_bad_reports_are_a_clear_value_error(breakers, kwargs, message):
    with pytest.raises(ValueError) as info:
        breakers.failure("m", **kwargs)
    assert str(info.value) == message
