"""RunnerViews: what a runner shows of itself, its programs and its store's other runners.

A base of `Runner`: snapshots built by the actors (`status`, `info`, `spawns`, `history`,
`next_fires`), pictures of them (`timeline`), and with a store several runners share, the
programs the other runners run and the runners themselves (`cluster`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from actors._tracebacks import user_facing
from actors.snapshots import ProgramInfo, RunnerInfo, RunnerStatus, RunRecord, SpawnInfo
from actors.timeline import Timeline, render_timeline
from actors.tree.messages import GetHistory, GetNextFires, GetProgramInfo, GetSpawns, GetStatus
from actors.validation import check_int

if TYPE_CHECKING:
    from actors.clock import Clock
    from actors.membership import Membership

__all__ = ["MAX_FIRES", "RunnerViews"]

#: The most fire times `next_fires` gives at once.
MAX_FIRES = 1000


@user_facing
class RunnerViews:
    """Snapshots of a runner (a base of `Runner`, which sends the messages)."""

    id: str
    clock: Clock
    _members: Membership | None

    _call: Callable[..., Any]

    def status(self) -> RunnerStatus:
        """A snapshot of the whole runner; its `repr` is a table."""
        result: RunnerStatus = self._call(GetStatus())
        if self._members is None:
            return result
        local = {info.id for info in result.programs}
        remote = self._members.remote_programs(local)
        return attrs.evolve(result, programs=[*result.programs, *remote])

    def cluster(self) -> list[RunnerInfo]:
        """The runners sharing this runner's store, most recently heard of first (just this
        one for a store only one runner uses)."""
        if self._members is not None:
            return self._members.runners()
        now = self.clock.now()
        pid, host = os.getpid(), socket.gethostname()
        return [
            RunnerInfo(id=self.id, host=host, pid=pid, started_at=now, heartbeat=now, alive=True)
        ]

    def programs(self) -> list[ProgramInfo]:
        """A snapshot of every program, in install order."""
        return list(self.status().programs)

    def info(self, id: str) -> ProgramInfo:
        """A snapshot of one program."""
        result: ProgramInfo = self._call(GetProgramInfo(program_id=id))
        return result

    def spawns(self, id: str) -> list[SpawnInfo]:
        """The program's spawns not yet stopped (idle, running, stopping), oldest first."""
        result: list[SpawnInfo] = self._call(GetSpawns(program_id=id))
        return result

    def timeline(self, id: str, *, width: int = 60) -> Timeline:
        """The recent runs of each spawn of a program, drawn as a text timeline.

        Its `repr` is the plain picture; rich renders it too.
        """
        return render_timeline(self.history(id, limit=1000), now=self.clock.now(), width=width)

    def next_fires(self, id: str, n: int = 5) -> list[datetime]:
        """The program's next `n` fire times, soonest first (fewer when its schedule ends;
        none for a `manual()` one or one waiting for its upstream).

        Raises:
            ProgramNotFound: no such program.
            ValueError: `n` is not an int from 1 to `MAX_FIRES` (the program's actor works
                them out, and an actor must not be kept busy).
        """
        check_int("n", n, at_least=1, at_most=MAX_FIRES, error=ValueError)
        result: list[datetime] = self._call(GetNextFires(program_id=id, n=n))
        return result

    def history(self, id: str, limit: int = 50) -> list[RunRecord]:
        """The program's most recent runs, newest first (running ones first of all)."""
        result: list[RunRecord] = self._call(GetHistory(program_id=id, limit=limit))
        return result
