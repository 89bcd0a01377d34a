"""MonitorRegistry: the supervisor's book of LoadMonitors (`Runner.autoscale`).

A plain object, owned by the SupervisorActor: at most one running monitor per program, each
numbered so a stale handle cannot stop a newer monitor; monitors replaced but not yet stopped;
and the last `MonitorInfo` of halted ones, so their handles can still answer `info()`.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs

from actors.runtime import ActorRef
from actors.snapshots import MonitorInfo

__all__ = ["RETIRED_MONITORS", "MonitorEntry", "MonitorRegistry"]

#: How many halted monitors' last `MonitorInfo` are kept for their handles.
RETIRED_MONITORS = 100


@attrs.define
class MonitorEntry:
    """A running LoadMonitor: its number (what its handle names) and its actor."""

    number: int
    ref: ActorRef[Any]


class MonitorRegistry:
    """Running, halting and retired monitors."""

    def __init__(self) -> None:
        self.running: dict[str, MonitorEntry] = {}  # program id -> its running monitor
        self.halting: dict[int, ActorRef[Any]] = {}  # replaced, not yet stopped
        self.retired: dict[int, MonitorInfo] = {}  # number -> last info, newest last
        self._numbers = itertools.count(1)

    def next_number(self) -> int:
        """The number of the next monitor started."""
        return next(self._numbers)

    def start(self, program_id: str, number: int, ref: ActorRef[Any]) -> MonitorEntry | None:
        """Record a new monitor of `program_id`; returns the one it replaces (now halting)."""
        old = self.running.pop(program_id, None)
        if old is not None:
            self.halting[old.number] = old.ref
        self.running[program_id] = MonitorEntry(number, ref)
        return old

    def find(self, program_id: str, number: int) -> MonitorEntry | None:
        """Monitor `number` of `program_id`, if it is still the program's running one."""
        entry = self.running.get(program_id)
        return entry if entry is not None and entry.number == number else None

    def halted(self, program_id: str, number: int, info: MonitorInfo) -> None:
        """Monitor `number` has halted: keep its last info for its handle."""
        if self.find(program_id, number) is not None:
            del self.running[program_id]
        self.halting.pop(number, None)
        self.retired[number] = info
        if len(self.retired) > RETIRED_MONITORS:
            del self.retired[next(iter(self.retired))]

    def clear(self) -> list[ActorRef[Any]]:
        """Forget every running and halting monitor; returns their actors, to be stopped."""
        refs = [*(entry.ref for entry in self.running.values()), *self.halting.values()]
        self.running.clear()
        self.halting.clear()
        return refs
