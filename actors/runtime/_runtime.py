"""Runtime: what one runner's actors share: clock, activity count, dispatcher and worker threads.

It also keeps a registry of the actors it started (so `shutdown` leaves no thread behind), the
gate of `max_concurrent`, and where events go (a hook the events actor sets: the kernel knows
nothing of events but that some actor wants them).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from actors.runtime._activity import Activity, RunTicket
from actors.runtime._actor import stop_actor
from actors.runtime._children import CHILD_STOP_TIMEOUT, ChildWatcher
from actors.runtime._context import here
from actors.runtime._dispatcher import Dispatcher
from actors.runtime._ray_connection import RayConnection
from actors.runtime._ref import ActorRef
from actors.runtime._workers import DEFAULT_MAX_WORKERS, WorkerPool

__all__ = [
    "ACTOR_STOP_TIMEOUT",
    "DEFAULT_DISPATCHER_THREADS",
    "Alarm",
    "Runtime",
    "TimeSource",
]

logger = logging.getLogger("actors")

#: Dispatcher threads per runner. Handlers are short (user code runs elsewhere), so a couple of
#: threads keep every actor moving; more would only contend for the GIL.
DEFAULT_DISPATCHER_THREADS = 2

#: How long stopping waits for the actors themselves (not user code) to stop. Handlers never
#: block, so this only runs out when a runner holds a great many actors.
ACTOR_STOP_TIMEOUT = 30.0


class Alarm(Protocol):
    """A callback waiting for a time on a `TimeSource`; `cancel()` withdraws it."""

    cancelled: bool

    def cancel(self) -> None: ...


class TimeSource(Protocol):
    """What the kernel and the actors need of a clock (`actors.clock.Clock` is one)."""

    def now(self) -> datetime: ...

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Alarm: ...


class Runtime:
    """What one runner's actors share: clock, activity count, dispatcher and worker threads.

    Args:
        name: used in thread names.
        clock: where the actors read the time and register deadlines.
        dispatcher_threads: threads that run the actors' message handlers.
        max_workers: bound on the threads that run user code.
        max_concurrent: bound on the runs of user code at once (`None`: no bound).
        ray_address: the Ray cluster Ray spawns go to (`None`: what `ray.init()` finds).
    """

    def __init__(
        self,
        name: str,
        clock: TimeSource,
        *,
        dispatcher_threads: int = DEFAULT_DISPATCHER_THREADS,
        max_workers: int = DEFAULT_MAX_WORKERS,
        max_concurrent: int | None = None,
        ray_address: str | None = None,
    ) -> None:
        self.name = name
        self.clock = clock
        self.max_concurrent = max_concurrent
        self.activity = Activity()
        #: Where events go (set by whichever actor delivers them), and how many subscriptions it
        #: holds: read without a lock; at worst an event published a moment after the first
        #: subscribe is not delivered. With none, no event is even built.
        self.event_sink: Callable[[Any], None] | None = None
        self.subscribers = 0
        self._gate = threading.Lock()
        self._gate_running = 0
        self._gate_waiting: list[tuple[int, float, int, Callable[[], None], RunTicket]] = []
        self._gated: set[RunTicket] = set()  # jobs holding a place under max_concurrent
        self._gate_numbers = itertools.count()
        self.dispatcher = Dispatcher(f"actors-{name}", dispatcher_threads)
        self.workers = WorkerPool(f"actors-{name}-worker", max_workers=max_workers)
        self._condition = threading.Condition()
        self._actors: dict[ActorRef[Any], None] = {}  # refs hash by identity
        #: Kills, reaps and watches the child processes of `executor="process"` spawns.
        self.children = ChildWatcher(f"actors-{name}-children", holds_tracker=True)
        #: Connected at the first Ray spawn, let go at `shutdown` (after every spawn stopped).
        self.ray = RayConnection(ray_address)

    def started(self, ref: ActorRef[Any]) -> None:
        # A dict's own operations are atomic: no lock on the way in, once per actor.
        self._actors[ref] = None

    def stopped(self, ref: ActorRef[Any]) -> None:
        self._actors.pop(ref, None)
        if not self._actors:
            with self._condition:  # the waiter checks under this lock: it cannot miss this
                self._condition.notify_all()

    def actor_count(self) -> int:
        """Actors started by this runtime and not yet stopped."""
        return len(self._actors)

    def stop_all(self) -> None:
        """Ask every actor of this runtime to stop (after the messages already queued)."""
        for ref in list(self._actors):
            stop_actor(ref)

    def publish(self, event: Any) -> None:
        """Hand an event to the event sink, if anyone subscribes. Safe from any thread."""
        sink = self.event_sink
        if self.subscribers and sink is not None:
            sink(event)

    def run_user_code(
        self,
        job: Callable[[], None],
        *,
        capped: bool = False,
        priority: int = 0,
        scheduled_at: float = 0.0,
        ticket: RunTicket | None = None,
    ) -> RunTicket:
        """Run `job` on a worker thread; a counted job is activity until it returns or is
        abandoned (`abandon`). Returns its ticket (`ticket`, or a new one).

        A `capped` job (a `main_fn` run) waits for a free place when `max_concurrent` runs are
        under way; waiting jobs start by `priority` (higher first), then `scheduled_at`.
        """
        if ticket is None:
            ticket = RunTicket()
        self.activity.issue(ticket)
        if not capped or self.max_concurrent is None:
            self._submit(job, ticket)
            return ticket
        with self._gate:
            if self._gate_running < self.max_concurrent:
                self._gate_running += 1
                self._gated.add(ticket)
                ticket_holds_place = True
            else:
                entry = (-priority, scheduled_at, next(self._gate_numbers), job, ticket)
                heapq.heappush(self._gate_waiting, entry)
                ticket_holds_place = False
        if ticket_holds_place:
            self._submit(job, ticket)
        return ticket

    def abandon(self, ticket: RunTicket) -> None:
        """Stop waiting for a job: it no longer counts as activity nor holds a place under
        `max_concurrent`; if it has not started it never will. Its thread, if it is inside
        user code, finishes on its own and is not waited for by `shutdown`."""
        self.activity.abandon(ticket)
        self._release_place(ticket)

    def _submit(self, job: Callable[[], None], ticket: RunTicket) -> None:
        activity = self.activity

        def run() -> None:
            here.runtime, here.ticket = self, ticket
            try:
                if activity.begin(ticket):
                    job()
            finally:
                here.runtime = here.ticket = None
                activity.end(ticket)
                self._release_place(ticket)

        try:
            self.workers.submit(run)
        except BaseException:
            activity.abandon(ticket)
            self._release_place(ticket)
            raise

    def _release_place(self, ticket: RunTicket) -> None:
        """A capped job ended or was abandoned: start the most urgent waiting one, or free its
        place. Nothing to do for a job that held no place (or has released it already)."""
        if ticket not in self._gated:
            return
        with self._gate:
            if ticket not in self._gated:
                return
            self._gated.discard(ticket)
            if not self._gate_waiting:
                self._gate_running -= 1
                return
            _, _, _, job, waiting = heapq.heappop(self._gate_waiting)
            self._gated.add(waiting)
        try:
            self._submit(job, waiting)
        except RuntimeError:  # the pool shut down: the job is dropped
            return

    def shutdown(self, work_deadline: float | None = None) -> None:
        """Stop every actor still alive, then the dispatcher, the child processes (killed and
        reaped: none is left) and the worker threads.

        Args:
            work_deadline: a `time.monotonic()` time until which worker threads still inside
                user code are waited for (default: now, so they are abandoned at once).
        """
        actor_deadline = time.monotonic() + ACTOR_STOP_TIMEOUT
        self.stop_all()
        with self._condition:
            self._condition.wait_for(
                lambda: not self._actors, max(0.0, actor_deadline - time.monotonic())
            )
            left = len(self._actors)
        if left:
            logger.warning("%d actor(s) of runner %r did not stop in time", left, self.name)
        self.dispatcher.shutdown(max(0.1, actor_deadline - time.monotonic()))
        # The stopped spawns asked for their children's kills; this waits for the reaps (and
        # kills any child left), so a run in one ends now and its worker is not waited for.
        self.children.close(CHILD_STOP_TIMEOUT)
        wait_for_work = 0.0 if work_deadline is None else work_deadline - time.monotonic()
        stuck = self.workers.shutdown(
            max(0.05, wait_for_work), abandoned=self.activity.abandoned_threads
        )
        if stuck:
            logger.warning(
                "%d worker thread(s) still running user code after stop (abandoned: a run "
                "that timed out or whose spawn was killed, or work that outlived stop's "
                "timeout); they are daemon threads and will not keep the interpreter alive",
                len(stuck),
            )
        self.ray.release()
