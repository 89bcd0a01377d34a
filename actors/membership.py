"""Membership: one runner's part in a store that several runners share.

The runners of a store share its programs by leases (`Coordinator`). A runner's membership
joins the store, then beats: it says the runner is alive, renews the leases of the programs
the runner runs (dropping at once those another runner took), gives up what it holds beyond
its fair share, and claims its share of the programs nobody holds (a new runner's, a dead
one's), restoring each from the store: its timer applies `misfire` to the ticks the gap
passed over. It also carries calls between runners: a call to a program another runner owns
becomes a command to that runner (`forward`); the commands sent to this one become messages
to its supervisor, and their answers go back through the store.

All of it runs on the membership thread (or on the caller's thread, for `install`, `forward`
and `status`), never on an actor's: no handler waits on the store. On a clock that moves by
itself the thread beats every sixth of the lease; on a `ManualClock` it beats when the runner
settles, so that tests of takeovers are deterministic.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import queue
import threading
from concurrent.futures import Future
from typing import Any

import attrs

from actors.clock import Clock
from actors.errors import (
    InvalidProgram,
    ProgramExists,
    ProgramNotFound,
    ProgramUnavailable,
    RunnerStopped,
    SchedulerError,
)
from actors.program import Program
from actors.snapshots import ProgramInfo, RunnerInfo
from actors.store.abc import Command, Coordinator, Store, StoredProgram
from actors.store.codec import from_micros, to_micros
from actors.store.runner_liveness import pid_alive, this_host
from actors.system import ActorSystem
from actors.tree import messages as m
from actors.tree.program_view import stored_info
from actors.waiting import CALL_TIMEOUT

__all__ = ["Membership"]

logger = logging.getLogger("actors.membership")

#: The requests a runner may send to a program another runner owns, by name.
COMMANDS: dict[str, type[Any]] = {
    kind.__name__: kind
    for kind in (
        m.Trigger,
        m.Spawn,
        m.Unspawn,
        m.GetState,
        m.SetState,
        m.Pause,
        m.Resume,
        m.Reschedule,
        m.KillSpawn,
        m.GetProgramInfo,
        m.GetSpawns,
        m.GetHistory,
        m.Uninstall,
    )
}

#: How often a store that cannot wake a runner (SQLite) is asked for its commands (seconds).
POLL = 0.1


class Membership:
    """The membership of runner `system.runner_id` in a store shared by leases.

    Args:
        lease: how long a runner may go unheard before its programs move to the others
            (seconds): a program is taken over within two thirds of it. Leases last half of
            it, and are renewed every sixth.
    """

    def __init__(
        self, system: ActorSystem, coordinator: Coordinator, clock: Clock, lease: float
    ) -> None:
        self.system = system
        self.store: Store = system.store
        self.coordinator = coordinator
        self.clock = clock
        self.runner_id = system.runner_id
        self.lease = lease
        self.span = int(lease * 1_000_000 / 2)
        self.interval = lease / 6
        #: Programs this runner's code installed that another runner owns: run here if this
        #: runner takes them over (their callables may be lambdas, not in the store).
        self.standby: dict[str, Program] = {}
        self._lock = threading.RLock()  # one transaction at a time on the coordinator
        self._wake = threading.Event()
        self._answers: queue.SimpleQueue[tuple[int, bool, bytes]] = queue.SimpleQueue()
        self._beat_asked = threading.Event()
        self._beaten = threading.Condition()
        self._beats = 0
        self._halted = False
        self._thread: threading.Thread | None = None

    def _now(self) -> int:
        return to_micros(self.clock.now())

    # --- life ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Join the store, claim this runner's share (restoring it), and start the thread."""
        with self._lock:
            self.coordinator.join(now=self._now(), span=self.span)
        self.beat()
        listen = getattr(self.coordinator, "listen", None)
        if callable(listen):
            listen(self._wake.set)
        self._thread = threading.Thread(
            target=self._loop, name=f"actors-{self.runner_id}-membership", daemon=True
        )
        self._thread.start()

    def halt(self) -> None:
        """Stop beating and taking commands (the runner stops)."""
        self._halted = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10.0)

    def leave(self) -> None:
        """Give up every program this runner holds and leave the store (its writes are
        flushed): the others take them over at once."""
        with self._lock, contextlib.suppress(Exception):
            self.coordinator.leave()
        self.coordinator.close()

    def beat_now(self, timeout: float = 10.0) -> None:
        """Beat once on the membership thread, and wait for it (`runner.settle()` on a clock
        that does not move by itself)."""
        if self._thread is None or self._halted:
            return
        with self._beaten:
            target = self._beats + 1
            self._beat_asked.set()
            self._wake.set()
            self._beaten.wait_for(lambda: self._beats >= target or self._halted, timeout)

    def _loop(self) -> None:
        automatic = self.clock.moves_by_itself
        wait = min(self.interval, POLL) if not self.coordinator.wakes else self.interval
        next_beat = self.clock.now().timestamp() + self.interval
        while not self._halted:
            self._wake.wait(wait if automatic else (POLL if not self.coordinator.wakes else 1.0))
            self._wake.clear()
            if self._halted:
                break
            try:
                self._answer_all()
                self._take_commands()
                due = automatic and self.clock.now().timestamp() >= next_beat
                if due or self._beat_asked.is_set():
                    self._beat_asked.clear()
                    next_beat = self.clock.now().timestamp() + self.interval
                    self.beat()
                    with self._beaten:
                        self._beats += 1
                        self._beaten.notify_all()
            except RunnerStopped:
                break
            except Exception:
                logger.exception("runner %r: a membership beat failed", self.runner_id)
        with self._beaten:
            self._beaten.notify_all()

    # --- leases -------------------------------------------------------------------------------

    def beat(self) -> None:
        """Heartbeat; renew, dropping what another runner took; give up what is past this
        runner's fair share; claim and restore up to it."""
        now = self._now()
        with self._lock:
            self.coordinator.heartbeat(now, self.span)
            held, dropped = self.system.call(m.GetHeld())
            self.standby.update(dropped)
            lost = self.coordinator.renew(held, now=now, span=self.span)
            for program_id in sorted(lost):
                logger.warning("runner %r lost %r to another runner", self.runner_id, program_id)
                self.system.call(m.Drop(program_id=program_id))
                held.pop(program_id, None)
            dead = self._dead_runners(now)
            share = self.coordinator.share(now=now, span=self.span, dead=dead)
            excess = sorted(held)[share:]
            if excess:
                for program_id in excess:
                    self.system.call(m.Drop(program_id=program_id))
                if self.system.writer is not None:
                    self.system.writer.flush(10.0)  # its last writes go before its release
                self.coordinator.release(excess)
                logger.info("runner %r gave up %d program(s) to share", self.runner_id, len(excess))
            claimed = self.coordinator.claim(now=now, span=self.span, dead=dead)
        for program_id, epoch in claimed.items():
            self._adopt(program_id, epoch)

    def _dead_runners(self, now: int) -> list[str]:
        """The runners of this host whose process is gone (a `kill -9`): their programs are
        free at once, whatever their leases say."""
        here = (this_host(), os.getpid())
        return [
            row.id
            for row in self.coordinator.runners()
            if row.host == here[0] and row.pid != here[1] and not pid_alive(row.pid)
        ]

    def _adopt(self, program_id: str, epoch: int) -> None:
        """Run a program this runner just claimed with `epoch`, from what the store holds."""
        stored = self.store.load_program(program_id)
        if stored is None:
            return  # uninstalled meanwhile
        program = self.standby.pop(program_id, None)
        restored = program is None
        if program is None and stored.row.definition is not None:
            try:
                program = Program.from_definition(json.loads(stored.row.definition))
            except (InvalidProgram, ValueError) as error:
                logger.error("program %r cannot be restored: %s", program_id, error)
                self.system.supervisor.tell(m.WaitInStore(stored=stored, error=str(error)))
                return
        if program is None:
            self.system.supervisor.tell(m.WaitInStore(stored=stored))
            return
        install = m.Install(
            program=program, state=None, stored=stored, restored=restored, epoch=epoch
        )
        try:
            self.system.call(install)
        except ProgramExists:
            logger.info("program %r claimed by %r is installed already", program_id, self.runner_id)

    def install(self, program: Program) -> Program | None:
        """For `Runner.install`: `None` if the install goes on as on a store of its own
        (this runner owns the program), else `program` itself once installed here (new, or
        taken over from a runner that is gone) or kept on standby (another live runner owns
        and runs it; this runner runs it if it takes it over).

        Raises:
            ProgramExists: this runner's code installed it already, and another runs it.
        """
        if program.id in self.standby:
            msg = f"program {program.id!r} is already installed (use replace=True)"
            raise ProgramExists(msg)
        now = self._now()
        with self._lock:
            owner = self.coordinator.owner_of(program.id, now=now, span=self.span)
            if owner is not None and owner[0] == self.runner_id:
                return None
            if owner is None:  # new: its row is made first, so one runner makes it
                state = self.store.serializer.dumps(None)
                epoch = self.coordinator.reserve(program.id, state, now=now, span=self.span)
                if epoch is not None:
                    return self._fresh(program, epoch)
                owner = self.coordinator.owner_of(program.id, now=now, span=self.span)
            if owner is not None and (owner[0] is None or not owner[1]):
                dead = self._dead_runners(now)
                epoch = self.coordinator.take(program.id, now=now, span=self.span, dead=dead)
                if epoch is not None:
                    self.standby[program.id] = program
                    self._adopt(program.id, epoch)
                    return program
        self.standby[program.id] = program
        return program

    def _fresh(self, program: Program, epoch: int) -> Program:
        """Install a new program whose row this runner made with `epoch`."""
        state = program.create_fn()
        self.system.call(m.Install(program=program, state=state, epoch=epoch))
        return program

    # --- calls between runners ----------------------------------------------------------------

    def forward(self, message: Any, timeout: float | None, error: Exception) -> Any:
        """Send `message` to the runner that owns its program, and return that runner's answer
        (or raise its error); `error` (the program is not here) if the store does not hold it.

        Raises:
            ProgramUnavailable: its owner is dead or did not answer within `timeout` seconds.
        """
        kind = type(message).__name__
        program_id = message.program_id
        now = self._now()
        with self._lock:
            owner = self.coordinator.owner_of(program_id, now=now, span=self.span)
        if owner is None or kind not in COMMANDS or owner[0] == self.runner_id:
            raise error
        if owner[0] is None or not owner[1]:
            msg = (
                f"program {program_id!r} has no live owner now (its runner {owner[0]!r} is not "
                f"heard of): a live runner takes it over within {self.lease:g} s"
            )
            raise ProgramUnavailable(msg)
        fields = {
            f.name: getattr(message, f.name)
            for f in attrs.fields(type(message))
            if f.name != "reply"
        }
        wait = CALL_TIMEOUT if timeout is None else timeout
        answer = self.coordinator.call(
            owner[0], program_id, kind, pickle.dumps(fields), now=now, timeout=wait
        )
        if answer is None:
            msg = (
                f"program {program_id!r} is run by runner {owner[0]!r}, which did not answer "
                f"{kind} within {wait:g} s"
            )
            raise ProgramUnavailable(msg)
        if isinstance(message, m.Uninstall):
            self.standby.pop(program_id, None)  # uninstalled there: not to run here either
        ok, payload = answer
        value = pickle.loads(payload)
        if not ok:
            raise value
        return value

    def or_forward(
        self, future: Future[Any], message: m.ProgramRequest, timeout: float | None
    ) -> Future[Any]:
        """`future`, the local answer to `message`; if it says the program is not here, a
        future of the answer of the runner that owns it (asked from a thread of its own: the
        local answer may come on an actor's thread)."""
        forwarded: Future[Any] = Future()

        # The owner's silence is told (ProgramUnavailable) a moment before the caller's
        # wait for the run ends.
        wait = None if timeout is None else timeout * 0.9

        def ask(error: Exception) -> None:
            try:
                forwarded.set_result(self.forward(message, wait, error))
            except BaseException as failure:  # noqa: BLE001 - the caller's future has it
                forwarded.set_exception(failure)

        def local(done: Future[Any]) -> None:
            error = done.exception()
            if isinstance(error, ProgramNotFound):
                threading.Thread(target=ask, args=(error,), daemon=True).start()
            elif error is not None:
                forwarded.set_exception(error)
            else:
                forwarded.set_result(done.result())

        future.add_done_callback(local)
        return forwarded

    def _take_commands(self) -> None:
        with self._lock:
            commands = self.coordinator.pending()
        for command in commands:
            self._execute(command)

    def _execute(self, command: Command) -> None:
        """Send a command's request to the supervisor; its answer goes back once it comes."""
        try:
            kind = COMMANDS[command.kind]
            fields = pickle.loads(command.payload)
            message = kind(**fields)
            future = self.system.send(message)
        except Exception as error:  # noqa: BLE001 - the caller hears of it
            self._queue_answer(command.id, False, error)
            return
        future.add_done_callback(lambda done: self._answered(command.id, done))

    def _answered(self, command_id: int, done: Future[Any]) -> None:
        """On whatever thread answered: queue the answer for the membership thread."""
        error = done.exception()
        self._queue_answer(command_id, error is None, done.result() if error is None else error)

    def _queue_answer(self, command_id: int, ok: bool, value: Any) -> None:
        try:
            payload = pickle.dumps(value)
        except Exception as error:  # noqa: BLE001 - an answer that cannot travel
            text = f"the answer of runner {self.runner_id!r} cannot be sent back: {error}"
            ok, payload = False, pickle.dumps(SchedulerError(text))
        self._answers.put((command_id, ok, payload))
        self._wake.set()

    def _answer_all(self) -> None:
        while True:
            try:
                command_id, ok, payload = self._answers.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                self.coordinator.answer(command_id, ok, payload)

    # --- what the runner shows ----------------------------------------------------------------

    def remote_programs(self, local: set[str]) -> list[ProgramInfo]:
        """The programs of the store that this runner does not run, with their owners."""
        infos = []
        for row in self.store.program_rows():
            if row.id not in local:
                info = stored_info(StoredProgram(row=row), self.store.serializer, None)
                infos.append(attrs.evolve(info, status="paused" if row.paused else "active"))
        return infos

    def runners(self) -> list[RunnerInfo]:
        """The runners of the store, most recently heard of first."""
        now = self._now()
        with self._lock:
            rows = self.coordinator.runners()
        return [
            RunnerInfo(
                id=row.id,
                host=row.host,
                pid=row.pid,
                started_at=from_micros(row.started_at),
                heartbeat=from_micros(row.heartbeat),
                alive=row.heartbeat >= now - self.span,
            )
            for row in rows
        ]
