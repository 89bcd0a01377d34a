"""The `Schedule` base class every schedule derives from, and what the schedules share.

A schedule is a frozen attrs class with a pure `next_fire(after)`; the defaults here (`first_fire`,
`anchored`, `count_fires`, `latest_fires`, no `upstream`) suit a schedule with a handful of fire
times, and the schedules with many override them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from actors.errors import InvalidSchedule
from actors.validation import check_aware

__all__ = ["Schedule", "check_bounds", "format_duration", "require_aware"]


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


def check_bounds(start: datetime | None, end: datetime | None) -> None:
    """Refuse a naive or non-datetime `start`/`end`, and an `end` before the `start`."""
    check_aware("start", start, optional=True, error=InvalidSchedule)
    check_aware("end", end, optional=True, error=InvalidSchedule)
    if start is not None and end is not None and end < start:
        msg = f"end must not be before start, got start={start!r}, end={end!r}"
        raise InvalidSchedule(msg)


def require_aware(after: Any) -> datetime:
    """`after` in UTC; a `TypeError` if it is not an aware datetime (a caller's bug, not a bad
    schedule)."""
    if not isinstance(after, datetime) or after.tzinfo is None or after.utcoffset() is None:
        msg = f"next_fire needs an aware datetime, got {after!r}"
        raise TypeError(msg)
    return after.astimezone(UTC)


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

    def to_definition(self) -> dict[str, Any]:
        """This schedule as a JSON-safe dict with a `"kind"` key, which
        `schedule_from_definition` turns back into an equal schedule.

        Raises:
            NotImplementedError: a schedule class of its own (not one of actors') that does not
                say how it is written down; a program on it cannot be stored whole.
        """
        msg = f"{type(self).__name__} has no definition: it cannot be stored"
        raise NotImplementedError(msg)

    def upcoming(self, first: datetime | None, n: int) -> list[datetime]:
        """`first` (the next fire time, or `None`: no more) and the fire times after it, `n`
        in all at most, oldest first. Pure."""
        fires: list[datetime] = []
        when = first
        while when is not None and len(fires) < n:
            fires.append(when)
            when = self.next_fire(when)
        return fires

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
