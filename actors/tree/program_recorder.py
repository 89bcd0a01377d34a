"""ProgramRecorder: what a ProgramActor writes to its runner's store, and what it reads back.

A plain object, owned by one ProgramActor when the runner has a durable store. It turns the
actor's books into the store's rows: a `FiringRow` for each scheduled time about to run (so it
fires at most once), and after each run the outcome, the merged state, the counters and the run
record in one `Write` (so the stored state is always the merge of the stored successes). It also
turns a `StoredProgram` back into what an adopting actor starts from.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pykka import ActorRef

from actors.errors import StateNotSerializable
from actors.program import Program
from actors.runtime import forward_answer
from actors.schedules import Schedule, schedule_from_definition
from actors.snapshots import RunRecord
from actors.store.abc import (
    FiringRow,
    FiringStatus,
    ProgramRow,
    RunRow,
    Serializer,
    StoredProgram,
    Write,
)
from actors.tree.messages import FiringStored, Tick
from actors.tree.store_actor import Persist

if TYPE_CHECKING:
    from actors.tree.program_actor import ProgramActor
    from actors.tree.run_ledger import ActiveRun

__all__ = [
    "NullRecorder",
    "ProgramRecorder",
    "StoredError",
    "adopted_records",
    "adoption_plan",
    "definition_text",
    "run_record",
    "run_row",
    "schedule_text",
]


class StoredError(Exception):
    """An error read back from a store: only its text survives (`"ValueError: bad row"`)."""


def _error_text(error: BaseException | None) -> str | None:
    if error is None:
        return None
    if isinstance(error, StoredError):
        return str(error)
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def schedule_text(given: Schedule, anchored: Schedule) -> str:
    """The JSON a store keeps of a program's schedule: as given, and as anchored at install
    (an adopting runner keeps the anchored one while the given one has not changed)."""
    definition = {"given": given.to_definition(), "anchored": anchored.to_definition()}
    return json.dumps(definition, sort_keys=True)


def definition_text(program: Program) -> str | None:
    """The JSON a store keeps of a program's definition; `None` if a callable has no
    reference (a lambda, a closure), so the program waits for code to install it."""
    definition = program.to_definition()
    return None if definition is None else json.dumps(definition, sort_keys=True)


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

    def record(self, actor: ProgramActor, run: ActiveRun, record: RunRecord) -> None:
        """Nothing to record."""

    def store_first(self, actor: ProgramActor, tick: Tick) -> bool:
        """Nothing to store: the tick runs at once."""
        return False

    def conclude(self, actor: ProgramActor, scheduled_at: datetime) -> None:
        """Nothing was stored."""

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
    ) -> None:
        self.store_ref = store_ref
        self.program_id = program.id
        self.serializer = serializer
        self.runner_id = runner_id
        self.epoch = epoch
        self.definition = definition_text(program)
        self.schedule = schedule_text(program.schedule, schedule)
        self.since = since
        self.last_fire: datetime | None = None
        self.state: bytes | None = None  # the merged state as last stored

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
        self.persist(actor, self.changed(actor, epoch=None if first else True))

    def record(self, actor: ProgramActor, run: ActiveRun, record: RunRecord) -> None:
        """Store a try's record with the counters and the state, in one write."""
        self.persist(actor, self.outcome(actor, record, scheduled=run.from_tick))

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

    def conclude(self, actor: ProgramActor, scheduled_at: datetime) -> None:
        """A stored firing will not run (its spawns were busy, or went): mark it skipped, so
        it is not taken for a run a crash cut off."""
        outcome = FiringRow(
            program_id=self.program_id,
            scheduled_at=scheduled_at,
            status="skipped",
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
            self.persist(actor, self.outcome(actor, record, scheduled=True))
            if actor.program.recover:  # at least once: the cut-off run runs again
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
            last_error=_error_text(ledger.last_error),
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

    def outcome(self, actor: ProgramActor, record: RunRecord, *, scheduled: bool) -> Write:
        """A try's record, with the counters and the state merged from it, in one write; for a
        run of a scheduled tick, the firing's outcome too."""
        outcome = None
        if scheduled and record.scheduled_at is not None:
            status: FiringStatus = "completed" if record.status == "completed" else "failed"
            if record.status == "interrupted":
                status = "interrupted"
            outcome = FiringRow(
                program_id=self.program_id,
                scheduled_at=record.scheduled_at,
                status=status,
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


def run_row(record: RunRecord) -> RunRow:
    """A history record as the store keeps it."""
    return RunRow(
        program_id=record.program,
        run_id=record.id,
        attempt=record.attempt,
        spawn=record.spawn,
        scheduled_at=record.scheduled_at,
        status=record.status,
        started_at=record.started_at,
        finished_at=record.finished_at,
        result=record.result,
        error=_error_text(record.error),
    )


def run_record(row: RunRow) -> RunRecord:
    """A stored run as the history shows it."""
    return RunRecord(
        id=row.run_id,
        program=row.program_id,
        spawn=row.spawn,
        scheduled_at=row.scheduled_at,
        status=row.status,  # type: ignore[arg-type]
        started_at=row.started_at,
        finished_at=row.finished_at,
        result=row.result,
        error=None if row.error is None else StoredError(row.error),
        attempt=row.attempt,
    )


def adopted_records(stored: StoredProgram) -> list[RunRecord]:
    """The stored runs as history records, oldest first."""
    return [run_record(row) for row in reversed(stored.runs)]


def adoption_plan(
    program: Program, stored: StoredProgram, now: datetime
) -> tuple[Schedule, datetime, datetime | None]:
    """How an install adopting `stored` schedules `program`: the anchored schedule, its
    anchor, and the first fire time.

    While the schedule is the one the store holds, its anchor is kept (an `every()` grid stays
    where it was); a changed one is anchored at the last fire time (or now, if it never fired).
    Either way the first fire time is the first after the last one fired, however long ago:
    the downtime is a clock jump, and the program's `misfire` decides what runs.
    """
    row = stored.row
    kept = json.loads(row.schedule)
    if kept["given"] == program.schedule.to_definition():
        schedule, since = schedule_from_definition(kept["anchored"]), row.since
    else:
        since = row.last_fire or now
        schedule = program.schedule.anchored(since)
    if row.last_fire is None:
        return schedule, since, schedule.first_fire(since)
    return schedule, since, schedule.next_fire(row.last_fire)
