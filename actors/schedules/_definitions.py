"""`schedule_from_definition`: any schedule back from the dict its `to_definition()` wrote.

The encoding (float seconds, ISO 8601 datetimes with their offset, the `"kind"` key) is
`_encoding`'s; each schedule class reads its own kind with `from_definition`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from actors.errors import InvalidSchedule
from actors.schedules._base import Schedule
from actors.schedules._cron import Cron
from actors.schedules._every import Every
from actors.schedules._once import After, At
from actors.schedules._triggered import Manual, OnSuccess

__all__ = ["schedule_from_definition"]

#: Each `"kind"` and the class that reads it.
_KINDS: Mapping[str, Callable[[Any], Schedule]] = {
    "after": After.from_definition,
    "at": At.from_definition,
    "cron": Cron.from_definition,
    "every": Every.from_definition,
    "manual": Manual.from_definition,
    "on_success": OnSuccess.from_definition,
}


def schedule_from_definition(definition: Any) -> Schedule:
    """The schedule a `to_definition()` dict describes: `schedule_from_definition(s.to_definition())
    == s` for every schedule, anchored or not.

    Args:
        definition: a dict with a `"kind"` (`"every"`, `"cron"`, `"at"`, `"after"`, `"manual"`,
            `"on_success"`) and that kind's keys; a missing key other than the required ones
            (`interval`, `expr`, `delay` of `after`, `upstream`) takes the schedule's default.

    Raises:
        InvalidSchedule: not a dict, an unknown or missing kind, an unknown or missing key, or
            a value of the wrong type or out of range; the message names the key and the value.
    """
    if not isinstance(definition, Mapping):
        msg = f"a schedule definition must be a dict with a 'kind', got {definition!r}"
        raise InvalidSchedule(msg)
    kind = definition.get("kind")
    read = _KINDS.get(kind) if isinstance(kind, str) else None
    if read is None:
        known = ", ".join(map(repr, _KINDS))
        msg = (
            f"a schedule definition's kind must be one of {known}, "
            f"got {kind!r} in {dict(definition)!r}"
        )
        raise InvalidSchedule(msg)
    return read(definition)
