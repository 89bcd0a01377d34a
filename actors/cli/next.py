"""`actors next "CRON"`: the next fire times of a cron expression, one ISO-8601 datetime a line.

It needs only the schedules, so that it starts fast: no runner, no pykka, no rich.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from actors.cli.usage import UsageError
from actors.schedules import _zone, cron

__all__ = ["next_command"]


def next_command(args: argparse.Namespace) -> int:
    """Print the next `-n` fire times of a cron expression, one ISO-8601 datetime a line."""
    schedule = cron(args.expr, tz=args.tz)
    when: datetime | None = _start_time(args.from_, args.tz)
    for _ in range(args.n):
        assert when is not None
        when = schedule.next_fire(when)
        if when is None:  # an expression that never fires again (croniter looks 50 years on)
            break
        print(when.isoformat())
    return 0


def _start_time(text: str | None, tz: str) -> datetime:
    """`--from` as an aware datetime (a naive one is a wall time in `tz`); default: now."""
    if text is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        msg = f"--from must be an ISO-8601 datetime such as 2026-03-29T00:00, got {text!r}"
        raise UsageError(f"actors next: error: {msg}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=_zone(tz))
