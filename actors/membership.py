"""Membership: one runner's part in a store that several runners share.

The runners of a store share its programs by leases (`Coordinator`). A runner's membership
joins the store, then beats: it says the runner is alive, renews the leases of the programs
the runner runs (dropping at once those another runner took), gives up what it holds beyond
its fair share (once their running work is done), and claims its share of the programs
nobody holds (a new runner's, a dead one's), restoring each from the store: its timer applies
`misfire` to the ticks the gap passed over. Calls between runners are `Forwarding`'s.

All of it runs on the membership thread (or on the caller's thread, for `install`), never on
an actor's: no handler waits on the store. The lock guards the coordinator's connection only,
never user code or an actor's answer. On a clock that moves by itself the thread beats every
sixth of the lease; on a `ManualClock` it beats when the runner settles, so that tests of
takeovers are deterministic. When the runner stops, the thread keeps renewing what it held
until the runner's last writes are flushed, then releases it all.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import Future
from typing import Any

import attrs

from actors.chains import RemoteChains
from actors.clock import Clock
from actors.errors import InvalidProgram, ProgramExists, RunnerStopped, StoreError
from actors.forwarding import Forwarding
from actors.program import Program
from actors.snapshots import ProgramInfo, RunnerInfo
from actors.store.abc import Coordinator, Store, StoredProgram
from actors.store.codec import to_micros
from actors.store.runner_liveness import pid_alive, runner_infos, this_host
from actors.system import ActorSystem
from actors.tree import messages as m
from actors.tree.program_view import stored_info

__all__ = ["Membership"]

logger = logging.getLogger("actors.membership")

#: How often a store that cannot wake a runner (SQLite) is asked for its commands (seconds).
POLL = 0.1

#: How long the membership waits for its own runner's supervisor (seconds).
ANSWER_WAIT = 10.0

#: The runners of this process, by store: one id may join a store once.
_JOINED: set[tuple[str, str]] = set()
_joined_lock = threading.Lock()


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
        #: Programs this runner's code installed (or it ran) that another runner owns: run
        #: here if this runner takes them over (their callables may be lambdas).
        self.standby: dict[str, Program] = {}
        self._lock = threading.RLock()  # one transaction at a time on the coordinator
        self._wake = threading.Event()
        self.calls = Forwarding(
            system,
            coordinator,
            clock,
            lease=lease,
            lock=self._lock,
            wake=self._wake.set,
            uninstalled=lambda program_id: self.standby.pop(program_id, None),
        )
        self.chains = RemoteChains(system, coordinator, wake=self._wake.set, wait=self.interval)
        self._held: dict[str, int] = {}  # as of the last beat
        self._shedding: dict[str, tuple[int, Future[Any], float]] = {}  # draining, then freed
        self._unheld: set[str] = set()  # owned in the store, not run here, at the last beat
        self._cannot_run: set[str] = set()  # claimed once, and no code here to run them
        self._claiming = True
        self._beat_asked = threading.Event()
        self._beaten = threading.Condition()
        self._beats = 0
        self._beating = False
        self._halted = False
        self._thread: threading.Thread | None = None

    def _now(self) -> int:
        return to_micros(self.clock.now())

    # --- life ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Join the store, claim this runner's share (restoring it), and start the thread.

        Raises:
            StoreError: the runner's id is in use by another live runner of the store.
        """
        key = (self.store.url, self.runner_id)
        with _joined_lock:
            if key in _JOINED:
                msg = (
                    f"{self.store.url}: runner id {self.runner_id!r} is in use by another "
                    "runner of this process: give each runner of a store its own id"
                )
                raise StoreError(msg)
            _JOINED.add(key)
        try:
            with self._lock:
                self.coordinator.join(now=self._now(), span=self.span)
            self.beat()
        except BaseException:
            _JOINED.discard(key)
            raise
        listen = getattr(self.coordinator, "listen", None)
        if callable(listen):
            listen(self._wake.set)
        self._thread = threading.Thread(
            target=self._loop, name=f"actors-{self.runner_id}-membership", daemon=True
        )
        self._thread.start()

    def halt(self) -> None:
        """The runner stops: claim and give up nothing more, take no more commands; keep
        renewing what it held until `leave`, so nobody takes a program still draining here."""
        self._claiming = False

    def leave(self) -> None:
        """Release every program this runner held and leave the store (its writes are
        flushed): the others take them over at their next beat."""
        self._halted = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(ANSWER_WAIT + 5.0)
        try:
            with self._lock:
                self.coordinator.leave()
        except Exception:  # the leases lapse instead
            logger.exception("runner %r could not release its programs", self.runner_id)
        finally:
            self.coordinator.close()
            _JOINED.discard((self.store.url, self.runner_id))

    def beat_now(self, timeout: float = 10.0) -> None:
        """Beat once on the membership thread (one begun after this call), and wait for it:
        `runner.settle()` on a clock that does not move by itself."""
        if self._thread is None or self._halted:
            return
        with self._beaten:
            target = self._beats + (2 if self._beating else 1)
            self._beat_asked.set()
            self._wake.set()
            self._beaten.wait_for(lambda: self._beats >= target or self._halted, timeout)

    def _loop(self) -> None:
        automatic = self.clock.moves_by_itself
        idle = self.interval if automatic else 1.0
        wait = idle if self.coordinator.wakes else min(idle, POLL)
        next_beat = time.monotonic() + self.interval
        while not self._halted:
            self._wake.wait(wait)
            self._wake.clear()
            if self._halted:
                break
            try:
                self.calls.answer_all()
                self.chains.tell_successes()
                if self._claiming:
                    self.calls.take_commands()
                due = automatic and time.monotonic() >= next_beat
                if due or self._beat_asked.is_set():
                    with self._beaten:
                        self._beat_asked.clear()
                        self._beating = True
                    next_beat = time.monotonic() + self.interval
                    try:
                        self.beat()
                    finally:
                        with self._beaten:
                            self._beating = False
                            self._beats += 1
                            self._beaten.notify_all()
            except RunnerStopped:
                continue  # stopping: the next beats only renew, until `leave`
            except Exception:
                logger.exception("runner %r: a membership beat failed", self.runner_id)
        with self._beaten:
            self._beaten.notify_all()

    # --- leases -------------------------------------------------------------------------------

    def beat(self) -> None:
        """Heartbeat and renew, dropping what another runner took and releasing what the
        store says is this runner's but nothing runs here; free what finished draining; give
        up what is past this runner's fair share; claim and restore up to it."""
        now = self._now()
        claiming = self._claiming
        if claiming:
            held, dropped = self.system.call(m.GetHeld(), ANSWER_WAIT)
            self.standby.update(dropped)
            self._held = held
        draining = {pid: epoch for pid, (epoch, _, _) in self._shedding.items()}
        renewing = {**self._held, **draining}
        with self._lock:
            self.coordinator.heartbeat(now, self.span)
            owned = self.coordinator.owned()
            if not claiming:  # stopping: whatever it holds drains until `leave` frees it
                renewing = owned
            lost = self.coordinator.renew(renewing, now=now, span=self.span)
        for program_id in sorted(lost):
            logger.warning("runner %r lost %r to another runner", self.runner_id, program_id)
            self._shedding.pop(program_id, None)
            if self._held.pop(program_id, None) is not None and claiming:
                self.system.call(m.Drop(program_id=program_id), ANSWER_WAIT)
        if not claiming:
            return
        # Owned in the store, run by nobody here, two beats running (a claim whose install
        # failed, a program its code never came for): let another runner have it.
        unheld = set(owned) - set(renewing) - lost
        self._release(sorted(unheld & self._unheld), "runs nowhere here")
        self._unheld = unheld - self._unheld
        self._free_drained()
        dead = self._dead_runners()
        with self._lock:
            share = self.coordinator.share(now=now, span=self.span, dead=dead)
        self._shed(sorted(self._held)[share:])
        with self._lock:
            claimed = self.coordinator.claim(
                now=now, span=self.span, dead=dead, skip=self._cannot_run, prefer=self.standby
            )
        for program_id, epoch in claimed.items():
            try:
                self._adopt(program_id, epoch)
            except Exception:
                logger.exception("runner %r cannot run %r: released", self.runner_id, program_id)
                self._release([program_id], "cannot be installed")
        self.chains.refresh(self.store.program_rows(), here={*self._held, *claimed})

    def _shed(self, excess: list[str]) -> None:
        """Give `excess` up: stop each here at once, and free it once its running work is
        done (within a lease; meanwhile its lease is renewed, so nobody runs it twice)."""
        for program_id in excess:
            epoch = self._held.pop(program_id)
            drained = self.system.send(m.Drop(program_id=program_id, drain=True))
            self._shedding[program_id] = (epoch, drained, time.monotonic())
        if excess:
            logger.info("runner %r gives up %d program(s) to share", self.runner_id, len(excess))

    def _free_drained(self) -> None:
        """Release the programs given up whose running work is done (or that took a lease)."""
        now = time.monotonic()
        done = sorted(
            pid
            for pid, (_, drained, since) in self._shedding.items()
            if drained.done() or now - since > self.lease
        )
        if not done:
            return
        if self.system.writer is not None:
            self.system.writer.flush(ANSWER_WAIT)  # their last writes go before the release
        for program_id in done:
            del self._shedding[program_id]
        self._release(done, "given up")

    def _release(self, program_ids: list[str], why: str) -> None:
        if program_ids:
            with self._lock:
                self.coordinator.release(program_ids)
            logger.info("runner %r released %s: %s", self.runner_id, program_ids, why)

    def _dead_runners(self) -> list[str]:
        """The runners of this host whose process is gone (a `kill -9`): their programs are
        free at once, whatever their leases say."""
        host, pid = this_host(), os.getpid()
        with self._lock:
            rows = self.coordinator.runners()
        return [r.id for r in rows if r.host == host and r.pid != pid and not pid_alive(r.pid)]

    def _adopt(self, program_id: str, epoch: int) -> None:
        """Run a program this runner just claimed with `epoch`, from what the store holds;
        one it has no code for is released (listed here as waiting for it)."""
        stored = self.store.load_program(program_id)
        if stored is None:
            return  # uninstalled meanwhile
        program = self.standby.pop(program_id, None)
        restored = program is None
        error = None
        if program is None and stored.row.definition is not None:
            try:
                program = Program.from_definition(json.loads(stored.row.definition))
            except (InvalidProgram, ValueError) as failure:
                logger.error("program %r cannot be restored: %s", program_id, failure)
                error = str(failure)
        if program is None:
            self._cannot_run.add(program_id)
            self._release([program_id], "no code for it here")
            nobody = attrs.evolve(stored, row=attrs.evolve(stored.row, owner=None))
            self.system.supervisor.tell(m.WaitInStore(stored=nobody, error=error))
            return
        if not stored.row.schedule:  # a placeholder its maker left: the program is new
            state = program.create_fn()
            install = m.Install(program=program, state=state, epoch=epoch)
        else:
            install = m.Install(
                program=program, state=None, stored=stored, restored=restored, epoch=epoch
            )
        try:
            self.system.call(install, ANSWER_WAIT)
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
        self._cannot_run.discard(program.id)
        now = self._now()
        with self._lock:
            owner = self.coordinator.owner_of(program.id, now=now, span=self.span)
        if owner is not None and owner[0] == self.runner_id:
            return None
        if owner is None:  # new: its row is made first, so that one runner makes it
            state = program.create_fn()  # first: if it raises, nothing was made
            with self._lock:
                epoch = self.coordinator.reserve(
                    program.id, self.store.serializer.dumps(None), now=now, span=self.span
                )
            if epoch is not None:
                try:
                    self.system.call(m.Install(program=program, state=state, epoch=epoch))
                except BaseException:
                    self._release([program.id], "its install failed")  # a placeholder, free
                    raise
                return program
            with self._lock:
                owner = self.coordinator.owner_of(program.id, now=now, span=self.span)
        if owner is not None and (owner[0] is None or not owner[1]):
            with self._lock:
                epoch = self.coordinator.take(
                    program.id, now=now, span=self.span, dead=self._dead_runners()
                )
            if epoch is not None:
                self.standby[program.id] = program
                self._adopt(program.id, epoch)
                return program
        self.standby[program.id] = program
        return program

    # --- what the runner shows ----------------------------------------------------------------

    def remote_programs(self, local: set[str]) -> list[ProgramInfo]:
        """The programs of the store that this runner does not run, with their owners."""
        infos = []
        for row in self.store.program_rows():
            if row.id in local:
                continue
            info = stored_info(StoredProgram(row=row), self.store.serializer, None)
            if row.owner is not None:
                info = attrs.evolve(info, status="paused" if row.paused else "active")
            infos.append(info)
        return infos

    def runners(self) -> list[RunnerInfo]:
        """The runners of the store, most recently heard of first."""
        now = self._now()
        with self._lock:
            rows = self.coordinator.runners()
        return runner_infos(rows, now=now, span=self.span)
