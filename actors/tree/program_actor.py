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
from datetime import datetime, timedelta
from typing import Any, get_args

from actors.errors import RunnerStopped, SchedulerError, SpawnNotFound
from actors.events import ProgramFinished
from actors.runtime import (
    Actor,
    ActorRef,
    RunTicket,
    Runtime,
    call_user_code,
    handles,
    post,
    resolve,
    stop_actor,
)
from actors.snapshots import RunStatus
from actors.tree import messages as m
from actors.tree.messages import Tick
from actors.tree.program_phase import ProgramPhase
from actors.tree.program_start import ProgramStart
from actors.tree.program_view import query_answer
from actors.tree.run_ledger import ActiveRun, RunLedger
from actors.tree.spawn_pool import ActorSpawnHost, SpawnPool, SpawnSlot

__all__ = ["ProgramActor"]

logger = logging.getLogger("actors.program")


#: The messages that set something: state, pause, schedule, watches, a spawn's node.
Configure = (
    m.SetState | m.SetPaused | m.SetSchedule | m.WatchSuccess | m.UpstreamPresence | m.SpawnPlaced
)


class ProgramActor(Actor):
    """Owns one program's state; coordinates its spawns (`pool`) and runs (`ledger`)."""

    def __init__(self, runtime: Runtime, start: ProgramStart, supervisor_ref: ActorRef[Any]):
        super().__init__(runtime)
        program = self.program = start.program
        self.schedule = start.schedule
        self.state = start.state
        self.supervisor_ref = supervisor_ref
        self.pool = SpawnPool(program.id, ActorSpawnHost(self), start.numbers)
        self.ledger = RunLedger(program.id, start.history, self.publish, runtime.activity)
        #: Another program runs on_success of this one: tell the supervisor of each success.
        self.report_success = start.report_success
        self.next_run = start.first_fire
        exhausted = self.next_run is None and self.schedule.timed
        paused, waiting_for = start.paused, start.waiting_for
        self.phase = ProgramPhase(paused=paused, waiting_for=waiting_for, exhausted=exhausted)
        self.merge_label = f"merge_fn of program {program.id!r}"
        self.recorder, self.stored = start.recorder, start.stored

    def __str__(self) -> str:
        return f"ProgramActor({self.program.id})"

    def on_start(self) -> None:
        stored = self.stored
        spawns = self.program.min if stored is None else self.recorder.adopt(self, stored)
        self.stored = None  # adopted: the store's copy is not needed (kept if adopting failed)
        for _ in range(spawns):
            self.pool.start()
        for scheduled_at in self.recorder.started(self, stored):  # cut off by a crash: again
            run = self.ledger.open("", scheduled_at)
            run.from_tick = True
            self._dispatch(run)

    def on_stop(self) -> None:
        self.ledger.close(RunnerStopped(f"program {self.program.id!r} stopped before the run"))
        for slot in self.pool.slots.values():
            stop_actor(slot.ref)
        for drain in self.phase.drains:
            resolve(drain)

    def died(self, error: BaseException | None) -> None:
        # Our spawns and waiters die with us; the supervisor restarts us with our state.
        self.on_stop()
        stored = self.stored or self.recorder.snapshot(self)  # the restart goes on from here
        died = m.ProgramDied(self.program.id, self.actor_urn, self.state, error, stored)
        self.tell(self.supervisor_ref, died)

    # --- the flow of a run: offered, dispatched, ended ---------------------------------------

    def _offer(self, slot: SpawnSlot, tick: Tick) -> bool:
        """Give `tick` to `slot`, following `overlap` if it is busy; whether it takes it."""
        left = self.ledger.runs_left(self.program.max_runs)
        if left is not None and left <= 0:
            self.ledger.count_skipped(tick.scheduled_at, slot.id)
        elif not slot.busy:
            run = self.ledger.open(slot.id, tick.scheduled_at)
            run.from_tick = True
            self._dispatch(run, slot)
            return True
        elif tick.replay or (self.program.overlap == "queue" and not slot.queued):
            slot.queued.append(tick)
            return True
        else:
            self.ledger.count_skipped(tick.scheduled_at, slot.id)
        return False

    def _dispatch(self, run: ActiveRun, slot: SpawnSlot | None = None) -> None:
        """Hand `run` to `slot` (default: the run's own spawn if free, else an idle one, else a
        temporary one), arming its timeout."""
        if slot is None:
            slot = self.pool.slots.get(run.spawn)
            if slot is None or slot.busy or not slot.in_pool:
                slot = self.pool.idle_member() or self.pool.start(temporary=True)
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
                functools.partial(post, self.actor_ref, m.RunTimedOut(run.id, run.attempt)),
            )
        priority = self.program.priority
        message = m.Run(run.id, run.scheduled_at, run.args, run.attempt, priority, run.ticket)
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
        if error is not None and status is None and retry_left and not self.phase.draining:
            assert retry is not None
            record = self.ledger.try_failed(run, error, finished_at)
            self.recorder.record(self, run, record, final=False)
            jitter = random.uniform(0, retry.jitter) if retry.jitter else 0.0
            wait = retry.delay(run.attempt - 1) + jitter
            clock = self.runtime.clock
            run.retry = clock.call_at(
                clock.now() + timedelta(seconds=wait),
                functools.partial(post, self.actor_ref, m.RetryDue(run.id)),
            )
            return
        final: RunStatus = status or ("completed" if error is None else "failed")
        self.recorder.record(
            self, run, self.ledger.conclude(run, final, result, error, finished_at)
        )
        if error is None and self.report_success:
            self.tell(self.supervisor_ref, m.ProgramSucceeded(self.program.id, finished_at))
        max_runs, phase = self.program.max_runs, self.phase
        if max_runs is not None and self.ledger.runs >= max_runs and not phase.max_runs_reached:
            phase.max_runs_reached = True
            self.next_run = None
            self.pool.drop_queued()
            self.tell(self.supervisor_ref, m.MaxRunsReached(self.program.id))
            self.publish(ProgramFinished, self.program.id)
        if phase.exhausted and not self.ledger.in_flight():
            self.publish(ProgramFinished, self.program.id)

    def _check_done(self) -> None:
        """Stop once drained; ask to be uninstalled once an `after()` tick has run out."""
        if (
            self.phase.draining
            and not self.phase.drained
            and not self.pool.slots
            and self.ledger.nothing_owed()
        ):
            # `drains` stays non-empty: ticks still queued behind this message must see a
            # draining program (not one with no spawns) until the stop takes effect.
            self.phase.drained = True
            for drain in self.phase.drains:
                resolve(drain)
            self.stop()
            return
        if not self.phase.one_shot_fired or self.phase.uninstall_asked:
            return
        if not self.ledger.in_flight() and not self.pool.has_queued():
            self.phase.uninstall_asked = True
            self.tell(self.supervisor_ref, m.Uninstalled(self.program.id))

    # --- messages: ticks and runs -------------------------------------------------------------

    @handles(Tick)
    def _tick(self, message: Tick) -> None:
        if not self.phase.max_runs_reached:
            self.next_run = message.next_at
            self.phase.exhausted = message.next_at is None and self.schedule.timed
        self.recorder.last_fire = message.scheduled_at
        # Ticks while paused are missed (the tick itself too), and not replayed on resume.
        self.ledger.count_tick_missed(message, itself=self.phase.paused)
        if self.phase.paused:
            self.recorder.save(self, tick=True)
            return
        if self.schedule.uninstall_after_run:
            self.phase.one_shot_fired = True
        runs = message.runs and not self.phase.draining and not self.phase.max_runs_reached
        if runs and self.recorder.store_first(self, message):
            return  # at most once: it runs once its firing is stored (see _firing_stored)
        if runs:
            self._run_tick(message)
        self.recorder.save(self, tick=True)
        self._check_done()

    def _run_tick(self, tick: Tick) -> int:
        """Offer `tick` to every member of the pool (none: it is skipped, and said once);
        how many took it."""
        members = self.pool.members()
        taken = sum([self._offer(slot, tick) for slot in members])  # a list: one call, not n
        if not members:
            self.ledger.count_skipped(tick.scheduled_at, None)
            self.pool.say_empty()
        return taken

    @handles(m.FiringStored)
    def _firing_stored(self, message: m.FiringStored) -> None:
        self.ledger.firings_pending -= 1
        self.pool.stop_awaiting(message.spawns)
        tick, answer = message.tick, message.answer
        error = answer.exception()
        result = None if error is not None else answer.result()
        if result == "ok":
            late = self.phase.draining or self.phase.max_runs_reached
            self.recorder.taken(self, tick.scheduled_at, 0 if late else self._run_tick(tick))
        else:
            # Not stored (the store failed: missed), fired before (a restart), or another
            # runner's now (stale: it stops here): at most once means it does not run here.
            why = repr(error) if error is not None else f"the store answered {result!r}"
            logger.warning("%s: tick %s does not run: %s", self, tick.scheduled_at, why)
            if error is not None:
                self.ledger.count_missed(1, (tick.scheduled_at,))
            if result == "stale":
                drop = m.Drop(program_id=self.program.id, urn=self.actor_urn)
                self.tell(self.supervisor_ref, drop)
        self._check_done()

    @handles(m.RunBegan)
    def _run_began(self, message: m.RunBegan) -> None:
        run = self.ledger.running.get(message.run_id)
        if run is not None and run.attempt == message.attempt:
            run.status = "running"
            run.started_at = message.started_at

    @handles(m.RunFinished)
    def _run_finished(self, message: m.RunFinished) -> None:
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
            before = self.state
            try:
                merge = self.program.merge_fn
                self.state = call_user_code(self.merge_label, merge, self.state, result)
                self.recorder.keep_state(self.state)  # the stored state is a merged one
            except Exception as merge_error:  # noqa: BLE001 - user code fails the run
                self.state, error = before, merge_error
        self._run_ended(run, result, error, message.finished_at)
        slot = self.pool.slots.get(message.spawn_id)
        if slot is not None:
            queued = self.pool.run_ended(slot, error)
            stopped = self.phase.max_runs_reached
            if queued is not None and (stopped or not self._offer(slot, queued)):
                self.recorder.dropped(self, queued.scheduled_at)
        self._check_done()

    @handles(m.RunTimedOut)
    def _timed_out(self, message: m.RunTimedOut) -> None:
        run = self.ledger.take(message.run_id, message.attempt)
        if run is None:
            return
        timeout = self.program.timeout
        error = TimeoutError(f"run {run.id} of {self.program.id!r} took longer than {timeout} s")
        # Drop the run, retire its spawn (killing its process or Ray actor) and replace it.
        self._cut_short(run, error, None)
        slot = self.pool.slots.get(run.spawn)
        if slot is not None:
            self._lose(slot, "timed out", keep_size=True, death=True)
        self._check_done()

    def _cut_short(self, run: ActiveRun, error: BaseException, status: RunStatus | None) -> None:
        """End a run that will not end by itself: nobody waits for its thread any more."""
        run.cancel_alarms()
        if run.ticket is not None:
            self.runtime.abandon(run.ticket)
        self._run_ended(run, None, error, self.runtime.clock.now(), status=status)

    def _lose(self, slot: SpawnSlot, reason: str, *, keep_size: bool, death: bool) -> None:
        """Drop a spawn at once; replaced as the pool's rules say (never while draining)."""
        replace, minimum = not self.phase.draining, self.program.min
        self.pool.lose(
            slot, reason, minimum=minimum, keep_size=keep_size, death=death, replace=replace
        )
        self.recorder.save(self)

    @handles(m.RetryDue)
    def _retry_due(self, message: m.RetryDue) -> None:
        run = self.ledger.retrying.get(message.run_id)
        if run is None or run.parked:
            return
        self.ledger.end_backoff(run)
        if self.phase.paused and not self.phase.draining:
            run.parked = True  # a paused program runs nothing: the retry waits for resume
            return
        del self.ledger.retrying[message.run_id]
        if self.phase.draining:
            self._run_ended(run, None, run.last_error, self.runtime.clock.now(), status="failed")
        else:
            self._dispatch(run)
        self._check_done()

    @handles(m.KillSpawn, m.SpawnDied)
    def _spawn_lost(self, message: m.KillSpawn | m.SpawnDied) -> None:
        """Abandon a spawn at once (killed, or its actor died): its run, if any, is cancelled
        and counted failed; the spawn is replaced where `min` asks."""
        slot = self.pool.slots.get(message.spawn_id)
        if slot is None:
            if isinstance(message, m.KillSpawn):
                msg = f"program {self.program.id!r} has no spawn {message.spawn_id!r}"
                raise SpawnNotFound(msg)
            return
        reason = "killed" if isinstance(message, m.KillSpawn) else "died"
        if isinstance(message, m.SpawnDied):
            logger.warning("%s: spawn %s died: %r", self, slot.id, message.error)
        run = self.ledger.on_spawn(slot.id)
        if run is not None:
            error = SchedulerError(f"spawn {slot.id} ({reason}) was lost during run {run.id}")
            self._cut_short(run, error, "cancelled")
        self._lose(slot, reason, keep_size=False, death=reason == "died")
        if isinstance(message, m.KillSpawn):
            resolve(message.reply)
        self._check_done()

    # --- messages: requests ------------------------------------------------------------------

    @handles(m.Spawn, m.Unspawn)
    def _resize(self, message: m.Spawn | m.Unspawn) -> None:
        """Grow the pool (within `max`) or shrink it (within `min`; a busy spawn finishes its
        run first)."""
        if isinstance(message, m.Spawn):
            if self.phase.draining:
                raise SchedulerError(f"program {self.program.id!r} is stopping")
            resolve(message.reply, self.pool.grow(message.n, self.program.max))
        else:
            policy = self.program.policy if message.policy is None else message.policy
            shrink = message.shrink
            resolve(
                message.reply, self.pool.shrink(message.n, self.program.min, policy, gently=shrink)
            )
        self.recorder.save(self)
        self._check_done()

    @handles(m.Trigger)
    def _trigger(self, message: m.Trigger) -> None:
        if self.phase.draining:
            raise SchedulerError(f"program {self.program.id!r} is stopping")
        now = self.runtime.clock.now()
        self._dispatch(self.ledger.open("", now, message.args, message.reply))

    @handles(m.GetState, m.GetProgramInfo, m.GetSpawns, m.GetHistory, m.GetNextFires)
    def _query(self, message: m.ProgramRequest) -> None:
        resolve(message.reply, query_answer(self, message))

    @handles(*get_args(Configure))
    def _configure(self, message: Configure) -> None:
        match message:
            case m.SetState(value=value):
                self.recorder.keep_state(value)  # refused, state kept, if it cannot be stored
                self.state = value
            case m.SetPaused(paused=paused):
                self.phase.paused = paused
                if not paused and self.pool.failed:  # a failed program comes back to min
                    self.pool.recover(self.program.min)
                for run in [] if paused else self.ledger.unpark():  # parked while paused
                    if not self.phase.draining:
                        self._dispatch(run)
            case m.SetSchedule(schedule=schedule, since=since, given=given):
                self.recorder.rescheduled(given, schedule, since)
                self.schedule = schedule
                self.next_run = schedule.first_fire(since)
                self.phase.exhausted = self.next_run is None and schedule.timed
                self.phase.one_shot_fired = False
            case m.WatchSuccess(enabled=enabled):
                self.report_success = enabled
            case m.UpstreamPresence(installed=installed):
                self.phase.waiting_for = None if installed else self.schedule.upstream
            case m.SpawnPlaced(spawn_id=spawn_id, node=node):
                self.pool.placed(spawn_id, node)
        if isinstance(message, m.SetState | m.SetPaused | m.SetSchedule):
            self.recorder.save(self)
            resolve(message.reply)

    @handles(m.Drain)
    def _drain(self, message: m.Drain) -> None:
        self.phase.drains.append(message.reply)
        now = self.runtime.clock.now()
        for run in list(self.ledger.retrying.values()):
            run.cancel_alarms()
            self.ledger.end_backoff(run)
            del self.ledger.retrying[run.id]
            self._run_ended(run, None, run.last_error, now, status="failed")
        for slot in list(self.pool.slots.values()):
            self.pool.retire(slot)
        self._check_done()
