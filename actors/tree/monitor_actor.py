"""LoadMonitorActor: samples a metric and grows or shrinks one program's pool of spawns.

`Runner.autoscale` starts one. Every `interval` seconds of the runner's clock the monitor runs
a round, one message at a time and never waiting:

```
Clock ──SampleDue──> LoadMonitor ──run_user_code──> worker thread: metric()
                                                      │
LoadMonitor <──────────────Sampled(value)─────────────┘
   ├──GetProgramInfo──> Supervisor ──> ProgramActor   (pool size, min, max, status)
   │<──PoolSeen (posted by the reply's done callback)
   ├──Spawn / Unspawn(shrink=True)──> Supervisor ──> ProgramActor
   └<──Scaled (posted by the reply's done callback): ScaledUp / ScaledDown published
```

The metric is user code, so it runs on a worker thread, never on the monitor's message loop.
Answers from other actors come back through their reply futures' done callbacks, which only post
a message to the monitor. One round is under way at a time; a sample that comes due while the
previous round is still going (a slow metric) is skipped.

Rules: threshold mode (`high` and/or `low`) starts `step` spawns above `high`
and stops `step` below `low`; target mode (`per_spawn`) wants `ceil(sample / per_spawn)` spawns
and goes there at once. Always within the program's `[min, max]`. Growth is never held back;
shrinking waits until `cooldown` seconds have passed since the last change (or since the monitor
started) and stops idle spawns first, then busy ones gracefully: a busy one is marked `stopping`
and stops once its run has finished, so a pool whose spawns are busy whenever the monitor looks
(ticks as frequent as samples) still shrinks within one round.

The supervisor owns the monitors: it starts them (`StartMonitor`), halts them (`StopMonitor`),
asks them for a `MonitorInfo` (`GetMonitorInfo`) and stops a monitor's actor once the monitor
reports it has halted (`MonitorStopped`), which a monitor also does by itself when its program is
no longer installed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

import attrs
from pykka import ActorDeadError

from actors import events
from actors.autoscaling import AutoscaleSpec, as_sample, format_number
from actors.errors import ProgramNotFound, RunnerStopped
from actors.runtime import (
    Actor,
    ActorRef,
    Alarm,
    Request,
    RunTicket,
    Runtime,
    handles,
    post,
    resolve,
)
from actors.snapshots import MonitorInfo, ProgramInfo
from actors.tree.messages import GetProgramInfo, Spawn, Unspawn

__all__ = [
    "GetMonitorInfo",
    "HaltMonitor",
    "LoadMonitorActor",
    "MonitorStopped",
    "StartMonitor",
    "StopMonitor",
]

logger = logging.getLogger("actors.monitor")


# --- messages ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StartMonitor(Request):
    """Runner -> Supervisor: start a LoadMonitor (replacing the program's current one);
    answered with the monitor's number."""

    spec: AutoscaleSpec


@attrs.frozen(kw_only=True)
class StopMonitor(Request):
    """Runner -> Supervisor: halt monitor `number` of `program_id`; answered once it has halted
    (at once if it had already)."""

    program_id: str
    number: int


@attrs.frozen(kw_only=True)
class GetMonitorInfo(Request):
    """Runner -> Supervisor -> LoadMonitor: ask for monitor `number`'s `MonitorInfo`."""

    program_id: str
    number: int


@attrs.frozen(kw_only=True)
class HaltMonitor(Request):
    """Supervisor -> LoadMonitor: stop sampling and report `MonitorStopped`."""


@attrs.frozen
class MonitorStopped:
    """LoadMonitor -> Supervisor: I have halted (asked to, or my program is gone); stop me."""

    program_id: str
    number: int
    ref: ActorRef[Any]
    info: MonitorInfo


@attrs.frozen
class SampleDue:
    """Clock -> LoadMonitor: the sample of the grid time `at` is due."""

    at: datetime


@attrs.frozen
class Sampled:
    """Worker thread -> LoadMonitor: the metric's value (a finite float), or its error."""

    value: float | None
    error: BaseException | None = None


@attrs.frozen
class PoolSeen:
    """LoadMonitor -> itself: the program's `ProgramInfo`, or the error."""

    sample: float
    answer: Future[ProgramInfo]


@attrs.frozen
class Scaled:
    """LoadMonitor -> itself: the answer to a `Spawn` (`direction=1`) or `Unspawn` (`-1`)."""

    sample: float
    before: int
    direction: int
    answer: Future[Any]


# --- helpers run off the actor's loop ------------------------------------------------------


def _post_answer(
    ref: ActorRef[Any], wrap: Callable[[Future[Any]], Any], answer: Future[Any]
) -> None:
    """A reply future's done callback: hand the answer to the monitor as a message."""
    post(ref, wrap(answer))


def _measure(metric: Callable[[], Any], ref: ActorRef[Any]) -> None:
    """On a worker thread: call the metric and post what came of it."""
    try:
        outcome = Sampled(as_sample(metric()))
    except Exception as error:  # noqa: BLE001 - user code; counted and published
        outcome = Sampled(None, error)
    except BaseException as error:  # SystemExit and the like: end the round, then go on up
        with contextlib.suppress(ActorDeadError):
            ref.tell(Sampled(None, error))
        raise
    with contextlib.suppress(ActorDeadError):
        ref.tell(outcome)


# --- the actor -----------------------------------------------------------------------------


class LoadMonitorActor(Actor):
    """Samples `spec.metric` every `spec.interval` seconds and resizes one program's pool."""

    def __init__(
        self, runtime: Runtime, spec: AutoscaleSpec, number: int, supervisor_ref: ActorRef[Any]
    ) -> None:
        super().__init__(runtime)
        self.spec = spec
        self.number = number
        self.supervisor_ref = supervisor_ref
        now = runtime.clock.now()
        self.started_at = now
        self.samples = 0
        self.errors = 0
        self.spawns: int | None = None
        self.last_sample: float | None = None
        self.last_sample_at: datetime | None = None
        self.last_error: BaseException | None = None
        self.last_change: str | None = None
        self.last_change_at: datetime | None = None
        self._changed_at = now  # cooldown counts from here: the last change, or the start
        self._next_at: datetime | None = now + timedelta(seconds=spec.interval)
        self._deadline: Alarm | None = None
        self._busy = False  # a round is under way
        self._halted = False
        self._failing = False  # the metric failed last time (for logging transitions only)
        self._warned_unbounded = False

    def __str__(self) -> str:
        return f"LoadMonitorActor({self.spec.program_id}#{self.number})"

    @property
    def program_id(self) -> str:
        return self.spec.program_id

    def info(self) -> MonitorInfo:
        """A snapshot of this monitor."""
        return MonitorInfo(
            program=self.program_id,
            mode=self.spec.mode,
            rule=self.spec.describe(),
            active=not self._halted,
            spawns=self.spawns,
            samples=self.samples,
            last_sample=self.last_sample,
            last_sample_at=self.last_sample_at,
            last_change=self.last_change,
            last_change_at=self.last_change_at,
            errors=self.errors,
            last_error=self.last_error,
            next_sample=None if self._halted else self._next_at,
        )

    # --- lifecycle --------------------------------------------------------------------------

    def on_start(self) -> None:
        self._arm()

    def on_stop(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()

    def died(self, error: BaseException | None) -> None:
        self._halt(f"it failed: {error!r}")

    def _arm(self) -> None:
        if self._next_at is None:
            return
        self._deadline = self.runtime.clock.call_at(
            self._next_at, functools.partial(post, self.actor_ref, SampleDue(self._next_at))
        )

    def _halt(self, reason: str) -> None:
        """Stop sampling for good and tell the supervisor, which stops this actor."""
        if self._halted:
            return
        self._halted = True
        self._next_at = None
        if self._deadline is not None:
            self._deadline.cancel()
        logger.info("monitor of %r stopped: %s", self.program_id, reason)
        stopped = MonitorStopped(self.program_id, self.number, self.actor_ref, self.info())
        if not self.tell(self.supervisor_ref, stopped):
            self.stop()

    def _ask(self, request: Request) -> None:
        """Send a request to the supervisor; its reply future answers either way."""
        if not self.tell(self.supervisor_ref, request):
            resolve(request.reply, error=RunnerStopped("the runner's supervisor has stopped"))

    def _end_round(self) -> None:
        self._busy = False

    # --- requests ---------------------------------------------------------------------------

    @handles(HaltMonitor)
    def _halt_requested(self, message: HaltMonitor) -> None:
        self._halt("stopped by its handle")
        resolve(message.reply)

    @handles(GetMonitorInfo)
    def _get_info(self, message: GetMonitorInfo) -> None:
        resolve(message.reply, self.info())

    # --- a round: sample, look at the pool, change it ---------------------------------------

    @handles(SampleDue)
    def _sample_due(self, message: SampleDue) -> None:
        if self._halted or message.at != self._next_at:
            return
        # The next sample on the grid start + k * interval, after now (a late wake skips ahead).
        interval = self.spec.interval
        late = (self.runtime.clock.now() - message.at).total_seconds()
        self._next_at = message.at + timedelta(seconds=interval * (math.floor(late / interval) + 1))
        self._arm()
        if self._busy:
            logger.debug("%s: previous round still under way; sample skipped", self)
            return
        self._busy = True
        self.runtime.run_user_code(
            functools.partial(_measure, self.spec.metric, self.actor_ref),
            ticket=RunTicket(f"metric of the monitor of {self.program_id!r}"),
        )

    @handles(Sampled)
    def _sampled(self, message: Sampled) -> None:
        if self._halted:
            return
        if message.error is not None or message.value is None:
            self._metric_failed(message.error or ValueError("metric returned nothing"))
            return
        if self._failing:
            self._failing = False
            logger.info("metric of the monitor of %r works again", self.program_id)
        sample = message.value
        self.samples += 1
        self.last_sample = sample
        self.last_sample_at = self.runtime.clock.now()
        info = GetProgramInfo(program_id=self.program_id)
        self._ask(info)
        info.reply.add_done_callback(
            functools.partial(_post_answer, self.actor_ref, functools.partial(PoolSeen, sample))
        )

    def _metric_failed(self, error: BaseException) -> None:
        self.errors += 1
        self.last_error = error
        if not self._failing:
            self._failing = True
            logger.warning(
                "metric of the monitor of %r failed (%r); that round changes nothing",
                self.program_id,
                error,
            )
        else:
            logger.debug("metric of the monitor of %r failed again: %r", self.program_id, error)
        self.publish(events.MetricFailed, self.program_id, error)
        self._end_round()

    @handles(PoolSeen)
    def _pool_seen(self, message: PoolSeen) -> None:
        if self._halted:
            return
        error = message.answer.exception()
        if error is not None:
            self._round_failed(error)
            return
        info: ProgramInfo = message.answer.result()
        current = info.spawns
        self.spawns = current
        if info.status != "active":  # paused, finished or failed: hold the pool as it is
            self._end_round()
            return
        wanted = max(info.min, self.spec.wanted(message.sample, current))
        if info.max is not None:
            wanted = min(info.max, wanted)
        elif self.spec.per_spawn is not None and wanted > current:
            # Reinstalled without a max since autoscale() checked: never grow without a bound.
            if not self._warned_unbounded:
                self._warned_unbounded = True
                logger.warning(
                    "monitor of %r does not grow it: target mode needs the program to have a max",
                    self.program_id,
                )
            self._end_round()
            return
        if wanted > current:
            self._change(Spawn(program_id=self.program_id, n=wanted - current), message, 1)
            return
        if wanted < current:
            elapsed = (self.runtime.clock.now() - self._changed_at).total_seconds()
            if elapsed >= self.spec.cooldown:
                request = Unspawn(program_id=self.program_id, n=current - wanted, shrink=True)
                self._change(request, message, -1)
                return
        self._end_round()

    def _change(self, request: Spawn | Unspawn, seen: PoolSeen, direction: int) -> None:
        before = self.spawns or 0
        self._ask(request)
        request.reply.add_done_callback(
            functools.partial(
                _post_answer,
                self.actor_ref,
                functools.partial(Scaled, seen.sample, before, direction),
            )
        )

    @handles(Scaled)
    def _scaled(self, message: Scaled) -> None:
        if self._halted:
            return
        self._end_round()
        error = message.answer.exception()
        if error is not None:
            self._round_failed(error)
            return
        changed = len(message.answer.result())
        if not changed:
            return
        now = self.runtime.clock.now()
        after = message.before + message.direction * changed
        self.spawns = after
        self.last_change = f"{'+' if message.direction > 0 else '-'}{changed}"
        self.last_change_at = now
        self._changed_at = now
        logger.info(
            "monitor of %r: %d -> %d spawns (sample %s)",
            self.program_id,
            message.before,
            after,
            format_number(message.sample),
        )
        event = events.ScaledUp if message.direction > 0 else events.ScaledDown
        self.publish(event, self.program_id, message.before, after, message.sample)

    def _round_failed(self, error: BaseException) -> None:
        """A request of this round was refused: the program is gone, or it raced a change."""
        self._end_round()
        if isinstance(error, ProgramNotFound):
            self._halt(f"program {self.program_id!r} is no longer installed")
            return
        if isinstance(error, RunnerStopped | ActorDeadError):
            return
        # SpawnLimitError (someone resized the pool meanwhile), a program that is stopping:
        # this round changes nothing, the next one looks again.
        logger.debug("%s: round changed nothing: %r", self, error)
