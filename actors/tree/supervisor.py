"""SupervisorActor: the root of a runner's actors; installs programs and routes requests.

The supervisor keeps a `ProgramRegistry` (each program id, its ProgramActor and TimerActor, and
the `on_success` edges between programs) and a `MonitorRegistry` (the LoadMonitors of
`Runner.autoscale`). Requests about one program are forwarded, reply future and all, to that
program's actor, so the supervisor never waits on an answer; requests about the whole runner are
answered by gathering the programs' replies through their futures. It restarts a program actor
that dies, within a restart intensity.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from actors import events
from actors.errors import (
    InvalidProgram,
    ProgramExists,
    ProgramNotFound,
    RunnerStopped,
    SchedulerError,
)
from actors.program import Program
from actors.runtime import Actor, Runtime, gather, handles, resolve, stop_actor
from actors.schedules import Schedule
from actors.snapshots import RunnerStatus
from actors.tree.messages import (
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
)
from actors.tree.monitor_actor import (
    GetMonitorInfo,
    HaltMonitor,
    LoadMonitorActor,
    MonitorStopped,
    StartMonitor,
    StopMonitor,
)
from actors.tree.monitor_registry import MonitorRegistry
from actors.tree.program_actor import ProgramActor
from actors.tree.program_registry import ProgramRegistry, Registration
from actors.tree.restart_intensity import MAX_RESTARTS, RESTART_PERIOD
from actors.tree.timer_actor import TimerActor

__all__ = ["SupervisorActor"]

logger = logging.getLogger("actors.supervisor")


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
        self.programs = ProgramRegistry(runner_id)
        self.monitors = MonitorRegistry()
        self.paused = False
        self.stopping = False

    def __str__(self) -> str:
        return f"SupervisorActor({self.runner_id})"

    def _start_actors(
        self, program: Program, schedule: Schedule, since: datetime, state: Any
    ) -> Registration:
        """Start a program's actor and its timer, both on the same anchored schedule."""
        program_ref = ProgramActor.start(
            self.runtime,
            program,
            schedule,
            since,
            state,
            self.actor_ref,
            self.history,
            self.programs.numbers(program.id),
            paused=self.paused,
            report_success=self.programs.has_dependents(program.id),
            waiting_for=self.programs.waiting_for(schedule),
        )
        timer_ref = TimerActor.start(
            self.runtime, program.id, schedule, since, program.misfire, program_ref
        )
        return Registration(program, schedule, since, program_ref, timer_ref)

    def _follow(self, program_id: str, schedule: Schedule) -> None:
        """Record an on_success program under its upstream; the upstream reports successes."""
        upstream = self.programs.follow(program_id, schedule)
        if upstream is not None:
            self.tell(upstream.program_ref, WatchSuccess(True))
        waiting_for = self.programs.waiting_for(schedule)
        if waiting_for is not None:
            logger.warning(
                "program %r runs on success of %r, which is not installed: it waits "
                "(status 'waiting') until %r is installed",
                program_id,
                waiting_for,
                waiting_for,
            )

    def _unfollow(self, program_id: str, schedule: Schedule) -> None:
        upstream = self.programs.unfollow(program_id, schedule)
        if upstream is not None:
            self.tell(upstream.program_ref, WatchSuccess(False))

    def _tell_dependents(self, upstream: str, *, installed: bool) -> None:
        """The `on_success` programs of `upstream` wait for it, or stop waiting."""
        for dependent in self.programs.dependents(upstream):
            self.tell(dependent.program_ref, UpstreamPresence(installed))

    def _retire(self, registration: Registration, reply: Future[Any] | None = None) -> None:
        """Stop a program's timer at once and drain its ProgramActor."""
        program_id = registration.program.id
        self.publish(events.ProgramUninstalled, program_id)
        self._unfollow(program_id, registration.schedule)
        if not self.stopping:
            self._tell_dependents(program_id, installed=False)
        stop_actor(registration.timer_ref)
        drain = Drain(reply=reply) if reply is not None else Drain()
        if not self.tell(registration.program_ref, drain):
            resolve(drain.reply)

    @handles(Install)
    def _install(self, message: Install) -> None:
        program = message.program
        self.programs.check_no_cycle(program.id, program.schedule)
        if program.id in self.programs:
            if not message.replace:
                msg = f"program {program.id!r} is already installed (use replace=True)"
                raise ProgramExists(msg)
            old = self.programs.remove(program.id)
            assert old is not None
            self._retire(old)
        since = self.runtime.clock.now()
        schedule = program.schedule.anchored(since)  # once: both actors follow this object
        self.programs.add(self._start_actors(program, schedule, since, message.state))
        self._follow(program.id, schedule)
        self._tell_dependents(program.id, installed=True)
        self.publish(events.ProgramInstalled, program.id)
        logger.debug("installed %r", program.id)
        resolve(message.reply, program)

    @handles(Uninstall, Uninstalled)
    def _uninstall(self, message: Uninstall | Uninstalled) -> None:
        """Uninstall a program: asked by a caller (`Uninstall`), or by an `after()` program
        that has run its tick (`Uninstalled`)."""
        if isinstance(message, Uninstalled):
            registration = self.programs.remove(message.program_id)
            if registration is not None:
                self._retire(registration)
                logger.debug("%r ran its after() tick and uninstalled itself", message.program_id)
            return
        self.programs.lookup(message.program_id)
        registration = self.programs.remove(message.program_id)
        assert registration is not None
        if message.wait_for_drain:
            self._retire(registration, message.reply)
        else:
            self._retire(registration)
            resolve(message.reply)
        logger.debug("uninstalled %r", message.program_id)

    @handles(ProgramDied)
    def _program_died(self, message: ProgramDied) -> None:
        registration = self.programs.get(message.program_id)
        if registration is None or registration.program_ref.actor_urn != message.urn:
            return  # uninstalled meanwhile, or an old actor
        stop_actor(registration.timer_ref)
        if not self.programs.may_restart(message.program_id, self.runtime.clock.now()):
            self.programs.remove(message.program_id)
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
        restarted = self._start_actors(
            registration.program, registration.schedule, registration.since, message.state
        )
        self.programs.add(restarted)

    @handles(Reschedule)
    def _reschedule(self, message: Reschedule) -> None:
        registration = self.programs.lookup(message.program_id)
        self.programs.check_no_cycle(message.program_id, message.schedule)
        self._unfollow(message.program_id, registration.schedule)
        stop_actor(registration.timer_ref)
        since = self.runtime.clock.now()
        schedule = message.schedule.anchored(since)
        registration.schedule, registration.since = schedule, since
        # The ProgramActor learns its schedule before the new timer's first tick can reach it.
        program_ref = registration.program_ref
        self.tell(program_ref, SetSchedule(schedule=schedule, since=since, reply=message.reply))
        registration.timer_ref = TimerActor.start(
            self.runtime,
            message.program_id,
            schedule,
            since,
            registration.program.misfire,
            program_ref,
        )
        self._follow(message.program_id, schedule)
        self.tell(program_ref, UpstreamPresence(self.programs.waiting_for(schedule) is None))

    @handles(Pause, Resume)
    def _set_paused(self, message: Pause | Resume) -> None:
        paused = isinstance(message, Pause)
        if message.program_id is not None:
            registration = self.programs.lookup(message.program_id)
            self.tell(registration.program_ref, SetPaused(paused=paused, reply=message.reply))
            return
        self.paused = paused
        registrations = list(self.programs.registrations.values())
        requests = [SetPaused(paused=paused) for _ in registrations]
        for request, registration in zip(requests, registrations, strict=True):
            if not self.tell(registration.program_ref, request):
                resolve(request.reply)
        reply = message.reply
        gather([request.reply for request in requests]).add_done_callback(
            lambda done: resolve(reply, error=done.exception())
        )

    @handles(ProgramSucceeded)
    def _program_succeeded(self, message: ProgramSucceeded) -> None:
        for dependent in self.programs.dependents(message.program_id):
            self.tell(dependent.timer_ref, UpstreamSucceeded(message.at))

    @handles(ProgramRequest)
    def _route(self, message: ProgramRequest) -> None:
        registration = self.programs.lookup(message.program_id)
        if not self.tell(registration.program_ref, message):
            raise ProgramNotFound(f"program {message.program_id!r} has stopped")

    @handles(MaxRunsReached)
    def _finished(self, message: MaxRunsReached) -> None:
        registration = self.programs.get(message.program_id)
        if registration is not None:
            stop_actor(registration.timer_ref)

    @handles(GetStatus)
    def _status(self, message: GetStatus) -> None:
        registrations = list(self.programs.registrations.values())
        requests = [GetProgramInfo(program_id=r.program.id) for r in registrations]
        for request, registration in zip(requests, registrations, strict=True):
            if not self.tell(registration.program_ref, request):
                resolve(request.reply, error=ProgramNotFound(request.program_id))
        entries = list(self.monitors.running.items())
        monitor_requests = [
            GetMonitorInfo(program_id=pid, number=entry.number) for pid, entry in entries
        ]
        for monitor_request, (_, entry) in zip(monitor_requests, entries, strict=True):
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
        for ref in self.monitors.clear():
            stop_actor(ref)  # first, so no monitor resizes a draining pool
        drains: list[Future[Any]] = []
        for registration in self.programs.registrations.values():
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
        registration = self.programs.lookup(spec.program_id)
        if spec.per_spawn is not None and registration.program.max is None:
            msg = (
                f"autoscale in target mode (per_spawn) needs program {spec.program_id!r} "
                "to have a max, got max=None"
            )
            raise InvalidProgram(msg)
        number = self.monitors.next_number()
        ref = LoadMonitorActor.start(self.runtime, spec, number, self.actor_ref)
        old = self.monitors.start(spec.program_id, number, ref)
        if old is not None:  # one monitor per program: the new one replaces it
            self.tell(old.ref, HaltMonitor())
        logger.debug("monitor #%d of %r started: %s", number, spec.program_id, spec.describe())
        resolve(message.reply, number)

    @handles(StopMonitor)
    def _stop_monitor(self, message: StopMonitor) -> None:
        entry = self.monitors.find(message.program_id, message.number)
        if entry is None:
            resolve(message.reply)  # halted already (stopped, replaced, or its program gone)
            return
        # The monitor answers once halted, after it has sent us MonitorStopped.
        if not self.tell(entry.ref, HaltMonitor(reply=message.reply)):
            resolve(message.reply)

    @handles(MonitorStopped)
    def _monitor_stopped(self, message: MonitorStopped) -> None:
        self.monitors.halted(message.program_id, message.number, message.info)
        stop_actor(message.ref)

    @handles(GetMonitorInfo)
    def _monitor_info(self, message: GetMonitorInfo) -> None:
        entry = self.monitors.find(message.program_id, message.number)
        if entry is not None and self.tell(entry.ref, message):
            return
        halting = self.monitors.halting.get(message.number)
        if halting is not None and self.tell(halting, message):
            return
        info = self.monitors.retired.get(message.number)
        if info is None:
            msg = f"monitor #{message.number} of {message.program_id!r} is no longer known"
            raise SchedulerError(msg)
        resolve(message.reply, info)
