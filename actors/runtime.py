"""The runtime under every actor of ours: one base class, one place to swap what runs it.

Our actors keep pykka's programming model (an `ActorRef` with `tell`, `ask` and `stop`,
`on_start`/`on_stop`/`on_failure`, pykka futures) but not its thread per actor: they run on a
small shared `Dispatcher`, so an idle actor holds no thread and a runner can hold a hundred
thousand programs. What the rest of the package relies on is here:

- `Actor`: the base class. Its `on_receive` dispatches by message class to the methods marked
  `@handles(MessageClass)`, and a handler that raises never kills the actor: the error goes to
  the message's `reply` future, or to the log.
- `Activity`: counts messages in flight and user code running, so `Runner.settle()` can wait for
  the system to go quiet instead of sleeping.
- `Runtime`: per runner, the clock, the activity count, the dispatcher threads, the worker pool
  for user code, and a registry of the actors it started so `stop()` leaves no thread behind.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import pykka
from pykka import ActorDeadError, ActorRef, ThreadingFuture

from actors.dispatcher import Dispatcher, Mailbox, StopFlag
from actors.messages import Publish, Request, resolve
from actors.workers import DEFAULT_MAX_WORKERS, WorkerPool

if TYPE_CHECKING:
    from pykka._envelope import Envelope

    from actors.clock import Clock

__all__ = ["Activity", "Actor", "Runtime", "handles", "post", "stop_actor"]

logger = logging.getLogger("actors")

#: Dispatcher threads per runner. Handlers are short (user code runs elsewhere), so a couple of
#: threads keep every actor moving; more would only contend for the GIL.
DEFAULT_DISPATCHER_THREADS = 2

#: How long stopping waits for the actors themselves (not user code) to stop. Handlers never
#: block, so this only runs out when a runner holds a great many actors.
ACTOR_STOP_TIMEOUT = 30.0


_URN_PREFIX = uuid.uuid4().hex
_actor_numbers = itertools.count(1)


def _next_urn() -> str:
    """A URN unique in this process and shaped like pykka's, without a syscall per actor."""
    number = next(_actor_numbers)
    return (
        f"urn:uuid:{_URN_PREFIX[:8]}-{_URN_PREFIX[8:12]}-{_URN_PREFIX[12:16]}-"
        f"{(number >> 48) & 0xFFFF:04x}-{number & 0xFFFFFFFFFFFF:012x}"
    )


Handler = Callable[[Any, Any], Any]


class _Here(threading.local):
    """What the current thread is doing for us, if anything.

    `runtime` and `ticket`: the runtime and job of user code this worker thread is running.
    `label`: the user function running inside an actor's handler (`merge_fn`), for messages.
    """

    runtime: Runtime | None = None
    ticket: RunTicket | None = None
    label: str | None = None


here = _Here()


def call_user_code(label: str, function: Callable[..., Any], *args: Any) -> Any:
    """Call `function(*args)`, known meanwhile as `label` (`"merge_fn of program 'x'"`), so a
    runner call it makes can say where it came from."""
    previous = here.label
    here.label = label
    try:
        return function(*args)
    finally:
        here.label = previous


def user_code_label() -> str | None:
    """The user function this thread is inside (see `call_user_code`), or the job it runs."""
    if here.label is not None:
        return here.label
    return None if here.ticket is None else here.ticket.label


def inside_user_code_of(runtime: Runtime) -> RunTicket | None:
    """The job of `runtime` this thread is running (a worker thread inside user code)."""
    return here.ticket if here.runtime is runtime else None


_STOP = pykka.messages._ActorStop()  # noqa: SLF001 - pykka's own stop message


def post(ref: ActorRef[Any], message: Any) -> None:
    """Tell `ref` a message from outside any actor (a clock callback, a future's callback, a
    worker thread); nothing happens if the actor has stopped meanwhile."""
    with contextlib.suppress(ActorDeadError):
        ref.tell(message)


def stop_actor(ref: ActorRef[Any]) -> None:
    """Ask an actor to stop after the messages already queued; no-op if it has stopped.

    Like `ref.stop(block=False)` but without building a future nobody reads: stopping a
    hundred thousand actors should not cost a hundred thousand condition variables.
    """
    with contextlib.suppress(ActorDeadError):
        ref.tell(_STOP)


def handles(message_class: type) -> Callable[[Handler], Handler]:
    """Mark an actor method as the handler of `message_class` (and its subclasses)."""

    def mark(method: Handler) -> Handler:
        method.handles_message = message_class  # type: ignore[attr-defined]
        return method

    return mark


class RunTicket:
    """One job of user code handed to the worker threads, as the activity count sees it.

    A counted job is in flight from `Runtime.run_user_code` until it returns, or until it is
    abandoned (its run timed out, or its spawn was killed): an abandoned job no longer holds up
    `settle()` or `stop()`, and one that has not started yet never starts. Python cannot stop
    the thread of one that has, which finishes on its own; `stop()` does not wait for it.

    Args:
        label: what the job is, for people (`"main_fn of program 'x' (run x#3)"`).
        timed: the job has a timeout deadline on the clock that will abandon it if it hangs;
            `ManualClock.advance` may move time on without it (see `Activity.mark_stuck`).
        counted: `settle()` waits for it (event deliveries are not: they are off the
            scheduling path).
    """

    __slots__ = ("counted", "ended", "label", "started", "stuck", "thread", "timed")

    def __init__(self, label: str = "user code", *, timed: bool = False, counted: bool = True):
        self.label = label
        self.timed = timed
        self.counted = counted
        self.started = False
        self.ended = False
        self.stuck = False
        self.thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "ended" if self.ended else "stuck" if self.stuck else "in flight"
        return f"<RunTicket {self.label} {state}>"


class Activity:
    """A count of work in flight: queued messages, runs of user code, retries in backoff.

    Every message put in one of our inboxes adds one and is done once handled; every job of
    user code handed to the worker threads is in flight until it returns or is abandoned
    (`RunTicket`). When the counts are zero nothing is left that could cause more work, except
    the clock.
    """

    def __init__(self) -> None:
        # One lock for the counts (they change on every message); waiters are woken only when
        # a count reaches zero and someone waits, so the hot path pays for neither.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiters = 0
        self._messages = 0
        self._runs = 0
        self._stuck = 0
        self._backoffs = 0
        self._tickets: set[RunTicket] = set()
        self._abandoned: dict[threading.Thread, RunTicket] = {}

    @property
    def count(self) -> int:
        """Messages and runs in flight now."""
        return self._messages + self._runs

    @property
    def runs(self) -> int:
        """Runs of user code in flight now."""
        return self._runs

    @property
    def backoffs(self) -> int:
        """Failed runs waiting for their retry's backoff to end."""
        return self._backoffs

    def _wake(self) -> None:
        """Called under the lock when a count may have reached zero."""
        if self._waiters:
            self._changed.notify_all()

    def add(self, n: int = 1) -> None:
        """Count `n` more messages."""
        with self._lock:
            self._messages += n

    def done(self, n: int = 1) -> None:
        """Count `n` messages handled."""
        with self._lock:
            self._messages -= n
            if self._messages <= 0 and self._waiters:
                self._changed.notify_all()

    def run_started(self) -> None:
        """Count a run handed to a worker thread (without a ticket)."""
        with self._lock:
            self._runs += 1

    def run_done(self) -> None:
        """Count a run (without a ticket) whose outcome has been posted."""
        with self._lock:
            self._runs -= 1
            self._wake()

    def issue(self, ticket: RunTicket) -> None:
        """Count `ticket`'s job as in flight (if it is a counted one)."""
        if ticket.counted:
            with self._lock:
                self._runs += 1
                self._tickets.add(ticket)

    def begin(self, ticket: RunTicket) -> bool:
        """On the worker thread, before the job: `False` if it was abandoned meanwhile."""
        with self._lock:
            if ticket.ended:
                return False
            ticket.started = True
            ticket.thread = threading.current_thread()
            return True

    def end(self, ticket: RunTicket) -> bool:
        """The job returned: it is no longer in flight. Called on its worker thread. `False`
        if it had been abandoned already (then it counts once, as abandoned)."""
        with self._lock:
            if self._abandoned.get(ticket.thread) is ticket:  # type: ignore[arg-type]
                del self._abandoned[ticket.thread]  # type: ignore[arg-type]
            return self._end(ticket)

    def abandon(self, ticket: RunTicket) -> bool:
        """Nobody waits for this job any more: not `settle()`, not `stop()`. If it has not
        started it never will; if it has, its thread is left to finish on its own."""
        with self._lock:
            if ticket.started and not ticket.ended and ticket.thread is not None:
                self._abandoned[ticket.thread] = ticket
            return self._end(ticket)

    def _end(self, ticket: RunTicket) -> bool:
        if ticket.ended:
            return False
        ticket.ended = True
        if not ticket.counted:
            return True
        self._runs -= 1
        if ticket.stuck:
            self._stuck -= 1
        self._tickets.discard(ticket)
        self._wake()
        return True

    def abandoned_threads(self) -> set[threading.Thread]:
        """Worker threads still inside a job that was abandoned."""
        with self._lock:
            return set(self._abandoned)

    def in_flight(self) -> list[RunTicket]:
        """The jobs in flight now, oldest first as far as a set allows (for messages)."""
        with self._lock:
            return list(self._tickets)

    def mark_stuck(self) -> int:
        """Take every started, timed job still in flight as stuck: waits for runs no longer
        wait for it (its timeout deadline will end it). Returns how many were marked."""
        with self._lock:
            marked = 0
            for ticket in self._tickets:
                if ticket.timed and ticket.started and not ticket.stuck:
                    ticket.stuck = True
                    self._stuck += 1
                    marked += 1
            if marked:
                self._wake()
            return marked

    def backoff_started(self) -> None:
        """Count a failed run that waits for its retry."""
        with self._lock:
            self._backoffs += 1

    def backoff_ended(self) -> None:
        """A retry's backoff ended (it runs now), or the retry was dropped or parked."""
        with self._lock:
            self._backoffs -= 1
            self._wake()

    def _busy(self, runs: bool, backoffs: bool) -> bool:
        return (
            self._messages > 0
            or (runs and self._runs - self._stuck > 0)
            or (backoffs and self._backoffs > 0)
        )

    def wait_idle(
        self, timeout: float | None, *, runs: bool = True, backoffs: bool = False
    ) -> bool:
        """Block until nothing is in flight: no message, and (unless `runs=False`) no run
        that is not stuck, and (with `backoffs=True`) no retry waiting for its backoff.

        Returns `False` if `timeout` passed first.
        """
        with self._lock:
            if not self._busy(runs, backoffs):
                return True
            self._waiters += 1
            try:
                return self._changed.wait_for(lambda: not self._busy(runs, backoffs), timeout)
            finally:
                self._waiters -= 1


class Actor(pykka.Actor):
    """The base class of every actor of ours, run by its runtime's dispatcher.

    Subclasses mark one method per message class with `@handles(MessageClass)`; a message is
    handled by the method for its class or the nearest base class. A handler that raises
    answers the message's `reply` with the error (or logs it) and the actor carries on. Our
    actors are kept in their runtime's registry, not in pykka's global `ActorRegistry`.
    """

    _handlers: dict[type, Handler] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type, Handler] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                message_class = getattr(value, "handles_message", None)
                if message_class is not None:
                    handlers[message_class] = value
        cls._handlers = handlers

    def __init__(self, runtime: Runtime) -> None:
        # Not pykka.Actor.__init__: it would build a threading.Event and a queue per actor.
        self.runtime = runtime
        self.actor_urn = _next_urn()
        self.actor_stopped = StopFlag()  # type: ignore[assignment]
        self.actor_inbox = Mailbox(self, runtime.activity, runtime.dispatcher)
        self._actor_ref = ActorRef(self)

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:
        """Create the actor (arguments go to its constructor) and schedule its `on_start`."""
        actor = cls(*args, **kwargs)
        actor.runtime.started(actor.actor_ref)
        actor._start_actor_loop()
        return actor.actor_ref

    @staticmethod
    def _create_actor_inbox() -> Any:
        msg = "actors build their Mailbox in __init__"
        raise NotImplementedError(msg)

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return ThreadingFuture()

    def _start_actor_loop(self) -> None:
        assert isinstance(self.actor_inbox, Mailbox)
        self.actor_inbox.start()

    # --- what the dispatcher calls (pykka's actor loop, one envelope at a time) -------------

    def dispatch_setup(self) -> None:
        try:
            self.on_start()
        except Exception:  # noqa: BLE001 - logged, and the actor stops, as in pykka
            self._handle_failure(*sys.exc_info())

    def dispatch_envelope(self, envelope: Envelope[Any]) -> None:
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                logger.info("Exception returned from %s to caller:", self, exc_info=True)
                envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:  # noqa: BLE001 - as in pykka
                    self._handle_failure(*sys.exc_info())
        except BaseException:  # noqa: BLE001 - as in pykka
            # pykka stops every actor on a BaseException; we stop every actor of this runner.
            logger.debug("%r in %s: stopping all actors of the runner", sys.exc_info()[1], self)
            self._stop()
            self.runtime.stop_all()

    def dispatch_teardown(self) -> None:
        self.runtime.stopped(self.actor_ref)

    def _stop(self) -> None:
        self.actor_stopped.set()
        try:
            self.on_stop()
        except Exception:  # noqa: BLE001 - as in pykka
            self._handle_failure(*sys.exc_info())

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        logger.error(
            "Unhandled exception in %s:",
            self,
            exc_info=(exception_type, exception_value, traceback),  # type: ignore[arg-type]
        )
        self.actor_stopped.set()
        try:
            self.died(exception_value)
        except Exception:  # a dying actor's last words must not raise; logged
            logger.exception("%s failed to report its death", self)

    def died(self, error: BaseException | None) -> None:
        """Called when this actor stops because of an error, so it can tell its supervisor."""

    def _handle_receive(self, message: Any) -> Any:
        try:
            # Our own messages go straight to on_receive; pykka's (stop, proxy calls) to pykka.
            if type(message) in self._handlers:
                return self.on_receive(message)
            return super()._handle_receive(message)
        finally:
            self.runtime.activity.done()

    # --- our conventions ----------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        try:
            return self.receive(message)
        except Exception as error:
            if isinstance(message, Request) and not message.reply.done():
                message.reply.set_exception(error)
            else:
                logger.exception("%s failed handling %r", self, message)
            return None

    def receive(self, message: Any) -> Any:
        """Handle one message with the handler for its class (or nearest base class)."""
        handlers = self._handlers  # the class's table, shared by its instances
        handler = handlers.get(type(message))
        if handler is None:
            for klass in type(message).__mro__[1:]:
                handler = handlers.get(klass)
                if handler is not None:
                    handlers[type(message)] = handler  # remember the subclass
                    break
            else:
                logger.warning("%s got a message it does not handle: %r", self, message)
                if isinstance(message, Request):
                    resolve(message.reply, error=TypeError(f"{self} does not handle {message!r}"))
                return None
        return handler(self, message)

    def publish(self, event_class: type, program_id: str, *args: Any, **kwargs: Any) -> None:
        """Publish `event_class(program_id, now, *args, **kwargs)`, built only if anyone
        subscribes: with no subscriber, events cost one attribute read."""
        if self.runtime.subscribers:
            now = self.runtime.clock.now()
            self.runtime.publish(event_class(program_id, now, *args, **kwargs))

    def tell(self, ref: ActorRef[Any], message: Any) -> bool:
        """Send `message` to `ref`; `False` (and a debug log) if that actor has stopped."""
        try:
            ref.tell(message)
        except ActorDeadError:
            logger.debug("%s: %r dropped, %s has stopped", self, message, ref)
            return False
        return True


class Runtime:
    """What one runner's actors share: clock, activity count, dispatcher and worker threads.

    Args:
        name: used in thread names.
        clock: where the actors read the time and register deadlines.
        dispatcher_threads: threads that run the actors' message handlers.
        max_workers: bound on the threads that run user code.
    """

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        dispatcher_threads: int = DEFAULT_DISPATCHER_THREADS,
        max_workers: int = DEFAULT_MAX_WORKERS,
        max_concurrent: int | None = None,
    ) -> None:
        self.name = name
        self.clock = clock
        self.max_concurrent = max_concurrent
        self.activity = Activity()
        #: The EventsActor, and how many subscriptions it holds (read without a lock: at worst
        #: an event published a moment after the first subscribe is not delivered).
        self.events_ref: ActorRef[Any] | None = None
        self.subscribers = 0
        self._gate = threading.Lock()
        self._gate_running = 0
        self._gate_waiting: list[tuple[int, float, int, Callable[[], None], RunTicket]] = []
        self._gated: set[RunTicket] = set()  # jobs holding a place under max_concurrent
        self._gate_numbers = itertools.count()
        self.dispatcher = Dispatcher(f"actors-{name}", dispatcher_threads)
        self.workers = WorkerPool(f"actors-{name}-worker", max_workers=max_workers)
        self._condition = threading.Condition()
        self._actors: dict[str, ActorRef[Any]] = {}

    def started(self, ref: ActorRef[Any]) -> None:
        with self._condition:
            self._actors[ref.actor_urn] = ref

    def stopped(self, ref: ActorRef[Any]) -> None:
        with self._condition:
            self._actors.pop(ref.actor_urn, None)
            if not self._actors:
                self._condition.notify_all()

    def actor_count(self) -> int:
        """Actors started by this runtime and not yet stopped."""
        with self._condition:
            return len(self._actors)

    def stop_all(self) -> None:
        """Ask every actor of this runtime to stop (after the messages already queued)."""
        with self._condition:
            refs = list(self._actors.values())
        for ref in refs:
            stop_actor(ref)

    def publish(self, event: Any) -> None:
        """Hand an event to the EventsActor, if anyone subscribes. Safe from any thread."""
        if self.subscribers and self.events_ref is not None:
            with contextlib.suppress(ActorDeadError):
                self.events_ref.tell(Publish(event))

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
        """Stop every actor still alive, then the dispatcher and the worker threads.

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
