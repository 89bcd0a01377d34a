"""ProgramActor: one program's state, and the coordinator of its spawns and runs.

The ProgramActor is the only owner of a program's state: every merge happens in its message
handler, one message at a time, so merges never race. The books are kept by two plain objects
it owns: its `SpawnPool` (which spawns exist, idle or busy, within `[min, max]`) and its
`RunLedger` (runs in flight, counters, history, events). The actor itself decides what happens
next: it fans every `Tick` out to every spawn (a busy one follows `overlap`), hands runs to
spawns, enforces `timeout` (abandoning a stuck run and replacing its spawn) and `retry`, and
knows when the program is drained, finished, or done with its one `after()` tick.
"""

from __future__ import annotations

import functools
import logging
import random
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

from pykka import ActorRef

from actors.errors import (
    InvalidProgram,
    RunnerStopped,
    SchedulerError,
    SpawnLimitError,
    SpawnNotFound,
)
from actors.events import ProgramFinished
from actors.program import POLICIES, Program
from actors.runtime import (
    Actor,
    RunTicket,
    Runtime,
    call_user_code,
    handles,
    post,
    resolve,
    stop_actor,
)
from actors.schedules import Schedule
from actors.snapshots import ProgramInfo, ProgramStatus, RunStatus
from actors.tree.messages import (
    Drain,
    GetHistory,
    GetProgramInfo,
    GetSpawns,
    GetState,
    KillSpawn,
    MaxRunsReached,
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
)
from actors.tree.run_ledger import ActiveRun, RunLedger
from actors.tree.spawn_actor import SpawnActor
from actors.tree.spawn_pool import SpawnNumbers, SpawnPool, SpawnSlot

__all__ = ["ProgramActor"]

logger = logging.getLogger("actors.program")


def _check_count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        msg = f"n must be an int >= 1, got {n!r}"
        raise InvalidProgram(msg)
    return n


class _Host:
    """The ProgramActor as its SpawnPool sees it: starts and stops the spawns' actors."""

    def __init__(self, actor: ProgramActor) -> None:
        self.actor = actor

    def launch_spawn(self, spawn_id: str) -> ActorRef[Any]:
        actor = self.actor
        return SpawnActor.start(actor.runtime, actor.program, spawn_id, actor.actor_ref)

    def halt_spawn(self, ref: ActorRef[Any]) -> None:
        stop_actor(ref)

    def drop_tick(self, tick: Tick, spawn_id: str) -> None:
        self.actor.ledger.count_skipped(tick.scheduled_at, spawn_id)

    def now(self) -> datetime:
        return self.actor.runtime.clock.now()

    def publish(self, event_class: type, program_id: str, *args: Any, **kwargs: Any) -> None:
        self.actor.publish(event_class, program_id, *args, **kwargs)


class ProgramActor(Actor):
    """Owns one program's state; coordinates its spawns (`pool`) and runs (`ledger`).

    Args:
        schedule: the program's schedule, anchored at `since` by the supervisor (the same
            object its timer follows).
    """

    def __init__(
        self,
        runtime: Runtime,
        program: Program,
        schedule: Schedule,
        since: datetime,
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
        self.schedule = schedule
        self.state = state
        self.supervisor_ref = supervisor_ref
        self.pool = SpawnPool(program.id, _Host(self), numbers)
        self.ledger = RunLedger(program.id, history, self.publish)
        self.paused = paused
        #: Another program runs on_success of this one: tell the supervisor of each success.
        self.report_success = report_success
        #: on_success of a program that is not installed: no tick can come until it is.
        self.waiting_for = waiting_for
        self.next_run = schedule.first_fire(since)
        self.max_runs_reached = False
        # A timed schedule with no fire time left: finished once its runs are done.
        self.exhausted = self.next_run is None and schedule.timed
        self.one_shot_fired = False  # an after() schedule has ticked: uninstall once idle
        self.uninstall_asked = False
        self.drains: list[Future[Any]] = []  # stays non-empty once draining
        self.drained = False
        self.warned_no_spawns = False
        self.merge_label = f"merge_fn of program {program.id!r}"

    def __str__(self) -> str:
        return f"ProgramActor({self.program.id})"

    @property
    def status(self) -> ProgramStatus:
        """`failed` (too many restarts), `finished` (max_runs reached, or no fire time left),
        `paused`, `waiting` (for its `on_success` upstream to be installed) or `active`."""
        if self.pool.failed:
            return "failed"
        if self.max_runs_reached or (self.exhausted and not self.ledger.in_flight()):
            return "finished"
        if self.paused:
            return "paused"
        return "waiting" if self.waiting_for is not None else "active"

    def on_start(self) -> None:
        for _ in range(self.program.min):
            self.pool.start()

    def on_stop(self) -> None:
        stopped = RunnerStopped(f"program {self.program.id!r} stopped before the run finished")
        for run in (*self.ledger.running.values(), *self.ledger.retrying.values()):
            run.cancel_alarms()
            self._end_backoff(run)
            if run.waiter is not None:
                resolve(run.waiter, error=stopped)
        for slot in self.pool.slots.values():
            stop_actor(slot.ref)
        for drain in self.drains:
            resolve(drain)

    def died(self, error: BaseException | None) -> None:
        # Our spawns and waiters die with us; the supervisor restarts us with our state.
        self.on_stop()
        died = ProgramDied(self.program.id, self.actor_urn, self.state, error)
        self.tell(self.supervisor_ref, died)

    # --- the flow of a run: offered, dispatched, ended ---------------------------------------

    def _offer(self, slot: SpawnSlot, tick: Tick) -> None:
        """Give `tick` to `slot`, following `overlap` if it is busy."""
        left = self.ledger.runs_left(self.program.max_runs)
        if left is not None and left <= 0:
            self.ledger.count_skipped(tick.scheduled_at, slot.id)
        elif not slot.running:
            self._dispatch(slot, self.ledger.open(slot.id, tick.scheduled_at))
        elif tick.replay or (self.program.overlap == "queue" and not slot.queued):
            slot.queued.append(tick)
        else:
            self.ledger.count_skipped(tick.scheduled_at, slot.id)

    def _dispatch(self, slot: SpawnSlot, run: ActiveRun) -> None:
        """Hand `run` to `slot`, arming its timeout."""
        run.spawn = slot.id
        run.status = "pending" if self.runtime.max_concurrent is not None else "running"
        run.started_at = None
        slot.running = True
        self.ledger.running[run.id] = run
        timeout = self.program.timeout
        run.ticket = RunTicket(
            f"main_fn of program {self.program.id!r} (run {run.id})", timed=timeout is not None
        )
        if timeout is not None:
            clock = self.runtime.clock
            run.timeout = clock.call_at(
                clock.now() + timedelta(seconds=timeout),
                functools.partial(post, self.actor_ref, RunTimedOut(run.id, run.attempt)),
            )
        priority = self.program.priority
        message = Run(run.id, run.scheduled_at, run.args, run.attempt, priority, run.ticket)
        self.tell(slot.ref, message)

    def _run_ended(
        self,
        run: ActiveRun,
        result: Any,
        error: BaseException | None,
        finished_at: datetime,
        *,
        status: RunStatus | None = None,
    ) -> None:
        """A try of `run` ended (`status`: how, when not by its own outcome): retry it after its
        backoff, or count its final outcome."""
        retry = self.program.retry
        retry_left = retry is not None and run.attempt < retry.attempts
        if error is not None and status is None and retry_left and not self.drains:
            assert retry is not None
            self.ledger.try_failed(run, error, finished_at)
            # settle() on a real clock waits for the retry: it is part of the tick's doing.
            run.in_backoff = True
            self.runtime.activity.backoff_started()
            jitter = random.uniform(0, retry.jitter) if retry.jitter else 0.0
            wait = retry.delay(run.attempt - 1) + jitter
            clock = self.runtime.clock
            run.retry = clock.call_at(
                clock.now() + timedelta(seconds=wait),
                functools.partial(post, self.actor_ref, RetryDue(run.id)),
            )
            return
        final: RunStatus = status or ("completed" if error is None else "failed")
        self.ledger.conclude(run, final, result, error, finished_at)
        if error is None and self.report_success:
            self.tell(self.supervisor_ref, ProgramSucceeded(self.program.id, finished_at))
        max_runs = self.program.max_runs
        if max_runs is not None and self.ledger.runs >= max_runs and not self.max_runs_reached:
            self.max_runs_reached = True
            self.next_run = None
            self.pool.drop_queued()
            self.tell(self.supervisor_ref, MaxRunsReached(self.program.id))
            self.publish(ProgramFinished, self.program.id)
        if self.exhausted and not self.ledger.in_flight():
            self.publish(ProgramFinished, self.program.id)

    def _end_backoff(self, run: ActiveRun) -> None:
        """The run no longer waits for its backoff (it runs, is parked, or is dropped)."""
        if run.in_backoff:
            run.in_backoff = False
            self.runtime.activity.backoff_ended()

    def _check_done(self) -> None:
        """Stop once drained; ask to be uninstalled once an `after()` tick has run out."""
        if self.drains and not self.drained and not self.pool.slots and not self.ledger.retrying:
            # `drains` stays non-empty: ticks still queued behind this message must see a
            # draining program (not one with no spawns) until the stop takes effect.
            self.drained = True
            for drain in self.drains:
                resolve(drain)
            self.stop()
            return
        idle = not self.ledger.in_flight() and not self.pool.has_queued()
        if self.one_shot_fired and idle and not self.uninstall_asked:
            self.uninstall_asked = True
            self.tell(self.supervisor_ref, Uninstalled(self.program.id))

    # --- messages: ticks and runs -------------------------------------------------------------

    @handles(Tick)
    def _tick(self, message: Tick) -> None:
        if not self.max_runs_reached:
            self.next_run = message.next_at
            self.exhausted = message.next_at is None and self.schedule.timed
        if self.paused:  # ticks while paused are missed, and not replayed on resume
            if message.runs:
                latest = (*message.missed_latest, message.scheduled_at)
                self.ledger.count_missed(message.missed + 1, latest)
            else:
                self.ledger.count_missed(message.missed, message.missed_latest)
            return
        self.ledger.count_missed(message.missed, message.missed_latest)
        if self.schedule.uninstall_after_run:
            self.one_shot_fired = True
        if message.runs and not self.drains and not self.max_runs_reached:
            members = self.pool.members()
            for slot in members:
                self._offer(slot, message)
            if not members:
                self.ledger.count_skipped(message.scheduled_at, None)
                if not self.warned_no_spawns:
                    self.warned_no_spawns = True
                    logger.warning(
                        "program %r has no spawns, so its ticks pass without running "
                        "(spawn one with runner.spawn(%r), or set min=1)",
                        self.program.id,
                        self.program.id,
                    )
        self._check_done()

    @handles(RunBegan)
    def _run_began(self, message: RunBegan) -> None:
        run = self.ledger.running.get(message.run_id)
        if run is not None and run.attempt == message.attempt:
            run.status = "running"
            run.started_at = message.started_at

    @handles(RunFinished)
    def _run_finished(self, message: RunFinished) -> None:
        run = self.ledger.take(message.run_id, message.attempt)
        if run is None:
            logger.info(
                "late result of run %s (try %d) of %r discarded: it timed out or its spawn "
                "was killed",
                message.run_id,
                message.attempt,
                self.program.id,
            )
            return
        if run.timeout is not None:
            run.timeout.cancel()
        run.started_at = message.started_at
        result, error = message.result, message.error
        if error is None:
            try:
                merge = self.program.merge_fn
                self.state = call_user_code(self.merge_label, merge, self.state, result)
            except Exception as merge_error:  # noqa: BLE001 - user code fails the run
                error = merge_error
        self._run_ended(run, result, error, message.finished_at)
        slot = self.pool.slots.get(message.spawn_id)
        if slot is not None:
            queued = self.pool.run_ended(slot, error)
            if queued is not None and not self.max_runs_reached:
                self._offer(slot, queued)
        self._check_done()

    @handles(RunTimedOut)
    def _timed_out(self, message: RunTimedOut) -> None:
        run = self.ledger.take(message.run_id, message.attempt)
        if run is None:
            return
        if run.ticket is not None:  # nobody waits for the stuck thread any more
            self.runtime.abandon(run.ticket)
        timeout = self.program.timeout
        error = TimeoutError(f"run {run.id} of {self.program.id!r} took longer than {timeout} s")
        # Python cannot stop the thread: retire the spawn, drop its late result, replace it.
        self._run_ended(run, None, error, self.runtime.clock.now())
        slot = self.pool.slots.get(run.spawn)
        if slot is not None:
            slot.running = False
            slot.runs += 1
            slot.failed += 1
            if self.drains:
                self.pool.stop(slot, "timed out")
            else:
                self.pool.lose(
                    slot, "timed out", minimum=self.program.min, keep_size=True, death=True
                )
        self._check_done()

    @handles(RetryDue)
    def _retry_due(self, message: RetryDue) -> None:
        run = self.ledger.retrying.get(message.run_id)
        if run is None or run.parked:
            return
        self._end_backoff(run)
        if self.paused and not self.drains:
            run.parked = True  # a paused program runs nothing: the retry waits for resume
            return
        del self.ledger.retrying[message.run_id]
        if self.drains:
            self._run_ended(run, None, run.last_error, self.runtime.clock.now(), status="failed")
        else:
            self._retry_now(run)
        self._check_done()

    def _retry_now(self, run: ActiveRun) -> None:
        """Hand a retry to its spawn if that is free, else to an idle or a temporary one."""
        slot = self.pool.slots.get(run.spawn)
        if slot is None or slot.running or not slot.in_pool:
            slot = self.pool.idle_member() or self.pool.start(temporary=True)
        self._dispatch(slot, run)

    @handles(KillSpawn, SpawnDied)
    def _spawn_lost(self, message: KillSpawn | SpawnDied) -> None:
        """Abandon a spawn at once (killed, or its actor died): its run, if any, is cancelled
        and counted failed; the spawn is replaced where `min` asks."""
        slot = self.pool.slots.get(message.spawn_id)
        if slot is None:
            if isinstance(message, KillSpawn):
                msg = f"program {self.program.id!r} has no spawn {message.spawn_id!r}"
                raise SpawnNotFound(msg)
            return
        reason = "killed" if isinstance(message, KillSpawn) else "died"
        if isinstance(message, SpawnDied):
            logger.warning("%s: spawn %s died: %r", self, slot.id, message.error)
        run = self.ledger.on_spawn(slot.id)
        if run is not None:
            if run.timeout is not None:
                run.timeout.cancel()
            if run.ticket is not None:
                self.runtime.abandon(run.ticket)
            error = SchedulerError(f"spawn {slot.id} was {reason} during run {run.id}")
            self._run_ended(run, None, error, self.runtime.clock.now(), status="cancelled")
            slot.runs += 1
            slot.failed += 1
        slot.running = False
        if self.drains:
            self.pool.stop(slot, reason)
        else:
            minimum = self.program.min
            self.pool.lose(slot, reason, minimum=minimum, keep_size=False, death=reason == "died")
        if isinstance(message, KillSpawn):
            resolve(message.reply)
        self._check_done()

    # --- messages: requests ------------------------------------------------------------------

    @handles(Spawn)
    def _spawn(self, message: Spawn) -> None:
        n = _check_count(message.n)
        if self.drains:
            raise SchedulerError(f"program {self.program.id!r} is stopping")
        count, most = len(self.pool.members()), self.program.max
        if most is not None and count + n > most:
            msg = (
                f"cannot spawn {n} more of {self.program.id!r}: it has {count} spawn(s) "
                f"and max={most}"
            )
            raise SpawnLimitError(msg)
        resolve(message.reply, [self.pool.start().id for _ in range(n)])

    @handles(Unspawn)
    def _unspawn(self, message: Unspawn) -> None:
        n = _check_count(message.n)
        policy: str = self.program.policy if message.policy is None else message.policy
        if policy not in POLICIES:
            msg = f"policy must be one of {', '.join(map(repr, POLICIES))}, got {policy!r}"
            raise InvalidProgram(msg)
        count, least = len(self.pool.members()), self.program.min
        if message.shrink:
            # Idle spawns first; busy ones finish their run first, so shrinking never starves
            # when ticks keep every spawn busy at the moment the monitor looks.
            n = max(0, min(n, count - least))
            policy = "idle"
        elif count - n < least:
            msg = (
                f"cannot unspawn {n} of {self.program.id!r}: it has {count} spawn(s) "
                f"and min={least}"
            )
            raise SpawnLimitError(msg)
        chosen = self.pool.choose(policy, n)
        for slot in chosen:
            self.pool.retire(slot)
        resolve(message.reply, [slot.id for slot in chosen])
        self._check_done()

    @handles(Trigger)
    def _trigger(self, message: Trigger) -> None:
        if self.drains:
            raise SchedulerError(f"program {self.program.id!r} is stopping")
        slot = self.pool.idle_member() or self.pool.start(temporary=True)
        now = self.runtime.clock.now()
        self._dispatch(slot, self.ledger.open(slot.id, now, message.args, message.reply))

    @handles(GetState, GetProgramInfo, GetSpawns, GetHistory)
    def _query(self, message: GetState | GetProgramInfo | GetSpawns | GetHistory) -> None:
        answer: Any
        match message:
            case GetState():
                answer = self.state
            case GetProgramInfo():
                answer = _program_info(self)
            case GetSpawns():
                answer = self.pool.infos()
            case GetHistory(limit=limit):
                answer = self.ledger.history(limit)
        resolve(message.reply, answer)

    @handles(SetState, SetPaused, SetSchedule, WatchSuccess, UpstreamPresence)
    def _configure(
        self, message: SetState | SetPaused | SetSchedule | WatchSuccess | UpstreamPresence
    ) -> None:
        match message:
            case SetState(value=value):
                self.state = value
            case SetPaused(paused=paused):
                self.paused = paused
                if not paused:
                    self._resumed()
            case SetSchedule(schedule=schedule, since=since):
                self.schedule = schedule
                self.next_run = schedule.first_fire(since)
                self.exhausted = self.next_run is None and schedule.timed
                self.one_shot_fired = False
            case WatchSuccess(enabled=enabled):
                self.report_success = enabled
            case UpstreamPresence(installed=installed):
                self.waiting_for = None if installed else self.schedule.upstream
        if isinstance(message, SetState | SetPaused | SetSchedule):
            resolve(message.reply)

    def _resumed(self) -> None:
        """Resumed: a failed pool comes back to `min`; retries parked while paused run."""
        if self.pool.failed:
            started = self.pool.recover(self.program.min)
            program_id = self.program.id
            logger.info(
                "program %r resumed after failing; %d spawn(s) started", program_id, started
            )
        for run in [run for run in self.ledger.retrying.values() if run.parked]:
            del self.ledger.retrying[run.id]
            run.parked = False
            if not self.drains:
                self._retry_now(run)

    @handles(Drain)
    def _drain(self, message: Drain) -> None:
        self.drains.append(message.reply)
        now = self.runtime.clock.now()
        for run in list(self.ledger.retrying.values()):
            run.cancel_alarms()
            self._end_backoff(run)
            del self.ledger.retrying[run.id]
            self._run_ended(run, None, run.last_error, now, status="failed")
        for slot in list(self.pool.slots.values()):
            self.pool.retire(slot)
        self._check_done()


def _program_info(actor: ProgramActor) -> ProgramInfo:
    """A snapshot of the program `actor` runs."""
    program, ledger = actor.program, actor.ledger
    return ProgramInfo(
        id=program.id,
        name=program.name,
        schedule=actor.schedule.describe(),
        status=actor.status,
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
    )
