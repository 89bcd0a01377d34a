"""Schedules: when a program's ticks happen.

Every schedule is a frozen attrs class with a pure `next_fire(after)`: given a time, it returns the
first fire time strictly after it, or `None` when the schedule has no more. A `TimerActor` owns
one schedule and turns its fire times into `Tick` messages; the schedule itself holds no state.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any

import attrs

from actors.errors import InvalidSchedule

__all__ = ["Every", "Manual", "Schedule", "every", "format_duration", "manual"]


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


@attrs.frozen
class Manual(Schedule):
    """No ticks: the program runs only when triggered."""

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
        InvalidSchedule: a non-positive interval, a negative delay or jitter, a naive datetime.
    """
    total = 0.0
    for name, value, size in (
        ("seconds", 0 if seconds is None else seconds, 1),
        ("minutes", minutes, 60),
        ("hours", hours, 3600),
        ("days", days, 86400),
    ):
        part = _seconds(name, value)
        if part < 0:
            msg = f"{name} must be >= 0, got {value!r}"
            raise InvalidSchedule(msg)
        total += part * size
    if total <= 0:
        msg = f"interval must be > 0 seconds, got seconds={seconds!r}"
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
