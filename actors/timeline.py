"""Timelines: the recent runs of a program drawn as text, one row per spawn.

`render_timeline(records)` takes `RunRecord`s (such as `runner.history("worker")`) and returns a
`Timeline`: a rich renderable whose `repr` is the same picture in plain text, so it prints
nicely in a console, in IPython and in rich. `timeline_text(records)` returns that text.

    worker: 7 records, 00:00:01.000 → 00:00:10.000 (9s, 225ms a column)
    worker-1 │█████   ██████   ✗✗✗✗✗✗   ██████        │
    worker-2 │                 ████████ ▒▒▒▒▒▒▒▒▒▒▒▒▒▒│
             00:00:01.000                  00:00:10.000
    █ completed  ✗ failed  ▒ running  ░ pending  · skipped/missed  c cancelled

Time runs left to right, from the oldest record's scheduled (or start) time to `now`. Each run
is a bar from its `started_at` to its `finished_at` (a running one reaches `now`); a tick that
never ran (skipped, missed) or has not started (pending) is one mark at its scheduled time.
Every run gets at least one cell, and where runs share a cell the most telling status wins:
failed, then cancelled, running, completed, pending, skipped and missed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import attrs
from rich.console import Group
from rich.text import Text

from actors.snapshots import RunRecord, RunStatus
from actors.validation import check_int

__all__ = ["GLYPHS", "Timeline", "render_timeline", "timeline_text"]

#: The character that draws each status.
GLYPHS: dict[RunStatus, str] = {
    "completed": "█",
    "failed": "✗",
    "running": "▒",
    "pending": "░",
    "skipped": "·",
    "missed": "·",
    "cancelled": "c",
}

_STYLES: dict[RunStatus, str] = {
    "completed": "green",
    "failed": "bold red",
    "running": "yellow",
    "pending": "cyan",
    "skipped": "dim",
    "missed": "dim",
    "cancelled": "magenta",
}

#: Where runs share a cell, the status earlier in this list is drawn.
_PRECEDENCE: tuple[RunStatus, ...] = (
    "failed",
    "cancelled",
    "running",
    "completed",
    "pending",
    "skipped",
    "missed",
)
_RANK = {status: rank for rank, status in enumerate(_PRECEDENCE)}

_LEGEND: tuple[tuple[str, RunStatus], ...] = (
    ("completed", "completed"),
    ("failed", "failed"),
    ("running", "running"),
    ("pending", "pending"),
    ("skipped/missed", "skipped"),
    ("cancelled", "cancelled"),
)

#: The row of records that have no spawn (a tick that found no spawn, a missed tick).
NO_SPAWN = "(no spawn)"


def _natural(label: str) -> tuple[Any, ...]:
    """Sort `worker-2` before `worker-10`, and the no-spawn row last."""
    parts = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", label)]
    return (label == NO_SPAWN, [(isinstance(p, int), p) for p in parts])


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _duration(seconds: float) -> str:
    """A short human duration: `250ms`, `1.5s`, `30s`, `4m10s`, `2h3m`, `3d4h`."""
    if seconds < 1:
        return f"{seconds * 1000:.3g}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


def _stamp(when: datetime, span: float) -> str:
    """`when` as precisely as the span needs: milliseconds under 10 s, dates over a day."""
    if span < 10:
        return when.strftime("%H:%M:%S.%f")[:-3]
    if span < 86_400:
        return when.strftime("%H:%M:%S")
    return when.strftime("%Y-%m-%d %H:%M")


@attrs.frozen(repr=False)
class Timeline:
    """A text timeline of runs: one row per spawn, time along the x axis.

    Build one with `render_timeline`. It is a rich renderable (`__rich__`, in colour), and its
    `repr` and `str` are the same picture in plain text.

    Attributes:
        records: the records drawn.
        start: the time at the left edge (`None` when there is nothing to draw).
        end: the time at the right edge (`now`).
        width: the number of columns the time axis has.
    """

    records: tuple[RunRecord, ...]
    start: datetime | None
    end: datetime | None
    width: int

    @property
    def span(self) -> float:
        """Seconds from `start` to `end`."""
        if self.start is None or self.end is None:
            return 0.0
        return max(0.0, (self.end - self.start).total_seconds())

    def rows(self) -> dict[str, list[RunStatus | None]]:
        """Each spawn's cells, left to right: the status drawn there, or `None`."""
        rows: dict[str, list[RunStatus | None]] = {}
        for record in self.records:
            cells = rows.setdefault(record.spawn or NO_SPAWN, [None] * self.width)
            first, last = self._columns(record)
            if first is None or last is None:
                continue
            for column in range(first, last + 1):
                current = cells[column]
                if current is None or _RANK[record.status] < _RANK[current]:
                    cells[column] = record.status
        return {label: rows[label] for label in sorted(rows, key=_natural)}

    def _position(self, when: datetime) -> float:
        """`when` in columns from the left edge (not clipped)."""
        assert self.start is not None
        span = self.span
        if span <= 0:
            return 0.0
        return (_aware(when) - self.start).total_seconds() / span * self.width

    def _clip(self, column: int) -> int:
        return min(max(column, 0), self.width - 1)

    def _columns(self, record: RunRecord) -> tuple[int | None, int | None]:
        """The first and last column a record covers, or `(None, None)` if it has no time."""
        if record.started_at is None:
            if record.scheduled_at is None:
                return None, None
            mark = self._clip(math.floor(self._position(record.scheduled_at)))
            return mark, mark
        first = self._clip(math.floor(self._position(record.started_at)))
        if record.finished_at is not None:
            last = self._clip(math.ceil(self._position(record.finished_at)) - 1)
        elif record.status == "running" and self.end is not None:
            last = self.width - 1
        else:
            last = first
        return first, max(first, last)

    def _title(self) -> str:
        programs = list(dict.fromkeys(record.program for record in self.records))
        names = ", ".join(programs) if programs else "timeline"
        if self.start is None or self.end is None:
            return f"{names}: no runs to draw"
        span = self.span
        count = len(self.records)
        return (
            f"{names}: {count} record{'s' if count != 1 else ''}, "
            f"{_stamp(self.start, span)} → {_stamp(self.end, span)} "
            f"({_duration(span)}, {_duration(span / self.width)} a column)"
        )

    def lines(self) -> list[Text]:
        """The picture, one styled `Text` per line."""
        lines = [Text(self._title(), style="bold")]
        rows = self.rows()
        if not rows or self.start is None or self.end is None:
            return lines
        label_width = max(len(label) for label in rows)
        for label, cells in rows.items():
            line = Text(f"{label:<{label_width}} │")
            for status in cells:
                if status is None:
                    line.append(" ")
                else:
                    line.append(GLYPHS[status], style=_STYLES[status])
            line.append("│")
            lines.append(line)
        left, right = _stamp(self.start, self.span), _stamp(self.end, self.span)
        gap = max(1, self.width + 2 - len(left) - len(right))
        lines.append(Text(f"{'':<{label_width}} {left}{' ' * gap}{right}", style="dim"))
        legend = Text()
        for index, (name, status) in enumerate(_LEGEND):
            if index:
                legend.append("  ")
            legend.append(GLYPHS[status], style=_STYLES[status])
            legend.append(f" {name}")
        lines.append(legend)
        return lines

    def __rich__(self) -> Group:
        return Group(*self.lines())

    def __str__(self) -> str:
        return "\n".join(line.plain.rstrip() for line in self.lines())

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def render_timeline(
    records: Iterable[RunRecord], *, now: datetime | None = None, width: int = 60
) -> Timeline:
    """Draw runs as a text timeline, one row per spawn (see the module docstring).

    Args:
        records: `RunRecord`s in any order, such as `runner.history("worker")`.
        now: the right edge of the time axis, where running runs end; default: the latest time
            in the records. Pass the runner's `clock.now()` to see idle time up to now. A naive
            datetime is taken as UTC.
        width: the number of columns of the time axis (at least 1).

    Returns:
        A `Timeline`: a rich renderable whose `repr` is plain text.

    Raises:
        ValueError: `width` is not an int >= 1.
    """
    check_int("width", width, at_least=1, error=ValueError)
    kept = tuple(records)
    times = [
        _aware(when)
        for record in kept
        for when in (record.scheduled_at, record.started_at, record.finished_at)
        if when is not None
    ]
    if not times:
        return Timeline(records=kept, start=None, end=None, width=width)
    starts = [
        _aware(when)
        for record in kept
        for when in (record.scheduled_at, record.started_at)
        if when is not None
    ]
    start = min(starts) if starts else min(times)
    end = _aware(now) if now is not None else max(times)
    end = max(end.astimezone(start.tzinfo), start)
    return Timeline(records=kept, start=start, end=end, width=width)


def timeline_text(
    records: Iterable[RunRecord], *, now: datetime | None = None, width: int = 60
) -> str:
    """The timeline of `render_timeline` as plain text (no colour), lines joined by newlines."""
    return str(render_timeline(records, now=now, width=width))
