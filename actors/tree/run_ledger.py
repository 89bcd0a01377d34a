"""RunLedger: a program's runs, as its ProgramActor keeps the books on them.

A plain object, owned by one ProgramActor and used only from its handlers: the runs in flight
(on a spawn, or waiting for a retry), the counters, the bounded history, and the events that
tell subscribers what happened. Which spawn runs what, and when, is the actor's business; the
ledger records what came of it, so it is tested without actors.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any

import attrs

from actors import events
from actors.runtime import Activity, Alarm, RunTicket, resolve
from actors.snapshots import RunRecord, RunStatus
from actors.tree.messages import NO_ARGS, Tick

__all__ = ["NOT_RUN_KEPT", "ActiveRun", "RunLedger"]

logger = logging.getLogger("actors.program")

#: Ticks that did not run (skipped, missed) are counted; only the newest few of them are kept
#: as records, so an overloaded runner does not turn every dropped tick into memory.
NOT_RUN_KEPT = 10

_RESULT_WIDTH = 200

Publish = Callable[..., None]

#: A tick that did not run, as kept until the history is read: its run number, scheduled
#: time, status (skipped or missed) and spawn.
NotRun = tuple[int, datetime, RunStatus, str | None]


def _result_text(result: Any) -> str:
    text = repr(result)
    return text if len(text) <= _RESULT_WIDTH else text[: _RESULT_WIDTH - 1] + "…"


def _run_number(record: RunRecord) -> int:
    return int(record.id.rpartition("#")[2])


@attrs.define(eq=False)
class ActiveRun:
    """A run not yet concluded: on a spawn (pending or running), or waiting to retry."""

    id: str
    spawn: str
    scheduled_at: datetime
    args: Any = NO_ARGS
    waiter: Future[Any] | None = None
    attempt: int = 1
    status: RunStatus = "running"
    started_at: datetime | None = None
    timeout: Alarm | None = None
    retry: Alarm | None = None
    last_error: BaseException | None = None
    ticket: RunTicket | None = None
    in_backoff: bool = False  # counted in the runtime's activity while waiting to retry
    parked: bool = False  # its retry came due while the program was paused
    from_tick: bool = False  # a run of a scheduled tick (not a trigger): it has a firing

    def finished(
        self,
        program_id: str,
        status: RunStatus,
        finished_at: datetime,
        result: Any,
        error: BaseException | None,
    ) -> RunRecord:
        """The history record of this try, ended with `status`."""
        return RunRecord(
            id=self.id,
            program=program_id,
            spawn=self.spawn,
            scheduled_at=self.scheduled_at,
            status=status,
            started_at=self.started_at,
            finished_at=finished_at,
            result=_result_text(result) if error is None else None,
            error=error,
            attempt=self.attempt,
        )

    def record(self, program_id: str) -> RunRecord:
        """The history record of this run as it stands (pending or running)."""
        return RunRecord(
            id=self.id,
            program=program_id,
            spawn=self.spawn,
            scheduled_at=self.scheduled_at,
            status=self.status,
            started_at=self.started_at,
            error=self.last_error if self.status == "pending" else None,
            attempt=self.attempt,
        )

    def cancel_alarms(self) -> None:
        """Withdraw its timeout and retry deadlines, if armed."""
        for alarm in (self.timeout, self.retry):
            if alarm is not None:
                alarm.cancel()


class RunLedger:
    """The runs of one program: in flight, concluded (counted, kept, published)."""

    def __init__(
        self, program_id: str, history: int, publish: Publish, activity: Activity | None = None
    ) -> None:
        self.program_id = program_id
        self.publish = publish
        #: Where retries in their backoff are counted (settle() on a real clock waits for them).
        self.activity = activity
        self.running: dict[str, ActiveRun] = {}  # on a spawn
        self.retrying: dict[str, ActiveRun] = {}  # waiting for their backoff (or for resume)
        self.runs = self.succeeded = self.failed = self.skipped = self.missed = 0
        self.last_run: datetime | None = None
        self.last_error: BaseException | None = None
        self.firings_pending = 0  # ticks waiting for their firing to be stored before they run
        self._count = 0
        self._history_size = history
        # Made on first use: an empty deque costs 600+ bytes, times 100,000 programs.
        self._history: deque[RunRecord] | None = None
        # The newest skipped and missed ticks: records restored from a store, or (number,
        # scheduled time, status, spawn) made into records only when the history is read (an
        # overloaded runner drops a tick or two per run: they cost a tuple each, not a record).
        self._not_run: deque[RunRecord | NotRun] | None = None

    # --- runs in flight ---------------------------------------------------------------------

    def next_id(self) -> str:
        """A new run id: `"program#n"`."""
        self._count += 1
        return f"{self.program_id}#{self._count}"

    def open(
        self, spawn: str, scheduled_at: datetime, args: Any = NO_ARGS, waiter: Any = None
    ) -> ActiveRun:
        """A new run, for the actor to hand to `spawn`."""
        return ActiveRun(self.next_id(), spawn, scheduled_at, args, waiter)

    def in_flight(self) -> int:
        """Runs not yet concluded: on a spawn, or waiting to retry."""
        return len(self.running) + len(self.retrying) + self.firings_pending

    def runs_left(self, max_runs: int | None) -> int | None:
        """How many more runs `max_runs` allows, counting those in flight (`None` = no cap)."""
        return None if max_runs is None else max_runs - self.runs - self.in_flight()

    def take(self, run_id: str, attempt: int) -> ActiveRun | None:
        """The run `run_id` on its try `attempt`, no longer on a spawn; `None` if that try is
        over already (it timed out, or its spawn was killed)."""
        run = self.running.get(run_id)
        if run is None or run.attempt != attempt:
            return None
        del self.running[run_id]
        return run

    def on_spawn(self, spawn_id: str) -> ActiveRun | None:
        """The run on `spawn_id`, taken off it."""
        run = next((r for r in self.running.values() if r.spawn == spawn_id), None)
        if run is not None:
            del self.running[run.id]
        return run

    def restore(
        self,
        counters: tuple[int, int, int, int, int],
        last_run: datetime | None,
        last_error: BaseException | None,
        records: list[RunRecord],
    ) -> None:
        """Start from a store's books: counters (runs, succeeded, failed, skipped, missed),
        the latest run and error, and the stored records (oldest first); run ids go on from
        the highest stored."""
        self.runs, self.succeeded, self.failed, self.skipped, self.missed = counters
        self.last_run, self.last_error = last_run, last_error
        for record in records:
            if record.status in ("skipped", "missed"):
                self._keep_record(record)
            else:
                self._remember(record)
        self._count = max([self._count, *(_run_number(r) for r in records)])

    def interrupted(self, run_id: str | None, scheduled_at: datetime, now: datetime) -> RunRecord:
        """A run a crash cut off (its firing was stored, its outcome never): counted failed,
        recorded `interrupted`."""
        run = ActiveRun(run_id or self.next_id(), None, scheduled_at)  # type: ignore[arg-type]
        error = RuntimeError("cut off by a crash of the runner before it finished")
        self.failed += 1
        self.runs += 1
        self.last_error = error
        record = run.finished(self.program_id, "interrupted", now, None, error)
        self._remember(record)
        return record

    def close(self, error: BaseException) -> None:
        """The program stops with runs in flight: withdraw their deadlines and answer their
        triggers with `error`."""
        for run in (*self.running.values(), *self.retrying.values()):
            run.cancel_alarms()
            self.end_backoff(run)
            if run.waiter is not None:
                resolve(run.waiter, error=error)

    # --- what came of them ------------------------------------------------------------------

    def conclude(
        self,
        run: ActiveRun,
        status: RunStatus,
        result: Any,
        error: BaseException | None,
        finished_at: datetime,
    ) -> RunRecord:
        """Count a run's final outcome, keep its record, publish it and answer its trigger;
        returns the record."""
        self.runs += 1
        self.last_run = run.started_at or finished_at
        if error is None:
            self.succeeded += 1
            self.publish(
                events.RunSucceeded,
                self.program_id,
                run.id,
                run.spawn,
                run.scheduled_at,
                result,
                run.attempt,
            )
        else:
            self.failed += 1
            self.last_error = error
            logger.info("run %s of %r %s: %r", run.id, self.program_id, status, error)
            self.publish(
                events.RunFailed,
                self.program_id,
                run.id,
                run.spawn,
                run.scheduled_at,
                error,
                run.attempt,
            )
        record = run.finished(self.program_id, status, finished_at, result, error)
        self._remember(record)
        if run.waiter is not None:
            resolve(run.waiter, result, error)
        return record

    def try_failed(self, run: ActiveRun, error: BaseException, at: datetime) -> RunRecord:
        """A try failed and another follows: keep its record, publish it, and hold the run
        as waiting for its retry; returns the try's record."""
        record = run.finished(self.program_id, "failed", at, None, error)
        self._remember(record)
        self.publish(
            events.RunFailed,
            self.program_id,
            run.id,
            run.spawn,
            run.scheduled_at,
            error,
            run.attempt,
            final=False,
        )
        run.attempt += 1
        run.status = "pending"
        run.last_error = error
        run.started_at = None
        self.retrying[run.id] = run
        # settle() on a real clock waits for the retry: it is part of the tick's doing.
        run.in_backoff = True
        if self.activity is not None:
            self.activity.backoff_started()
        return record

    def unpark(self) -> list[ActiveRun]:
        """Take the retries parked while the program was paused: they run now."""
        parked = [run for run in self.retrying.values() if run.parked]
        for run in parked:
            del self.retrying[run.id]
            run.parked = False
        return parked

    def end_backoff(self, run: ActiveRun) -> None:
        """The run no longer waits for its backoff (it runs, is parked, or is dropped)."""
        if run.in_backoff:
            run.in_backoff = False
            if self.activity is not None:
                self.activity.backoff_ended()

    def count_skipped(self, scheduled_at: datetime, spawn: str | None) -> None:
        """A tick a spawn did not run (it was busy), or that found no spawn."""
        self.skipped += 1
        self.publish(events.RunSkipped, self.program_id, scheduled_at, spawn)
        self._keep_not_run(scheduled_at, "skipped", spawn)

    def count_tick_missed(self, tick: Tick, *, itself: bool = False) -> None:
        """The ticks `tick` reports missed (and `itself`, if it does not run either)."""
        if itself and tick.runs:
            self.count_missed(tick.missed + 1, (*tick.missed_latest, tick.scheduled_at))
        else:
            self.count_missed(tick.missed, tick.missed_latest)

    def nothing_owed(self) -> bool:
        """No retry waits its turn and no firing is being stored: a draining program owes
        no run a conclusion."""
        return not self.retrying and not self.firings_pending

    def count_missed(self, count: int, latest: tuple[datetime, ...]) -> None:
        """`count` ticks missed, however many; records and events for the `latest` few."""
        if count <= 0:
            return
        self.missed += count
        kept = latest[-NOT_RUN_KEPT:]
        for index, scheduled_at in enumerate(kept):
            # The oldest event kept stands for itself and every older one not kept.
            stands_for = count - len(kept) + 1 if index == 0 else 1
            self.publish(events.RunMissed, self.program_id, scheduled_at, stands_for)
            self._keep_not_run(scheduled_at, "missed", None)

    def history(self, limit: int) -> list[RunRecord]:
        """The newest `limit` records, newest first; of a retried run, its latest try first."""
        active = [
            run.record(self.program_id) for run in (*self.running.values(), *self.retrying.values())
        ]
        not_run = [self._not_run_record(entry) for entry in self._not_run or ()]
        records = [*active, *(self._history or ()), *not_run]
        records.sort(
            key=lambda r: (_run_number(r), r.attempt, r.status in ("pending", "running")),
            reverse=True,
        )
        return records[: max(0, limit)]

    def _remember(self, record: RunRecord) -> None:
        if self._history is None:
            self._history = deque(maxlen=self._history_size)
        self._history.append(record)

    def _keep_not_run(self, scheduled_at: datetime, status: RunStatus, spawn: str | None) -> None:
        if self._not_run is None:
            self._not_run = deque(maxlen=min(NOT_RUN_KEPT, self._history_size))
        if self._not_run.maxlen:
            self._count += 1  # its run id's number: taken now, so ids stay in order
            self._not_run.append((self._count, scheduled_at, status, spawn))

    def _not_run_record(self, entry: RunRecord | NotRun) -> RunRecord:
        if isinstance(entry, RunRecord):
            return entry
        number, scheduled_at, status, spawn = entry
        return RunRecord(
            id=f"{self.program_id}#{number}",
            program=self.program_id,
            spawn=spawn,
            scheduled_at=scheduled_at,
            status=status,
        )

    def _keep_record(self, record: RunRecord) -> None:
        if self._not_run is None:
            self._not_run = deque(maxlen=min(NOT_RUN_KEPT, self._history_size))
        self._not_run.append(record)
