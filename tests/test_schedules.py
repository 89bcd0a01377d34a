"""Schedules: every, cron, at, after, on_success and manual; describe() and format_duration()."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import InvalidSchedule, Schedule, every, manual
from actors import schedules as schedules_module
from actors.schedules import (
    After,
    At,
    Cron,
    Every,
    Manual,
    OnSuccess,
    after,
    at,
    cron,
    format_duration,
    on_success,
    schedule_from_definition,
)
from actors.schedules import _zones as zones_module
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
            ({"seconds": -1}, ["interval", "> 0", "seconds=-1"]),
            ({"seconds": timedelta(seconds=-5)}, ["interval", "> 0", "seconds=datetime"]),
            ({"minutes": -1}, ["interval", "> 0", "minutes=-1"]),
            ({"seconds": 120, "minutes": -1}, ["negative", "seconds=120, minutes=-1"]),
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

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"seconds": 0}, "every: interval must be > 0 seconds, got seconds=0"),
            ({"seconds": -1}, "every: interval must be > 0 seconds, got seconds=-1"),
            ({"seconds": -0.5}, "every: interval must be > 0 seconds, got seconds=-0.5"),
            ({"minutes": -1}, "every: interval must be > 0 seconds, got minutes=-1"),
        ],
    )
    def test_zero_and_negative_are_worded_alike(self, kwargs: dict[str, Any], message: str) -> None:
        """every(0) and every(-1) give the same message, with the value as written."""
        with pytest.raises(InvalidSchedule) as caught:
            every(**kwargs)

        assert str(caught.value) == message

    @pytest.mark.parametrize(
        ("kwargs", "got"),
        [
            ({"seconds": 1e-9}, "seconds=1e-09"),
            ({"seconds": 4e-7}, "seconds=4e-07"),
            ({"minutes": 1e-9}, "minutes=1e-09"),
        ],
    )
    def test_below_a_microsecond_refused(self, kwargs: dict[str, Any], got: str) -> None:
        """An interval under 1 microsecond (a timedelta would round it) is refused as written."""
        with pytest.raises(InvalidSchedule) as caught:
            every(**kwargs)

        assert str(caught.value) == f"every: interval must be at least 1 microsecond, got {got}"

    def test_one_microsecond_accepted(self) -> None:
        """1 microsecond, the finest a timedelta holds, is a valid interval."""
        assert every(1e-6).interval == timedelta(microseconds=1)

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


# --------------------------------------------------------------------------------------------
# cron()
# --------------------------------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def fires(schedule: Schedule, after: datetime, n: int) -> list[datetime]:
    """The next n fire times of `schedule` after `after`."""
    found: list[datetime] = []
    when: datetime | None = after
    while len(found) < n and (when := schedule.next_fire(when)) is not None:  # type: ignore[arg-type]
        found.append(when)
    return found


def fires_between(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time in [start, end)."""
    found: list[datetime] = []
    when: datetime | None = start - timedelta(microseconds=1)
    while (when := schedule.next_fire(when)) is not None and when < end:  # type: ignore[arg-type]
        found.append(when)
    return found


def local_day(zone: ZoneInfo, day: date) -> tuple[datetime, datetime]:
    """The instants of local midnight starting `day` and the day after."""
    start = datetime.combine(day, time(), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def fires_on(expr: str, zone: ZoneInfo, day: date) -> list[datetime]:
    """The fire times of `expr` in `zone` between the local midnights around `day`."""
    return fires_between(cron(expr, tz=zone.key), *local_day(zone, day))


def walls(times: list[datetime]) -> list[str]:
    """Fire times as local ISO strings (wall time and offset)."""
    return [t.isoformat() for t in times]


class TestCron:
    def test_daily(self) -> None:
        """A five-field expression fires at its minute and hour each day, in UTC by default."""
        assert fires(cron("30 3 * * *"), T0, 3) == [
            utc(2026, 1, 1, 3, 30),
            utc(2026, 1, 2, 3, 30),
            utc(2026, 1, 3, 3, 30),
        ]

    def test_strictly_after(self) -> None:
        """From a fire time itself, the next is the following one."""
        schedule = cron("0 * * * *")

        assert schedule.next_fire(utc(2026, 1, 1, 5)) == utc(2026, 1, 1, 6)
        assert schedule.next_fire(utc(2026, 1, 1, 5, 59, 59, 999999)) == utc(2026, 1, 1, 6)

    def test_is_a_frozen_equal_schedule(self) -> None:
        """cron() builds a frozen Cron Schedule; equal arguments give equal, hashable schedules."""
        schedule = cron("0 3 * * *", tz="Europe/Berlin")

        assert isinstance(schedule, Cron)
        assert isinstance(schedule, Schedule)
        assert schedule == cron("0  3 * * *", tz="Europe/Berlin")
        assert schedule != cron("0 3 * * *")
        assert hash(schedule) == hash(cron("0 3 * * *", tz="Europe/Berlin"))
        assert schedule.uninstall_after_run is False
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            schedule.expr = "0 4 * * *"  # type: ignore[misc]

    def test_fields_kept(self) -> None:
        """expr, tz, jitter, start and end are stored as given (jitter as float seconds)."""
        start, end = utc(2026, 1, 1), utc(2027, 1, 1)
        schedule = cron(
            "@daily", tz="Asia/Tokyo", jitter=timedelta(seconds=5), start=start, end=end
        )

        assert (schedule.expr, schedule.tz, schedule.jitter) == ("@daily", "Asia/Tokyo", 5.0)
        assert (schedule.start, schedule.end) == (start, end)
        assert cron("@daily").jitter == 0.0

    def test_a_zoneinfo_is_accepted_as_tz(self) -> None:
        """tz may be a ZoneInfo; the schedule keeps its name."""
        assert cron("0 3 * * *", tz=BERLIN) == cron("0 3 * * *", tz="Europe/Berlin")  # type: ignore[arg-type]

    def test_fire_times_read_local_and_compare_as_instants(self) -> None:
        """A fire time carries the zone's offset at that instant and equals the same UTC instant."""
        fire = cron("0 9 * * *", tz="Europe/Berlin").next_fire(utc(2026, 7, 1))

        assert fire is not None
        assert fire.isoformat() == "2026-07-01T09:00:00+02:00"
        assert fire == utc(2026, 7, 1, 7)
        assert hash(fire) == hash(utc(2026, 7, 1, 7))

    def test_after_in_another_zone(self) -> None:
        """`after` may be in any zone: only the instant matters."""
        schedule = cron("0 9 * * *", tz="Europe/Berlin")
        tokyo = utc(2026, 7, 1).astimezone(ZoneInfo("Asia/Tokyo"))

        assert schedule.next_fire(tokyo) == schedule.next_fire(utc(2026, 7, 1))

    def test_naive_after_refused(self) -> None:
        """next_fire of a naive datetime is a TypeError: it names no instant."""
        with pytest.raises(TypeError, match="aware"):
            cron("0 9 * * *").next_fire(datetime(2026, 1, 1))

    def test_pure(self) -> None:
        """next_fire holds no state: asking twice gives the same answer."""
        schedule = cron("*/7 * * * *")

        assert schedule.next_fire(T0) == schedule.next_fire(T0) == utc(2026, 1, 1, 0, 7)

    def test_weekday_names(self) -> None:
        """'mon-fri' skips the weekend: from Friday noon the next runs are Monday and Tuesday."""
        friday = utc(2026, 1, 2, 12)

        assert fires(cron("0 9 * * mon-fri"), friday, 2) == [
            utc(2026, 1, 5, 9),
            utc(2026, 1, 6, 9),
        ]

    def test_names_ignore_case(self) -> None:
        """Month and weekday names are case-insensitive."""
        assert fires(cron("0 9 * JAN,Jul MON"), T0, 3) == fires(cron("0 9 * 1,7 1"), T0, 3)

    @pytest.mark.parametrize("sunday", ["0", "7", "sun"])
    def test_sunday_is_0_or_7(self, sunday: str) -> None:
        """Day-of-week 0, 7 and 'sun' are all Sunday."""
        assert cron(f"0 0 * * {sunday}").next_fire(T0) == utc(2026, 1, 4)

    def test_month_names(self) -> None:
        """Month names pick months: 'jan,jul' fires on the 1st of January and July."""
        assert fires(cron("0 0 1 jan,jul *"), T0, 3) == [
            utc(2026, 7, 1),
            utc(2027, 1, 1),
            utc(2027, 7, 1),
        ]

    def test_day_31_skips_short_months(self) -> None:
        """'0 0 31 * *' fires only in months with 31 days."""
        assert [t.month for t in fires(cron("0 0 31 * *"), T0, 7)] == [1, 3, 5, 7, 8, 10, 12]

    def test_last_day_of_month(self) -> None:
        """'L' in day-of-month is the last day of each month, February included."""
        assert [t.day for t in fires(cron("0 0 L * *"), T0, 4)] == [31, 28, 31, 30]
        assert cron("0 0 L 2 *").next_fire(utc(2028, 1, 1)) == utc(2028, 2, 29)

    def test_leap_day(self) -> None:
        """'0 0 29 2 *' from 2026 first fires on 29 February 2028, then 2032."""
        assert fires(cron("0 0 29 2 *"), T0, 2) == [utc(2028, 2, 29), utc(2032, 2, 29)]

    def test_nth_weekday(self) -> None:
        """'mon#2' is the second Monday of the month."""
        assert fires(cron("0 9 * * mon#2"), T0, 2) == [utc(2026, 1, 12, 9), utc(2026, 2, 9, 9)]

    def test_both_day_fields_restricted_is_either(self) -> None:
        """With day-of-month and day-of-week both restricted, a day matching either fires."""
        days = [t.day for t in fires(cron("0 0 13 * fri"), T0, 4)]

        assert days == [2, 9, 13, 16]  # Fridays of January 2026, and the 13th (a Tuesday)

    def test_a_star_step_in_a_day_field_means_both(self) -> None:
        """As in Vixie cron, a day field starting with '*' (like '*/2') is ANDed with the other."""
        mondays_on_odd_days = [t.day for t in fires(cron("0 0 */2 * mon"), T0, 3)]

        assert mondays_on_odd_days == [5, 19, 9]

    def test_steps_and_ranges(self) -> None:
        """Steps, ranges with steps and a start with a step expand as cron does."""
        assert [t.minute for t in fires(cron("*/20 * * * *"), T0, 3)] == [20, 40, 0]
        assert [t.hour for t in fires(cron("0 9-17/4 * * *"), T0, 4)] == [9, 13, 17, 9]
        assert [t.minute for t in fires(cron("5/20 * * * *"), T0, 4)] == [5, 25, 45, 5]

    def test_an_equal_range_is_one_value(self) -> None:
        """'9-9' is hour 9 alone (croniter alone would read it as every hour)."""
        assert [t.hour for t in fires(cron("0 9-9 * * *"), T0, 2)] == [9, 9]

    def test_six_fields_the_sixth_is_seconds(self) -> None:
        """With six fields the sixth is the second (croniter's convention): 00:00:30 daily."""
        assert fires(cron("0 0 * * * 30"), T0, 2) == [
            utc(2026, 1, 1, 0, 0, 30),
            utc(2026, 1, 2, 0, 0, 30),
        ]

    def test_seconds_step(self) -> None:
        """'* * * * * */15' fires every 15 seconds."""
        assert fires(cron("* * * * * */15"), T0, 4) == [T0 + seconds(15 * k) for k in range(1, 5)]

    @pytest.mark.parametrize(
        ("alias", "expansion"),
        [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
            ("@DAILY", "0 0 * * *"),
        ],
    )
    def test_aliases(self, alias: str, expansion: str) -> None:
        """Each @alias fires exactly as the five fields it stands for."""
        start = utc(2026, 3, 15, 12, 34)

        assert fires(cron(alias), start, 3) == fires(cron(expansion), start, 3)

    def test_start_bounds_the_first_fire(self) -> None:
        """No fire before start; a fire time equal to start fires."""
        schedule = cron("0 * * * *", start=utc(2026, 1, 1, 5))

        assert schedule.next_fire(T0) == utc(2026, 1, 1, 5)
        assert schedule.first_fire(T0) == utc(2026, 1, 1, 5)
        assert schedule.next_fire(utc(2026, 1, 1, 5)) == utc(2026, 1, 1, 6)

    def test_end_bounds_the_last_fire(self) -> None:
        """Fire times run up to and including end, then next_fire is None."""
        schedule = cron("0 * * * *", end=utc(2026, 1, 1, 3))

        assert fires(schedule, T0, 10) == [utc(2026, 1, 1, h) for h in (1, 2, 3)]

    def test_anchored_is_itself(self) -> None:
        """A cron schedule has nothing to anchor: anchored() returns it unchanged."""
        schedule = cron("0 * * * *")

        assert schedule.anchored(T0) is schedule

    def test_a_year_of_daily_runs(self) -> None:
        """A fixed-hour daily expression fires once on every local day of a year, DST days too."""
        runs = fires_between(cron("30 2 * * *", tz="Europe/Berlin"), *local_year(BERLIN, 2026))

        assert len(runs) == 365
        assert len({t.date() for t in runs}) == 365

    def test_a_year_of_hourly_runs(self) -> None:
        """An hourly expression fires once per real hour all year: 8760 runs, strictly rising."""
        runs = fires_between(cron("0 * * * *", tz="Europe/Berlin"), *local_year(BERLIN, 2026))

        assert len(runs) == 8760
        assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(runs))


def local_year(zone: ZoneInfo, year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)


# Transition days (2026): Berlin 29 Mar (02:00 -> 03:00) and 25 Oct (03:00 -> 02:00);
# New York 8 Mar (02:00 -> 03:00) and 1 Nov (02:00 -> 01:00); Lord Howe 5 Apr (02:00 -> 01:30)
# and 4 Oct (02:00 -> 02:30).
BERLIN_SPRING, BERLIN_FALL = date(2026, 3, 29), date(2026, 10, 25)
NEW_YORK_SPRING, NEW_YORK_FALL = date(2026, 3, 8), date(2026, 11, 1)
LORD_HOWE_FALL, LORD_HOWE_SPRING = date(2026, 4, 5), date(2026, 10, 4)


class TestCronDaylightSaving:
    def test_berlin_spring_forward_fixed_hour_fires_at_end_of_gap(self) -> None:
        """'30 2 * * *' on Berlin's spring-forward day fires once, at 03:00 local."""
        assert walls(fires_on("30 2 * * *", BERLIN, BERLIN_SPRING)) == ["2026-03-29T03:00:00+02:00"]

    def test_berlin_spring_forward_neighbours_unchanged(self) -> None:
        """The days either side of the gap fire at 02:30 as usual."""
        runs = fires(cron("30 2 * * *", tz="Europe/Berlin"), utc(2026, 3, 27, 12), 3)

        assert walls(runs) == [
            "2026-03-28T02:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
        ]

    def test_berlin_fall_back_fixed_hour_fires_once_at_first_occurrence(self) -> None:
        """'30 2 * * *' on Berlin's fall-back day fires once, at the first 02:30 (CEST)."""
        assert walls(fires_on("30 2 * * *", BERLIN, BERLIN_FALL)) == ["2026-10-25T02:30:00+02:00"]

    def test_new_york_spring_forward_fixed_hour(self) -> None:
        """'30 2 * * *' on New York's spring-forward day fires once, at 03:00 EDT."""
        assert walls(fires_on("30 2 * * *", NEW_YORK, NEW_YORK_SPRING)) == [
            "2026-03-08T03:00:00-04:00"
        ]

    def test_new_york_fall_back_fixed_hour(self) -> None:
        """'30 1 * * *' on New York's fall-back day fires once, at the first 01:30 (EDT)."""
        assert walls(fires_on("30 1 * * *", NEW_YORK, NEW_YORK_FALL)) == [
            "2026-11-01T01:30:00-04:00"
        ]

    @pytest.mark.parametrize(
        ("zone", "day", "count"),
        [
            (BERLIN, BERLIN_SPRING, 23),
            (BERLIN, BERLIN_FALL, 25),
            (BERLIN, date(2026, 6, 1), 24),
            (NEW_YORK, NEW_YORK_SPRING, 23),
            (NEW_YORK, NEW_YORK_FALL, 25),
            (NEW_YORK, date(2026, 6, 1), 24),
        ],
    )
    def test_hourly_follows_real_time(self, zone: ZoneInfo, day: date, count: int) -> None:
        """'0 * * * *' runs once per real hour: 23 runs on a spring-forward day, 25 on fall-back."""
        runs = fires_on("0 * * * *", zone, day)

        assert len(runs) == count
        assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(runs))

    def test_hourly_fall_back_repeats_the_hour(self) -> None:
        """On Berlin's fall-back day '0 * * * *' fires at 02:00 CEST and again at 02:00 CET."""
        runs = walls(fires_on("0 * * * *", BERLIN, BERLIN_FALL))

        assert runs[1:5] == [
            "2026-10-25T01:00:00+02:00",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T03:00:00+01:00",
        ]

    def test_hourly_spring_forward_skips_the_missing_hour(self) -> None:
        """On Berlin's spring-forward day '0 * * * *' goes from 01:00 straight to 03:00."""
        runs = walls(fires_on("0 * * * *", BERLIN, BERLIN_SPRING))

        assert runs[1:3] == ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"]

    def test_step_hour_follows_real_time(self) -> None:
        """A `*` or stepped hour (`*/1`) is not fixed: the repeated hour runs twice."""
        assert len(fires_on("*/30 * * * *", BERLIN, BERLIN_FALL)) == 50
        assert len(fires_on("0 */1 * * *", BERLIN, BERLIN_FALL)) == 25

    def test_fixed_time_with_minute_step_on_fall_back(self) -> None:
        """'0-45/15 2 * * *' (fixed-time) on fall-back runs the first 02:xx only: 4 runs, not 8."""
        assert walls(fires_on("0-45/15 2 * * *", BERLIN, BERLIN_FALL)) == [
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:15:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:45:00+02:00",
        ]

    def test_fixed_time_with_minute_step_on_spring_forward(self) -> None:
        """'0-45/15 2 * * *' on spring-forward: all four times are swallowed, one run at 03:00."""
        assert walls(fires_on("0-45/15 2 * * *", BERLIN, BERLIN_SPRING)) == [
            "2026-03-29T03:00:00+02:00"
        ]

    def test_wildcard_minute_skips_the_spring_forward_gap(self) -> None:
        """'*/15 2 * * *' is a wildcard (its minute starts with *): none on Berlin's spring day."""
        assert fires_on("*/15 2 * * *", BERLIN, BERLIN_SPRING) == []

    def test_wildcard_minute_repeats_on_fall_back(self) -> None:
        """'*/15 2 * * *' on Berlin's fall-back day runs both passes of 02:xx: 8 runs."""
        assert walls(fires_on("*/15 2 * * *", BERLIN, BERLIN_FALL)) == [
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:15:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:45:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:15:00+01:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-25T02:45:00+01:00",
        ]

    @pytest.mark.parametrize(
        ("expr", "day", "count"),
        [
            ("* 2 * * *", BERLIN_SPRING, 0),  # minute `*`, hour fixed: still a wildcard
            ("* 2 * * *", BERLIN_FALL, 120),
            ("30 * * * *", BERLIN_SPRING, 23),  # minute fixed, hour `*`: a wildcard
            ("30 * * * *", BERLIN_FALL, 25),
            ("*/30 2 * * *", BERLIN_FALL, 4),
            ("0,30 2 * * *", BERLIN_FALL, 2),  # fixed-time: first pass only
            ("0,30 2 * * *", BERLIN_SPRING, 1),  # fixed-time: once, at the end of the gap
        ],
    )
    def test_either_field_starting_with_a_star_follows_real_time(
        self, expr: str, day: date, count: int
    ) -> None:
        """A minute or an hour field starting with `*` makes a wildcard that follows real time."""
        assert len(fires_on(expr, BERLIN, day)) == count

    def test_hour_range_is_fixed(self) -> None:
        """An hour range '1-3' is fixed: the fall-back day runs 01, 02 (first) and 03 once each."""
        assert walls(fires_on("0 1-3 * * *", BERLIN, BERLIN_FALL)) == [
            "2026-10-25T01:00:00+02:00",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T03:00:00+01:00",
        ]

    def test_swallowed_time_and_end_of_gap_fire_once(self) -> None:
        """'0 2,3 * * *' on spring-forward: 02:00 moves to 03:00, where it runs once, not twice."""
        assert walls(fires_on("0 2,3 * * *", BERLIN, BERLIN_SPRING)) == [
            "2026-03-29T03:00:00+02:00"
        ]

    def test_from_the_repeated_hour_a_fixed_time_waits_a_day(self) -> None:
        """From the second 02:15 of Berlin's fall-back day, '30 2 * * *' next fires the next day."""
        second_0215 = datetime(2026, 10, 25, 2, 15, tzinfo=BERLIN, fold=1)

        fire = cron("30 2 * * *", tz="Europe/Berlin").next_fire(second_0215)

        assert fire is not None
        assert fire.isoformat() == "2026-10-26T02:30:00+01:00"

    def test_from_the_repeated_hour_a_wild_hour_runs_again(self) -> None:
        """From the second 02:15 of Berlin's fall-back day, '30 * * * *' next fires at 02:30 CET."""
        second_0215 = datetime(2026, 10, 25, 2, 15, tzinfo=BERLIN, fold=1)

        fire = cron("30 * * * *", tz="Europe/Berlin").next_fire(second_0215)

        assert fire is not None
        assert fire.isoformat() == "2026-10-25T02:30:00+01:00"

    def test_from_the_first_pass_a_wild_hour_repeats(self) -> None:
        """From the first 02:45, '*/30 * * * *' next fires at the second 02:00, not at 03:00."""
        first_0245 = datetime(2026, 10, 25, 2, 45, tzinfo=BERLIN, fold=0)

        fire = cron("*/30 * * * *", tz="Europe/Berlin").next_fire(first_0245)

        assert fire is not None
        assert fire.isoformat() == "2026-10-25T02:00:00+01:00"

    def test_lord_howe_fall_back_by_half_an_hour(self) -> None:
        """Lord Howe goes back 30 minutes: '45 1 * * *' fires once, at the first 01:45."""
        assert walls(fires_on("45 1 * * *", LORD_HOWE, LORD_HOWE_FALL)) == [
            "2026-04-05T01:45:00+11:00"
        ]

    def test_lord_howe_spring_forward_by_half_an_hour(self) -> None:
        """Lord Howe jumps 02:00 -> 02:30: '15 2 * * *' fires once, at 02:30."""
        assert walls(fires_on("15 2 * * *", LORD_HOWE, LORD_HOWE_SPRING)) == [
            "2026-10-04T02:30:00+11:00"
        ]

    @pytest.mark.parametrize(
        ("expr", "day", "count"),
        [
            ("*/15 * * * *", LORD_HOWE_FALL, 98),  # a 24.5 hour day
            ("*/15 * * * *", LORD_HOWE_SPRING, 94),  # a 23.5 hour day
            ("0 * * * *", LORD_HOWE_FALL, 24),  # 01:30-02:00 repeats: no whole hour in it
            ("0 * * * *", LORD_HOWE_SPRING, 23),  # 02:00 never happens
        ],
    )
    def test_lord_howe_wild_hour_counts(self, expr: str, day: date, count: int) -> None:
        """A wild hour on Lord Howe's half-hour shifts runs once per real matching instant."""
        assert len(fires_on(expr, LORD_HOWE, day)) == count

    @pytest.mark.parametrize(
        "expr",
        [
            "0 * * * *",
            "*/20 * * * *",
            "30 2 * * *",
            "30 1 * * *",
            "*/15 2 * * *",
            "0-45/15 2 * * *",
            "* 2 * * *",
            "30 * * * *",
            "0 1-3 * * *",
            "45 0-3/2 * * *",
            "15,45 */2 * * *",
            "@daily",
        ],
    )
    @pytest.mark.parametrize(
        ("zone", "day"),
        [
            (BERLIN, BERLIN_SPRING),
            (BERLIN, BERLIN_FALL),
            (NEW_YORK, NEW_YORK_SPRING),
            (NEW_YORK, NEW_YORK_FALL),
            (LORD_HOWE, LORD_HOWE_SPRING),
            (LORD_HOWE, LORD_HOWE_FALL),
        ],
    )
    def test_matches_a_minute_by_minute_oracle(self, expr: str, zone: ZoneInfo, day: date) -> None:
        """Around each transition, fire times equal a brute-force walk of every real minute."""
        start = datetime.combine(day, time(), tzinfo=zone) - timedelta(hours=4)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone) + timedelta(hours=4)

        assert fires_between(cron(expr, tz=zone.key), start, end) == oracle(expr, zone, start, end)


def minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    when = start.astimezone(UTC)
    while when < end:
        yield when
        when += timedelta(minutes=1)


def oracle(expr: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Debian cron's rule, by brute force over every real minute in [start, end).

    A wildcard expression (its minute or hour field starts with `*`) fires at each real minute
    whose local wall time matches. A fixed-time one fires at the first occurrence of each
    matching wall time, and once at the end of each spring-forward gap that swallows a matching
    wall time. (Only minute and hour may be restricted: croniter expands them, and matching is
    a set lookup.)
    """
    expanded = schedules_module.CRON_ALIASES.get(expr, expr)
    assert expanded.split()[2:] == ["*", "*", "*"]
    wild = expanded.split()[0].startswith("*") or expanded.split()[1].startswith("*")
    fields, _ = croniter.expand(expanded)
    wanted_minutes = set(range(60)) if "*" in fields[0] else set(fields[0])
    wanted_hours = set(range(24)) if "*" in fields[1] else set(fields[1])

    def matches(wall: datetime) -> bool:
        return wall.minute in wanted_minutes and wall.hour in wanted_hours

    found: set[datetime] = set()
    previous_offset = None
    for instant in minutes(start, end):
        local = instant.astimezone(zone)
        wall = local.replace(tzinfo=None)
        offset = local.utcoffset()
        assert offset is not None
        if previous_offset is not None and offset > previous_offset:  # a gap just ended
            gap_start = wall - (offset - previous_offset)
            swallowed = (
                gap_start + timedelta(minutes=m)
                for m in range(int((wall - gap_start).total_seconds() // 60))
            )
            if not wild and any(map(matches, swallowed)):
                found.add(instant)
        previous_offset = offset
        if matches(wall) and (wild or local.fold == 0):
            found.add(instant)
    return sorted(found)


class TestCronValidation:
    @pytest.mark.parametrize(
        ("expr", "words"),
        [
            ("", ["5 fields", "got 0"]),
            ("* * * *", ["5 fields", "got 4"]),
            ("* * * * * * *", ["5 fields", "6", "second", "got 7"]),
            ("60 * * * *", ["minute", "'60'", "0-59"]),
            ("* 24 * * *", ["hour", "'24'", "0-23"]),
            ("* * 0 * *", ["day-of-month", "'0'", "1-31"]),
            ("* * 32 * *", ["day-of-month", "'32'", "1-31"]),
            ("* * * 0 *", ["month", "'0'", "1-12"]),
            ("* * * 13 *", ["month", "'13'", "1-12"]),
            ("* * * * 8", ["day-of-week", "'8'", "0-7"]),
            ("* * * * * 60", ["second", "'60'", "0-59"]),
            ("0-60 * * * *", ["minute", "'60'", "'0-60'"]),
            ("* 1,2,99 * * *", ["hour", "'99'"]),
            ("x * * * *", ["minute", "'x'", "not a number"]),
            ("* * * foo *", ["month", "'foo'", "jan-dec"]),
            ("* * * * funday", ["day-of-week", "'funday'", "sun-sat"]),
            ("H * * * *", ["minute", "'H'"]),
            ("1.5 * * * *", ["minute", "'1.5'"]),
            ("-1 * * * *", ["minute", "'-1'"]),
            ("1-2-3 * * * *", ["minute", "'1-2-3'"]),
            ("*/0 * * * *", ["minute", "step", "'0'"]),
            ("* */x * * *", ["hour", "step", "'x'"]),
            ("5-3 * * * *", ["minute", "'5-3'", "backwards"]),
            ("0 0 * * fri-mon", ["day-of-week", "'fri-mon'", "backwards"]),
            ("1,,2 * * * *", ["minute", "'1,,2'", "empty"]),
            ("? * * * *", ["minute", "'?'"]),
            ("0 0 1,? * *", ["day-of-month", "'?'", "alone"]),
            ("0 0 * * mon#6", ["day-of-week", "'mon#6'", "1-5"]),
            ("0 0 * * mon#2,fri", ["day-of-week", "'mon#2,fri'"]),
            ("0 0 * * 5L", ["day-of-week", "'5L'"]),
            ("0 0 LW * *", ["day-of-month", "'LW'"]),
            ("0 0 30 2 *", ["day-of-month", "'30'", "never", "month", "'2'"]),
            ("0 0 31 apr,jun *", ["day-of-month", "'31'", "never", "'apr,jun'"]),
            ("@reboot", ["alias", "'@reboot'", "@hourly"]),
            ("@every 5m", ["alias", "'@every 5m'"]),
        ],
    )
    def test_bad_expression_names_the_field(self, expr: str, words: list[str]) -> None:
        """An invalid expression raises InvalidSchedule naming the bad field and its value."""
        with pytest.raises(InvalidSchedule, match=".*".join(map(re.escape, words))):
            cron(expr)

    def test_message_quotes_the_expression(self) -> None:
        """The message starts with the whole expression, so a user can find it."""
        with pytest.raises(InvalidSchedule, match=r"^cron '0 25 \* \* \*': hour '25'"):
            cron("0 25 * * *")

    @pytest.mark.parametrize("expr", [None, 5, ["0", "*", "*", "*", "*"]])
    def test_non_str_expression(self, expr: Any) -> None:
        """An expression that is not a str is refused, naming expr and the value."""
        with pytest.raises(InvalidSchedule, match=f"expr.*{re.escape(repr(expr))}"):
            cron(expr)

    @pytest.mark.parametrize("tz", ["Mars/Base", "Europe/Berln", "", "../etc/passwd", "utc+2"])
    def test_unknown_time_zone(self, tz: str) -> None:
        """An unknown zone raises InvalidSchedule naming tz and the value."""
        with pytest.raises(InvalidSchedule, match=f"tz {re.escape(repr(tz))}.*IANA"):
            cron("0 * * * *", tz=tz)

    def test_missing_tz_database(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a tz database (no tzdata), a zone is refused cleanly and UTC still works."""

        class NoDatabase(ZoneInfo):
            def __new__(cls, key: str) -> NoDatabase:
                raise ZoneInfoNotFoundError(key)

        monkeypatch.setattr(zones_module, "ZoneInfo", NoDatabase)

        with pytest.raises(InvalidSchedule, match=r"tz 'Europe/Berlin'.*tzdata"):
            cron("0 * * * *", tz="Europe/Berlin")
        assert cron("0 * * * *").next_fire(T0) == utc(2026, 1, 1, 1)

    @pytest.mark.parametrize("tz", [None, 2, UTC])
    def test_tz_not_a_name(self, tz: Any) -> None:
        """A tz that is not a zone name is refused, naming tz."""
        with pytest.raises(InvalidSchedule, match="tz must be an IANA time zone name"):
            cron("0 * * * *", tz=tz)

    @pytest.mark.parametrize(
        ("jitter", "words"),
        [
            (-1, ["jitter", ">= 0", "-1"]),
            (float("nan"), ["jitter", "nan"]),
            ("5", ["jitter", "'5'"]),
        ],
    )
    def test_bad_jitter(self, jitter: Any, words: list[str]) -> None:
        """A negative, non-finite or non-numeric jitter is refused, naming jitter."""
        with pytest.raises(InvalidSchedule, match=".*".join(map(re.escape, words))):
            cron("0 * * * *", jitter=jitter)

    @pytest.mark.parametrize("field", ["start", "end"])
    def test_naive_or_non_datetime_bounds(self, field: str) -> None:
        """A naive or non-datetime start/end is refused, naming the field."""
        naive: dict[str, Any] = {field: datetime(2026, 1, 1)}
        with pytest.raises(InvalidSchedule, match=f"{field}.*aware"):
            cron("0 * * * *", **naive)
        words: dict[str, Any] = {field: "tomorrow"}
        with pytest.raises(InvalidSchedule, match=f"{field}.*'tomorrow'"):
            cron("0 * * * *", **words)

    def test_end_before_start(self) -> None:
        """end before start is refused, naming end."""
        with pytest.raises(InvalidSchedule, match="end must not be before start"):
            cron("0 * * * *", start=utc(2026, 2, 1), end=utc(2026, 1, 1))

    def test_direct_construction_is_validated(self) -> None:
        """Building Cron(...) directly validates exactly as cron() does."""
        with pytest.raises(InvalidSchedule, match="minute '61'"):
            Cron("61 * * * *")
        with pytest.raises(InvalidSchedule, match="jitter"):
            Cron("0 * * * *", jitter=-1)

    def test_is_a_value_error(self) -> None:
        """InvalidSchedule from cron() is a ValueError."""
        with pytest.raises(ValueError, match="hour"):
            cron("0 99 * * *")


# --------------------------------------------------------------------------------------------
# at(), after(), on_success()
# --------------------------------------------------------------------------------------------


class TestAtDatetime:
    def test_fires_once(self) -> None:
        """at(when) fires at when, and after that never again."""
        when = utc(2026, 3, 1, 9)
        schedule = at(when)

        assert schedule.next_fire(T0) == when
        assert schedule.next_fire(when) is None
        assert schedule.next_fire(when + seconds(1)) is None

    def test_first_fire_includes_the_install_time(self) -> None:
        """Installed exactly at when, it fires at once; installed after, never."""
        when = utc(2026, 3, 1, 9)

        assert at(when).first_fire(when) == when
        assert at(when).first_fire(when + seconds(1)) is None

    def test_anchored_is_itself(self) -> None:
        """An at() of a datetime has nothing to anchor."""
        schedule = at(utc(2026, 3, 1, 9))

        assert schedule.anchored(T0) is schedule

    def test_any_zone(self) -> None:
        """An aware datetime in any zone is the same instant."""
        when = datetime(2026, 3, 1, 10, tzinfo=BERLIN)

        assert at(when).next_fire(T0) == utc(2026, 3, 1, 9)

    def test_is_a_frozen_schedule(self) -> None:
        """at() builds a frozen At that does not uninstall itself, equal for equal arguments."""
        schedule = at(utc(2026, 3, 1, 9))

        assert isinstance(schedule, At)
        assert schedule == at(utc(2026, 3, 1, 9))
        assert schedule.uninstall_after_run is False
        assert schedule.jitter == 0
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            schedule.tz = "Europe/Berlin"  # type: ignore[misc]

    def test_naive_datetime_refused(self) -> None:
        """A naive datetime is ambiguous and refused, naming when and the value."""
        with pytest.raises(InvalidSchedule, match=r"when must be an aware datetime.*2026, 3, 1, 9"):
            at(datetime(2026, 3, 1, 9))

    @pytest.mark.parametrize("when", [None, 5, date(2026, 3, 1)])
    def test_not_a_datetime(self, when: Any) -> None:
        """A when that is neither a datetime nor 'HH:MM' is refused, naming when."""
        with pytest.raises(InvalidSchedule, match=f"when.*{re.escape(repr(when))}"):
            at(when)


class TestAtTimeOfDay:
    def test_today_if_still_ahead(self) -> None:
        """at('09:00') installed at 08:00 fires at 09:00 the same day."""
        schedule = at("09:00").anchored(utc(2026, 3, 1, 8))

        assert schedule.first_fire(utc(2026, 3, 1, 8)) == utc(2026, 3, 1, 9)

    def test_tomorrow_if_past(self) -> None:
        """at('09:00') installed at 10:00 fires at 09:00 the next day."""
        installed = utc(2026, 3, 1, 10)
        schedule = at("09:00").anchored(installed)

        assert schedule.first_fire(installed) == utc(2026, 3, 2, 9)

    def test_exactly_now_is_today(self) -> None:
        """Installed at exactly that time, it fires at once."""
        installed = utc(2026, 3, 1, 9)

        assert at("09:00").anchored(installed).first_fire(installed) == installed

    def test_once_only(self) -> None:
        """Once anchored it fires once: after its time there is no next fire."""
        schedule = at("09:00").anchored(utc(2026, 3, 1, 8))

        assert schedule.next_fire(utc(2026, 3, 1, 8)) == utc(2026, 3, 1, 9)
        assert schedule.next_fire(utc(2026, 3, 1, 9)) is None
        assert schedule.next_fire(utc(2026, 3, 5)) is None

    def test_in_a_time_zone(self) -> None:
        """'HH:MM' is a wall time in tz, and 'today' is tz's date at install."""
        installed = utc(2026, 3, 1, 23, 30)  # already 2 March in Berlin
        schedule = at("09:00", tz="Europe/Berlin").anchored(installed)

        assert schedule.when is not None
        assert schedule.when.isoformat() == "2026-03-02T09:00:00+01:00"

    def test_seconds_accepted(self) -> None:
        """'HH:MM:SS' is accepted too."""
        schedule = at("09:00:30").anchored(utc(2026, 3, 1))

        assert schedule.first_fire(utc(2026, 3, 1)) == utc(2026, 3, 1, 9, 0, 30)

    def test_in_a_spring_forward_gap(self) -> None:
        """A time the gap swallows fires at the end of the gap, as cron does: 02:30 -> 03:00."""
        schedule = at("02:30", tz="Europe/Berlin").anchored(utc(2026, 3, 28, 23))

        assert schedule.when is not None
        assert schedule.when.isoformat() == "2026-03-29T03:00:00+02:00"

    def test_on_a_fall_back_day(self) -> None:
        """A repeated wall time is its first occurrence."""
        schedule = at("02:30", tz="Europe/Berlin").anchored(utc(2026, 10, 24, 22))

        assert schedule.when is not None
        assert schedule.when.isoformat() == "2026-10-25T02:30:00+02:00"

    def test_anchored_keeps_the_original(self) -> None:
        """anchored() returns a new schedule; the original stays unanchored."""
        schedule = at("09:00")
        anchored = schedule.anchored(utc(2026, 3, 1))

        assert schedule.when is None
        assert anchored.time_of_day == schedule.time_of_day == time(9, 0)
        assert anchored.anchored(utc(2026, 4, 1)) is anchored

    def test_unanchored_counts_from_the_time_given(self) -> None:
        """Unanchored, next_fire takes `after` as the install time."""
        schedule = at("09:00")

        assert schedule.next_fire(utc(2026, 3, 1, 8)) == utc(2026, 3, 1, 9)
        assert schedule.next_fire(utc(2026, 3, 1, 10)) == utc(2026, 3, 2, 9)

    @pytest.mark.parametrize(
        "text", ["25:00", "12:60", "9", "9am", "", "12:00:60", "-1:00", "09:00pm"]
    )
    def test_bad_string(self, text: str) -> None:
        """A string that is not 'HH:MM' is refused, naming when and the value."""
        with pytest.raises(InvalidSchedule, match=f"when.*HH:MM.*{re.escape(repr(text))}"):
            at(text)

    def test_unknown_zone(self) -> None:
        """An unknown tz is refused, naming tz."""
        with pytest.raises(InvalidSchedule, match="tz 'Nowhere/City'"):
            at("09:00", tz="Nowhere/City")


class TestAfter:
    def test_once_that_long_after_install(self) -> None:
        """after(30) installed at T0 fires at T0 + 30 s, then never again."""
        schedule = after(30).anchored(T0)

        assert schedule.first_fire(T0) == T0 + seconds(30)
        assert schedule.next_fire(T0) == T0 + seconds(30)
        assert schedule.next_fire(T0 + seconds(30)) is None

    def test_anchoring_fixes_the_instant(self) -> None:
        """Once anchored, the fire time does not move with the time asked about."""
        schedule = after(30).anchored(T0)

        assert schedule.fire_at == T0 + seconds(30)
        assert schedule.next_fire(T0 + seconds(10)) == T0 + seconds(30)
        assert schedule.anchored(T0 + seconds(99)) is schedule

    def test_zero_fires_at_install(self) -> None:
        """after(0) fires at the install time itself."""
        assert after(0).anchored(T0).first_fire(T0) == T0

    def test_timedelta(self) -> None:
        """seconds may be a timedelta."""
        assert after(timedelta(minutes=2)) == after(120)

    def test_unanchored_counts_from_the_time_given(self) -> None:
        """Unanchored, next_fire and first_fire take their argument as the install time."""
        assert after(30).next_fire(T0) == T0 + seconds(30)
        assert after(30).first_fire(T0) == T0 + seconds(30)

    def test_uninstalls_after_its_run(self) -> None:
        """After says the program uninstalls after its run; no other schedule does."""
        assert isinstance(after(1), After)
        assert after(1).uninstall_after_run is True
        for other in (every(1), cron("@daily"), at("09:00"), manual(), on_success("x")):
            assert other.uninstall_after_run is False

    @pytest.mark.parametrize(
        ("value", "words"),
        [
            (-1, ["seconds", ">= 0", "-1"]),
            (timedelta(seconds=-1), ["seconds", ">= 0"]),
            (float("nan"), ["seconds", "finite", "nan"]),
            ("30", ["seconds", "'30'"]),
            (True, ["seconds", "True"]),
            (None, ["seconds", "None"]),
        ],
    )
    def test_bad_values(self, value: Any, words: list[str]) -> None:
        """A negative, non-finite or non-numeric delay is refused, naming seconds and the value."""
        with pytest.raises(InvalidSchedule, match=".*".join(map(re.escape, words))):
            after(value)

    def test_naive_fire_at_refused(self) -> None:
        """A naive fire_at given directly is refused."""
        with pytest.raises(InvalidSchedule, match=r"fire_at.*aware"):
            After(delay=seconds(1), fire_at=datetime(2026, 1, 1))


class TestOnSuccess:
    def test_attributes(self) -> None:
        """on_success keeps the upstream program id and the delay in seconds."""
        schedule = on_success("extract", delay=5)

        assert isinstance(schedule, OnSuccess)
        assert (schedule.upstream, schedule.delay) == ("extract", 5.0)
        assert on_success("extract").delay == 0.0
        assert on_success("extract", timedelta(minutes=1)).delay == 60.0

    def test_no_time_based_fires(self) -> None:
        """Ticks come from events: next_fire and first_fire are always None."""
        schedule = on_success("extract")

        assert schedule.next_fire(T0) is None
        assert schedule.first_fire(T0) is None
        assert schedule.anchored(T0) is schedule

    @pytest.mark.parametrize("program_id", [3, None, "", b"extract"])
    def test_bad_program_id(self, program_id: Any) -> None:
        """A program id that is not a non-empty str is refused, naming it and the value."""
        with pytest.raises(InvalidSchedule, match=f"program_id.*{re.escape(repr(program_id))}"):
            on_success(program_id)

    @pytest.mark.parametrize("delay", [-1, float("inf"), "5"])
    def test_bad_delay(self, delay: Any) -> None:
        """A negative, non-finite or non-numeric delay is refused, naming delay."""
        with pytest.raises(InvalidSchedule, match="delay"):
            on_success("extract", delay)


class TestDescribeOthers:
    @pytest.mark.parametrize(
        ("schedule", "text"),
        [
            (cron("0 3 * * *", tz="Europe/Berlin"), "cron 0 3 * * * (Europe/Berlin)"),
            (cron("  */5   *  * * * "), "cron */5 * * * * (UTC)"),
            (cron("@daily"), "cron @daily (UTC)"),
            (at(utc(2026, 3, 1, 9)), "at 2026-03-01 09:00 UTC"),
            (at(datetime(2026, 3, 1, 9, tzinfo=BERLIN)), "at 2026-03-01 09:00 Europe/Berlin"),
            (at(utc(2026, 3, 1, 9, 0, 30)), "at 2026-03-01 09:00:30 UTC"),
            (at("09:00"), "at 09:00 UTC"),
            (at("7:05", tz="Europe/Berlin"), "at 07:05 Europe/Berlin"),
            (
                at("09:00", tz="Europe/Berlin").anchored(utc(2026, 3, 1)),
                "at 2026-03-01 09:00 Europe/Berlin",
            ),
            (after(30), "after 30s"),
            (after(timedelta(hours=1, minutes=30)), "after 1h30m"),
            (after(30).anchored(T0), "after 30s"),
            (on_success("extract"), "on success of 'extract'"),
            (on_success("extract", 90), "on success of 'extract', after 1m30s"),
        ],
    )
    def test_text(self, schedule: Schedule, text: str) -> None:
        """describe() gives a short human text for status tables."""
        assert schedule.describe() == text


class TestModule:
    def test_all_is_sorted_and_complete(self) -> None:
        """__all__ is alphabetised and lists every schedule and factory."""
        names = schedules_module.__all__

        assert names == sorted(names, key=lambda n: (not n[0].isupper(), n))
        for name in ("After", "At", "Cron", "OnSuccess", "after", "at", "cron", "on_success"):
            assert name in names
            assert hasattr(schedules_module, name)


BERLIN = ZoneInfo("Europe/Berlin")

#: One schedule of each kind, anchored and not, with their definitions.
DEFINED: list[tuple[Schedule, dict[str, Any]]] = [
    (
        every(60),
        {"kind": "every", "interval": 60.0, "start": None, "end": None, "jitter": 0.0,
         "delay": None},
    ),
    (
        every(60).anchored(T0),
        {"kind": "every", "interval": 60.0, "start": "2026-01-01T00:00:00+00:00", "end": None,
         "jitter": 0.0, "delay": None},
    ),
    (
        every(minutes=1, seconds=0.5, jitter=2, delay=0, end=datetime(2026, 2, 1, tzinfo=UTC)),
        {"kind": "every", "interval": 60.5, "start": None, "end": "2026-02-01T00:00:00+00:00",
         "jitter": 2.0, "delay": 0.0},
    ),
    (
        cron("*/15 2 * * *", tz="Europe/Berlin", jitter=3),
        {"kind": "cron", "expr": "*/15 2 * * *", "tz": "Europe/Berlin", "jitter": 3.0,
         "start": None, "end": None},
    ),
    (
        cron("@daily", start=datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=2)))),
        {"kind": "cron", "expr": "@daily", "tz": "UTC", "jitter": 0.0,
         "start": "2026-01-01T09:00:00+02:00", "end": None},
    ),
    (
        at("09:00", tz="Europe/Berlin"),
        {"kind": "at", "when": None, "time_of_day": "09:00:00", "tz": "Europe/Berlin"},
    ),
    (
        at("09:00", tz="Europe/Berlin").anchored(T0),
        {"kind": "at", "when": "2026-01-01T09:00:00+01:00", "time_of_day": "09:00:00",
         "tz": "Europe/Berlin"},
    ),
    (
        at(datetime(2026, 3, 1, 9, 30, tzinfo=BERLIN)),
        {"kind": "at", "when": "2026-03-01T09:30:00+01:00[Europe/Berlin]", "time_of_day": None,
         "tz": "UTC"},
    ),
    (after(90), {"kind": "after", "delay": 90.0, "fire_at": None}),
    (
        after(90).anchored(T0),
        {"kind": "after", "delay": 90.0, "fire_at": "2026-01-01T00:01:30+00:00"},
    ),
    (manual(), {"kind": "manual"}),
    (on_success("extract"), {"kind": "on_success", "upstream": "extract", "delay": 0.0}),
    (on_success("extract", 2.5), {"kind": "on_success", "upstream": "extract", "delay": 2.5}),
]  # fmt: skip


class TestDefinitions:
    @pytest.mark.parametrize(("schedule", "definition"), DEFINED, ids=repr)
    def test_the_format(self, schedule: Schedule, definition: dict[str, Any]) -> None:
        """Each kind writes a "kind" key, float seconds and ISO 8601 datetimes with offsets."""
        assert schedule.to_definition() == definition

    @pytest.mark.parametrize(("schedule", "definition"), DEFINED, ids=repr)
    def test_round_trip(self, schedule: Schedule, definition: dict[str, Any]) -> None:
        """schedule_from_definition gives an equal schedule, through JSON text too."""
        text = json.dumps(schedule.to_definition())

        restored = schedule_from_definition(json.loads(text))

        assert restored == schedule
        assert hash(restored) == hash(schedule)
        assert type(restored) is type(schedule)

    @pytest.mark.parametrize(
        "when",
        [
            pytest.param(datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN), id="first 02:30"),
            pytest.param(datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN), id="second 02:30"),
            pytest.param(datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN), id="in the spring gap"),
            pytest.param(datetime(2026, 7, 1, 12, tzinfo=ZoneInfo("UTC")), id="zoneinfo UTC"),
            pytest.param(
                datetime(2026, 7, 1, 12, 0, 0, 123456, tzinfo=timezone(-timedelta(hours=3.5))),
                id="fixed offset, microseconds",
            ),
        ],
    )  # fmt: skip
    def test_datetimes_come_back_in_their_zone(self, when: datetime) -> None:
        """A datetime in a zoneinfo zone comes back in that zone, on the same side of a
        fall-back's repeated hour (the zone is written after the offset, as RFC 9557 does);
        one with a fixed offset comes back with it, to the microsecond."""
        restored = Every.from_definition(every(60, start=when).to_definition()).start

        assert restored == when
        assert restored is not None
        assert (restored.tzinfo, restored.utcoffset(), restored.fold) == (
            when.tzinfo if isinstance(when.tzinfo, ZoneInfo) else restored.tzinfo,
            when.utcoffset(),
            when.fold,
        )

    def test_every_class_reads_its_own_kind(self) -> None:
        """Each class's from_definition reads its kind and refuses another."""
        assert Cron.from_definition(cron("0 3 * * *").to_definition()) == cron("0 3 * * *")
        with pytest.raises(
            InvalidSchedule, match="every schedule definition: kind must be 'every'"
        ):
            Every.from_definition({"kind": "cron", "expr": "0 3 * * *"})

    def test_missing_keys_take_defaults(self) -> None:
        """Only the keys a schedule needs are required in a hand-written definition."""
        assert schedule_from_definition({"kind": "every", "interval": 60}) == every(60)
        assert schedule_from_definition({"kind": "cron", "expr": "@hourly"}) == cron("@hourly")
        assert schedule_from_definition({"kind": "after", "delay": 5}) == after(5)
        assert schedule_from_definition({"kind": "on_success", "upstream": "a"}) == on_success("a")

    @pytest.mark.parametrize(
        ("definition", "words"),
        [
            (None, ["must be a dict with a 'kind'", "None"]),
            ({"interval": 60}, ["kind must be one of", "'every'", "got None"]),
            ({"kind": "hourly"}, ["kind must be one of", "'on_success'", "'hourly'"]),
            ({"kind": "manual", "interval": 1}, ["manual schedule", "unknown", "'interval'"]),
            ({"kind": "every"}, ["every schedule definition", "interval is required"]),
            ({"kind": "every", "interval": "60"}, ["every", "interval", "seconds", "'60'"]),
            ({"kind": "every", "interval": True}, ["every", "interval", "number", "True"]),
            ({"kind": "every", "interval": float("inf")}, ["every", "interval", "finite", "inf"]),
            ({"kind": "every", "interval": 1e300}, ["every", "interval", "timedelta", "1e+300"]),
            ({"kind": "every", "interval": -5}, ["interval", "> 0"]),
            ({"kind": "every", "interval": 1, "start": "2026-01-01T00:00:00"},
             ["every", "start", "UTC offset", "no offset", "'2026-01-01T00:00:00'"]),
            ({"kind": "every", "interval": 1, "start": "today"}, ["every", "start", "'today'"]),
            ({"kind": "every", "interval": 1, "start": 20260101}, ["every", "start", "20260101"]),
            ({"kind": "every", "interval": 1, "end": "2026-01-01T00:00:00+00:00[Mars/Base]"},
             ["every", "end", "known IANA time zone", "Mars/Base"]),
            ({"kind": "every", "interval": 1, "delay": "soon"}, ["every", "delay", "'soon'"]),
            ({"kind": "cron", "expr": 5}, ["cron", "expr", "a str", "5"]),
            ({"kind": "cron", "expr": "61 * * * *"}, ["minute", "'61'"]),
            ({"kind": "cron", "expr": "0 3 * * *", "tz": "Mars/Base"}, ["tz", "Mars/Base"]),
            ({"kind": "at"}, ["when", "None"]),
            ({"kind": "at", "time_of_day": "25:00"}, ["at", "time_of_day", "'25:00'"]),
            ({"kind": "at", "time_of_day": 900}, ["at", "time_of_day", "900"]),
            ({"kind": "after", "delay": -1}, ["delay", ">= 0"]),
            ({"kind": "on_success", "upstream": ""}, ["program_id", "non-empty str"]),
            ({"kind": "on_success"}, ["on_success schedule definition", "upstream is required"]),
        ],
    )  # fmt: skip
    def test_malformed(self, definition: Any, words: list[str]) -> None:
        """A malformed definition raises InvalidSchedule naming what is wrong."""
        pattern = ".*".join(re.escape(word) for word in words)
        with pytest.raises(InvalidSchedule, match=pattern):
            schedule_from_definition(definition)

    def test_a_schedule_class_of_ones_own(self) -> None:
        """The base class has no definition: a schedule of one's own says it cannot be stored."""

        @attrs.frozen
        class Never(Schedule):
            def next_fire(self, after: datetime) -> datetime | None:
                return None

            def describe(self) -> str:
                return "never"

        with pytest.raises(NotImplementedError, match="Never has no definition"):
            Never().to_definition()


#: Aware datetimes in a few kinds of zone: fixed offsets, UTC, and zones with DST.
_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), ZoneInfo("Europe/Berlin"),
     ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")]
)  # fmt: skip
_instants = st.builds(
    lambda naive, zone, fold: naive.replace(tzinfo=zone, fold=fold),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    _zones,
    st.sampled_from([0, 1]),
)
#: Durations to the microsecond, up to ten years (float seconds hold them exactly).
_durations = st.integers(1, 10 * 366 * 86400 * 10**6).map(lambda us: timedelta(microseconds=us))
_seconds = st.one_of(st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False))


@st.composite
def _everys(draw: st.DrawFn) -> Every:
    start = draw(st.none() | _instants)
    end = draw(st.none() | _instants)
    if start is not None and end is not None and end < start:
        start, end = end, start
    return Every(
        interval=draw(_durations),
        start=start,
        end=end,
        jitter=draw(_seconds),
        delay=draw(st.none() | st.just(timedelta(0)) | _durations),
    )


_EXPRESSIONS = [
    "* * * * *", "*/15 2 * * *", "30 2 * * *", "0 9-17 * * mon-fri", "0 0 L * *",
    "0 12 * * mon#2", "@hourly", "@yearly", "0 0 * * * 30", "5,10 1-3/2 1,15 jan,jul *",
]  # fmt: skip


@st.composite
def _crons(draw: st.DrawFn) -> Cron:
    start = draw(st.none() | _instants)
    end = draw(st.none() | _instants)
    if start is not None and end is not None and end < start:
        start, end = end, start
    return cron(
        draw(st.sampled_from(_EXPRESSIONS)),
        tz=draw(st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata", "America/Santiago"])),
        jitter=draw(_seconds),
        start=start,
        end=end,
    )


class TestDefinitionProperties:
    @settings(max_examples=200, deadline=None)
    @given(schedule=st.one_of(_everys(), _crons()))
    def test_every_and_cron_round_trip(self, schedule: Schedule) -> None:
        """Any every() or cron() schedule comes back equal from its definition, through JSON,
        and fires at the same times."""
        restored = schedule_from_definition(json.loads(json.dumps(schedule.to_definition())))

        assert restored == schedule
        assert restored.to_definition() == schedule.to_definition()
        assert restored.next_fire(T0) == schedule.next_fire(T0)
