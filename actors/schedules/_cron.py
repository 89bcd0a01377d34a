"""`cron(expr, tz=...)`: cron expressions, read in a time zone, with Debian cron's DST rule.

The parser checks every field itself (croniter's own messages rarely name the field) and hands
croniter a canonical expression of plain numbers. `Cron` walks croniter's matching wall times and
turns each into instants under the DST rule (see `Cron`); `count_fires` counts day by day from
the fields' values instead of walking, so a long jump costs little.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import attrs
from croniter import CroniterError, croniter

from actors.errors import InvalidSchedule
from actors.schedules._base import Schedule, check_bounds, require_aware
from actors.schedules._encoding import Fields, encode_instant, encode_seconds
from actors.schedules._zones import (
    TICK,
    in_zone,
    offset_change,
    offsets,
    transition,
    wall_instant,
    zone_for,
    zone_name,
)
from actors.validation import as_seconds, check_instance, check_seconds

__all__ = ["CRON_ALIASES", "Cron", "cron"]

# --------------------------------------------------------------------------------------------
# Cron expressions: parsing and validation
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


# --------------------------------------------------------------------------------------------
# The schedule
# --------------------------------------------------------------------------------------------


def _normalise_expr(value: Any) -> Any:
    return " ".join(value.split()) if isinstance(value, str) else value


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
    jitter: float = attrs.field(default=0.0, converter=as_seconds)
    start: datetime | None = None
    end: datetime | None = None
    _spec: _CronSpec = attrs.field(init=False, repr=False, eq=False, hash=False)
    _zone: tzinfo = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        what = "a cron expression str such as '0 3 * * *'"
        check_instance("expr", self.expr, str, what=what, error=InvalidSchedule)
        zone = zone_for(self.tz)
        object.__setattr__(self, "tz", zone_name(self.tz))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_spec", _CronParser(self.expr).parse())
        check_seconds("jitter", self.jitter, error=InvalidSchedule)
        check_bounds(self.start, self.end)

    def next_fire(self, after: datetime) -> datetime | None:
        after_utc = require_aware(after)
        if self.start is not None and after_utc < self.start:
            after_utc = self.start.astimezone(UTC) - TICK  # the start itself may fire
        fire = self._next_instant(after_utc)
        if fire is None or (self.end is not None and fire > self.end):
            return None
        return in_zone(fire, self._zone)

    def describe(self) -> str:
        return f"cron {self.expr} ({self.tz})"

    def to_definition(self) -> dict[str, Any]:
        return {
            "kind": "cron",
            "expr": self.expr,
            "tz": self.tz,
            "jitter": encode_seconds(self.jitter),
            "start": encode_instant(self.start),
            "end": encode_instant(self.end),
        }

    @classmethod
    def from_definition(cls, definition: Any) -> Cron:
        """The schedule `to_definition` wrote (`schedule_from_definition` reads any kind).

        Raises:
            InvalidSchedule: a malformed definition, naming the key and the value.
        """
        fields = Fields(definition, "cron", ("expr", "tz", "jitter", "start", "end"))
        return cls(
            fields.text("expr"),
            tz=fields.text("tz", "UTC"),
            jitter=fields.seconds("jitter", 0.0),
            start=fields.instant("start"),
            end=fields.instant("end"),
        )

    def count_fires(self, after: datetime, until: datetime) -> int:
        # Walk a little (the common case: a wake a few ticks late), then count day by day.
        count, when = 0, require_aware(after)
        for _ in range(_CRON_WALK):
            following = self.next_fire(when)
            if following is None or following > until:
                return count
            count, when = count + 1, following
        return count + self._count_by_days(when, require_aware(until))

    def _count_by_days(self, after: datetime, until: datetime) -> int:
        """Fire times in (after, until], counted per local day from the fields' values: away
        from a UTC offset change each matching wall time fires once; the hours around a
        change (DST) are walked, fire by fire, under the DST rule."""
        after, until = after.astimezone(UTC), until.astimezone(UTC)
        if self.end is not None:
            until = min(until, self.end.astimezone(UTC))
        if self.start is not None:
            after = max(after, self.start.astimezone(UTC) - TICK)
        if until <= after:
            return 0
        zone = self._zone
        times = self._times_of_day()
        count = 0
        first_day, last_day = after.astimezone(zone).date(), until.astimezone(zone).date()
        for day in self._matching_days(first_day, last_day):
            day_start = wall_instant(zone, datetime.combine(day, time()))
            day_end = wall_instant(zone, datetime.combine(day + timedelta(days=1), time()))
            low, high = max(after, day_start - TICK), min(until, day_end - TICK)
            if high <= low:
                continue
            opening = day_start.astimezone(zone).utcoffset()
            closing = (day_end - TICK).astimezone(zone).utcoffset()
            assert opening is not None
            assert closing is not None
            if opening == closing:
                count += _count_span(times, day, low, high, opening)
                continue
            change = offset_change(zone, day_start, day_end, opening)
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
            datetime.combine(first, time()) - TICK,
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
        before, later = offsets(zone, search)
        if before > later:  # `after` is inside a fall-back fold
            change = transition(zone, search, before, later).replace(tzinfo=None)
            fold_start, fold_end = change + later, change + before
            if local.fold == 1 and not wild:
                search = max(search, fold_end - TICK)  # a fixed time never fires twice
            elif local.fold == 0 and wild:
                repeat = (fold_start, fold_end)  # its wall times come round once more
        while True:
            wall = self._wall_after(search)
            if wall is None:
                return None
            if repeat is not None and wall >= repeat[1]:
                again = self._wall_after(repeat[0] - TICK)
                if again is not None and again < repeat[1]:
                    return again.replace(tzinfo=zone, fold=1).astimezone(UTC)
                repeat = None
            before, later = offsets(zone, wall)
            if before < later:  # a wall time a spring-forward gap swallows
                change = transition(zone, wall, before, later)
                if not wild:
                    return change
                search = change.astimezone(zone).replace(tzinfo=None) - TICK
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
    return Cron(expr, tz=tz, jitter=jitter, start=start, end=end)
