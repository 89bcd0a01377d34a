"""StoreSource: a dashboard of a store, read from outside any runner (`actors web --store`).

It reads what the runners of the store write: the programs' rows (status, counters, state,
owner, the next fire time), their recent runs (the history, the timeline, the events stream:
each run the store gains is an event), and the runners with their heartbeats. It runs nothing
and holds no lease, so it works beside running runners, and for a whole PostgreSQL cluster
sees every runner's programs.

Actions go to the runner that owns the program, as the call a runner makes to a program
another runner owns: the request is written to the store as a command, and the owner's
answer comes back the same way (`actors.forwarding.send_command`). A program's spawns are
asked of its owner that way too; the store keeps no row per spawn. Monitors live in their
runner only: a store's dashboard draws no load chart.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

import attrs

from actors.errors import ProgramNotFound, ProgramUnavailable
from actors.forwarding import send_command
from actors.schedules import schedule_from_definition
from actors.snapshots import ProgramInfo, ProgramStatus, RunnerInfo
from actors.store import Store
from actors.store.abc import Coordinator, ProgramRow, StoredProgram
from actors.store.codec import to_micros
from actors.store.runner_liveness import runner_infos
from actors.tree import messages as m
from actors.tree.program_rows import run_record
from actors.tree.program_view import stored_info
from actors.web.requests import Action
from actors.web.source import DashboardSource, Fresh, ProgramDetail

__all__ = ["StoreSource"]

#: How far back in run numbers the events look for runs that committed late (and how many
#: new runs, twice this, one look reads at most).
EVENT_WINDOW = 200

#: How long a program's page waits for its owner's list of spawns (seconds).
SPAWNS_WAIT = 2.0

#: Each run the store gains becomes an event of this kind.
_RUN_EVENTS = {
    "completed": "RunSucceeded",
    "failed": "RunFailed",
    "skipped": "RunSkipped",
    "missed": "RunMissed",
    "cancelled": "RunFailed",
}


class StoreSource(DashboardSource):
    """A dashboard of `store` (opened here, and closed by `close`).

    Args:
        store: the store the runners write.
        lease: the runners' lease (seconds, `Runner(lease=...)`): a runner not heard of for
            half of it is shown as not alive, as the runners themselves judge it.
        max_age: how old the programs' rows may be when they are shown again (seconds).
    """

    def __init__(self, store: Store, *, lease: float = 15.0, max_age: float = 0.25) -> None:
        super().__init__(max_age)
        self.store = store
        self.name = store.url
        self._span = int(lease * 1_000_000 / 2)
        self._lock = threading.Lock()  # the coordinator's connection, one thread at a time
        self._last_run = 0
        # An id of its own to open the store with: it never joins the runners (no lease, no
        # share of the programs), it only reads their rows and sends them calls.
        reader = f"web-{socket.gethostname()}-{os.getpid()}"
        store.program_rows()  # a store that is missing, foreign or newer says so: none is made
        store.open(reader)
        try:
            self._coordinator: Coordinator | None = store.coordinator(reader)
        except BaseException:
            store.close()
            raise
        self._programs = Fresh(self._read_programs, max_age)
        self._seen: deque[int] = deque(maxlen=EVENT_WINDOW * 4)  # run numbers told already

    def _now(self) -> int:
        return to_micros(datetime.now(UTC))

    def read_runners(self) -> list[RunnerInfo]:
        now = self._now()
        with self._lock:
            if self._coordinator is None:
                return []
            rows = self._coordinator.runners()
        return runner_infos(rows, now=now, span=self._span)

    def _alive(self) -> set[str]:
        return {runner.id for runner in self.runners() if runner.alive}

    def _read_programs(self) -> list[ProgramInfo]:
        rows, alive = self.store.program_rows(), self._alive()
        return [self._info(row, alive) for row in rows]

    def _info(self, row: ProgramRow, alive: set[str]) -> ProgramInfo:
        info = stored_info(StoredProgram(row=row), self.store.serializer, None)
        if row.definition is None and not row.schedule:
            return info  # a placeholder: its install has not written it yet
        live = row.owner in alive
        status: ProgramStatus = "paused" if row.paused else "active" if live else "waiting"
        return attrs.evolve(info, status=status, spawns=row.spawns if live else 0)

    def programs(self) -> list[ProgramInfo]:
        return self._programs.get()

    def read_detail(self, program_id: str, *, history: int) -> ProgramDetail:
        stored = self.store.load_program(program_id)
        if stored is None:
            raise ProgramNotFound(f"{self.store.url} holds no program {program_id!r}")
        row, notes = stored.row, []
        info = self._info(row, self._alive())
        try:
            schedule = schedule_from_definition(json.loads(row.schedule)["anchored"])
            next_fires = schedule.upcoming(row.next_fire, 5)
        except (ValueError, KeyError):
            next_fires = [] if row.next_fire is None else [row.next_fire]
        spawns: list[Any] = []
        if info.status in ("active", "paused"):
            try:
                spawns = self._ask_owner(m.GetSpawns(program_id=program_id), SPAWNS_WAIT)
            except Exception as error:  # noqa: BLE001 - the page shows the rest
                notes.append(f"its spawns are not known: {error}")
        else:
            notes.append("no live runner runs it: it has no spawns now")
        notes.append("a store keeps no LoadMonitor samples: the load chart is its runner's")
        return ProgramDetail(
            info=info,
            spawns=spawns,
            history=[run_record(run) for run in stored.runs[:history]],
            next_fires=next_fires,
            now=datetime.now(UTC),
            notes=notes,
        )

    def _ask_owner(self, message: Any, timeout: float) -> Any:
        """Send `message` to the runner that owns its program; its answer, or its error."""
        program_id = message.program_id
        now = self._now()
        with self._lock:
            coordinator = self._coordinator
            if coordinator is None:
                msg = f"{self.store.url} takes no calls (a store of one runner, or closed)"
                raise ProgramUnavailable(msg)
            owner = coordinator.owner_of(program_id, now=now, span=self._span)
        if owner is None:
            raise ProgramNotFound(f"{self.store.url} holds no program {program_id!r}")
        if owner[0] is None or not owner[1]:
            runner = "no runner" if owner[0] is None else f"its runner {owner[0]!r} is not alive"
            raise ProgramUnavailable(f"program {program_id!r} is not running now: {runner}")
        ok, value = send_command(coordinator, owner[0], message, now=now, timeout=timeout)
        if not ok:
            raise value
        return value

    def act(self, action: Action, timeout: float) -> Any:
        return self._ask_owner(action.message(), timeout)

    def refresh(self) -> None:
        # The first look shows the newest runs; later ones, what came since. Runs are numbered
        # as they are inserted, but several runners' transactions commit in any order: the
        # window looks back EVENT_WINDOW numbers for one that committed late.
        with self._lock:
            after = max(0, self._last_run - EVENT_WINDOW)
            runs = [
                (number, run)
                for number, run in self.store.recent_runs(after, EVENT_WINDOW * 2)
                if number not in self._seen
            ]
            self._seen.extend(number for number, _ in runs)
            if runs:
                self._last_run = max(self._last_run, runs[-1][0])
        for _, run in runs:
            when = run.finished_at or run.started_at or run.scheduled_at or datetime.now(UTC)
            outcome = run.error if run.error is not None else run.result
            text = f"run {run.run_id} {run.status}" + (f": {outcome:.200}" if outcome else "")
            kind = _RUN_EVENTS.get(run.status, "Run")
            self.events.add(when, run.program_id, kind, text, error=run.status == "failed")

    def close(self) -> None:
        with self._lock:
            coordinator, self._coordinator = self._coordinator, None
        if coordinator is not None:
            coordinator.close()
        self.store.close()
