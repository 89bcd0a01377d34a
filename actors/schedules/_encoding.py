"""How schedules become JSON-safe definitions and back: datetimes, durations, and a reader.

A definition is a dict of JSON values with a `"kind"` key (`{"kind": "every", "interval": 60.0,
...}`). Durations are float seconds. A datetime is an ISO 8601 string keeping its UTC offset
(`"2026-03-01T09:00:00+01:00"`); one in a `zoneinfo` zone also names the zone, in brackets after
the offset as RFC 9557 writes it (`"2026-10-25T02:30:00+01:00[Europe/Berlin]"`), so it comes back
in that zone, on the same side of a fall-back's repeated hour, and compares equal to the original.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from actors.errors import InvalidSchedule
from actors.validation import is_number

__all__ = ["Fields", "encode_instant", "encode_seconds"]

_INSTANT = re.compile(r"^(?P<iso>[^\[\]]+)(?:\[(?P<zone>[^\[\]]+)\])?$")

#: Marks a key with no default: `Fields` refuses a definition without it.
_REQUIRED: Any = object()


def encode_seconds(value: float | timedelta | None) -> float | None:
    """A duration as float seconds (`None` stays `None`)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def encode_instant(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 with its offset, and `[zone]` when it is in a `ZoneInfo`."""
    if value is None:
        return None
    text = value.isoformat()
    key = getattr(value.tzinfo, "key", None) if isinstance(value.tzinfo, ZoneInfo) else None
    return f"{text}[{key}]" if key else text


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _in_zone(parsed: datetime, zone: ZoneInfo) -> datetime:
    """`parsed` (a fixed offset) as the same wall time in `zone`, on the fold side its offset
    says (a repeated hour has two offsets), or as the same instant if neither side matches."""
    wall = parsed.replace(tzinfo=None)
    for fold in (0, 1):
        candidate = wall.replace(tzinfo=zone, fold=fold)
        if candidate.utcoffset() == parsed.utcoffset():
            return candidate
    return parsed.astimezone(zone)  # the zone's rules changed since: keep the instant


class Fields:
    """Reads one schedule definition, refusing what is malformed with an `InvalidSchedule` that
    names the kind, the key and the value.

    Args:
        definition: what to read (anything: it is checked to be a dict of the right kind).
        kind: the `"kind"` it must have.
        keys: the keys it may have besides `"kind"`; `Fields` refuses any other.
    """

    def __init__(self, definition: Any, kind: str, keys: Iterable[str]) -> None:
        self.kind = kind
        if not isinstance(definition, Mapping):
            msg = f"a schedule definition must be a dict with a 'kind', got {definition!r}"
            raise InvalidSchedule(msg)
        self.definition = definition
        if definition.get("kind") != kind:
            self.fail("kind", repr(kind), definition.get("kind"))
        unknown = sorted(map(str, set(definition) - {"kind", *keys}))
        if unknown:
            msg = f"{kind} schedule definition: unknown key(s) {', '.join(map(repr, unknown))}"
            raise InvalidSchedule(f"{msg} in {dict(definition)!r}")

    def fail(self, key: str, expected: str, value: Any) -> NoReturn:
        """Raise `InvalidSchedule`: `key` of this kind's definition is not `expected`."""
        msg = f"{self.kind} schedule definition: {key} must be {expected}, got {value!r}"
        raise InvalidSchedule(msg)

    def _get(self, key: str, default: Any) -> Any:
        if key in self.definition:
            return self.definition[key]
        if default is _REQUIRED:
            msg = (
                f"{self.kind} schedule definition: {key} is required, got {dict(self.definition)!r}"
            )
            raise InvalidSchedule(msg)
        return default

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        """A str (the schedule checks what it says)."""
        value = self._get(key, default)
        if not isinstance(value, str):
            self.fail(key, "a str", value)
        return value

    def seconds(self, key: str, default: Any = _REQUIRED) -> float:
        """Float seconds: a finite number (its sign is the schedule's to judge)."""
        value = self._get(key, default)
        if not is_number(value) or not math.isfinite(value):
            self.fail(key, "a finite number of seconds", value)
        return float(value)

    def seconds_or_none(self, key: str) -> float | None:
        """Float seconds, or `None` (also when the key is missing)."""
        if self._get(key, None) is None:
            return None
        return self.seconds(key)

    def duration(self, key: str) -> timedelta:
        """Float seconds (required) as a `timedelta`, to the microsecond."""
        value = self.seconds(key)
        try:
            return timedelta(seconds=value)
        except OverflowError:
            self.fail(key, "seconds a timedelta can hold", self.definition[key])

    def duration_or_none(self, key: str) -> timedelta | None:
        """Float seconds as a `timedelta`, or `None` (also when the key is missing)."""
        if self._get(key, None) is None:
            return None
        return self.duration(key)

    def instant(self, key: str) -> datetime | None:
        """An ISO 8601 datetime with its offset (and maybe `[zone]`), or `None` (the default)."""
        value = self._get(key, None)
        if value is None:
            return None
        expected = "an ISO 8601 datetime with a UTC offset, such as '2026-03-01T09:00:00+00:00'"
        match = _INSTANT.match(value) if isinstance(value, str) else None
        if match is None:
            self.fail(key, expected, value)
        try:
            parsed = datetime.fromisoformat(match["iso"])
        except ValueError:
            self.fail(key, expected, value)
        if parsed.utcoffset() is None:
            self.fail(key, expected + " (this one has no offset)", value)
        if match["zone"] is None:
            return parsed
        zone = _zone(match["zone"])
        if zone is None:
            self.fail(key, expected + ", in a known IANA time zone", value)
        return _in_zone(parsed, zone)

    def time_of_day(self, key: str) -> time | None:
        """An ISO 8601 time of day (`"09:00:00"`), or `None` (the default)."""
        value = self._get(key, None)
        if value is None:
            return None
        expected = "an ISO 8601 time of day such as '09:00:00', or None"
        if not isinstance(value, str):
            self.fail(key, expected, value)
        try:
            return time.fromisoformat(value)
        except ValueError:
            self.fail(key, expected, value)
