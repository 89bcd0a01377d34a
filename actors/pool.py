"""ProgramActor: one program's state and its pool of spawns, kept within `[min, max]`.

The ProgramActor is the only owner of a program's state: every merge happens in its message
handler, one message at a time, so merges never race. It also keeps the books: which spawn is
idle or running, the counters, the run history. It fans every `Tick` out to every spawn, and a
busy spawn follows the program's `overlap` rule.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future
from datetime import datetime
from typing import Any

import attrs
from pykka import ActorRef

from actors.errors import InvalidProgram, RunnerStopped, SchedulerError, SpawnLimitError
from actors.messages import (
    NO_ARGS,
    Drain,
    GetHistory,
    GetProgramInfo,
    GetSpawns,
    GetState,
    NextRun,
    ProgramFinished,
    ProgramSucceeded,
    Run,
    RunFinished,
    SetPaused,
    SetSchedule,
    SetState,
    Spawn,
    Tick,
    Trigger,
    Uninstalled,
    Unspawn,
    WatchSuccess,
    resolve,
)
from actors.program import POLICIES, Program
from actors.runtime import Actor, Runtime, handles, stop_actor
from actors.schedules import Manual
from actors.snapshots import (
    ProgramInfo,
    ProgramStatus,
    RunRecord,
    RunStatus,
    SpawnInfo,
    SpawnStatus,
)
from actors.spawn import SpawnActor

__all__ = ["ProgramActor", "SpawnNumbers", "SpawnSlot"]

logger = logging.getLogger("actors.program")

_RESULT_WIDTH = 200


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
        self._running: dict[str, RunRecord] = {}
        self._waiters: dict[str, Future[Any]] = {}
        # Made on the first record: an empty deque costs 600+ bytes, times 100,000 programs.
        self._history: deque[RunRecord] | None = None
        self._history_size = history
        self._drains: list[Future[Any]] = []
        self._warned_no_spawns = False

    def __str__(self) -> str:
        return f"ProgramActor({self.program.id})"

    @property
    def status(self) -> ProgramStatus:
        """`finished` (max_runs reached, or no fire time left), `paused` or `active`."""
        if self._max_runs_reached or (self._exhausted and not self._running):
            return "finished"
        return "paused" if self.paused else "active"

    def _timed(self) -> bool:
        """Whether ticks come from the clock (not `manual()`, not `on_success()`)."""
        schedule = self.program.schedule
        return not isinstance(schedule, Manual) and getattr(schedule, "upstream", None) is None

    def _maybe_uninstall_self(self) -> None:
        """After an `after()` program's tick has run out, ask the supervisor to uninstall it."""
        if self._one_shot_fired and not self._running and not self._uninstall_requested:
            if any(slot.queued for slot in self._slots.values()):
                return
            self._uninstall_requested = True
            self.tell(self.supervisor_ref, Uninstalled(self.program.id))

    def on_start(self) -> None:
        for _ in range(self.program.min):
            self._start_spawn()

    def on_stop(self) -> None:
        stopped = RunnerStopped(f"program {self.program.id!r} stopped before the run finished")
        for waiter in self._waiters.values():
            resolve(waiter, error=stopped)
        for slot in self._slots.values():
            stop_actor(slot.ref)
        for drain in self._drains:
            resolve(drain)

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
        logger.debug("%s started %s", self, spawn_id)
        return slot

    def _stop_spawn(self, slot: SpawnSlot) -> None:
        del self._slots[slot.id]
        for tick in slot.queued:
            self._record_not_run(tick.scheduled_at, "skipped", slot.id)
        slot.queued.clear()
        stop_actor(slot.ref)
        logger.debug("%s stopped %s", self, slot.id)
        self._check_drained()

    def _retire(self, slot: SpawnSlot) -> None:
        """Stop `slot` now if idle, else once its run finishes."""
        slot.stopping = True
        if not slot.running:
            self._stop_spawn(slot)

    def _choose(self, policy: str) -> SpawnSlot:
        pool = self._pool()
        if policy == "first":
            return pool[0]
        if policy == "idle":
            idle = [slot for slot in pool if not slot.running]
            return idle[-1] if idle else pool[-1]
        return pool[-1]

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
    ) -> None:
        run_id = self._next_run_id()
        slot.running = True
        self._running[run_id] = RunRecord(
            id=run_id,
            program=self.program.id,
            spawn=slot.id,
            scheduled_at=scheduled_at,
            status="running",
        )
        if waiter is not None:
            self._waiters[run_id] = waiter
        self.tell(slot.ref, Run(run_id, scheduled_at, args))

    def _record_not_run(self, scheduled_at: datetime, status: RunStatus, spawn: str | None) -> None:
        if status == "missed":
            self.missed += 1
        else:
            self.skipped += 1
        self._remember(
            RunRecord(
                id=self._next_run_id(),
                program=self.program.id,
                spawn=spawn,
                scheduled_at=scheduled_at,
                status=status,
            )
        )

    def _remember(self, record: RunRecord) -> None:
        if self._history is None:
            self._history = deque(maxlen=self._history_size)
        self._history.append(record)

    def _runs_left(self) -> int | None:
        """How many more runs `max_runs` allows, counting those in flight (`None` = no cap)."""
        if self.program.max_runs is None:
            return None
        return self.program.max_runs - self.runs - len(self._running)

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

    def _check_drained(self) -> None:
        if self._drains and not self._slots:
            for drain in self._drains:
                resolve(drain)
            self._drains.clear()
            self.stop()

    # --- messages ---------------------------------------------------------------------------

    @handles(Tick)
    def _tick(self, message: Tick) -> None:
        self._timer_says(message.next_at)
        if self.paused:
            # Ticks while paused are missed, and not replayed on resume.
            for scheduled_at in (*message.missed, message.scheduled_at):
                self._record_not_run(scheduled_at, "missed", None)
            return
        for scheduled_at in message.missed:
            self._record_not_run(scheduled_at, "missed", None)
        if getattr(self.program.schedule, "uninstall_after_run", False):
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
        self._timer_says(message.at)

    @handles(RunFinished)
    def _finished(self, message: RunFinished) -> None:
        record = self._running.pop(message.run_id, None)
        slot = self._slots.get(message.spawn_id)
        result, error = message.result, message.error
        if error is None:
            try:
                self.state = self.program.merge_fn(self.state, result)
            except Exception as merge_error:  # noqa: BLE001 - user code fails the run
                error = merge_error
        self.runs += 1
        self.last_run = message.started_at
        if error is None:
            self.succeeded += 1
            if self.report_success:
                self.tell(
                    self.supervisor_ref, ProgramSucceeded(self.program.id, message.finished_at)
                )
        else:
            self.failed += 1
            self.last_error = error
            logger.info("run %s of %r failed: %r", message.run_id, self.program.id, error)
        self._remember(
            RunRecord(
                id=message.run_id,
                program=self.program.id,
                spawn=message.spawn_id,
                scheduled_at=record.scheduled_at if record else None,
                status="completed" if error is None else "failed",
                started_at=message.started_at,
                finished_at=message.finished_at,
                result=_result_text(result) if error is None else None,
                error=error,
            )
        )
        waiter = self._waiters.pop(message.run_id, None)
        if waiter is not None:
            resolve(waiter, result, error)
        if self.program.max_runs is not None and self.runs >= self.program.max_runs:
            self._finish()
        if slot is None:
            self._maybe_uninstall_self()
            return
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
        self._maybe_uninstall_self()

    def _finish(self) -> None:
        if self._max_runs_reached:
            return
        self._max_runs_reached = True
        self.next_run = None
        for slot in self._slots.values():
            for tick in slot.queued:
                self._record_not_run(tick.scheduled_at, "skipped", slot.id)
            slot.queued.clear()
        self.tell(self.supervisor_ref, ProgramFinished(self.program.id))

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
        if count - n < least:
            msg = (
                f"cannot unspawn {n} of {self.program.id!r}: it has {count} spawn(s) "
                f"and min={least}"
            )
            raise SpawnLimitError(msg)
        chosen = []
        for _ in range(n):
            slot = self._choose(policy)
            chosen.append(slot.id)
            self._retire(slot)
        resolve(message.reply, chosen)

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
        records = [*self._running.values(), *(self._history or ())]
        records.sort(key=_run_number, reverse=True)
        resolve(message.reply, records[: max(0, message.limit)])

    @handles(SetPaused)
    def _set_paused(self, message: SetPaused) -> None:
        self.paused = message.paused
        resolve(message.reply)

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
