"""A program as a store keeps it: its schedule and definition as JSON, its history records as
rows, and how an install adopting a stored program schedules it. Plain functions, used by the
ProgramRecorder (writing) and by the supervisor, the program view and the CLI (reading)."""

from __future__ import annotations

import json
from datetime import datetime

from actors.program import Program
from actors.schedules import Schedule, schedule_from_definition
from actors.snapshots import RunRecord
from actors.store.abc import RunRow, StoredProgram

__all__ = [
    "StoredError",
    "adopted_records",
    "adoption_plan",
    "definition_text",
    "error_text",
    "run_record",
    "run_row",
    "schedule_text",
]


class StoredError(Exception):
    """An error read back from a store: only its text survives (`"ValueError: bad row"`)."""


def error_text(error: BaseException | None) -> str | None:
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
        error=error_text(record.error),
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
