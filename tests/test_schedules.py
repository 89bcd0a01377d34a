"""Schedules: every() and its grid, manual(), describe() and format_duration()."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from actors import InvalidSchedule, Schedule, every, manual
from actors.schedules import Every, Manual, format_duration
from tests.conftest import T0


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


class TestEveryUnits:
    @pytest.mark.parametrize(
        ("schedule", "expected"),
        [
            (every(30), 30),
            (every(0.25), 0.25),
            (every(minutes=5), 300),
            (every(hours=2), 7200),
            (every(days=1), 86400),
            (every(minutes=1.5), 90),
            (every(timedelta(minutes=2)), 120),
            (every(seconds=30, minutes=1), 90),
            (every(1, minutes=1, hours=1, days=1), 90061),
            (every(timedelta(seconds=10), minutes=1), 70),
        ],
    )
    def test_interval(self, schedule: Every, expected: float) -> None:
        """Every unit adds up to one interval, in seconds and as a timedelta."""
        assert schedule.seconds == expected
        assert schedule.interval == seconds(expected)

    def test_is_a_schedule(self) -> None:
        """every() returns a Schedule with no start (resolved at install)."""
        schedule = every(10)

        assert isinstance(schedule, Schedule)
        assert (schedule.start, schedule.end, schedule.delay, schedule.jitter) == (
            None,
            None,
            None,
            0.0,
        )

    def test_equal_intervals_compare_equal(self) -> None:
        """The same interval in different units is the same schedule."""
        assert every(60) == every(minutes=1) == every(timedelta(seconds=60))
        assert every(60) != every(61)

    def test_frozen(self) -> None:
        """A schedule cannot be changed after construction."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            every(10).interval = seconds(5)  # type: ignore[misc]

    def test_delay_and_jitter_kept(self) -> None:
        """delay is stored as a timedelta, jitter as float seconds."""
        schedule = every(10, delay=2.5, jitter=1)

        assert schedule.delay == seconds(2.5)
        assert schedule.jitter == 1.0


class TestNextFire:
    def test_grid_never_drifts(self) -> None:
        """10,000 steps of next_fire land exactly on origin + k * interval, every one."""
        schedule = every(0.7, start=T0)
        origin = T0 + seconds(0.7)
        when = T0
        for k in range(10_000):
            when = schedule.next_fire(when)  # type: ignore[assignment]
            assert when == origin + k * schedule.interval

        assert when == T0 + timedelta(seconds=7000)

    def test_grid_never_drifts_for_a_third_of_a_second(self) -> None:
        """An interval not representable in binary still lands on the grid after 10,000 steps."""
        schedule = every(1 / 3, start=T0)
        when = T0
        for k in range(1, 10_001):
            when = schedule.next_fire(when)  # type: ignore[assignment]
            assert when == T0 + k * schedule.interval

    def test_from_between_grid_points(self) -> None:
        """From any time between two grid points, the next is the upper one."""
        schedule = every(10, start=T0)

        assert schedule.next_fire(T0 + seconds(13)) == T0 + seconds(20)
        assert schedule.next_fire(T0 + seconds(19.999)) == T0 + seconds(20)

    def test_strictly_after(self) -> None:
        """From a grid point itself, the next is one interval later."""
        schedule = every(10, start=T0)

        assert schedule.next_fire(T0 + seconds(20)) == T0 + seconds(30)

    def test_before_origin_gives_origin(self) -> None:
        """Before the first tick, next_fire is the first tick."""
        schedule = every(10, start=T0)

        assert schedule.next_fire(T0 - seconds(3600)) == T0 + seconds(10)
        assert schedule.next_fire(T0) == T0 + seconds(10)

    def test_pure(self) -> None:
        """next_fire holds no state: asking twice gives the same answer."""
        schedule = every(10, start=T0)

        assert schedule.next_fire(T0 + seconds(5)) == schedule.next_fire(T0 + seconds(5))
        assert schedule == every(10, start=T0)

    def test_without_start_counts_from_the_time_given(self) -> None:
        """An unanchored every(x) is x after whatever time it is asked about."""
        assert every(10).next_fire(T0 + seconds(3)) == T0 + seconds(13)

    def test_other_time_zone(self) -> None:
        """An aware start in another zone is the same instant; the grid is unchanged."""
        plus_two = timezone(timedelta(hours=2))
        schedule = every(60, start=T0.astimezone(plus_two))

        assert schedule.next_fire(T0 + seconds(90)) == T0 + seconds(120)


class TestFirstFire:
    def test_default_delay_is_one_interval_after_install(self) -> None:
        """Installed at T0, every(x) first fires at T0 + x."""
        schedule = every(60).anchored(T0)

        assert schedule.first_fire(T0) == T0 + seconds(60)

    def test_first_fire_unanchored(self) -> None:
        """first_fire of an unanchored every(x) also counts from install."""
        assert every(60).first_fire(T0) == T0 + seconds(60)

    def test_delay_zero_fires_at_once(self) -> None:
        """delay=0 fires at install, then on the grid from there."""
        schedule = every(60, delay=0).anchored(T0)

        assert schedule.first_fire(T0) == T0
        assert schedule.next_fire(T0) == T0 + seconds(60)

    def test_explicit_delay(self) -> None:
        """delay=d fires d after install, then every interval from there."""
        schedule = every(60, delay=5).anchored(T0)

        assert schedule.first_fire(T0) == T0 + seconds(5)
        assert schedule.next_fire(T0 + seconds(5)) == T0 + seconds(65)

    def test_start_in_the_past_keeps_its_grid(self) -> None:
        """A start before install: the first tick is the next grid point at or after install."""
        schedule = every(10, start=T0 - seconds(25))

        assert schedule.first_fire(T0) == T0 + seconds(5)

    def test_start_in_the_past_on_a_grid_point(self) -> None:
        """Installed exactly on a grid point of a past start, that point fires at once."""
        schedule = every(10, start=T0 - seconds(20))

        assert schedule.first_fire(T0) == T0

    def test_start_in_the_future(self) -> None:
        """A start after install: the first tick is one interval after the start."""
        schedule = every(10, start=T0 + seconds(3600))

        assert schedule.first_fire(T0) == T0 + seconds(3610)

    def test_start_in_the_future_with_delay_zero(self) -> None:
        """A future start with delay=0 fires at the start itself."""
        schedule = every(10, start=T0 + seconds(3600), delay=0)

        assert schedule.first_fire(T0) == T0 + seconds(3600)


class TestEnd:
    def test_no_tick_after_end(self) -> None:
        """Ticks run up to and including end, then next_fire is None."""
        schedule = every(10, start=T0, end=T0 + seconds(30))
        fires = []
        when: datetime | None = T0
        while (when := schedule.next_fire(when)) is not None:  # type: ignore[arg-type]
            fires.append(when)

        assert fires == [T0 + seconds(10), T0 + seconds(20), T0 + seconds(30)]

    def test_first_fire_past_end(self) -> None:
        """A program installed after its end never fires."""
        schedule = every(10, start=T0, end=T0 + seconds(30))

        assert schedule.first_fire(T0 + seconds(31)) is None

    def test_end_without_start(self) -> None:
        """end applies to an unanchored schedule too."""
        schedule = every(10, end=T0 + seconds(15))

        assert schedule.next_fire(T0) == T0 + seconds(10)
        assert schedule.next_fire(T0 + seconds(10)) is None

    def test_end_before_start_refused(self) -> None:
        """end before start can never fire and is refused, naming end."""
        with pytest.raises(InvalidSchedule, match="end"):
            every(10, start=T0, end=T0 - seconds(1))


class TestAnchored:
    def test_fills_in_the_install_time(self) -> None:
        """anchored() sets the start of an every() without one."""
        anchored = every(10).anchored(T0)

        assert anchored.start == T0
        assert anchored.interval == seconds(10)

    def test_keeps_an_explicit_start(self) -> None:
        """anchored() leaves an explicit start alone, returning the same schedule."""
        schedule = every(10, start=T0 - seconds(5))

        assert schedule.anchored(T0) is schedule

    def test_keeps_the_other_fields(self) -> None:
        """anchored() changes nothing but the start."""
        schedule = every(10, end=T0 + seconds(100), jitter=2, delay=0)

        anchored = schedule.anchored(T0)

        assert attrs.evolve(anchored, start=None) == schedule

    def test_original_unchanged(self) -> None:
        """anchored() returns a new schedule; the original stays unanchored."""
        schedule = every(10)
        schedule.anchored(T0)

        assert schedule.start is None

    def test_later_calls_do_not_move_an_anchored_grid(self) -> None:
        """Once anchored, next_fire stays on the install grid whatever time it is asked."""
        schedule = every(10).anchored(T0)

        assert schedule.next_fire(T0 + seconds(3)) == T0 + seconds(10)

    def test_manual_anchored_is_itself(self) -> None:
        """Schedules with nothing to anchor return themselves."""
        schedule = manual()

        assert schedule.anchored(T0) is schedule


class TestDescribe:
    @pytest.mark.parametrize(
        ("schedule", "text"),
        [
            (every(30), "every 30s"),
            (every(90), "every 1m30s"),
            (every(minutes=5), "every 5m"),
            (every(hours=1), "every 1h"),
            (every(3661), "every 1h1m1s"),
            (every(days=1), "every 1d"),
            (every(days=2, hours=3), "every 2d3h"),
            (every(0.25), "every 0.25s"),
            (manual(), "manual"),
        ],
    )
    def test_text(self, schedule: Schedule, text: str) -> None:
        """describe() reads as people write intervals."""
        assert schedule.describe() == text

    def test_different_intervals_described_differently(self) -> None:
        """Two different intervals never share a description."""
        assert every(60.5).describe() != every(60).describe()


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "words"),
        [
            ({"seconds": 0}, ["interval", "> 0"]),
            ({}, ["interval", "> 0"]),
            ({"seconds": timedelta(0)}, ["interval", "> 0"]),
            ({"seconds": -1}, ["seconds", ">= 0", "-1"]),
            ({"seconds": timedelta(seconds=-5)}, ["seconds", ">= 0"]),
            ({"minutes": -1}, ["minutes", ">= 0", "-1"]),
            ({"hours": -0.5}, ["hours", "-0.5"]),
            ({"days": -2}, ["days", "-2"]),
            ({"seconds": float("nan")}, ["seconds", "finite", "nan"]),
            ({"seconds": float("inf")}, ["seconds", "finite", "inf"]),
            ({"seconds": True}, ["seconds", "True"]),
            ({"minutes": False}, ["minutes", "False"]),
            ({"seconds": "60"}, ["seconds", "'60'"]),
            ({"seconds": 10, "jitter": -1}, ["jitter", ">= 0"]),
            ({"seconds": 10, "jitter": float("nan")}, ["jitter", "nan"]),
            ({"seconds": 10, "delay": -1}, ["delay", ">= 0"]),
            ({"seconds": 10, "delay": "soon"}, ["delay", "'soon'"]),
        ],
    )
    def test_bad_values(self, kwargs: dict[str, Any], words: list[str]) -> None:
        """A bad value raises InvalidSchedule naming the field and the value."""
        with pytest.raises(InvalidSchedule, match=".*".join(map(re.escape, words))):
            every(**kwargs)

    @pytest.mark.parametrize("field", ["start", "end"])
    def test_naive_datetime_refused(self, field: str) -> None:
        """A naive start or end is ambiguous and refused, naming the field."""
        naive = datetime(2026, 1, 1)

        with pytest.raises(InvalidSchedule, match=f"{field}.*aware.*2026"):
            every(10, **{field: naive})

    @pytest.mark.parametrize("field", ["start", "end"])
    def test_non_datetime_refused(self, field: str) -> None:
        """A start or end that is not a datetime is refused."""
        with pytest.raises(InvalidSchedule, match=f"{field}.*'2026-01-01'"):
            every(10, **{field: "2026-01-01"})

    def test_aware_datetime_accepted(self) -> None:
        """An aware start in any zone is accepted."""
        start = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5)))

        assert every(10, start=start).start == start

    def test_is_a_value_error(self) -> None:
        """InvalidSchedule is a ValueError for callers that only know builtins."""
        with pytest.raises(ValueError, match="interval"):
            every(0)

    def test_small_positive_accepted(self) -> None:
        """A tiny but positive interval is valid."""
        assert every(0.001).interval == timedelta(milliseconds=1)


class TestManual:
    def test_never_fires(self) -> None:
        """manual() has no next fire time, from any time."""
        schedule = manual()

        for when in (T0, T0 + seconds(1), datetime.max.replace(tzinfo=UTC)):
            assert schedule.next_fire(when) is None
        assert schedule.first_fire(T0) is None

    def test_is_a_schedule(self) -> None:
        """manual() is a Schedule, equal to any other manual()."""
        assert isinstance(manual(), Manual)
        assert isinstance(manual(), Schedule)
        assert manual() == manual()
        assert manual().jitter == 0


class TestFormatDuration:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (0, "0s"),
            (1, "1s"),
            (59, "59s"),
            (60, "1m"),
            (90, "1m30s"),
            (3600, "1h"),
            (3601, "1h1s"),
            (86400, "1d"),
            (90061, "1d1h1m1s"),
            (0.25, "0.25s"),
            (1.5, "1.5s"),
            (30.0, "30s"),
            (120.0, "2m"),
        ],
    )
    def test_text(self, value: float, text: str) -> None:
        """Durations read as `1d1h1m1s`, skipping zero units; fractions below a minute stay."""
        assert format_duration(value) == text
