"""EventLog: the newest events a dashboard has seen, numbered, for its events stream.

A browser asks for the events after the last number it has (`since`), so a stream that
reconnects misses nothing still kept, and sees nothing twice.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from datetime import datetime

import attrs

from actors import events as ev

__all__ = ["EVENTS_KEPT", "EventLog", "EventRecord", "describe"]

#: How many events the log keeps.
EVENTS_KEPT = 1000


@attrs.frozen(kw_only=True)
class EventRecord:
    """One event as the dashboard shows it: its kind (the event class's name) and a line."""

    seq: int
    at: datetime
    program: str
    kind: str
    text: str
    error: bool = False


def describe(event: ev.Event) -> tuple[str, bool]:
    """An event in words, and whether it tells of an error."""
    match event:
        case ev.RunStarted(run_id=run_id, spawn=spawn, attempt=attempt):
            return f"run {run_id} started on {spawn}{_try(attempt)}", False
        case ev.RunSucceeded(run_id=run_id, spawn=spawn, result=result):
            return f"run {run_id} succeeded on {spawn}: {result!r:.120}", False
        case ev.RunFailed(run_id=run_id, spawn=spawn, error=error, final=final):
            retry = "" if final else " (a retry follows)"
            return f"run {run_id} failed on {spawn}: {error!r:.200}{retry}", True
        case ev.RunSkipped(scheduled_at=when):
            return f"tick {when:%H:%M:%S} skipped", False
        case ev.RunMissed(count=count):
            return f"{count} tick{'s' if count != 1 else ''} missed", False
        case ev.SpawnStarted(spawn=spawn):
            return f"spawn {spawn} started", False
        case ev.SpawnStopped(spawn=spawn, reason=reason):
            return f"spawn {spawn} stopped ({reason})", False
        case ev.SpawnReplaced(spawn=spawn, replacement=replacement, reason=reason):
            return f"spawn {spawn} replaced by {replacement} ({reason})", True
        case ev.ScaledUp(from_spawns=old, to_spawns=new, sample=load):
            return f"scaled up {old} → {new} (load {load:g})", False
        case ev.ScaledDown(from_spawns=old, to_spawns=new, sample=load):
            return f"scaled down {old} → {new} (load {load:g})", False
        case ev.MetricFailed(error=error):
            return f"metric failed: {error!r:.200}", True
        case ev.ProgramInstalled():
            return "installed", False
        case ev.ProgramUninstalled():
            return "uninstalled", False
        case ev.ProgramFinished():
            return "finished: its schedule fires no more", False
    return type(event).__name__, False


def _try(attempt: int) -> str:
    return "" if attempt == 1 else f" (try {attempt})"


class EventLog:
    """The newest `EVENTS_KEPT` events, numbered from 1. Any thread."""

    def __init__(self) -> None:
        self._kept: deque[EventRecord] = deque(maxlen=EVENTS_KEPT)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, at: datetime, program: str, kind: str, text: str, error: bool = False) -> None:
        """Log one event."""
        with self._lock:
            record = EventRecord(
                seq=next(self._numbers), at=at, program=program, kind=kind, text=text, error=error
            )
            self._kept.append(record)

    def add_event(self, event: ev.Event) -> None:
        """Log one of a runner's events."""
        text, error = describe(event)
        self.add(event.at, event.program, type(event).__name__, text, error)

    def since(self, after: int, program: str | None = None, limit: int = 200) -> list[EventRecord]:
        """The events numbered after `after` (of `program` only, if given), oldest first: the
        newest `limit` of them."""
        with self._lock:
            kept = [
                record
                for record in self._kept
                if record.seq > after and (program is None or record.program == program)
            ]
        return kept[-limit:]
