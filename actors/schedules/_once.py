"""Once: `at(when)` at a datetime or the next "HH:MM", and `after(seconds)` after install."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import attrs

from actors.errors import InvalidSchedule
from actors.schedules._base import Schedule, format_duration, require_aware
from actors.schedules._encoding import Fields, encode_instant, encode_seconds
from actors.schedules._zones import in_zone, wall_instant, zone_for, zone_name
from actors.validation import check_aware, check_instance, check_seconds

__all__ = ["After", "At", "after", "at"]

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
        zone = zone_for(self.tz)
        object.__setattr__(self, "tz", zone_name(self.tz))
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
        check_instance(
            "time_of_day",
            self.time_of_day,
            time,
            what="a datetime.time",
            optional=True,
            error=InvalidSchedule,
        )

    def anchored(self, installed_at: datetime) -> At:
        if self.when is not None or self.time_of_day is None:
            return self
        installed = require_aware(installed_at)
        day = installed.astimezone(self._zone).date()
        fire = self._on(day)
        if fire < installed:
            fire = self._on(day + timedelta(days=1))
        return attrs.evolve(self, when=in_zone(fire, self._zone))

    def _on(self, day: date) -> datetime:
        assert self.time_of_day is not None
        return wall_instant(self._zone, datetime.combine(day, self.time_of_day))

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

    def to_definition(self) -> dict[str, Any]:
        return {
            "kind": "at",
            "when": encode_instant(self.when),
            "time_of_day": None if self.time_of_day is None else self.time_of_day.isoformat(),
            "tz": self.tz,
        }

    @classmethod
    def from_definition(cls, definition: Any) -> At:
        """The schedule `to_definition` wrote (`schedule_from_definition` reads any kind).

        Raises:
            InvalidSchedule: a malformed definition, naming the key and the value.
        """
        fields = Fields(definition, "at", ("when", "time_of_day", "tz"))
        return cls(
            when=fields.instant("when"),
            time_of_day=fields.time_of_day("time_of_day"),
            tz=fields.text("tz", "UTC"),
        )


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
        check_instance("delay", self.delay, timedelta, error=InvalidSchedule)
        check_seconds("delay", self.delay, error=InvalidSchedule)
        check_aware("fire_at", self.fire_at, optional=True, error=InvalidSchedule)

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

    def to_definition(self) -> dict[str, Any]:
        return {
            "kind": "after",
            "delay": encode_seconds(self.delay),
            "fire_at": encode_instant(self.fire_at),
        }

    @classmethod
    def from_definition(cls, definition: Any) -> After:
        """The schedule `to_definition` wrote (`schedule_from_definition` reads any kind).

        Raises:
            InvalidSchedule: a malformed definition, naming the key and the value.
        """
        fields = Fields(definition, "after", ("delay", "fire_at"))
        return cls(delay=fields.duration("delay"), fire_at=fields.instant("fire_at"))


def after(seconds: float | timedelta) -> After:
    """Once, `seconds` (a number or a `timedelta`, >= 0) after install; then it uninstalls.

    Raises:
        InvalidSchedule: a negative, non-finite or non-numeric value.
    """
    delay = check_seconds("seconds", seconds, error=InvalidSchedule)
    return After(delay=timedelta(seconds=delay))
