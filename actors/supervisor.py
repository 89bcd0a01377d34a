"""SupervisorActor: owns the registry of programs and routes every request to its owner.

The supervisor maps each program id to its ProgramActor and TimerActor. Requests about one
program are forwarded, reply future and all, to that program's actor, so the supervisor never
waits on an answer; requests about the whole runner are answered by gathering the programs'
replies through their futures.

It also owns the LoadMonitors (`Runner.autoscale`): at most one per program, kept in
`monitors` by program id and numbered, so a stale handle cannot stop a newer monitor.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

import attrs
from pykka import ActorRef

from actors import events
from actors.errors import (
    InvalidProgram,
    ProgramExists,
    ProgramNotFound,
    RunnerStopped,
    SchedulerError,
)
from actors.messages import (
    Drain,
    GetProgramInfo,
    GetStatus,
    Install,
    MaxRunsReached,
    Pause,
    ProgramDied,
    ProgramRequest,
    ProgramSucceeded,
    Reschedule,
    Resume,
    SetPaused,
    SetSchedule,
    Shutdown,
    Uninstall,
    Uninstalled,
    UpstreamPresence,
    UpstreamSucceeded,
    WatchSuccess,
    gather,
    resolve,
)
from actors.monitor import (
    GetMonitorInfo,
    HaltMonitor,
    LoadMonitorActor,
    MonitorStopped,
    StartMonitor,
    StopMonitor,
)
from actors.pool import MAX_RESTARTS, RESTART_PERIOD, ProgramActor, SpawnNumbers
from actors.program import Program
from actors.runtime import Actor, Runtime, handles, stop_actor
from actors.schedules import OnSuccess
from actors.snapshots import MonitorInfo, RunnerStatus
from actors.timer import TimerActor

__all__ = ["MonitorEntry", "Registration", "SupervisorActor"]

logger = logging.getLogger("actors.supervisor")

#: How many halted monitors' last `MonitorInfo` the supervisor keeps for their handles.
RETIRED_MONITORS = 100


@attrs.define
class Registration:
    """One installed program and the two actors that serve it."""

    program: Program
    program_ref: ActorRef[Any]
    timer_ref: ActorRef[Any]


@attrs.define
class MonitorEntry:
    """A running LoadMonitor: its number (what its handle names) and its actor."""

    number: int
    ref: ActorRef[Any]


def _or_none(future: Future[Any]) -> Future[Any]:
    """A future answered with `future`'s result, or `None` where it failed."""
    quiet: Future[Any] = Future()
    future.add_done_callback(
        lambda done: resolve(quiet, None if done.exception() is not None else done.result())
    )
    return quiet


class SupervisorActor(Actor):
    """The root actor of a runner."""

    def __init__(self, runtime: Runtime, runner_id: str, history: int) -> None:
        super().__init__(runtime)
        self.runner_id = runner_id
        self.history = history
        self.registry: dict[str, Registration] = {}
        self.spawn_numbers: dict[str, SpawnNumbers] = {}
        # upstream program id -> ids of the programs that run on_success of it
        self.dependents: dict[str, set[str]] = {}
        self.paused = False
        self.stopping = False
        self.restarts: dict[str, deque[datetime]] = {}
        self.monitors: dict[str, MonitorEntry] = {}  # program id -> its running monitor
        self.halting_monitors: dict[int, ActorRef[Any]] = {}  # replaced, not yet stopped
        self.retired_monitors: dict[int, MonitorInfo] = {}  # number -> last info, newest last
        self._monitor_numbers = itertools.count(1)

    def __str__(self) -> str:
        return f"SupervisorActor({self.runner_id})"

    def _lookup(self, program_id: str) -> Registration:
        try:
            return self.registry[program_id]
        except KeyError:
            msg = f"no program {program_id!r} in runner {self.runner_id!r}"
            raise ProgramNotFound(msg) from None

    def _start_timer(self, program: Program, program_ref: ActorRef[Any]) -> ActorRef[Any]:
        return TimerActor.start(
            self.runtime,
            program.id,
            program.schedule,
            program.misfire,
            program_ref,
            self.runtime.clock.now(),
        )

    def _check_no_cycle(self, program_id: str, schedule: object) -> None:
        """Refuse an `on_success` chain that leads back to `program_id` (it would tick itself
        forever): `a` on success of `b` on success of `a`, or `a` on success of `a`."""
        chain = [program_id]
        while isinstance(schedule, OnSuccess):
            upstream = schedule.upstream
            chain.append(upstream)
            if upstream == program_id:
                path = " -> ".join(repr(step) for step in chain)
                msg = (
                    f"schedule on_success({schedule.upstream!r}) of program {program_id!r} makes "
                    f"a cycle: {path} (each would tick the next forever)"
                )
                raise InvalidProgram(msg)
            registration = self.registry.get(upstream)
            if registration is None or upstream in chain[:-1]:
                return
            schedule = registration.program.schedule

    def _waiting_for(self, program: Program) -> str | None:
        """The upstream an `on_success` program waits for, if it is not installed."""
        schedule = program.schedule
        if isinstance(schedule, OnSuccess) and schedule.upstream not in self.registry:
            return schedule.upstream
        return None

    def _follow(self, program: Program) -> None:
        """Record an on_success program under its upstream, and tell the upstream to report."""
        if not isinstance(program.schedule, OnSuccess):
            return
        upstream = program.schedule.upstream
        self.dependents.setdefault(upstream, set()).add(program.id)
        if upstream in self.registry:
            self.tell(self.registry[upstream].program_ref, WatchSuccess(True))
        else:
            logger.warning(
                "program %r runs on success of %r, which is not installed: it waits "
                "(status 'waiting') until %r is installed",
                program.id,
                upstream,
                upstream,
            )

    def _tell_dependents(self, upstream: str, *, installed: bool) -> None:
        """The `on_success` programs of `upstream` wait for it, or stop waiting."""
        for dependent in self.dependents.get(upstream, ()):
            registration = self.registry.get(dependent)
            if registration is not None:
                self.tell(registration.program_ref, UpstreamPresence(installed))

    def _unfollow(self, program: Program) -> None:
        if not isinstance(program.schedule, OnSuccess):
            return
        upstream = program.schedule.upstream
        if program.id not in self.dependents.get(upstream, ()):
            return
        self.dependents[upstream].discard(program.id)
        if not self.dependents[upstream]:
            del self.dependents[upstream]
            if upstream in self.registry:
                self.tell(self.registry[upstream].program_ref, WatchSuccess(False))

    def _retire(self, registration: Registration, reply: Future[Any] | None = None) -> None:
        """Stop a program's timer at once and drain its ProgramActor."""
        self.publish(events.ProgramUninstalled, registration.program.id)
        self._unfollow(registration.program)
        if not self.stopping:
            self._tell_dependents(registration.program.id, installed=False)
        stop_actor(registration.timer_ref)
        drain = Drain(reply=reply) if reply is not None else Drain()
        if not self.tell(registration.program_ref, drain):
            resolve(drain.reply)

    @handles(Install)
    def _install(self, message: Install) -> None:
        program = message.program
        self._check_no_cycle(program.id, program.schedule)
        if program.id in self.registry:
            if not message.replace:
                msg = f"program {program.id!r} is already installed (use replace=True)"
                raise ProgramExists(msg)
            self._retire(self.registry.pop(program.id))
        numbers = self.spawn_numbers.setdefault(program.id, SpawnNumbers())
        program_ref = ProgramActor.start(
            self.runtime,
            program,
            message.state,
            self.actor_ref,
            self.history,
            numbers,
            paused=self.paused,
            report_success=bool(self.dependents.get(program.id)),
            waiting_for=self._waiting_for(program),
        )
        timer_ref = self._start_timer(program, program_ref)
        self.registry[program.id] = Registration(program, program_ref, timer_ref)
        self._follow(program)
        self._tell_dependents(program.id, installed=True)
        self.publish(events.ProgramInstalled, program.id)
        logger.debug("installed %r", program.id)
        resolve(message.reply, program)

    @handles(Uninstall)
    def _uninstall(self, message: Uninstall) -> None:
        registration = self._lookup(message.program_id)
        del self.registry[message.program_id]
        if message.wait_for_drain:
            self._retire(registration, message.reply)
        else:
            self._retire(registration)
            resolve(message.reply)
        logger.debug("uninstalled %r", message.program_id)

    @handles(ProgramDied)
    def _program_died(self, message: ProgramDied) -> None:
        registration = self.registry.get(message.program_id)
        if registration is None or registration.program_ref.actor_urn != message.urn:
            return  # uninstalled meanwhile, or an old actor
        stop_actor(registration.timer_ref)
        if not self._may_restart(message.program_id):
            del self.registry[message.program_id]
            logger.error(
                "program %r died %d times within %s s; it is uninstalled, not restarted",
                message.program_id,
                MAX_RESTARTS,
                RESTART_PERIOD,
            )
            self.publish(events.ProgramUninstalled, message.program_id)
            self._tell_dependents(message.program_id, installed=False)
            return
        logger.warning("program %r died (%r); restarting it", message.program_id, message.error)
        program = registration.program
        registration.program_ref = ProgramActor.start(
            self.runtime,
            program,
            message.state,
            self.actor_ref,
            self.history,
            self.spawn_numbers.setdefault(program.id, SpawnNumbers()),
            paused=self.paused,
            report_success=bool(self.dependents.get(program.id)),
            waiting_for=self._waiting_for(program),
        )
        registration.timer_ref = self._start_timer(program, registration.program_ref)

    def _may_restart(self, program_id: str) -> bool:
        """OTP restart intensity for program actors, as for spawns."""
        now = self.runtime.clock.now()
        recent = self.restarts.setdefault(program_id, deque(maxlen=MAX_RESTARTS))
        if len(recent) == MAX_RESTARTS and now - recent[0] < timedelta(seconds=RESTART_PERIOD):
            return False
        recent.append(now)
        return True

    @handles(Uninstalled)
    def _uninstalled(self, message: Uninstalled) -> None:
        registration = self.registry.get(message.program_id)
        if registration is not None:
            del self.registry[message.program_id]
            self._retire(registration)
            logger.debug("%r ran its after() tick and uninstalled itself", message.program_id)

    @handles(Reschedule)
    def _reschedule(self, message: Reschedule) -> None:
        registration = self._lookup(message.program_id)
        self._check_no_cycle(message.program_id, message.schedule)
        self._unfollow(registration.program)
        stop_actor(registration.timer_ref)
        program = attrs.evolve(registration.program, schedule=message.schedule, interval=None)
        registration.program = program
        # The ProgramActor learns its schedule before the new timer's first tick can reach it.
        self.tell(
            registration.program_ref, SetSchedule(schedule=message.schedule, reply=message.reply)
        )
        registration.timer_ref = self._start_timer(program, registration.program_ref)
        self._follow(program)
        waiting_for = self._waiting_for(program)
        self.tell(registration.program_ref, UpstreamPresence(waiting_for is None))

    @handles(Pause)
    def _pause(self, message: Pause) -> None:
        self._set_paused(message.program_id, True, message.reply)

    @handles(Resume)
    def _resume(self, message: Resume) -> None:
        self._set_paused(message.program_id, False, message.reply)

    def _set_paused(self, program_id: str | None, paused: bool, reply: Future[Any]) -> None:
        if program_id is not None:
            registration = self._lookup(program_id)
            self.tell(registration.program_ref, SetPaused(paused=paused, reply=reply))
            return
        self.paused = paused
        requests = [SetPaused(paused=paused) for _ in self.registry]
        for request, registration in zip(requests, self.registry.values(), strict=True):
            if not self.tell(registration.program_ref, request):
                resolve(request.reply)
        gather([request.reply for request in requests]).add_done_callback(
            lambda done: resolve(reply, error=done.exception())
        )

    @handles(ProgramSucceeded)
    def _program_succeeded(self, message: ProgramSucceeded) -> None:
        for dependent in self.dependents.get(message.program_id, ()):
            registration = self.registry.get(dependent)
            if registration is not None:
                self.tell(registration.timer_ref, UpstreamSucceeded(message.at))

    @handles(ProgramRequest)
    def _route(self, message: ProgramRequest) -> None:
        registration = self._lookup(message.program_id)
        if not self.tell(registration.program_ref, message):
            raise ProgramNotFound(f"program {message.program_id!r} has stopped")

    @handles(MaxRunsReached)
    def _finished(self, message: MaxRunsReached) -> None:
        registration = self.registry.get(message.program_id)
        if registration is not None:
            stop_actor(registration.timer_ref)

    @handles(GetStatus)
    def _status(self, message: GetStatus) -> None:
        requests = [GetProgramInfo(program_id=pid) for pid in self.registry]
        for request, registration in zip(requests, self.registry.values(), strict=True):
            if not self.tell(registration.program_ref, request):
                resolve(request.reply, error=ProgramNotFound(request.program_id))
        monitor_requests = [
            GetMonitorInfo(program_id=pid, number=entry.number)
            for pid, entry in self.monitors.items()
        ]
        for monitor_request, entry in zip(monitor_requests, self.monitors.values(), strict=True):
            if not self.tell(entry.ref, monitor_request):
                resolve(monitor_request.reply, None)
        running, paused = not self.stopping, self.paused
        runner_id, now = self.runner_id, self.runtime.clock.now()

        def answer(infos: Future[list[Any]]) -> None:
            error = infos.exception()
            if error is not None:
                resolve(message.reply, error=error)
                return
            programs, monitors = infos.result()
            status = RunnerStatus(
                id=runner_id,
                running=running,
                paused=paused,
                programs=programs,
                at=now,
                monitors=[info for info in monitors if info is not None],
            )
            resolve(message.reply, status)

        gather(
            [
                gather([request.reply for request in requests]),
                gather([_or_none(request.reply) for request in monitor_requests]),
            ]
        ).add_done_callback(answer)

    @handles(Shutdown)
    def _shutdown(self, message: Shutdown) -> None:
        self.stopping = True
        for ref in [*(e.ref for e in self.monitors.values()), *self.halting_monitors.values()]:
            stop_actor(ref)  # first, so no monitor resizes a draining pool
        self.monitors.clear()
        self.halting_monitors.clear()
        drains: list[Future[Any]] = []
        for registration in self.registry.values():
            drain: Future[Any] = Future()
            drains.append(drain)
            self._retire(registration, drain)
        gather(drains).add_done_callback(lambda _: resolve(message.reply))

    # --- LoadMonitors (Runner.autoscale) ------------------------------------------------------

    @handles(StartMonitor)
    def _start_monitor(self, message: StartMonitor) -> None:
        spec = message.spec
        if self.stopping:
            raise RunnerStopped(f"runner {self.runner_id!r} is stopping")
        registration = self._lookup(spec.program_id)
        if spec.per_spawn is not None and registration.program.max is None:
            msg = (
                f"autoscale in target mode (per_spawn) needs program {spec.program_id!r} "
                "to have a max, got max=None"
            )
            raise InvalidProgram(msg)
        old = self.monitors.pop(spec.program_id, None)
        if old is not None:  # one monitor per program: the new one replaces it
            self.halting_monitors[old.number] = old.ref
            self.tell(old.ref, HaltMonitor())
        number = next(self._monitor_numbers)
        ref = LoadMonitorActor.start(self.runtime, spec, number, self.actor_ref)
        self.monitors[spec.program_id] = MonitorEntry(number, ref)
        logger.debug("monitor #%d of %r started: %s", number, spec.program_id, spec.describe())
        resolve(message.reply, number)

    @handles(StopMonitor)
    def _stop_monitor(self, message: StopMonitor) -> None:
        entry = self.monitors.get(message.program_id)
        if entry is None or entry.number != message.number:
            resolve(message.reply)  # halted already (stopped, replaced, or its program gone)
            return
        # The monitor answers once halted, after it has sent us MonitorStopped.
        if not self.tell(entry.ref, HaltMonitor(reply=message.reply)):
            resolve(message.reply)

    @handles(MonitorStopped)
    def _monitor_stopped(self, message: MonitorStopped) -> None:
        entry = self.monitors.get(message.program_id)
        if entry is not None and entry.number == message.number:
            del self.monitors[message.program_id]
        self.halting_monitors.pop(message.number, None)
        self.retired_monitors[message.number] = message.info
        if len(self.retired_monitors) > RETIRED_MONITORS:
            del self.retired_monitors[next(iter(self.retired_monitors))]
        stop_actor(message.ref)

    @handles(GetMonitorInfo)
    def _monitor_info(self, message: GetMonitorInfo) -> None:
        entry = self.monitors.get(message.program_id)
        if entry is not None and entry.number == message.number and self.tell(entry.ref, message):
            return
        halting = self.halting_monitors.get(message.number)
        if halting is not None and self.tell(halting, message):
            return
        info = self.retired_monitors.get(message.number)
        if info is None:
            msg = f"monitor #{message.number} of {message.program_id!r} is no longer known"
            raise SchedulerError(msg)
        resolve(message.reply, info)
