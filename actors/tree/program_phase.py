"""ProgramPhase: where a program is in its life, as its ProgramActor sees it.

A plain object: paused or not, waiting for its `on_success` upstream, finished (by `max_runs`,
or a timed schedule with no fire time left), done with its one `after()` tick, draining. From
these and two facts the actor adds (its pool failed; runs still in flight) comes the status
every snapshot shows.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import attrs

from actors.snapshots import ProgramStatus

__all__ = ["ProgramPhase"]


@attrs.define
class ProgramPhase:
    """The flags of a program's life; `status()` is what they add up to."""

    paused: bool = False
    #: on_success of a program that is not installed: no tick can come until it is.
    waiting_for: str | None = None
    max_runs_reached: bool = False
    #: A timed schedule with no fire time left: finished once its runs are done.
    exhausted: bool = False
    #: An after() schedule has ticked: the program uninstalls itself once idle.
    one_shot_fired: bool = False
    uninstall_asked: bool = False
    #: Who waits for the drain; stays non-empty once draining, so a tick queued behind the
    #: drain sees a draining program, not one with no spawns.
    drains: list[Future[Any]] = attrs.field(factory=list)
    drained: bool = False

    @property
    def draining(self) -> bool:
        """Stopping: taking no ticks, letting running work finish."""
        return bool(self.drains)

    def status(self, *, failed: bool, in_flight: int) -> ProgramStatus:
        """`failed` (too many restarts), `finished` (max_runs reached, or no fire time left
        and nothing in flight), `paused`, `waiting` (for its upstream) or `active`."""
        if failed:
            return "failed"
        if self.max_runs_reached or (self.exhausted and not in_flight):
            return "finished"
        if self.paused:
            return "paused"
        return "waiting" if self.waiting_for is not None else "active"
