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
    ProgramNotFound,
)
from actors.program import Program
from actors.runtime import ActorRef, Runtime, gather, handles, resolve, stop_actor
from actors.schedules import Schedule
from actors.store.abc import Store, StoredProgram, Write
from actors.tree.messages import (
    Drain,
    Drop,
    GetHeld,
    GetProgramInfo,
    GetStatus,
    Install,
    InstallMany,
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
    SucceededElsewhere,
    Uninstall,
    Uninstalled,
    UpstreamPresence,
    UpstreamsElsewhere,
    UpstreamSucceeded,
    WaitInStore,
    WatchSuccess,
)
from actors.tree.monitor_actor import GetMonitorInfo
from actors.tree.monitor_registry import MonitorRegistry
from actors.tree.program_actor import ProgramActor
from actors.tree.program_recorder import NullRecorder, ProgramRecorder
from actors.tree.program_registry import ProgramRegistry, Registration, exists_error
from actors.tree.program_rows import adoption_plan
from actors.tree.program_start import ProgramStart
from actors.tree.program_view import answer_status, stored_info
from actors.tree.restart_intensity import MAX_RESTARTS, RESTART_PERIOD
from actors.tree.store_actor import Persist
from actors.tree.supervisor_monitors import MonitorSupervision
from actors.tree.timer_actor import TimerActor

__all__ = ["SupervisorActor"]

logger = logging.getLogger("actors.supervisor")


class SupervisorActor(MonitorSupervision):
    """The root actor of a runner (its LoadMonitor handlers: `MonitorSupervision`)."""

    def __init__(
        self,
        runtime: Runtime,
        runner_id: str,
        history: int,
        store: Store | None = None,
        store_ref: ActorRef[Any] | None = None,
        *,
        programs: ProgramRegistry | None = None,
    ) -> None:
        super().__init__(runtime)
        self.runner_id = runner_id
        self.history = history
        #: A durable store and its actor, or `None`: programs keep nothing past the process.
        self.store, self.store_ref = store, store_ref
        #: Changed only here; the runner reads `id in programs` (one dict lookup) from its
        #: callers' threads, to know when an install need not wait.
        self.programs = programs if programs is not None else ProgramRegistry(runner_id)
        self.monitors = MonitorRegistry()
        self.paused = False
        self.stopping = False

    def __str__(self) -> str:
        return f"SupervisorActor({self.runner_id})"

    def _start_actors(
        self,
        program: Program,
        schedule: Schedule,
        since: datetime,
        first_fire: datetime | None,
        state: Any,
        *,
        stored: StoredProgram | None = None,
        epoch: int = 0,
        claimed: bool = False,
    ) -> Registration:
        """Start a program's actor and its timer, both on the same anchored schedule."""
        recorder = NullRecorder()
        if self.store is not None and self.store_ref is not None:
            recorder = ProgramRecorder(
                program,
                schedule,
                since,
                self.store.serializer,
                self.runner_id,
                epoch,
                self.store_ref,
                claimed=claimed,
            )
        start = ProgramStart(
            program=program,
            schedule=schedule,
            first_fire=first_fire,
            state=state,
            history=self.history,
            numbers=self.programs.numbers(program.id),
            paused=self.paused,
            report_success=self.programs.has_dependents(program.id),
            waiting_for=self.programs.waiting_for(schedule),
            recorder=recorder,
            stored=stored,
        )
        program_ref = ProgramActor.start(self.runtime, start, self.actor_ref)
        timer_ref = TimerActor.start(
            self.runtime, program.id, schedule, first_fire, program.misfire, program_ref
        )
        return Registration(program, schedule, since, program_ref, timer_ref, epoch)

    def _forget_stored(self, program_id: str) -> Future[Any]:
        """Delete a program from the store (uninstalled, or replaced by a fresh install);
        the future answers once the store has."""
        forgotten: Future[Any] = Future()
        delete = Persist(Write(program_id=program_id, delete=True), forgotten)
        if self.store_ref is None or not self.tell(self.store_ref, delete):
            resolve(forgotten)
        return forgotten

    def _follow(self, program_id: str, schedule: Schedule) -> None:
        """Record an on_success program under its upstream; the upstream reports successes."""
        upstream = self.programs.follow(program_id, schedule)
        if upstream is not None:
            self.tell(upstream.program_ref, WatchSuccess(True))

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
        installed = self.programs.get(program.id)
        if installed is not None:
            if installed.restored and not message.replace and installed.program == program:
                installed.restored = False  # the code installs what the store restored: as is
                resolve(message.reply, program)
                return
            if not installed.restored and not message.replace:
                raise exists_error(program.id)
            self.programs.remove(program.id)
            self._retire(installed)  # replaced, or restored and now changed by the code
        now = message.since or self.runtime.clock.now()
        claimed = message.epoch is not None
        epoch = self.programs.next_epoch(program.id, message.stored, claimed=message.epoch)
        self.programs.waiting_in_store.pop(program.id, None)
        adopted = None if message.replace else message.stored
        if adopted is not None:  # the store holds it: its data, books and position go on
            schedule, since, first_fire = adoption_plan(program, adopted, now)
        else:
            if message.stored is not None:
                self._forget_stored(program.id)  # replace=True starts fresh
            since = now
            schedule = program.schedule.anchored(since)  # once: both actors follow this object
            first_fire = schedule.first_fire(since)
        registration = self._start_actors(
            program,
            schedule,
            since,
            first_fire,
            message.state,
            stored=adopted,
            epoch=epoch,
            claimed=claimed,
        )
        registration.restored = message.restored
        self.programs.add(registration)
        self._follow(program.id, schedule)
        self._tell_dependents(program.id, installed=True)
        self.publish(events.ProgramInstalled, program.id)
        logger.debug("installed %r", program.id)
        resolve(message.reply, program)

    @handles(InstallMany)
    def _install_many(self, message: InstallMany) -> None:
        self.programs.check_new([i.program for i in message.installs], replace=message.replace)
        for install in message.installs:
            self._install(install)
        resolve(message.reply, [install.program for install in message.installs])

    @handles(Uninstall, Uninstalled)
    def _uninstall(self, message: Uninstall | Uninstalled) -> None:
        """Uninstall a program: asked by a caller (`Uninstall`), or by an `after()` program
        that has run its tick (`Uninstalled`)."""
        if isinstance(message, Uninstalled):
            registration = self.programs.remove(message.program_id)
            if registration is not None:
                self._retire(registration)
                self._forget_stored(message.program_id)
                logger.debug("%r ran its after() tick and uninstalled itself", message.program_id)
            return
        # Answered once its running work is done (unless `wait_for_drain` is false) and the
        # store has forgotten it: another runner installing it then makes it anew.
        reply, drained = message.reply, Future[Any]()
        if self.programs.waiting_in_store.pop(message.program_id, None) is not None:
            resolve(drained)  # never installed here: only stored
        else:
            self.programs.lookup(message.program_id)
            registration = self.programs.remove(message.program_id)
            assert registration is not None
            self._retire(registration, drained if message.wait_for_drain else None)
            if not message.wait_for_drain:
                resolve(drained)
        forgotten = self._forget_stored(message.program_id)
        gather([drained, forgotten]).add_done_callback(
            lambda done: resolve(reply, error=done.exception())
        )
        logger.debug("uninstalled %r", message.program_id)

    @handles(Drop)
    def _drop(self, message: Drop) -> None:
        """Another runner owns the program now, or this one gives it up: it stops here at
        once (its timer; its running work finishes, and what it writes is refused), and the
        store keeps it."""
        self.programs.waiting_in_store.pop(message.program_id, None)
        registration = self.programs.get(message.program_id)
        if registration is None or (
            message.urn is not None and registration.program_ref.actor_urn != message.urn
        ):
            resolve(message.reply)
            return
        self.programs.remove(message.program_id)
        self.programs.dropped[message.program_id] = registration.program
        logger.info("program %r is no longer run by %r", message.program_id, self.runner_id)
        self._retire(registration, message.reply if message.drain else None)
        if not message.drain:
            resolve(message.reply)

    @handles(GetHeld)
    def _held(self, message: GetHeld) -> None:
        held = {pid: r.epoch for pid, r in self.programs.registrations.items()}
        dropped, self.programs.dropped = self.programs.dropped, {}
        resolve(message.reply, (held, dropped))

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
            registration.program,
            registration.schedule,
            registration.since,
            registration.schedule.next_fire(self.runtime.clock.now()),
            message.state,
            stored=message.stored,
            epoch=registration.epoch,
            claimed=True,  # the row is this install's: its first write is fenced too
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
        given, reply = message.schedule, message.reply
        self.tell(
            program_ref, SetSchedule(schedule=schedule, since=since, given=given, reply=reply)
        )
        registration.timer_ref = TimerActor.start(
            self.runtime,
            message.program_id,
            schedule,
            schedule.first_fire(since),
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

    @handles(ProgramSucceeded, SucceededElsewhere)
    def _program_succeeded(self, message: ProgramSucceeded | SucceededElsewhere) -> None:
        for dependent in self.programs.dependents(message.program_id):
            self.tell(dependent.timer_ref, UpstreamSucceeded(message.at))
        if isinstance(message, SucceededElsewhere):
            resolve(message.reply)

    @handles(UpstreamsElsewhere)
    def _upstreams_elsewhere(self, message: UpstreamsElsewhere) -> None:
        self.programs.elsewhere = message.program_ids
        for registration in self.programs.registrations.values():
            if registration.schedule.upstream in message.program_ids:
                self.tell(registration.program_ref, UpstreamPresence(True))

    @handles(WaitInStore)
    def _wait_in_store(self, message: WaitInStore) -> None:
        """A program the store holds that no code installed: listed (`waiting`, or `failed` if
        its callables no longer import) until an install adopts it."""
        self.programs.waiting_in_store[message.stored.row.id] = (message.stored, message.error)

    @handles(ProgramRequest)
    def _route(self, message: ProgramRequest) -> None:
        waiting = self.programs.waiting_in_store.get(message.program_id)
        if waiting is not None and self.store is not None:
            if isinstance(message, GetProgramInfo):
                resolve(message.reply, stored_info(waiting[0], self.store.serializer, waiting[1]))
                return
            msg = (
                f"program {message.program_id!r} is in the store of runner {self.runner_id!r} "
                "but waits for its code: install it to use it"
            )
            raise ProgramNotFound(msg)
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
        stored = []
        if self.store is not None:
            waiting = self.programs.waiting_in_store.values()
            stored = [stored_info(p, self.store.serializer, error) for p, error in waiting]
        answer_status(
            message.reply,
            [request.reply for request in requests],
            [request.reply for request in monitor_requests],
            stored,
            id=self.runner_id,
            running=not self.stopping,
            paused=self.paused,
            at=self.runtime.clock.now(),
        )

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
