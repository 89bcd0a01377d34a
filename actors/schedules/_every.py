"""`every(...)`: a fixed-rate grid of fire times that never drifts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from actors.errors import InvalidSchedule
from actors.schedules._base import Schedule, check_bounds, format_duration
from actors.schedules._encoding import Fields, encode_instant, encode_seconds
from actors.validation import MICROSECOND, as_seconds, check_instance, check_seconds

__all__ = ["Every", "every"]

#: The finest interval a `timedelta` holds, in seconds.


@attrs.frozen
class Every(Schedule):
    """A fixed-rate grid that never drifts: `origin + k * interval` for k = 0, 1, 2, ...

    The origin is `start + delay`, where `start` defaults to the install time and `delay`
    defaults to one interval (so the first tick comes one interval after the start).
    """

    interval: timedelta
    start: datetime | None = None
    end: datetime | None = None
    jitter: float = attrs.field(default=0.0, converter=as_seconds)
    delay: timedelta | None = None

    def __attrs_post_init__(self) -> None:
        check_instance("interval", self.interval, timedelta, error=InvalidSchedule)
        check_seconds("interval", self.interval, positive=True, error=InvalidSchedule)
        check_bounds(self.start, self.end)
        check_seconds("jitter", self.jitter, error=InvalidSchedule)
        check_instance("delay", self.delay, timedelta, optional=True, error=InvalidSchedule)
        check_seconds("delay", self.delay, optional=True, error=InvalidSchedule)

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

    def to_definition(self) -> dict[str, Any]:
        return {
            "kind": "every",
            "interval": self.seconds,
            "start": encode_instant(self.start),
            "end": encode_instant(self.end),
            "jitter": encode_seconds(self.jitter),
            "delay": encode_seconds(self.delay),
        }

    @classmethod
    def from_definition(cls, definition: Any) -> Every:
        """The schedule `to_definition` wrote (`schedule_from_definition` reads any kind).

        Raises:
            InvalidSchedule: a malformed definition, naming the key and the value.
        """
        fields = Fields(definition, "every", ("interval", "start", "end", "jitter", "delay"))
        return cls(
            interval=fields.duration("interval"),
            start=fields.instant("start"),
            end=fields.instant("end"),
            jitter=fields.seconds("jitter", 0.0),
            delay=fields.duration_or_none("delay"),
        )

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
        part = check_seconds(name, value, signed=True, error=InvalidSchedule)
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
    if total < MICROSECOND:
        msg = f"every: interval must be at least 1 microsecond, got {got}"
        raise InvalidSchedule(msg)
    first_delay = check_seconds("delay", delay, optional=True, error=InvalidSchedule)
    return Every(
        interval=timedelta(seconds=total),
        start=start,
        end=end,
        jitter=check_seconds("jitter", jitter, error=InvalidSchedule),
        delay=None if first_delay is None else timedelta(seconds=first_delay),
    )
