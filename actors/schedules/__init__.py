"""Schedules: when a program's ticks happen.

Every schedule is a frozen attrs class with a pure `next_fire(after)`: given a time, it returns the
first fire time strictly after it, or `None` when the schedule has no more. A `TimerActor` owns
one schedule and turns its fire times into `Tick` messages; the schedule itself holds no state.

- `every(...)`: a fixed-rate grid.            - `cron(expr, tz=...)`: cron, with Debian's DST rule.
- `at(when)`: once, at a datetime or "HH:MM".  - `after(seconds)`: once, that long after install.
- `manual()`: no ticks.                        - `on_success(program_id)`: after another's success.

Schedules that count "from install time" (`every` without `start`, `at("HH:MM")`, `after`) are
resolved by `anchored(installed_at)`, so `next_fire` never needs to know the time it is now.

One private module each, every name importable from here: `_base` (the `Schedule` class),
`_every`, `_cron` (parsing, the DST rule, counting fires), `_once` (`at`, `after`), `_triggered`
(`manual`, `on_success`), `_zones` (time zones and wall clocks, for `cron` and `at`), and
`_encoding` and `_definitions` (schedules as JSON-safe dicts: `schedule.to_definition()` and
`schedule_from_definition(d)`, for a store). The underscore keeps a module's name from shadowing
its factory: `actors.schedules.cron` is the function, never the module.
"""

from __future__ import annotations

from actors.schedules._base import Schedule, format_duration
from actors.schedules._cron import CRON_ALIASES as CRON_ALIASES
from actors.schedules._cron import Cron, cron
from actors.schedules._definitions import schedule_from_definition
from actors.schedules._every import Every, every
from actors.schedules._once import After, At, after, at
from actors.schedules._triggered import Manual, OnSuccess, manual, on_success
from actors.schedules._zones import zone_for

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
    "schedule_from_definition",
]

# The CLI reads a naive `--at` in a zone with this; kept under its old name, which
# `actors.cli` imports. New code: `actors.schedules._zones.zone_for`.
_zone = zone_for
