"""ProgramRecorder: what a ProgramActor writes to its runner's store, and what it reads back.

A plain object, owned by one ProgramActor when the runner has a durable store. It turns the
actor's books into the store's rows: a `FiringRow` for each scheduled time about to run (so it
fires at most once), and after each run the outcome, the merged state, the counters and the run
record in one `Write` (so the stored state is always the merge of the stored successes). A
firing is concluded once: when the last spawn that took it is done with it (a try to be retried
leaves it open), so any run a crash cuts off has an open firing. It also turns a
`StoredProgram` back into what an adopting actor starts from (the rows themselves:
`program_rows.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any

from actors.errors import StateNotSerializable
from actors.program import Program
from actors.runtime import ActorRef, forward_answer
from actors.schedules import Schedule
from actors.snapshots import RunRecord
from actors.store.abc import (
    FiringRow,
    FiringStatus,
    ProgramRow,
    Serializer,
    StoredProgram,
    Write,
)
from actors.tree.messages import FiringStored, Tick
from actors.tree.program_rows import (
    StoredError,
    adopted_records,
    definition_text,
    error_text,
    run_row,
    schedule_text,
)
from actors.tree.store_actor import Persist

if TYPE_CHECKING:
    from actors.tree.program_actor import ProgramActor
    from actors.tree.run_ledger import ActiveRun

__all__ = ["NullRecorder", "ProgramRecorder"]


class NullRecorder:
    """The recorder of a runner whose store keeps nothing: every method does nothing."""

    durable = False
    last_fire: datetime | None = None

    def keep_state(self, state: Any) -> None:
        """Nothing to keep."""

    def rescheduled(self, given: Schedule, schedule: Schedule, since: datetime) -> None:
        """Nothing to keep."""

    def save(self, actor: ProgramActor, *, first: bool = False, tick: bool = False) -> None:
        """Nothing to save."""

    def record(
        self, actor: ProgramActor, run: ActiveRun, record: RunRecord, *, final: bool = True
    ) -> None:
        """Nothing to record."""

    def store_first(self, actor: ProgramActor, tick: Tick) -> bool:
        """Nothing to store: the tick runs at once."""
        return False

    def taken(self, actor: ProgramActor, scheduled_at: datetime, takers: int) -> None:
        """Nothing was stored."""

    def dropped(self, actor: ProgramActor, scheduled_at: datetime) -> None:
        """Nothing was stored."""

    def snapshot(self, actor: ProgramActor) -> StoredProgram | None:
        """Nothing is stored."""
        return None

    def adopt(self, actor: ProgramActor, stored: StoredProgram) -> int:
        """Nothing was stored: start `min` spawns."""
        return actor.program.min

    def started(self, actor: ProgramActor, stored: StoredProgram | None) -> list[datetime]:
        """Nothing to store, no run to run again."""
        return []


class ProgramRecorder(NullRecorder):
    """Builds the writes of one program, and hands them to the store actor; keeps its state
    serialized.

    Args:
        epoch: the fencing epoch of this install: every write but the first carries it, and
            the store refuses one whose epoch is no longer the row's (a replaced install).
        store_ref: the runner's StoreActor.
        claimed: the runner claimed the program with `epoch` (several runners on one store):
            the first write carries it too, so nothing is written if another took it since.
    """

    durable = True

    def __init__(
        self,
        program: Program,
        schedule: Schedule,
        since: datetime,
        serializer: Serializer,
        runner_id: str,
        epoch: int,
        store_ref: ActorRef[Any],
        *,
        claimed: bool = False,
    ) -> None:
        self.store_ref = store_ref
        self.claimed = claimed
        self.program_id = program.id
        self.serializer = serializer
        self.runner_id = runner_id
        self.epoch = epoch
        self.definition = definition_text(program)
        self.schedule = schedule_text(program.schedule, schedule)
        self.since = since
        self.last_fire: datetime | None = None
        self.state: bytes | None = None  # the merged state as last stored
        # Stored firings taken by several spawns: how many still hold each, and the best
        # status of those done with it.
        self.takers: dict[datetime, tuple[int, FiringStatus]] = {}

    def persist(
        self, actor: ProgramActor, write: Write, then: Callable[[Future[Any]], Any] | None = None
    ) -> None:
        """Hand `write` to the store actor; `then(answer)` becomes a message to `actor` once
        it has committed."""
        reply: Future[Any] | None = None
        if then is not None:
            reply = Future()
            reply.add_done_callback(forward_answer(actor.actor_ref, then))
        actor.tell(self.store_ref, Persist(write, reply))

    def save(self, actor: ProgramActor, *, first: bool = False, tick: bool = False) -> None:
        """Store the program's row as it stands (`first`: the install's first write, which
        makes the row or takes it over).

        `tick`: only a tick's counters and position changed (it was skipped or missed). While
        a run is in flight, that is left to the write that concludes the run, which carries
        the row: a pool kept busy by ticks coming faster than its runs would otherwise write
        a row per tick, and the writer would fall behind the ticks."""
        if tick and actor.ledger.in_flight():
            return
        self.persist(actor, self.changed(actor, epoch=None if first and not self.claimed else True))

    def record(
        self, actor: ProgramActor, run: ActiveRun, record: RunRecord, *, final: bool = True
    ) -> None:
        """Store a try's record with the counters and the state, in one write. The final try
        of a run of a stored firing concludes the firing, once every spawn that took it is
        done; a try to be retried leaves it open, so a crash meanwhile is seen as one."""
        concluded = None
        if run.from_tick and final and record.scheduled_at is not None:
            concluded = self._taker_done(record.scheduled_at, _firing_status(record.status))
        self.persist(actor, self.outcome(actor, record, concluded))

    def taken(self, actor: ProgramActor, scheduled_at: datetime, takers: int) -> None:
        """The stored firing of `scheduled_at` was taken by `takers` spawns (each runs it, or
        queued it); none: it will not run, so it is concluded skipped at once."""
        if takers:
            self.takers[scheduled_at] = (takers, "skipped")
        else:
            self._conclude(actor, scheduled_at, "skipped")

    def dropped(self, actor: ProgramActor, scheduled_at: datetime) -> None:
        """A spawn that took the firing of `scheduled_at` will not run it (its queued tick was
        dropped)."""
        concluded = self._taker_done(scheduled_at, "skipped")
        if concluded is not None:
            self._conclude(actor, scheduled_at, concluded)

    def _taker_done(self, scheduled_at: datetime, status: FiringStatus) -> FiringStatus | None:
        """One taker of a firing is done with `status`: the firing's status if it was the
        last (completed if any taker completed it), else `None`."""
        left, so_far = self.takers.pop(scheduled_at, (1, status))
        best = max(status, so_far, key=_RANK.index)
        if left > 1:
            self.takers[scheduled_at] = (left - 1, best)
            return None
        return best

    def snapshot(self, actor: ProgramActor) -> StoredProgram | None:
        """The program as it stands, for a restart after its actor died (so the restart goes
        on from its books, not from nothing); `None` before it has a stored state."""
        if self.state is None:
            return None
        try:
            return StoredProgram(row=self.row(actor))
        except Exception:  # noqa: BLE001 - the restart then starts from the store's copy
            return None

    def store_first(self, actor: ProgramActor, tick: Tick) -> bool:
        """Store the firing of `tick` before anything runs it (so it fires at most once), and
        hold the idle spawns for it; `FiringStored` comes back once it is committed. `False`
        when it runs nowhere anyway, so there is nothing to store: no spawn, or every spawn
        busy and the program's `overlap` drops a tick a busy spawn gets."""
        members = actor.pool.members()
        takers = tuple(slot for slot in members if not slot.busy)
        if not members or (not takers and actor.program.overlap != "queue" and not tick.replay):
            return False
        for slot in takers:
            slot.awaiting = True
        actor.ledger.firings_pending += 1
        ids = tuple(slot.id for slot in takers)
        then = functools.partial(FiringStored, tick, ids)
        self.persist(actor, self.firing(actor, tick.scheduled_at), then=then)
        return True

    def _conclude(self, actor: ProgramActor, scheduled_at: datetime, status: FiringStatus) -> None:
        """Conclude a stored firing with no run of its own to record (its spawns were busy,
        or went): so it is not taken for a run a crash cut off."""
        outcome = FiringRow(
            program_id=self.program_id,
            scheduled_at=scheduled_at,
            status=status,
            runner_id=self.runner_id,
        )
        write = Write(
            program_id=self.program_id, program=self.row(actor), outcome=outcome, epoch=self.epoch
        )
        self.persist(actor, write)

    def started(self, actor: ProgramActor, stored: StoredProgram | None) -> list[datetime]:
        """An install has started its spawns: store its row, and record the runs a crash cut
        off (interrupted, counted failed). Returns the scheduled times to run again: those
        cut-off runs, if the program has `recover`."""
        self.save(actor, first=True)
        again = []
        now = actor.runtime.clock.now()
        for firing in stored.open_firings if stored is not None else ():
            record = actor.ledger.interrupted(firing.run_id, firing.scheduled_at, now)
            # At least once: the firing stays open until the run again concludes it, so a
            # crash during that run is seen as one too.
            recover = actor.program.recover
            self.persist(actor, self.outcome(actor, record, None if recover else "interrupted"))
            if recover:
                again.append(firing.scheduled_at)
        return again

    def rescheduled(self, given: Schedule, schedule: Schedule, since: datetime) -> None:
        """The program follows `schedule` (from `given`, anchored at `since`) now."""
        self.schedule = schedule_text(given, schedule)
        self.since = since

    def keep_state(self, state: Any) -> None:
        """Serialize `state`, the program's state from now on.

        Raises:
            StateNotSerializable: naming the program and why; nothing changes.
        """
        try:
            self.state = self.serializer.dumps(state)
        except (TypeError, ValueError, OverflowError, RecursionError) as error:
            msg = (
                f"the state of program {self.program_id!r} cannot be stored as "
                f"{self.serializer.name}: {error} (the run fails and the stored state stays as "
                "it was; store JSON-friendly values, or open the store with serializer='pickle')"
            )
            raise StateNotSerializable(msg) from error

    def adopt(self, actor: ProgramActor, stored: StoredProgram) -> int:
        """Take over a stored program: its state, books, pause and position; returns how many
        spawns to start (as many as it had, within `[min, max]`)."""
        row = stored.row
        actor.state = self.serializer.loads(row.state)
        self.state = row.state
        last_error = None if row.last_error is None else StoredError(row.last_error)
        counters = (row.runs, row.succeeded, row.failed, row.skipped, row.missed)
        actor.ledger.restore(counters, row.last_run, last_error, adopted_records(stored))
        actor.phase.paused = actor.phase.paused or row.paused
        self.last_fire = row.last_fire
        program = actor.program
        most = row.spawns if program.max is None else min(row.spawns, program.max)
        return max(program.min, most)

    def row(self, actor: ProgramActor) -> ProgramRow:
        """The program's row as it stands."""
        if self.state is None:
            self.keep_state(actor.state)
        assert self.state is not None
        ledger = actor.ledger
        return ProgramRow(
            id=self.program_id,
            definition=self.definition,
            schedule=self.schedule,
            since=self.since,
            state=self.state,
            runs=ledger.runs,
            succeeded=ledger.succeeded,
            failed=ledger.failed,
            skipped=ledger.skipped,
            missed=ledger.missed,
            last_run=ledger.last_run,
            last_error=error_text(ledger.last_error),
            last_fire=self.last_fire,
            next_fire=actor.next_run,
            paused=actor.phase.paused,
            spawns=len(actor.pool.members()),
            owner=self.runner_id,
            epoch=self.epoch,
        )

    def changed(self, actor: ProgramActor, *, epoch: int | bool | None = True) -> Write:
        """The row again, after a change of counters, position, pause or pool size (`epoch`:
        `None` for the first write of an install, which makes or takes over the row)."""
        return Write(
            program_id=self.program_id,
            program=self.row(actor),
            epoch=self.epoch if epoch is True else None,
        )

    def firing(self, actor: ProgramActor, scheduled_at: datetime) -> Write:
        """Record `scheduled_at` as fired, with the position moved to it: committed before its
        runs start, so the time never fires twice."""
        self.last_fire = scheduled_at
        firing = FiringRow(
            program_id=self.program_id, scheduled_at=scheduled_at, runner_id=self.runner_id
        )
        return Write(
            program_id=self.program_id, firing=firing, program=self.row(actor), epoch=self.epoch
        )

    def outcome(
        self, actor: ProgramActor, record: RunRecord, concluded: FiringStatus | None
    ) -> Write:
        """A try's record, with the counters and the state merged from it, in one write; with
        `concluded`, its firing's outcome too."""
        outcome = None
        if concluded is not None and record.scheduled_at is not None:
            outcome = FiringRow(
                program_id=self.program_id,
                scheduled_at=record.scheduled_at,
                status=concluded,
                run_id=record.id,
                runner_id=self.runner_id,
            )
        return Write(
            program_id=self.program_id,
            program=self.row(actor),
            outcome=outcome,
            run=run_row(record),
            epoch=self.epoch,
        )


#: A firing's statuses, from the least to the most: taken by several spawns, it ends as the
#: most any of them reached (completed if one completed it).
_RANK: tuple[FiringStatus, ...] = ("skipped", "interrupted", "failed", "completed")


def _firing_status(status: str) -> FiringStatus:
    """The status a firing takes from the final status of its run."""
    if status in ("completed", "interrupted"):
        return status  # type: ignore[return-value]
    return "failed"
