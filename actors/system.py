"""ActorSystem: one runner's actors and threads, started together and stopped together.

A `Runner` is the public face; behind it, its `ActorSystem` holds the kernel's `Runtime` (the
dispatcher and worker threads), the SupervisorActor that every request goes to, the
EventsActor, and with a durable store its StoreActor and writer thread. It is the one door
messages go in by (`send`, `call`) and the one place that knows how to stop it all, even from
inside the system's own threads: the store is flushed and closed last.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from actors.clock import Clock, Settleable
from actors.errors import InvalidProgram, RunnerStopped
from actors.installing import InstallsInFlight
from actors.program import Program
from actors.runtime import (
    ACTOR_STOP_TIMEOUT,
    ActorRef,
    Request,
    Runtime,
    in_handler,
    inside_user_code_of,
)
from actors.store.abc import Store
from actors.store.writer import StoreWriter
from actors.tree.events_actor import EventsActor
from actors.tree.messages import Install, Shutdown, WaitInStore
from actors.tree.program_registry import ProgramRegistry
from actors.tree.store_actor import StoreActor
from actors.tree.supervisor import SupervisorActor
from actors.waiting import CALL_TIMEOUT, call_text, refuse_to_wait_in_handler, wait_for_answer

if TYPE_CHECKING:
    from actors.membership import Membership

__all__ = ["ActorSystem", "default_id"]

logger = logging.getLogger("actors.runner")

_runner_numbers = itertools.count(1)


def default_id(store: Store) -> str:
    """A runner's id when none is given: unique among the processes that may share `store`."""
    number = next(_runner_numbers)
    if not store.durable:
        return f"runner-{number}"
    base = f"{socket.gethostname()}-{os.getpid()}"
    return base if number == 1 else f"{base}-{number}"


class ActorSystem:
    """The runtime, supervisor and events actor of the runner `runner_id`."""

    def __init__(
        self,
        runner_id: str,
        clock: Clock,
        store: Store,
        *,
        max_concurrent: int | None,
        history: int,
        ray_address: str | None = None,
    ) -> None:
        """Open `store` (raising `StoreError` before anything starts), then start the actors."""
        self.runner_id = runner_id
        self.clock = clock
        self.store = store
        store.open(runner_id, history=history)
        self.runtime = Runtime(
            runner_id, clock, max_concurrent=max_concurrent, ray_address=ray_address
        )
        self.writer: StoreWriter | None = None
        store_ref: ActorRef[Any] | None = None
        if store.durable:
            self.writer = StoreWriter(store, name=f"actors-{runner_id}-store")
            store_ref = StoreActor.start(self.runtime, self.writer)
        self.events: ActorRef[Any] = EventsActor.start(self.runtime)
        #: The supervisor's book of installed programs; others only ask it `id in programs`.
        self.programs = ProgramRegistry(runner_id)
        #: Installs sent to the supervisor and not answered yet (see `actors.installing`).
        self.installing = InstallsInFlight()
        self.supervisor: ActorRef[Any] = SupervisorActor.start(
            self.runtime,
            runner_id,
            history,
            store if store.durable else None,
            store_ref,
            programs=self.programs,
        )
        #: With a store several runners share: this runner's part in it (`Membership`).
        self.membership: Membership | None = None
        #: What was started beside the runner and stops first when it stops (a dashboard).
        self._companions: list[Callable[[], object]] = []
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._stop_done = threading.Event()

    @property
    def stopped(self) -> bool:
        """Whether a stop was asked for."""
        return self._stopped

    def send(self, message: Request) -> Future[Any]:
        """Hand `message` to the supervisor; its reply future answers it.

        Raises:
            RunnerStopped: the system is stopped.
        """
        if self._stopped:
            raise RunnerStopped(f"runner {self.runner_id!r} is stopped")
        self.supervisor.tell(message)
        return message.reply

    def call(self, message: Request, timeout: float | None = CALL_TIMEOUT) -> Any:
        """Send `message` and wait for its answer (never from inside an actor's handler)."""
        what = call_text(message)
        refuse_to_wait_in_handler(what)
        return wait_for_answer(self.send(message), what, timeout, self.runner_id)

    def restore(self, lease: float) -> Membership | None:
        """Bring back what the store holds: programs whose callables import are installed
        (adopting their data); the others wait, listed, for code to install them. With a
        store several runners may share, the runner joins it (its `Membership`, returned),
        and restores its share of the programs."""
        coordinator = self.store.coordinator(self.runner_id)
        if coordinator is not None:
            from actors.membership import Membership  # it builds on this module

            self.membership = Membership(self, coordinator, self.clock, lease)
            self.membership.start()
            return self.membership
        for stored in self.store.load():
            if stored.row.definition is None:
                self.supervisor.tell(WaitInStore(stored=stored))
                continue
            try:
                program = Program.from_definition(json.loads(stored.row.definition))
            except (InvalidProgram, ValueError) as error:
                logger.error("program %r cannot be restored: %s", stored.row.id, error)
                self.supervisor.tell(WaitInStore(stored=stored, error=str(error)))
                continue
            self.call(Install(program=program, state=None, stored=stored, restored=True))
        return None

    def stop_with(self, stop: Callable[[], object]) -> None:
        """Call `stop()` first when the runner stops (at once if it has stopped)."""
        with self._stop_lock:
            if not self._stopped:
                self._companions.append(stop)
                return
        stop()

    def ours(self) -> bool:
        """Whether the calling thread is one of this system's own (a handler, or user code)."""
        return in_handler() or inside_user_code_of(self.runtime) is not None

    def stop(self, settleable: Settleable, *, wait: bool, timeout: float) -> bool:
        """Stop everything: no new ticks, running work gets `timeout` (unless not `wait`), then
        every actor and thread. Returns `False` if a stop was asked for already (it waits for
        that one, unless called from the system's own threads).

        From the system's own threads (a `main_fn` stopping its runner), the stop runs on a
        thread of its own and this returns at once: the run that asked finishes first.
        """
        ours = self.ours()
        with self._stop_lock:
            first = not self._stopped
            self._stopped = True
        if not first:
            if not ours:  # the first stop may be under way on another thread
                self._stop_done.wait(timeout + ACTOR_STOP_TIMEOUT + 5.0)
            return False
        if ours:
            stopper = threading.Thread(
                target=self._stop_now,
                args=(settleable, wait, timeout),
                name=f"actors-{self.runner_id}-stop",
                daemon=True,
            )
            stopper.start()
        else:
            self._stop_now(settleable, wait, timeout)
        return True

    def _stop_now(self, settleable: Settleable, wait: bool, timeout: float) -> None:
        try:
            work_deadline = time.monotonic() + (timeout if wait else 0.0)
            for stop in self._companions:
                try:
                    stop()
                except Exception:  # a companion must not keep the runner from stopping
                    logger.exception("runner %r: stopping %r failed", self.runner_id, stop)
            if self.membership is not None:
                self.membership.halt()  # no more claims or commands: the runner stops
            shutdown = Shutdown()
            self.supervisor.tell(shutdown)
            if wait:
                try:
                    shutdown.reply.result(timeout)
                except TimeoutError:
                    logger.warning(
                        "runner %r: running work did not finish within %s s; abandoning it",
                        self.runner_id,
                        timeout,
                    )
            self.runtime.shutdown(work_deadline)
            if self.writer is not None:  # the actors' last writes are queued: commit them
                self.writer.close()
            if self.membership is not None:  # then let the others take the programs at once
                self.membership.leave()
            self.store.close()
            self.clock.detach(settleable)
            self.clock.release()
        finally:
            self._stop_done.set()
