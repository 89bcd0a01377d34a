"""Time zones and wall clocks: how a wall time in a zone becomes an instant, across DST.

`cron` and `at("HH:MM")` read times of day in a zone. These helpers find the zone by name, tell an
ordinary wall time from one a spring-forward gap swallows or a fall-back repeats (PEP 495's
`fold`), and find the instant of the change. Fire times leave as `in_zone(...)`: the zone's wall
time with that moment's offset fixed, so they read locally and compare as instants.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from actors.errors import InvalidSchedule

__all__ = [
    "TICK",
    "in_zone",
    "offset_change",
    "offsets",
    "transition",
    "wall_instant",
    "zone_for",
    "zone_name",
]

#: The finest step between two datetimes: "just before" a time is `when - TICK`.
TICK = timedelta(microseconds=1)


def zone_for(tz: Any) -> tzinfo:
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


def zone_name(tz: str | ZoneInfo) -> str:
    """The name a schedule keeps for its zone: a `ZoneInfo`'s key, else the name as given."""
    return tz.key if isinstance(tz, ZoneInfo) else tz


def in_zone(instant: datetime, zone: tzinfo) -> datetime:
    """`instant` as the wall time of `zone`, with that moment's offset as a fixed tzinfo.

    A fixed offset keeps the local reading (`03:00+02:00`) and, unlike a zoneinfo datetime in a
    repeated hour, always compares, sorts and hashes by the instant it stands for.
    """
    local = instant.astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None  # an aware datetime in a zone always has one
    return local.replace(tzinfo=timezone(offset), fold=0)


def offsets(zone: tzinfo, wall: datetime) -> tuple[timedelta, timedelta]:
    """The UTC offsets of naive `wall` read with fold=0 and fold=1 (PEP 495).

    Equal: an ordinary wall time. fold=0 larger: a repeated wall time (a fall-back "fold").
    fold=0 smaller: a wall time that never happens (a spring-forward "gap").
    """
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert first is not None
    assert second is not None
    return first, second


def transition(zone: tzinfo, wall: datetime, before: timedelta, after: timedelta) -> datetime:
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


def wall_instant(zone: tzinfo, wall: datetime) -> datetime:
    """The one instant (UTC) a wall time stands for under cron's rule for a fixed time of day.

    A repeated wall time is its first occurrence; a wall time inside a spring-forward gap is the
    end of the gap (the first valid instant after it).
    """
    before, after = offsets(zone, wall)
    if before < after:  # in a gap
        return transition(zone, wall, before, after)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def offset_change(zone: tzinfo, start: datetime, end: datetime, opening: timedelta) -> datetime:
    """The instant (UTC) in [start, end) where `zone`'s UTC offset stops being `opening`."""
    low, high = math.floor(start.timestamp()), math.ceil(end.timestamp())
    while high - low > 1:  # tz database transitions fall on whole seconds
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == opening:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)
