"""Program snapshots: a `ProgramInfo` of a live program (from its actor's books), or of one
only a store holds (from its row: waiting for the code that installs it, or failed); the
answers of a program's other queries; and a runner's `RunnerStatus`, gathered from its
programs' and monitors' answers."""

from __future__ import annotations

import json
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from actors.runtime import gather, resolve
from actors.schedules import schedule_from_definition
from actors.snapshots import MonitorInfo, ProgramInfo, RunnerStatus
from actors.store.abc import Serializer, StoredProgram
from actors.tree import messages as m
from actors.tree.program_rows import StoredError

if TYPE_CHECKING:
    from actors.tree.program_actor import ProgramActor

__all__ = ["answer_status", "live_info", "query_answer", "stored_info"]


def live_info(actor: ProgramActor) -> ProgramInfo:
    """A snapshot of the program `actor` runs."""
    program, ledger = actor.program, actor.ledger
    return ProgramInfo(
        id=program.id,
        name=program.name,
        schedule=actor.schedule.describe(),
        status=actor.phase.status(failed=actor.pool.failed, in_flight=ledger.in_flight()),
        spawns=len(actor.pool.members()),
        min=program.min,
        max=program.max,
        state=actor.state,
        runs=ledger.runs,
        succeeded=ledger.succeeded,
        failed=ledger.failed,
        skipped=ledger.skipped,
        missed=ledger.missed,
        running=len(ledger.running),
        last_run=ledger.last_run,
        next_run=actor.next_run,
        last_error=ledger.last_error,
        owner=actor.runtime.name,
        tags=program.tags,
    )


def query_answer(actor: ProgramActor, query: m.ProgramRequest) -> Any:
    """What the program `actor` runs answers to `query`, a question that changes nothing."""
    match query:
        case m.GetState():
            return actor.state
        case m.GetProgramInfo():
            return live_info(actor)
        case m.GetSpawns():
            return actor.pool.infos()
        case m.GetHistory(limit=limit):
            return actor.ledger.history(limit)
        case m.GetNextFires(n=n):
            return actor.schedule.upcoming(actor.next_run, n)
    raise TypeError(f"{actor}: {type(query).__name__} is not a query")


def stored_info(stored: StoredProgram, serializer: Serializer, error: str | None) -> ProgramInfo:
    """A snapshot of a program the store holds and no code has installed (yet): `waiting`
    for its code, or `failed` with `error` when its callables no longer import."""
    row = stored.row
    definition = json.loads(row.definition) if row.definition else {}
    try:
        schedule = schedule_from_definition(json.loads(row.schedule)["anchored"]).describe()
    except (ValueError, KeyError):
        schedule = "?"
    try:
        state = serializer.loads(row.state)
    except Exception:  # noqa: BLE001 - a snapshot shows what it can
        state = "<cannot read the stored state>"
    last_error = error if error is not None else row.last_error
    return ProgramInfo(
        id=row.id,
        name=definition.get("name", row.id),
        schedule=schedule,
        status="failed" if error is not None else "waiting",
        spawns=0,
        min=definition.get("min", 0),
        max=definition.get("max"),
        state=state,
        runs=row.runs,
        succeeded=row.succeeded,
        failed=row.failed,
        skipped=row.skipped,
        missed=row.missed,
        last_run=row.last_run,
        next_run=row.next_fire,
        last_error=None if last_error is None else StoredError(last_error),
        owner=row.owner,
        tags=tuple(tag for tag in definition.get("tags", ()) if isinstance(tag, str)),
    )


def answer_status(
    reply: Future[Any],
    programs: list[Future[Any]],
    monitors: list[Future[Any]],
    stored: list[ProgramInfo],
    **status: Any,
) -> None:
    """Answer `reply` with a `RunnerStatus` (`status`: its id, running, paused, at) once every
    program has answered its `ProgramInfo` (an error answers the status with it) and every
    monitor its `MonitorInfo` (one that cannot is left out). Nobody waits: the futures'
    callbacks finish it."""

    def answer(infos: Future[list[Any]]) -> None:
        error = infos.exception()
        if error is not None:
            resolve(reply, error=error)
            return
        answered, monitor_infos = infos.result()
        shown = [info for info in monitor_infos if isinstance(info, MonitorInfo)]
        resolve(reply, RunnerStatus(programs=[*answered, *stored], monitors=shown, **status))

    gather([gather(programs), gather([_or_none(future) for future in monitors])]).add_done_callback(
        answer
    )


def _or_none(future: Future[Any]) -> Future[Any]:
    """A future answered with `future`'s result, or `None` where it failed."""
    quiet: Future[Any] = Future()
    future.add_done_callback(
        lambda done: resolve(quiet, None if done.exception() is not None else done.result())
    )
    return quiet
