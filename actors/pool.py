"""ProgramActor: one program's state and its pool of spawns, kept within `[min, max]`.

The ProgramActor is the only owner of a program's state: every merge happens in its message
handler, one message at a time, so merges never race. It also keeps the books: which spawn is
idle or running, the runs in flight and waiting to retry, the counters, the run history. It fans
every `Tick` out to every spawn, and a busy spawn follows the program's `overlap` rule. It
enforces `timeout` (retiring and replacing a stuck spawn) and `retry`, and replaces killed or
dead spawns where `min` asks, within a restart intensity.
"""

from __future__ import annotations

import functools
import logging
import random
from collections import deque
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

import attrs
from pykka import ActorRef

from actors import events
from actors.clock import Deadline
from actors.errors import (
    InvalidProgram,
    RunnerStopped,
    SchedulerError,
    SpawnLimitError,
    SpawnNotFound,
)
from actors.messages import (
    NO_ARGS,
    Drain,
    GetHistory,
    GetProgramInfo,
    GetSpawns,
    GetState,
    KillSpawn,
    MaxRunsReached,
    NextRun,
    ProgramDied,
    ProgramSucceeded,
    RetryDue,
    Run,
    RunBegan,
    RunFinished,
    RunTimedOut,
    SetPaused,
    SetSchedule,
    SetState,
    Spawn,
    SpawnDied,
    Tick,
    Trigger,
    Uninstalled,
    Unspawn,
    UpstreamPresence,
    WatchSuccess,
    resolve,
)
from actors.program import POLICIES, Program
from actors.runtime import Actor, RunTicket, Runtime, call_user_code, handles, post, stop_actor
from actors.schedules import Manual, OnSuccess
from actors.snapshots import (
    ProgramInfo,
    ProgramStatus,
    RunRecord,
    RunStatus,
    SpawnInfo,
    SpawnStatus,
)
from actors.spawn import SpawnActor

__all__ = ["ActiveRun", "ProgramActor", "SpawnNumbers", "SpawnSlot"]

logger = logging.getLogger("actors.program")

_RESULT_WIDTH = 200

#: Ticks that did not run (skipped, missed) are counted; only the newest few of them are kept
#: as records, so an overloaded runner does not turn every dropped tick into memory.
NOT_RUN_KEPT = 10

#: OTP-style restart intensity: at most this many spawn replacements ...
MAX_RESTARTS = 3
#: ... within this many seconds of the runner's clock, else the program is marked failed.
RESTART_PERIOD = 5.0


def _result_text(result: Any) -> str:
    text = repr(result)
    return text if len(text) <= _RESULT_WIDTH else text[: _RESULT_WIDTH - 1] + "…"


def _run_number(record: RunRecord) -> int:
    return int(record.id.rpartition("#")[2])


def _check_count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        msg = f"n must be an int >= 1, got {n!r}"
        raise InvalidProgram(msg)
    return n


@attrs.define
class SpawnNumbers:
    """The last spawn numbers given out under one program id.

    Owned by the supervisor and handed to each ProgramActor installed under that id, so that
    spawn ids are never reused, even across `uninstall` and `install(replace=True)`.
    """

    regular: int = 0
    temporary: int = 0


@attrs.define
class SpawnSlot:
    """What a ProgramActor knows about one of its spawns."""

    id: str
    ref: ActorRef[Any]
    started_at: datetime
    temporary: bool = False
    running: bool = False
    stopping: bool = False
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    last_error: BaseException | None = None
    queued: list[Tick] = attrs.field(factory=list)  # a list: idle pools hold many of these

    @property
    def in_pool(self) -> bool:
        """Counted in the pool: takes ticks and counts towards `[min, max]`."""
        return not self.temporary and not self.stopping

    def info(self, program_id: str) -> SpawnInfo:
        status: SpawnStatus = "stopping" if self.stopping else "running" if self.running else "idle"
        return SpawnInfo(
            id=self.id,
            program=program_id,
            status=status,
            started_at=self.started_at,
            runs=self.runs,
            succeeded=self.succeeded,
            failed=self.failed,
            last_error=self.last_error,
        )


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
    timeout: Deadline | None = None
    retry: Deadline | None = None
    last_error: BaseException | None = None
    ticket: RunTicket | None = None
    in_backoff: bool = False  # counted in the runtime's activity while waiting to retry
    parked: bool = False  # its retry came due while the program was paused

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


class ProgramActor(Actor):
    """Owns one program's state, spawns, counters and history."""

    def __init__(
        self,
        runtime: Runtime,
        program: Program,
        state: Any,
        supervisor_ref: ActorRef[Any],
        history: int,
        numbers: SpawnNumbers | None = None,
        *,
        paused: bool = False,
        report_success: bool = False,
        waiting_for: str | None = None,
    ) -> None:
        super().__init__(runtime)
        self.program = program
        self.state = state
        self.supervisor_ref = supervisor_ref
        self.paused = paused
        # Another program runs on_success of this one: tell the supervisor of each success.
        self.report_success = report_success
        self._max_runs_reached = False
        self._exhausted = False  # a timed schedule with no fire time left
        self._failed = False  # restart intensity exceeded
        self._one_shot_fired = False  # an after() schedule has ticked: uninstall once idle
        self._uninstall_requested = False
        self.runs = self.succeeded = self.failed = self.skipped = self.missed = 0
        self.last_run: datetime | None = None
        self.last_error: BaseException | None = None
        self.next_run: datetime | None = None
        self.schedule_text = program.schedule.describe()
        self._slots: dict[str, SpawnSlot] = {}  # insertion order: oldest first
        self._numbers = numbers if numbers is not None else SpawnNumbers()
        self._run_count = 0
        self._running: dict[str, ActiveRun] = {}  # on a spawn
        self._retrying: dict[str, ActiveRun] = {}  # waiting for their backoff
        # Made on first use: an empty deque costs 600+ bytes, times 100,000 programs.
        self._history: deque[RunRecord] | None = None
        self._history_size = history
        self._not_run: deque[RunRecord] | None = None  # the newest skipped and missed ticks
        self._merge_label = f"merge_fn of program {program.id!r}"
        # on_success of a program that is not installed: no tick can come until it is.
        self.waiting_for = waiting_for
        self._restarts: deque[datetime] | None = None
        self._drains: list[Future[Any]] = []
        self._drained = False
        self._warned_no_spawns = False

    def __str__(self) -> str:
        return f"ProgramActor({self.program.id})"

    @property
    def status(self) -> ProgramStatus:
        """`failed` (too many restarts), `finished` (max_runs reached, or no fire time left),
        `paused`, `waiting` (for its `on_success` upstream to be installed) or `active`."""
        if self._failed:
            return "failed"
        if self._max_runs_reached or (self._exhausted and not self._in_flight()):
            return "finished"
        if self.paused:
            return "paused"
        return "waiting" if self.waiting_for is not None else "active"

    def _in_flight(self) -> int:
        return len(self._running) + len(self._retrying)

    def _timed(self) -> bool:
        """Whether ticks come from the clock (not `manual()`, not `on_success()`)."""
        schedule = self.program.schedule
        return not isinstance(schedule, Manual | OnSuccess)

    def _maybe_uninstall_self(self) -> None:
        """After an `after()` program's tick has run out, ask the supervisor to uninstall it."""
        if self._one_shot_fired and not self._in_flight() and not self._uninstall_requested:
            if any(slot.queued for slot in self._slots.values()):
                return
            self._uninstall_requested = True
            self.tell(self.supervisor_ref, Uninstalled(self.program.id))

    def on_start(self) -> None:
        for _ in range(self.program.min):
            self._start_spawn()

    def on_stop(self) -> None:
        stopped = RunnerStopped(f"program {self.program.id!r} stopped before the run finished")
        for run in (*self._running.values(), *self._retrying.values()):
            for deadline in (run.timeout, run.retry):
                if deadline is not None:
                    deadline.cancel()
            self._end_backoff(run)
            if run.waiter is not None:
                resolve(run.waiter, error=stopped)
        for slot in self._slots.values():
            stop_actor(slot.ref)
        for drain in self._drains:
            resolve(drain)

    def died(self, error: BaseException | None) -> None:
        # Our spawns and waiters die with us; the supervisor restarts us with our state.
        self.on_stop()
        self.tell(
            self.supervisor_ref, ProgramDied(self.program.id, self.actor_urn, self.state, error)
        )

    # --- spawns -----------------------------------------------------------------------------

    def _pool(self) -> list[SpawnSlot]:
        return [slot for slot in self._slots.values() if slot.in_pool]

    def _start_spawn(self, *, temporary: bool = False) -> SpawnSlot:
        numbers = self._numbers
        if temporary:
            numbers.temporary += 1
            spawn_id = f"{self.program.id}-temp-{numbers.temporary}"
        else:
            numbers.regular += 1
            spawn_id = f"{self.program.id}-{numbers.regular}"
        ref = SpawnActor.start(self.runtime, self.program, spawn_id, self.actor_ref)
        slot = SpawnSlot(spawn_id, ref, self.runtime.clock.now(), temporary=temporary)
        self._slots[spawn_id] = slot
        self.publish(events.SpawnStarted, self.program.id, spawn_id)
        return slot

    def _stop_spawn(self, slot: SpawnSlot, reason: str = "unspawned") -> None:
        del self._slots[slot.id]
        for tick in slot.queued:
            self._record_not_run(tick.scheduled_at, "skipped", slot.id)
        slot.queued.clear()
        stop_actor(slot.ref)
        self.publish(events.SpawnStopped, self.program.id, slot.id, reason)
        self._check_drained()

    def _retire(self, slot: SpawnSlot) -> None:
        """Stop `slot` now if idle, else once its run finishes."""
        slot.stopping = True
        if not slot.running:
            self._stop_spawn(slot)

    def _choose(self, policy: str, n: int) -> list[SpawnSlot]:
        """The `n` spawns `unspawn` stops, in the order it stops them: `"first"` oldest first,
        `"last"` newest first, `"idle"` the idle ones newest first, then the busy ones."""
        pool = self._pool()
        if policy == "first":
            return pool[:n]
        newest_first = pool[::-1]
        if policy == "idle":
            newest_first.sort(key=lambda slot: slot.running)  # stable: idle ones first
        return newest_first[:n]

    def _abandon(self, slot: SpawnSlot, reason: str, *, keep_size: bool, death: bool) -> None:
        """Drop a spawn at once (killed, timed out, dead) and replace it if asked and allowed.

        `keep_size` replaces any pool member (a timeout keeps the pool at its size); otherwise
        a replacement only comes where `min` asks. Only a `death` (a spawn that died or hung)
        counts towards the restart intensity: a spawn killed on purpose does not.
        """
        was_in_pool = slot.in_pool
        self._stop_spawn(slot, reason)
        if self._drains or not was_in_pool or self._failed:
            return
        if not keep_size and len(self._pool()) >= self.program.min:
            return
        if death and not self._may_restart():
            return
        replacement = self._start_spawn()
        self.publish(events.SpawnReplaced, self.program.id, slot.id, replacement.id, reason)

    def _may_restart(self) -> bool:
        """OTP restart intensity: at most MAX_RESTARTS in RESTART_PERIOD s, else fail."""
        if self._failed:
            return False
        now = self.runtime.clock.now()
        if self._restarts is None:
            self._restarts = deque(maxlen=MAX_RESTARTS)
        window = timedelta(seconds=RESTART_PERIOD)
        if len(self._restarts) == MAX_RESTARTS and now - self._restarts[0] < window:
            self._failed = True
            logger.error(
                "program %r needed more than %d spawn restarts in %s s; it is marked failed "
                "and its spawns are no longer replaced",
                self.program.id,
                MAX_RESTARTS,
                RESTART_PERIOD,
            )
            return False
        self._restarts.append(now)
        return True

    # --- runs -------------------------------------------------------------------------------

    def _next_run_id(self) -> str:
        self._run_count += 1
        return f"{self.program.id}#{self._run_count}"

    def _dispatch(
        self,
        slot: SpawnSlot,
        scheduled_at: datetime,
        args: Any = NO_ARGS,
        waiter: Future[Any] | None = None,
        run: ActiveRun | None = None,
    ) -> None:
        if run is None:
            run = ActiveRun(self._next_run_id(), slot.id, scheduled_at, args, waiter)
        run.spawn = slot.id
        run.status = "pending" if self.runtime.max_concurrent is not None else "running"
        run.started_at = None
        slot.running = True
        self._running[run.id] = run
        clock = self.runtime.clock
        timeout = self.program.timeout
        run.ticket = RunTicket(
            f"main_fn of program {self.program.id!r} (run {run.id})", timed=timeout is not None
        )
        if timeout is not None:
            run.timeout = clock.call_at(
                clock.now() + timedelta(seconds=timeout),
                functools.partial(post, self.actor_ref, RunTimedOut(run.id, run.attempt)),
            )
        message = Run(
            run.id, run.scheduled_at, run.args, run.attempt, self.program.priority, run.ticket
        )
        self.tell(slot.ref, message)

    def _record_not_run(self, scheduled_at: datetime, status: RunStatus, spawn: str | None) -> None:
        if status == "missed":
            self.missed += 1
            self.publish(events.RunMissed, self.program.id, scheduled_at)
        else:
            self.skipped += 1
            self.publish(events.RunSkipped, self.program.id, scheduled_at, spawn)
        self._keep_not_run(scheduled_at, status, spawn)

    def _record_missed(self, count: int, latest: tuple[datetime, ...]) -> None:
        """`count` ticks missed, however many; records and events for the `latest` few."""
        if count <= 0:
            return
        self.missed += count
        kept = latest[-NOT_RUN_KEPT:]
        for index, scheduled_at in enumerate(kept):
            # The oldest event kept stands for itself and every older one not kept.
            stands_for = count - len(kept) + 1 if index == 0 else 1
            self.publish(events.RunMissed, self.program.id, scheduled_at, stands_for)
            self._keep_not_run(scheduled_at, "missed", None)

    def _keep_not_run(self, scheduled_at: datetime, status: RunStatus, spawn: str | None) -> None:
        if self._not_run is None:
            self._not_run = deque(maxlen=min(NOT_RUN_KEPT, self._history_size))
        if self._not_run.maxlen:
            record = RunRecord(
                id=self._next_run_id(),
                program=self.program.id,
                spawn=spawn,
                scheduled_at=scheduled_at,
                status=status,
            )
            self._not_run.append(record)

    def _remember(self, record: RunRecord) -> None:
        if self._history is None:
            self._history = deque(maxlen=self._history_size)
        self._history.append(record)

    def _runs_left(self) -> int | None:
        """How many more runs `max_runs` allows, counting those in flight (`None` = no cap)."""
        if self.program.max_runs is None:
            return None
        return self.program.max_runs - self.runs - self._in_flight()

    def _offer(self, slot: SpawnSlot, tick: Tick) -> None:
        """Give `tick` to `slot`, following `overlap` if it is busy."""
        left = self._runs_left()
        if left is not None and left <= 0:
            self._record_not_run(tick.scheduled_at, "skipped", slot.id)
        elif not slot.running:
            self._dispatch(slot, tick.scheduled_at)
        elif tick.replay or (self.program.overlap == "queue" and not slot.queued):
            slot.queued.append(tick)
        else:
            self._record_not_run(tick.scheduled_at, "skipped", slot.id)

    def _free(self, slot: SpawnSlot, error: BaseException | None) -> None:
        """A spawn's run ended: count it, then stop the spawn or give it its next tick."""
        slot.running = False
        slot.runs += 1
        if error is None:
            slot.succeeded += 1
        else:
            slot.failed += 1
            slot.last_error = error
        if slot.stopping or slot.temporary:
            self._stop_spawn(slot)
        elif slot.queued and not self._max_runs_reached:
            self._offer(slot, slot.queued.pop(0))

    def _conclude(
        self,
        run: ActiveRun,
        result: Any,
        error: BaseException | None,
        finished_at: datetime,
        *,
        status: RunStatus | None = None,
    ) -> None:
        """A try of `run` ended: retry it, or count its final outcome."""
        retry = self.program.retry
        retry_left = retry is not None and run.attempt < retry.attempts
        if error is not None and status is None and retry_left and not self._drains:
            self._schedule_retry(run, error, finished_at)
            return
        final: RunStatus = status or ("completed" if error is None else "failed")
        self.runs += 1
        self.last_run = run.started_at or finished_at
        if error is None:
            self.succeeded += 1
            if self.report_success:
                self.tell(self.supervisor_ref, ProgramSucceeded(self.program.id, finished_at))
            self.publish(
                events.RunSucceeded,
                self.program.id,
                run.id,
                run.spawn,
                run.scheduled_at,
                result,
                run.attempt,
            )
        else:
            self.failed += 1
            self.last_error = error
            logger.info("run %s of %r %s: %r", run.id, self.program.id, final, error)
            self.publish(
                events.RunFailed,
                self.program.id,
                run.id,
                run.spawn,
                run.scheduled_at,
                error,
                run.attempt,
            )
        self._remember(run.finished(self.program.id, final, finished_at, result, error))
        if run.waiter is not None:
            resolve(run.waiter, result, error)
        if self.program.max_runs is not None and self.runs >= self.program.max_runs:
            self._finish()
        if self._exhausted and not self._in_flight():
            self.publish(events.ProgramFinished, self.program.id)

    def _schedule_retry(self, run: ActiveRun, error: BaseException, at: datetime) -> None:
        retry = self.program.retry
        assert retry is not None
        self._remember(run.finished(self.program.id, "failed", at, None, error))
        self.publish(
            events.RunFailed,
            self.program.id,
            run.id,
            run.spawn,
            run.scheduled_at,
            error,
            run.attempt,
            final=False,
        )
        wait = retry.delay(run.attempt) + (random.uniform(0, retry.jitter) if retry.jitter else 0)
        run.attempt += 1
        run.status = "pending"
        run.last_error = error
        run.started_at = None
        self._retrying[run.id] = run
        # settle() on a real clock waits for the retry: it is part of the tick's consequences.
        run.in_backoff = True
        self.runtime.activity.backoff_started()
        clock = self.runtime.clock
        run.retry = clock.call_at(
            clock.now() + timedelta(seconds=wait),
            functools.partial(post, self.actor_ref, RetryDue(run.id)),
        )

    def _end_backoff(self, run: ActiveRun) -> None:
        """The run no longer waits for its backoff (it runs, is parked, or is dropped)."""
        if run.in_backoff:
            run.in_backoff = False
            self.runtime.activity.backoff_ended()

    def _check_drained(self) -> None:
        if self._drains and not self._drained and not self._slots and not self._retrying:
            # `_drains` stays non-empty: ticks still queued behind this message must see a
            # draining program (not one with no spawns) until the stop takes effect.
            self._drained = True
            for drain in self._drains:
                resolve(drain)
            self.stop()

    def _finish(self) -> None:
        if self._max_runs_reached:
            return
        self._max_runs_reached = True
        self.next_run = None
        for slot in self._slots.values():
            for tick in slot.queued:
                self._record_not_run(tick.scheduled_at, "skipped", slot.id)
            slot.queued.clear()
        self.tell(self.supervisor_ref, MaxRunsReached(self.program.id))
        self.publish(events.ProgramFinished, self.program.id)

    # --- messages: ticks and runs -------------------------------------------------------------

    @handles(Tick)
    def _tick(self, message: Tick) -> None:
        self._timer_says(message.next_at)
        if self.paused:
            # Ticks while paused are missed, and not replayed on resume.
            if message.runs:
                latest = (*message.missed_latest, message.scheduled_at)
                self._record_missed(message.missed + 1, latest)
            else:
                self._record_missed(message.missed, message.missed_latest)
            return
        self._record_missed(message.missed, message.missed_latest)
        if self.program.schedule.uninstall_after_run:
            self._one_shot_fired = True
        if not message.runs or self._drains or self._max_runs_reached:
            self._maybe_uninstall_self()
            return
        pool = self._pool()
        if not pool:
            self._record_not_run(message.scheduled_at, "skipped", None)
            if not self._warned_no_spawns:
                self._warned_no_spawns = True
                logger.warning(
                    "program %r has no spawns, so its ticks pass without running "
                    "(spawn one with runner.spawn(%r), or set min=1)",
                    self.program.id,
                    self.program.id,
                )
            self._maybe_uninstall_self()
            return
        for slot in pool:
            self._offer(slot, message)
        self._maybe_uninstall_self()

    def _timer_says(self, next_at: datetime | None) -> None:
        """Note the timer's next fire time; none left on a timed schedule means finished."""
        if self._max_runs_reached:
            return
        self.next_run = next_at
        self._exhausted = next_at is None and self._timed()

    @handles(NextRun)
    def _next_run(self, message: NextRun) -> None:
        if message.schedule is not None:  # anchored: at("09:00") now reads as a date
            self.schedule_text = message.schedule.describe()
        self._timer_says(message.at)

    @handles(RunBegan)
    def _run_began(self, message: RunBegan) -> None:
        run = self._running.get(message.run_id)
        if run is not None and run.attempt == message.attempt:
            run.status = "running"
            run.started_at = message.started_at

    @handles(RunFinished)
    def _finished(self, message: RunFinished) -> None:
        run = self._running.get(message.run_id)
        if run is None or run.attempt != message.attempt:
            logger.info(
                "late result of run %s (try %d) of %r discarded: it timed out or its spawn "
                "was killed",
                message.run_id,
                message.attempt,
                self.program.id,
            )
            return
        del self._running[message.run_id]
        if run.timeout is not None:
            run.timeout.cancel()
        run.started_at = message.started_at
        result, error = message.result, message.error
        if error is None:
            try:
                self.state = call_user_code(
                    self._merge_label, self.program.merge_fn, self.state, result
                )
            except Exception as merge_error:  # noqa: BLE001 - user code fails the run
                error = merge_error
        self._conclude(run, result, error, message.finished_at)
        slot = self._slots.get(message.spawn_id)
        if slot is not None:
            self._free(slot, error)
        self._check_drained()
        self._maybe_uninstall_self()

    @handles(RunTimedOut)
    def _timed_out(self, message: RunTimedOut) -> None:
        run = self._running.get(message.run_id)
        if run is None or run.attempt != message.attempt:
            return
        del self._running[message.run_id]
        if run.ticket is not None:  # nobody waits for the stuck thread any more
            self.runtime.abandon(run.ticket)
        error = TimeoutError(
            f"run {run.id} of {self.program.id!r} took longer than {self.program.timeout} s"
        )
        slot = self._slots.get(run.spawn)
        now = self.runtime.clock.now()
        # Python cannot stop the thread: retire the spawn, drop its late result, replace it.
        self._conclude(run, None, error, now)
        if slot is not None:
            slot.running = False
            slot.runs += 1
            slot.failed += 1
            self._abandon(slot, "timed out", keep_size=True, death=True)
        self._check_drained()
        self._maybe_uninstall_self()

    @handles(RetryDue)
    def _retry_due(self, message: RetryDue) -> None:
        run = self._retrying.get(message.run_id)
        if run is None or run.parked:
            return
        self._end_backoff(run)
        if self.paused and not self._drains:
            # A paused program runs nothing: the retry waits for resume (set_paused).
            run.parked = True
            return
        del self._retrying[message.run_id]
        if self._drains:
            self._conclude(run, None, run.last_error, self.runtime.clock.now(), status="failed")
            self._check_drained()
            return
        self._retry_now(run)

    def _retry_now(self, run: ActiveRun) -> None:
        """Hand a retry to its spawn if that is free, else to an idle or a temporary one."""
        slot = self._slots.get(run.spawn)
        if slot is None or slot.running or not slot.in_pool:
            slot = next((s for s in self._pool() if not s.running), None)
        if slot is None:
            slot = self._start_spawn(temporary=True)
        self._dispatch(slot, run.scheduled_at, run=run)

    @handles(KillSpawn)
    def _kill_spawn(self, message: KillSpawn) -> None:
        slot = self._slots.get(message.spawn_id)
        if slot is None:
            msg = f"program {self.program.id!r} has no spawn {message.spawn_id!r}"
            raise SpawnNotFound(msg)
        self._kill(slot, "killed")
        resolve(message.reply)

    @handles(SpawnDied)
    def _spawn_died(self, message: SpawnDied) -> None:
        slot = self._slots.get(message.spawn_id)
        if slot is not None:
            logger.warning("%s: spawn %s died: %r", self, slot.id, message.error)
            self._kill(slot, "died")

    def _kill(self, slot: SpawnSlot, reason: str) -> None:
        """Abandon `slot` now: its run (if any) is cancelled, counted failed."""
        run = next((r for r in self._running.values() if r.spawn == slot.id), None)
        if run is not None:
            del self._running[run.id]
            if run.timeout is not None:
                run.timeout.cancel()
            if run.ticket is not None:
                self.runtime.abandon(run.ticket)
            error = SchedulerError(f"spawn {slot.id} was {reason} during run {run.id}")
            self._conclude(run, None, error, self.runtime.clock.now(), status="cancelled")
            slot.runs += 1
            slot.failed += 1
        slot.running = False
        self._abandon(slot, reason, keep_size=False, death=reason == "died")
        self._check_drained()

    # --- messages: requests ------------------------------------------------------------------

    @handles(Spawn)
    def _spawn(self, message: Spawn) -> None:
        n = _check_count(message.n)
        if self._drains:
            raise SchedulerError(f"program {self.program.id!r} is stopping")
        count, most = len(self._pool()), self.program.max
        if most is not None and count + n > most:
            msg = (
                f"cannot spawn {n} more of {self.program.id!r}: it has {count} spawn(s) "
                f"and max={most}"
            )
            raise SpawnLimitError(msg)
        resolve(message.reply, [self._start_spawn().id for _ in range(n)])

    @handles(Unspawn)
    def _unspawn(self, message: Unspawn) -> None:
        n = _check_count(message.n)
        policy = self.program.policy if message.policy is None else message.policy
        if policy not in POLICIES:
            msg = f"policy must be one of {', '.join(map(repr, POLICIES))}, got {policy!r}"
            raise InvalidProgram(msg)
        count, least = len(self._pool()), self.program.min
        if message.shrink:
            # Idle spawns first; busy ones finish their run first, so shrinking never starves
            # when ticks keep every spawn busy at the moment the monitor looks.
            chosen = self._choose("idle", max(0, min(n, count - least)))
            for slot in chosen:
                self._retire(slot)
            resolve(message.reply, [slot.id for slot in chosen])
            return
        if count - n < least:
            msg = (
                f"cannot unspawn {n} of {self.program.id!r}: it has {count} spawn(s) "
                f"and min={least}"
            )
            raise SpawnLimitError(msg)
        chosen = self._choose(policy, n)
        for slot in chosen:
            self._retire(slot)
        resolve(message.reply, [slot.id for slot in chosen])

    @handles(Trigger)
    def _trigger(self, message: Trigger) -> None:
        if self._drains:
            raise SchedulerError(f"program {self.program.id!r} is stopping")
        idle = next((slot for slot in self._pool() if not slot.running), None)
        slot = idle if idle is not None else self._start_spawn(temporary=True)
        self._dispatch(slot, self.runtime.clock.now(), message.args, message.reply)

    @handles(GetState)
    def _get_state(self, message: GetState) -> None:
        resolve(message.reply, self.state)

    @handles(SetState)
    def _set_state(self, message: SetState) -> None:
        self.state = message.value
        resolve(message.reply, None)

    @handles(GetProgramInfo)
    def _get_info(self, message: GetProgramInfo) -> None:
        resolve(message.reply, self.info())

    @handles(GetSpawns)
    def _get_spawns(self, message: GetSpawns) -> None:
        spawns = [slot.info(self.program.id) for slot in self._slots.values() if not slot.temporary]
        resolve(message.reply, spawns)

    @handles(GetHistory)
    def _get_history(self, message: GetHistory) -> None:
        active = [
            run.record(self.program.id)
            for run in (*self._running.values(), *self._retrying.values())
        ]
        records = [*active, *(self._history or ()), *(self._not_run or ())]
        # Newest first; of a retried run, its latest try first.
        records.sort(
            key=lambda r: (_run_number(r), r.attempt, r.status in ("pending", "running")),
            reverse=True,
        )
        resolve(message.reply, records[: max(0, message.limit)])

    @handles(SetPaused)
    def _set_paused(self, message: SetPaused) -> None:
        self.paused = message.paused
        if not self.paused:
            if self._failed:
                self._recover()
            for run in [run for run in self._retrying.values() if run.parked]:
                # Retries that came due while paused run now, oldest first.
                del self._retrying[run.id]
                run.parked = False
                if not self._drains:
                    self._retry_now(run)
        resolve(message.reply)

    def _recover(self) -> None:
        """`resume` of a program failed by its restart intensity: forget the restarts and
        bring the pool back up to `min`."""
        self._failed = False
        self._restarts = None
        missing = max(0, self.program.min - len(self._pool()))
        for _ in range(missing):
            self._start_spawn()
        logger.info(
            "program %r resumed after failing; %d spawn(s) started", self.program.id, missing
        )

    @handles(UpstreamPresence)
    def _upstream_presence(self, message: UpstreamPresence) -> None:
        schedule = self.program.schedule
        upstream = schedule.upstream if isinstance(schedule, OnSuccess) else None
        self.waiting_for = None if message.installed else upstream

    @handles(SetSchedule)
    def _set_schedule(self, message: SetSchedule) -> None:
        self.program = attrs.evolve(self.program, schedule=message.schedule, interval=None)
        self.schedule_text = message.schedule.describe()
        self._exhausted = False
        self._one_shot_fired = False
        resolve(message.reply)

    @handles(WatchSuccess)
    def _watch_success(self, message: WatchSuccess) -> None:
        self.report_success = message.enabled

    @handles(Drain)
    def _drain(self, message: Drain) -> None:
        self._drains.append(message.reply)
        for run in list(self._retrying.values()):
            if run.retry is not None:
                run.retry.cancel()
            self._end_backoff(run)
            self._retrying.pop(run.id)
            self._conclude(run, None, run.last_error, self.runtime.clock.now(), status="failed")
        for slot in list(self._slots.values()):
            self._retire(slot)
        self._check_drained()

    def info(self) -> ProgramInfo:
        """A snapshot of this program."""
        return ProgramInfo(
            id=self.program.id,
            name=self.program.name,
            schedule=self.schedule_text,
            status=self.status,
            spawns=len(self._pool()),
            min=self.program.min,
            max=self.program.max,
            state=self.state,
            runs=self.runs,
            succeeded=self.succeeded,
            failed=self.failed,
            skipped=self.skipped,
            missed=self.missed,
            running=len(self._running),
            last_run=self.last_run,
            next_run=self.next_run,
            last_error=self.last_error,
        )
