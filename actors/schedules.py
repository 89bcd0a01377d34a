"""Schedules: when a program's ticks happen.

Every schedule is a frozen attrs class with a pure `next_fire(after)`: given a time, it returns the
first fire time strictly after it, or `None` when the schedule has no more. A `TimerActor` owns
one schedule and turns its fire times into `Tick` messages; the schedule itself holds no state.

- `every(...)`: a fixed-rate grid.            - `cron(expr, tz=...)`: cron, with Debian's DST rule.
- `at(when)`: once, at a datetime or "HH:MM".  - `after(seconds)`: once, that long after install.
- `manual()`: no ticks.                        - `on_success(program_id)`: after another's success.

Schedules that count "from install time" (`every` without `start`, `at("HH:MM")`, `after`) are
resolved by `anchored(installed_at)`, so `next_fire` never needs to know the time it is now.
"""

from __future__ import annotations

import bisect
import math
import re
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from croniter import CroniterError, croniter

from actors.errors import InvalidSchedule

__all__ = [
    "After",
    "At",
    "Cron",
    "Every",
    "Manual",
    "OnSuccess",
    "Schedule",
    "after",
    "at",
    "cron",
    "every",
    "format_duration",
    "manual",
    "on_success",
]


#: The first window `Schedule.latest_fires` walks back from its end; it grows 16-fold until it
#: holds enough fire times.
_FIRST_WINDOW = timedelta(minutes=1)


def format_duration(seconds: float) -> str:
    """Render seconds for people: `90` -> `"1m30s"`, `60.5` -> `"1m0.5s"`, `86400` -> `"1d"`."""
    whole = int(seconds)
    fraction = round(seconds - whole, 6)
    parts = []
    remaining = whole
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    if remaining or fraction:
        parts.append(f"{remaining + fraction:g}s")
    return "".join(parts) or "0s"


def _check_aware(name: str, value: datetime | None) -> None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        msg = f"{name} must be an aware datetime (with tzinfo), got {value!r}"
        raise InvalidSchedule(msg)


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds or a timedelta, got {value!r}"
        raise InvalidSchedule(msg)
    if not math.isfinite(value):
        msg = f"{name} must be finite, got {value!r}"
        raise InvalidSchedule(msg)
    return float(value)


class Schedule(ABC):
    """When ticks happen. Subclasses are frozen attrs classes."""

    #: Seconds of random delay the timer adds to each fire time (0 = none).
    jitter: float = 0.0

    #: Whether the program uninstalls itself after the run of its (only) tick: `after()` does.
    uninstall_after_run: ClassVar[bool] = False

    #: Whether the clock makes the ticks: `False` for `manual()` and `on_success()`, which have
    #: no fire times, so a program on them is never "finished" for want of one.
    timed: ClassVar[bool] = True

    @property
    def upstream(self) -> str | None:
        """The program whose successful runs make the ticks (`on_success`), if any."""
        return None

    def after_upstream(self, succeeded_at: datetime) -> datetime | None:
        """When to tick after the upstream's run that succeeded at `succeeded_at` (`None`: the
        schedule does not follow an upstream)."""
        return None

    @abstractmethod
    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after`, or `None` if there is none. Pure."""

    def first_fire(self, installed_at: datetime) -> datetime | None:
        """The first fire time of a program installed at `installed_at`."""
        return self.next_fire(installed_at)

    def anchored(self, installed_at: datetime) -> Schedule:
        """This schedule with any 'from install time' default resolved to `installed_at`."""
        return self

    @abstractmethod
    def describe(self) -> str:
        """The schedule in words, for status tables."""

    def count_fires(self, after: datetime, until: datetime) -> int:
        """How many fire times lie in (`after`, `until`]. Pure.

        A timer woken late (a clock jump, a restart after downtime) counts the ticks it passed
        over with this, however many; schedules with many fire times answer without walking
        each one.
        """
        count, when = 0, after
        while True:
            following = self.next_fire(when)
            if following is None or following > until:
                return count
            count, when = count + 1, following

    def latest_fires(self, after: datetime, until: datetime, n: int) -> list[datetime]:
        """The newest `n` fire times in (`after`, `until`], oldest first. Pure.

        Walks windows that grow backwards from `until`, so it never walks the whole span.
        """
        if n <= 0 or until <= after:
            return []
        span = _FIRST_WINDOW
        while True:
            start = max(after, until - span)
            found: deque[datetime] = deque(maxlen=n)
            when: datetime | None = start
            while True:
                assert when is not None
                when = self.next_fire(when)
                if when is None or when > until:
                    break
                found.append(when)
            if len(found) >= n or start == after:
                return list(found)
            span *= 16


@attrs.frozen
class Manual(Schedule):
    """No ticks: the program runs only when triggered."""

    timed: ClassVar[bool] = False

    def next_fire(self, after: datetime) -> datetime | None:
        return None

    def describe(self) -> str:
        return "manual"


@attrs.frozen
class Every(Schedule):
    """A fixed-rate grid that never drifts: `origin + k * interval` for k = 0, 1, 2, ...

    The origin is `start + delay`, where `start` defaults to the install time and `delay`
    defaults to one interval (so the first tick comes one interval after the start).
    """

    interval: timedelta
    start: datetime | None = None
    end: datetime | None = None
    jitter: float = 0.0
    delay: timedelta | None = None

    def __attrs_post_init__(self) -> None:
        if self.interval <= timedelta(0):
            msg = f"interval must be > 0 seconds, got {self.interval.total_seconds()!r}"
            raise InvalidSchedule(msg)
        _check_aware("start", self.start)
        _check_aware("end", self.end)
        if self.start is not None and self.end is not None and self.end < self.start:
            msg = f"end must not be before start, got end={self.end!r}"
            raise InvalidSchedule(msg)
        if self.jitter < 0:
            msg = f"jitter must be >= 0 seconds, got {self.jitter!r}"
            raise InvalidSchedule(msg)
        if self.delay is not None and self.delay < timedelta(0):
            msg = f"delay must be >= 0 seconds, got {self.delay.total_seconds()!r}"
            raise InvalidSchedule(msg)

    @property
    def seconds(self) -> float:
        """The interval in seconds."""
        return self.interval.total_seconds()

    def anchored(self, installed_at: datetime) -> Every:
        return self if self.start is not None else attrs.evolve(self, start=installed_at)

    def _origin(self, fallback: datetime) -> datetime:
        start = self.start if self.start is not None else fallback
        return start + (self.delay if self.delay is not None else self.interval)

    def _grid_at_or_after(self, when: datetime, origin: datetime) -> datetime:
        if when <= origin:
            return origin
        steps = -((origin - when) // self.interval)  # ceiling division on timedeltas
        return origin + steps * self.interval

    def _within_end(self, when: datetime) -> datetime | None:
        return when if self.end is None or when <= self.end else None

    def next_fire(self, after: datetime) -> datetime | None:
        origin = self._origin(after)
        candidate = self._grid_at_or_after(after, origin)
        if candidate == after:
            candidate += self.interval
        return self._within_end(candidate)

    def first_fire(self, installed_at: datetime) -> datetime | None:
        return self._within_end(self._grid_at_or_after(installed_at, self._origin(installed_at)))

    def describe(self) -> str:
        return f"every {format_duration(self.seconds)}"

    def _grid_span(self, after: datetime, until: datetime) -> tuple[datetime, int, int]:
        """The origin and the first and last grid index of the fire times in (after, until]."""
        origin = self._origin(after)
        limit = until if self.end is None else min(until, self.end)
        first = 0 if after < origin else (after - origin) // self.interval + 1
        last = -1 if limit < origin else (limit - origin) // self.interval
        return origin, first, last

    def count_fires(self, after: datetime, until: datetime) -> int:
        _, first, last = self._grid_span(after, until)
        return max(0, last - first + 1)

    def latest_fires(self, after: datetime, until: datetime, n: int) -> list[datetime]:
        origin, first, last = self._grid_span(after, until)
        take = max(0, min(n, last - first + 1))
        return [origin + index * self.interval for index in range(last - take + 1, last + 1)]


_MICROSECOND = 1e-6  # seconds: the finest interval a timedelta holds


def every(
    seconds: float | timedelta | None = None,
    *,
    minutes: float = 0,
    hours: float = 0,
    days: float = 0,
    start: datetime | None = None,
    end: datetime | None = None,
    jitter: float = 0,
    delay: float | timedelta | None = None,
) -> Every:
    """A fixed-rate schedule: `every(60)`, `every(minutes=5)`, `every(timedelta(hours=1))`.

    Args:
        seconds: the interval in seconds (a number or a `timedelta`); adds to the other units.
        minutes: more of the interval, in minutes.
        hours: more of the interval, in hours.
        days: more of the interval, in days.
        start: the grid's origin, an aware datetime (default: the install time).
        end: no tick after this aware datetime.
        jitter: up to this many seconds of random delay added to each tick.
        delay: when the first tick comes after `start` (default: one interval; `0` = at once).

    Raises:
        InvalidSchedule: an interval that is not positive, has a negative part or is under a
            microsecond (the message gives the values as written); a negative delay or
            jitter; a naive datetime.
    """
    total = 0.0
    given: list[str] = []  # the parts as the caller wrote them, for messages
    negative = False
    for name, value, size in (
        ("seconds", 0 if seconds is None else seconds, 1),
        ("minutes", minutes, 60),
        ("hours", hours, 3600),
        ("days", days, 86400),
    ):
        part = _seconds(name, value)
        if (name == "seconds" and seconds is not None) or part != 0:
            given.append(f"{name}={value!r}")
        negative = negative or part < 0
        total += part * size
    got = ", ".join(given) or "seconds=None"
    # One wording for zero and negative intervals: both are "not a positive interval".
    if total <= 0:
        msg = f"every: interval must be > 0 seconds, got {got}"
        raise InvalidSchedule(msg)
    if negative:
        msg = f"every: no part of the interval may be negative, got {got}"
        raise InvalidSchedule(msg)
    # timedelta keeps whole microseconds: anything finer would round to another interval, or
    # to none at all (1e-09 s would become 0).
    if total < _MICROSECOND:
        msg = f"every: interval must be at least 1 microsecond, got {got}"
        raise InvalidSchedule(msg)
    first_delay = None if delay is None else timedelta(seconds=_seconds("delay", delay))
    return Every(
        interval=timedelta(seconds=total),
        start=start,
        end=end,
        jitter=_seconds("jitter", jitter),
        delay=first_delay,
    )


def manual() -> Manual:
    """No ticks: the program runs only when triggered."""
    return Manual()


# --------------------------------------------------------------------------------------------
# Time zones and wall clocks
# --------------------------------------------------------------------------------------------

_TICK = timedelta(microseconds=1)


def _zone(tz: Any) -> tzinfo:
    """The zone named `tz`: `"UTC"` needs no tz database; any other IANA name goes to zoneinfo."""
    if isinstance(tz, ZoneInfo):
        return tz
    if not isinstance(tz, str):
        msg = f"tz must be an IANA time zone name such as 'Europe/Berlin', got {tz!r}"
        raise InvalidSchedule(msg)
    if tz == "UTC":
        return UTC  # no tz database needed for the default
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        msg = (
            f"tz {tz!r} is not a known IANA time zone (such as 'Europe/Berlin'; "
            "on systems without one, install the tzdata package)"
        )
        raise InvalidSchedule(msg) from None


def _zone_name(tz: str | ZoneInfo) -> str:
    return tz.key if isinstance(tz, ZoneInfo) else tz


def _fixed(instant: datetime, zone: tzinfo) -> datetime:
    """`instant` as the wall time of `zone`, with that moment's offset as a fixed tzinfo.

    A fixed offset keeps the local reading (`03:00+02:00`) and, unlike a zoneinfo datetime in a
    repeated hour, always compares, sorts and hashes by the instant it stands for.
    """
    local = instant.astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None  # an aware datetime in a zone always has one
    return local.replace(tzinfo=timezone(offset), fold=0)


def _offsets(zone: tzinfo, wall: datetime) -> tuple[timedelta, timedelta]:
    """The UTC offsets of naive `wall` read with fold=0 and fold=1 (PEP 495).

    Equal: an ordinary wall time. fold=0 larger: a repeated wall time (a fall-back "fold").
    fold=0 smaller: a wall time that never happens (a spring-forward "gap").
    """
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert first is not None
    assert second is not None
    return first, second


def _transition(zone: tzinfo, wall: datetime, before: timedelta, after: timedelta) -> datetime:
    """The instant (UTC) of the offset change that makes naive `wall` a gap or a fold.

    `before`/`after` are the offsets on either side (fold=0 and fold=1 readings of `wall`).
    tz database transitions fall on whole seconds, so a binary search over seconds is exact.
    """
    ends = sorted(((wall - before).replace(tzinfo=UTC), (wall - after).replace(tzinfo=UTC)))
    low, high = math.floor(ends[0].timestamp()), math.ceil(ends[1].timestamp())
    while high - low > 1:  # invariant: offset(low) == before, offset(high) == after
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _wall_instant(zone: tzinfo, wall: datetime) -> datetime:
    """The one instant (UTC) a wall time stands for under cron's rule for a fixed time of day.

    A repeated wall time is its first occurrence; a wall time inside a spring-forward gap is the
    end of the gap (the first valid instant after it).
    """
    before, after = _offsets(zone, wall)
    if before < after:  # in a gap
        return _transition(zone, wall, before, after)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Cron expressions: parsing and validation (croniter's own messages rarely name the field)
# --------------------------------------------------------------------------------------------

_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DAY_NAMES = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # Feb 29 exists in leap years

#: The aliases cron(8) knows, as the five fields they stand for. (`@reboot` has no fire times.)
CRON_ALIASES: Mapping[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_WORD = re.ASCII | re.IGNORECASE
_ITEM = re.compile(r"^(?P<low>[a-z0-9]+)(?:-(?P<high>[a-z0-9]+))?(?:/(?P<step>.*))?$", _WORD)
_STAR = re.compile(r"^\*(?:/(?P<step>.*))?$", re.ASCII)
_NTH = re.compile(r"^(?P<day>[a-z0-9]+)#(?P<nth>.*)$", _WORD)
_DIGITS = re.compile(r"^[0-9]+$", re.ASCII)


@attrs.frozen
class _Field:
    name: str
    low: int
    high: int  # the highest value written (day-of-week allows 7 for Sunday)
    names: Mapping[str, int] = attrs.field(factory=dict)
    top: int | None = None  # the highest value `*` covers, if not `high`

    @property
    def star_top(self) -> int:
        return self.high if self.top is None else self.top


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES),
    _Field("day-of-week", 0, 7, _DAY_NAMES, top=6),
    _Field("second", 0, 59),
)
_MINUTE, _HOUR, _DOM, _MONTH, _DOW, _SECOND = _FIELDS


@attrs.frozen
class _CronSpec:
    """A validated expression as croniter should read it, and what the DST rule needs."""

    croniter_expr: str  # explicit numbers only: croniter's quirks never see the user's text
    day_or: bool  # Vixie cron: day-of-month OR day-of-week, unless either starts with `*`
    # The minute or the hour field starts with `*` (`*`, `*/15`): Debian cron's "wildcard" job,
    # which follows real time across a DST change instead of keeping a fixed time of day.
    wildcard: bool


class _CronParser:
    """Parses one expression, raising `InvalidSchedule` that names the field and value."""

    def __init__(self, expr: str) -> None:
        self.expr = expr

    def fail(self, message: str) -> InvalidSchedule:
        return InvalidSchedule(f"cron {self.expr!r}: {message}")

    def parse(self) -> _CronSpec:
        text = CRON_ALIASES.get(self.expr.lower(), self.expr)
        if text.startswith("@"):
            known = ", ".join(CRON_ALIASES)
            raise self.fail(f"unknown alias {text!r}; known aliases: {known}")
        fields = text.split()
        if len(fields) not in (5, 6):
            raise self.fail(
                "a cron expression has 5 fields (minute hour day-of-month month day-of-week) "
                f"or 6 (the same, then second), got {len(fields)}"
            )
        minute = self.numbers(_MINUTE, fields[0])
        hour = self.numbers(_HOUR, fields[1])
        doms, last_day = self.days_of_month(fields[2])
        months = self.numbers(_MONTH, fields[3])
        dows = self.days_of_week(fields[4])
        second = self.numbers(_SECOND, fields[5]) if len(fields) == 6 else None
        dom_star = fields[2].startswith(("*", "?"))
        dow_star = fields[4].startswith(("*", "?"))
        if dow_star and not dom_star and not last_day:
            self.check_day_exists(fields[2], fields[3], doms, months)
        parts = [
            self.canonical(_MINUTE, minute),
            self.canonical(_HOUR, hour),
            "*" if fields[2] in ("*", "?") else ",".join([*map(str, doms)] + ["l"] * last_day),
            self.canonical(_MONTH, months),
            "*" if fields[4] in ("*", "?") else ",".join(dows),
        ]
        if second is not None:
            parts.append(self.canonical(_SECOND, second))
        spec = _CronSpec(
            croniter_expr=" ".join(parts),
            day_or=not (dom_star or dow_star),
            wildcard=fields[0].startswith("*") or fields[1].startswith("*"),
        )
        try:  # what croniter still refuses after our checks, it refuses here, not at run time
            croniter(spec.croniter_expr, datetime(2000, 1, 1), day_or=spec.day_or).get_next(
                datetime
            )
        except CroniterError as error:
            raise self.fail(f"not supported by croniter: {error}") from None
        return spec

    @staticmethod
    def canonical(field: _Field, values: list[int]) -> str:
        if values == list(range(field.low, field.high + 1)):
            return "*"
        return ",".join(map(str, values))

    def value(self, field: _Field, token: str, item: str) -> int:
        if _DIGITS.match(token):
            number = int(token)
        elif token.lower() in field.names:
            number = field.names[token.lower()]
        else:
            expected = "a number"
            if field.names:
                names = list(field.names)
                expected += f" or a name ({names[0]}-{names[-1]})"
            raise self.fail(f"{field.name} {item!r} is not {expected}")
        if not field.low <= number <= field.high:
            raise self.fail(
                f"{field.name} {token!r} is out of range {field.low}-{field.high}"
                + (f" (in {item!r})" if token != item else "")
            )
        return number

    def step(self, field: _Field, text: str, item: str) -> int:
        if not _DIGITS.match(text) or int(text) < 1:
            raise self.fail(f"{field.name} step {text!r} in {item!r} must be a whole number >= 1")
        return int(text)

    def item(self, field: _Field, item: str) -> range:
        """One list item: `*`, `*/s`, `a`, `a-b`, `a-b/s`, `a/s` (= `a-max/s`)."""
        star = _STAR.match(item)
        if star:
            step = 1 if star["step"] is None else self.step(field, star["step"], item)
            return range(field.low, field.star_top + 1, step)
        match = _ITEM.match(item)
        if not match:
            names = ", a name" if field.names else ""
            raise self.fail(
                f"{field.name} {item!r} is not a number{names}, '*', a range a-b or a step */n"
            )
        low = self.value(field, match["low"], item)
        step = 1 if match["step"] is None else self.step(field, match["step"], item)
        if match["high"] is None:
            high = low if match["step"] is None else field.star_top
        else:
            high = self.value(field, match["high"], item)
            if high < low:
                raise self.fail(
                    f"{field.name} range {item!r} runs backwards; "
                    "write it as two ranges, such as 22-23,0-2"
                )
        return range(low, high + 1, step)

    def items(self, field: _Field, text: str) -> list[str]:
        items = text.split(",")
        if "" in items:
            raise self.fail(f"{field.name} {text!r} has an empty list item")
        if "?" in items and items != ["?"]:
            raise self.fail(f"{field.name} {text!r}: '?' stands alone")
        return items

    def numbers(self, field: _Field, text: str) -> list[int]:
        if "?" in text:
            raise self.fail(f"{field.name} {text!r}: '?' is only for day-of-month or day-of-week")
        return sorted({n for item in self.items(field, text) for n in self.item(field, item)})

    def days_of_month(self, text: str) -> tuple[list[int], bool]:
        items = self.items(_DOM, text)
        if items == ["?"]:
            return list(range(1, 32)), False
        days: set[int] = set()
        for item in items:
            if item.lower() != "l":  # L: the last day of the month
                days.update(self.item(_DOM, item))
        return sorted(days), any(item.lower() == "l" for item in items)

    def days_of_week(self, text: str) -> list[str]:
        items = self.items(_DOW, text)
        if items == ["?"]:
            return ["*"]
        nths: list[str] = []
        days: set[int] = set()
        for item in items:
            nth = _NTH.match(item)
            if nth is None:
                days.update(day % 7 for day in self.item(_DOW, item))
                continue
            day = self.value(_DOW, nth["day"], item) % 7
            if not _DIGITS.match(nth["nth"]) or not 1 <= int(nth["nth"]) <= 5:
                raise self.fail(f"day-of-week {item!r}: the n of day#n must be 1-5")
            nths.append(f"{day}#{int(nth['nth'])}")
        if nths and days:
            raise self.fail(
                f"day-of-week {text!r} mixes day#n with plain days; croniter supports one or "
                "the other in a field"
            )
        return nths or [str(day) for day in sorted(days)]

    def check_day_exists(self, dom: str, month: str, doms: list[int], months: list[int]) -> None:
        if not any(day <= _MONTH_DAYS[m - 1] for m in months for day in doms):
            raise self.fail(f"day-of-month {dom!r} never occurs in month {month!r}")


def _normalise_expr(value: Any) -> Any:
    return " ".join(value.split()) if isinstance(value, str) else value


def _check_jitter(value: Any) -> None:
    if _seconds("jitter", value) < 0:
        msg = f"jitter must be >= 0 seconds, got {value!r}"
        raise InvalidSchedule(msg)


def _check_bounds(start: datetime | None, end: datetime | None) -> None:
    _check_aware("start", start)
    _check_aware("end", end)
    if start is not None and end is not None and end < start:
        msg = f"end must not be before start, got start={start!r}, end={end!r}"
        raise InvalidSchedule(msg)


def _require_aware(after: Any) -> datetime:
    if not isinstance(after, datetime) or after.tzinfo is None or after.utcoffset() is None:
        msg = f"next_fire needs an aware datetime, got {after!r}"
        raise TypeError(msg)
    return after.astimezone(UTC)


@attrs.frozen
class Cron(Schedule):
    """A cron expression in a time zone. Build one with `cron(...)`.

    Fire times come back as aware datetimes carrying the zone's UTC offset at that instant
    (`2026-03-29T03:00:00+02:00`): they read as local time and compare as instants.

    Daylight saving follows Debian's cron. An expression is *fixed-time* when neither its minute
    nor its hour field starts with `*` (`30 2 * * *`, `0-45/15 2 * * *`, `0 1-5 * * *`): a wall
    time repeated by a fall-back fires once, at its first occurrence, and wall times swallowed
    by a spring-forward gap fire once, at the end of the gap. Otherwise (`0 * * * *`,
    `*/15 2 * * *`, `* 2 * * *`) it is a *wildcard* expression and follows real time: every
    repeated wall time fires, and wall times that never happen do not. The seconds field of a
    six-field expression plays no part in this.
    """

    expr: str = attrs.field(converter=_normalise_expr)
    tz: str = "UTC"
    jitter: float = 0.0
    start: datetime | None = None
    end: datetime | None = None
    _spec: _CronSpec = attrs.field(init=False, repr=False, eq=False, hash=False)
    _zone: tzinfo = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.expr, str):
            msg = f"expr must be a cron expression str such as '0 3 * * *', got {self.expr!r}"
            raise InvalidSchedule(msg)
        zone = _zone(self.tz)
        object.__setattr__(self, "tz", _zone_name(self.tz))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_spec", _CronParser(self.expr).parse())
        _check_jitter(self.jitter)
        _check_bounds(self.start, self.end)

    def next_fire(self, after: datetime) -> datetime | None:
        after_utc = _require_aware(after)
        if self.start is not None and after_utc < self.start:
            after_utc = self.start.astimezone(UTC) - _TICK  # the start itself may fire
        fire = self._next_instant(after_utc)
        if fire is None or (self.end is not None and fire > self.end):
            return None
        return _fixed(fire, self._zone)

    def describe(self) -> str:
        return f"cron {self.expr} ({self.tz})"

    def count_fires(self, after: datetime, until: datetime) -> int:
        # Walk a little (the common case: a wake a few ticks late), then count day by day.
        count, when = 0, _require_aware(after)
        for _ in range(_CRON_WALK):
            following = self.next_fire(when)
            if following is None or following > until:
                return count
            count, when = count + 1, following
        return count + self._count_by_days(when, _require_aware(until))

    def _count_by_days(self, after: datetime, until: datetime) -> int:
        """Fire times in (after, until], counted per local day from the fields' values: away
        from a UTC offset change each matching wall time fires once; the hours around a
        change (DST) are walked, fire by fire, under the DST rule."""
        after, until = after.astimezone(UTC), until.astimezone(UTC)
        if self.end is not None:
            until = min(until, self.end.astimezone(UTC))
        if self.start is not None:
            after = max(after, self.start.astimezone(UTC) - _TICK)
        if until <= after:
            return 0
        zone = self._zone
        times = self._times_of_day()
        count = 0
        first_day, last_day = after.astimezone(zone).date(), until.astimezone(zone).date()
        for day in self._matching_days(first_day, last_day):
            day_start = _wall_instant(zone, datetime.combine(day, time()))
            day_end = _wall_instant(zone, datetime.combine(day + timedelta(days=1), time()))
            low, high = max(after, day_start - _TICK), min(until, day_end - _TICK)
            if high <= low:
                continue
            opening = day_start.astimezone(zone).utcoffset()
            closing = (day_end - _TICK).astimezone(zone).utcoffset()
            assert opening is not None
            assert closing is not None
            if opening == closing:
                count += _count_span(times, day, low, high, opening)
                continue
            change = _offset_change(zone, day_start, day_end, opening)
            near_low, near_high = change - _NEAR_CHANGE, change + _NEAR_CHANGE
            count += _count_span(times, day, low, min(high, near_low), opening)
            count += self._walk_count(max(low, near_low), min(high, near_high))
            count += _count_span(times, day, max(low, near_high), high, closing)
        return count

    def _walk_count(self, after: datetime, until: datetime) -> int:
        count, when = 0, after
        while True:
            following = self.next_fire(when)
            if following is None or following > until:
                return count
            count, when = count + 1, following.astimezone(UTC)

    def _times_of_day(self) -> tuple[list[int], list[int], list[int]]:
        """The hours, minutes and seconds the expression fires at, sorted."""
        fields = self._spec.croniter_expr.split()
        seconds = fields[5] if len(fields) == 6 else "0"
        return (_values(fields[1], 23), _values(fields[0], 59), _values(seconds, 59))

    def _matching_days(self, first: date, last: date) -> Iterator[date]:
        """The days from `first` to `last` that match the day fields (month, day of month,
        day of week), as croniter reads them."""
        fields = self._spec.croniter_expr.split()
        days = croniter(
            f"0 0 {fields[2]} {fields[3]} {fields[4]}",
            datetime.combine(first, time()) - _TICK,
            day_or=self._spec.day_or,
        )
        while True:
            try:
                found: datetime = days.get_next(datetime)
            except (CroniterError, OverflowError, ValueError):
                return
            if found.date() > last:
                return
            yield found.date()

    # The walk: croniter lists matching *wall* times (naive, so it does no DST arithmetic of
    # its own); each is turned into instants by the zone and the DST rule.

    def _wall_after(self, wall: datetime) -> datetime | None:
        """The first matching wall time strictly after naive `wall` (None: none within reach)."""
        try:
            found = croniter(self._spec.croniter_expr, wall, day_or=self._spec.day_or)
            result: datetime = found.get_next(datetime)
        except (CroniterError, OverflowError, ValueError):
            return None
        return result

    def _next_instant(self, after: datetime) -> datetime | None:
        """The first fire instant (UTC) strictly after `after` (UTC)."""
        zone, wild = self._zone, self._spec.wildcard
        local = after.astimezone(zone)
        search = local.replace(tzinfo=None, fold=0)
        repeat: tuple[datetime, datetime] | None = None  # a fold's wall times still to repeat
        before, later = _offsets(zone, search)
        if before > later:  # `after` is inside a fall-back fold
            change = _transition(zone, search, before, later).replace(tzinfo=None)
            fold_start, fold_end = change + later, change + before
            if local.fold == 1 and not wild:
                search = max(search, fold_end - _TICK)  # a fixed time never fires twice
            elif local.fold == 0 and wild:
                repeat = (fold_start, fold_end)  # its wall times come round once more
        while True:
            wall = self._wall_after(search)
            if wall is None:
                return None
            if repeat is not None and wall >= repeat[1]:
                again = self._wall_after(repeat[0] - _TICK)
                if again is not None and again < repeat[1]:
                    return again.replace(tzinfo=zone, fold=1).astimezone(UTC)
                repeat = None
            before, later = _offsets(zone, wall)
            if before < later:  # a wall time a spring-forward gap swallows
                change = _transition(zone, wall, before, later)
                if not wild:
                    return change
                search = change.astimezone(zone).replace(tzinfo=None) - _TICK
                continue
            first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
            if first > after:
                return first
            if wild:  # `after` is in the repeat of this fold: the second reading is next
                return wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
            search = wall


#: Fire times `Cron.count_fires` walks one by one before it counts day by day.
_CRON_WALK = 64


def _values(field: str, top: int) -> list[int]:
    """The numbers of a canonical cron field (`*` or a comma list), sorted."""
    return list(range(top + 1)) if field == "*" else sorted(int(v) for v in field.split(","))


#: Around a UTC offset change, `Cron.count_fires` walks fire by fire this far either side.
_NEAR_CHANGE = timedelta(hours=3)


def _offset_change(zone: tzinfo, start: datetime, end: datetime, opening: timedelta) -> datetime:
    """The instant (UTC) in [start, end) where `zone`'s UTC offset stops being `opening`."""
    low, high = math.floor(start.timestamp()), math.ceil(end.timestamp())
    while high - low > 1:  # tz database transitions fall on whole seconds
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == opening:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _count_span(
    times: tuple[list[int], list[int], list[int]],
    day: date,
    low: datetime,
    high: datetime,
    offset: timedelta,
) -> int:
    """Fire times of `day` in (low, high] (UTC), where the zone's offset is `offset`
    throughout, so that each matching wall time is exactly one instant."""
    if high <= low:
        return 0
    first = _second_of_day(low + offset, day) + 1
    last = _second_of_day(high + offset, day)
    return _count_times(*times, first, last)


def _second_of_day(wall: datetime, day: date) -> int:
    """The whole second of `day` that (aware, offset-shifted, UTC) `wall` falls in, within
    -1 .. 86399 (-1: before the day)."""
    naive = wall.replace(tzinfo=None)
    if naive.date() < day:
        return -1
    if naive.date() > day:
        return 86399
    return naive.hour * 3600 + naive.minute * 60 + naive.second


def _count_times(
    hours: list[int], minutes: list[int], seconds: list[int], first: int, last: int
) -> int:
    """How many times of day `h:m:s` (from the three lists) fall in seconds first..last."""
    if first <= 0 and last >= 86399:
        return len(hours) * len(minutes) * len(seconds)
    count = 0
    for hour in hours:
        for minute in minutes:
            base = hour * 3600 + minute * 60
            if base + 59 < first or base > last:
                continue
            low, high = max(0, first - base), min(59, last - base)
            count += bisect.bisect_right(seconds, high) - bisect.bisect_left(seconds, low)
    return count


def cron(
    expr: str,
    *,
    tz: str = "UTC",
    jitter: float | timedelta = 0,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Cron:
    """A cron schedule: `cron("0 3 * * *", tz="Europe/Berlin")`, `cron("@hourly")`.

    On a daylight-saving day it follows Debian's cron (see `Cron`): an expression whose minute
    and hour fields both start with something other than `*` keeps its time of day (once on a
    fall-back day, at the end of a spring-forward gap); one whose minute or hour starts with `*`
    follows real time (`*/15 2 * * *` in Europe/Berlin fires none on the spring-forward day and
    eight on the fall-back day).

    Args:
        expr: 5 fields `minute hour day-of-month month day-of-week`, or 6 with a SIXTH field for
            the second (croniter's convention: `"0 0 * * * 30"` is 00:00:30 daily), or one of
            `@yearly @annually @monthly @weekly @daily @midnight @hourly`. Fields take numbers,
            `*`, ranges `a-b`, steps `*/n` `a-b/n` `a/n`, lists `a,b`; months and weekdays take
            names (`jan`, `mon-fri`); day-of-week 0 and 7 are Sunday; day-of-month takes `L`
            (last day) and day-of-week `day#n` (`mon#2`: the second Monday). When both day
            fields are restricted a day matching either fires (cron's rule).
        tz: the IANA time zone the expression is read in (default UTC).
        jitter: up to this many seconds of random delay the timer adds to each tick.
        start: no tick before this aware datetime.
        end: no tick after this aware datetime.

    Raises:
        InvalidSchedule: a bad field (named, with its value), an unknown zone, a negative
            jitter, a naive or reversed start/end.
    """
    return Cron(expr, tz=tz, jitter=_seconds("jitter", jitter), start=start, end=end)


# --------------------------------------------------------------------------------------------
# Once: at(), after()
# --------------------------------------------------------------------------------------------

_HHMM = re.compile(r"^(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?$")


def _time_of_day(text: str) -> time:
    match = _HHMM.match(text.strip())
    if match:
        hour, minute = int(match["hour"]), int(match["minute"])
        second = int(match["second"] or 0)
        if hour <= 23 and minute <= 59 and second <= 59:
            return time(hour, minute, second)
    msg = f"when must be an aware datetime or 'HH:MM' (00:00-23:59), got {text!r}"
    raise InvalidSchedule(msg)


def _zone_label(when: datetime) -> str:
    if isinstance(when.tzinfo, ZoneInfo):
        return when.tzinfo.key
    return when.tzname() or str(when.tzinfo)


def _clock_text(when: datetime | time) -> str:
    return f"{when:%H:%M:%S}" if when.second or when.microsecond else f"{when:%H:%M}"


@attrs.frozen
class At(Schedule):
    """Once: at an aware datetime, or at the next "HH:MM" in `tz` after install.

    For "HH:MM", `anchored(installed_at)` picks the day: today (in `tz`) if that time is not yet
    past at install, else tomorrow. A wall time repeated by a fall-back is its first
    occurrence, and one inside a spring-forward gap is the end of the gap (as for cron).
    Unanchored, `next_fire(after)` takes `after` as the install time.
    """

    when: datetime | None = None
    time_of_day: time | None = None
    tz: str = "UTC"
    _zone: tzinfo = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        zone = _zone(self.tz)
        object.__setattr__(self, "tz", _zone_name(self.tz))
        object.__setattr__(self, "_zone", zone)
        if self.when is None and self.time_of_day is None:
            msg = "when must be an aware datetime or 'HH:MM', got None"
            raise InvalidSchedule(msg)
        if self.when is not None and (
            not isinstance(self.when, datetime) or self.when.utcoffset() is None
        ):
            msg = (
                f"when must be an aware datetime (with tzinfo) or 'HH:MM', got {self.when!r}; "
                "a naive datetime is ambiguous"
            )
            raise InvalidSchedule(msg)
        if self.time_of_day is not None and not isinstance(self.time_of_day, time):
            msg = f"time_of_day must be a datetime.time, got {self.time_of_day!r}"
            raise InvalidSchedule(msg)

    def anchored(self, installed_at: datetime) -> At:
        if self.when is not None or self.time_of_day is None:
            return self
        installed = _require_aware(installed_at)
        day = installed.astimezone(self._zone).date()
        fire = self._on(day)
        if fire < installed:
            fire = self._on(day + timedelta(days=1))
        return attrs.evolve(self, when=_fixed(fire, self._zone))

    def _on(self, day: date) -> datetime:
        assert self.time_of_day is not None
        return _wall_instant(self._zone, datetime.combine(day, self.time_of_day))

    def next_fire(self, after: datetime) -> datetime | None:
        when = self.anchored(after).when
        assert when is not None
        return when if when > after else None

    def first_fire(self, installed_at: datetime) -> datetime | None:
        when = self.anchored(installed_at).when
        assert when is not None
        return when if when >= installed_at else None

    def describe(self) -> str:
        if self.when is None:
            assert self.time_of_day is not None
            return f"at {_clock_text(self.time_of_day)} {self.tz}"
        if self.time_of_day is not None:  # an anchored "HH:MM": read it in its zone
            local = self.when.astimezone(self._zone)
            return f"at {local:%Y-%m-%d} {_clock_text(local)} {self.tz}"
        return f"at {self.when:%Y-%m-%d} {_clock_text(self.when)} {_zone_label(self.when)}"


def at(when: datetime | str, *, tz: str = "UTC") -> At:
    """Once: `at(datetime(2026, 3, 1, 9, tzinfo=UTC))` or `at("09:00", tz="Europe/Berlin")`.

    Args:
        when: an aware datetime (a naive one is refused: it is ambiguous), or `"HH:MM"`
            (`"HH:MM:SS"`) meaning the next such wall time in `tz` after install: today if it
            is not yet past, else tomorrow.
        tz: the zone of an `"HH:MM"` (default UTC); an aware datetime carries its own.

    Raises:
        InvalidSchedule: a naive datetime, a malformed "HH:MM", an unknown zone.
    """
    if isinstance(when, str):
        return At(time_of_day=_time_of_day(when), tz=tz)
    if not isinstance(when, datetime):
        msg = f"when must be an aware datetime or 'HH:MM', got {when!r}"
        raise InvalidSchedule(msg)
    return At(when=when, tz=tz)


@attrs.frozen
class After(Schedule):
    """Once, `delay` after install; then the program uninstalls itself.

    `anchored(installed_at)` fixes the instant (`fire_at`). Unanchored, `next_fire(after)` takes
    `after` as the install time.
    """

    delay: timedelta
    fire_at: datetime | None = None

    uninstall_after_run: ClassVar[bool] = True

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.delay, timedelta) or self.delay < timedelta(0):
            msg = f"seconds must be >= 0 seconds (a number or a timedelta), got {self.delay!r}"
            raise InvalidSchedule(msg)
        _check_aware("fire_at", self.fire_at)

    def anchored(self, installed_at: datetime) -> After:
        if self.fire_at is not None:
            return self
        return attrs.evolve(self, fire_at=installed_at + self.delay)

    def next_fire(self, after: datetime) -> datetime | None:
        fire_at = self.anchored(after).fire_at
        assert fire_at is not None
        return fire_at if fire_at > after else None

    def first_fire(self, installed_at: datetime) -> datetime | None:
        fire_at = self.anchored(installed_at).fire_at
        assert fire_at is not None
        return fire_at if fire_at >= installed_at else None

    def describe(self) -> str:
        return f"after {format_duration(self.delay.total_seconds())}"


def after(seconds: float | timedelta) -> After:
    """Once, `seconds` (a number or a `timedelta`, >= 0) after install; then it uninstalls.

    Raises:
        InvalidSchedule: a negative, non-finite or non-numeric value.
    """
    value = _seconds("seconds", seconds)
    if value < 0:
        msg = f"seconds must be >= 0, got {seconds!r}"
        raise InvalidSchedule(msg)
    return After(delay=timedelta(seconds=value))


# --------------------------------------------------------------------------------------------
# Events: on_success()
# --------------------------------------------------------------------------------------------


@attrs.frozen
class OnSuccess(Schedule):
    """A tick `delay` seconds after each successful run of the program `upstream`.

    Ticks come from events, not from the clock: `next_fire` is always `None`.
    """

    upstream: str  # a field here, a property (None) on every other schedule
    delay: float = 0.0

    timed: ClassVar[bool] = False

    def after_upstream(self, succeeded_at: datetime) -> datetime | None:
        return succeeded_at + timedelta(seconds=self.delay)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.upstream, str) or not self.upstream:
            msg = f"program_id (the upstream) must be a non-empty str, got {self.upstream!r}"
            raise InvalidSchedule(msg)
        if _seconds("delay", self.delay) < 0:
            msg = f"delay must be >= 0 seconds, got {self.delay!r}"
            raise InvalidSchedule(msg)

    def next_fire(self, after: datetime) -> datetime | None:
        return None

    def describe(self) -> str:
        text = f"on success of {self.upstream!r}"
        return f"{text}, after {format_duration(self.delay)}" if self.delay else text


def on_success(program_id: str, delay: float | timedelta = 0) -> OnSuccess:
    """A tick each time the program `program_id` completes a run successfully.

    Args:
        program_id: the upstream program's id.
        delay: seconds (or a `timedelta`) between that success and this tick.

    Raises:
        InvalidSchedule: an empty or non-str id, a negative or non-numeric delay.
    """
    return OnSuccess(upstream=program_id, delay=_seconds("delay", delay))
