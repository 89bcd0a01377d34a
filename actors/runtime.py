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


class Activity:
    """A count of work in flight: queued messages, and runs of user code.

    Every message put in one of our inboxes adds one and is done once handled; every run handed
    to the worker pool adds one and is done after its result message is posted. When both
    counts are zero nothing is left that could cause more work, except the clock.
    """

    def __init__(self) -> None:
        # A plain lock for the counts (they change on every message) and two events that flip
        # only when a count crosses zero, for the rare thread that waits.
        self._lock = threading.Lock()
        self._messages = 0
        self._runs = 0
        self._quiet = threading.Event()  # no message in flight
        self._idle = threading.Event()  # no message and no run in flight
        self._quiet.set()
        self._idle.set()

    @property
    def count(self) -> int:
        """Messages and runs in flight now."""
        return self._messages + self._runs

    @property
    def runs(self) -> int:
        """Runs of user code in flight now."""
        return self._runs

    def _flip(self) -> None:
        """Bring the events in line with the counts; called under the lock at a zero crossing."""
        quiet = self._messages <= 0
        idle = quiet and self._runs <= 0
        if quiet != self._quiet.is_set():
            self._quiet.set() if quiet else self._quiet.clear()
        if idle != self._idle.is_set():
            self._idle.set() if idle else self._idle.clear()

    def add(self, n: int = 1) -> None:
        """Count `n` more messages."""
        with self._lock:
            self._messages += n
            if self._messages == n:
                self._flip()

    def done(self, n: int = 1) -> None:
        """Count `n` messages handled."""
        with self._lock:
            self._messages -= n
            if self._messages <= 0:
                self._flip()

    def run_started(self) -> None:
        """Count a run handed to a worker thread."""
        with self._lock:
            self._runs += 1
            if self._runs == 1:
                self._flip()

    def run_done(self) -> None:
        """Count a run whose outcome has been posted."""
        with self._lock:
            self._runs -= 1
            if self._runs <= 0:
                self._flip()

    def wait_idle(self, timeout: float | None, *, runs: bool = True) -> bool:
        """Block until nothing is in flight (with `runs=False`: no message; runs may go on).

        Returns `False` if `timeout` passed first.
        """
        event = self._idle if runs else self._quiet
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not event.wait(remaining):
                return False
            with self._lock:
                if self._messages <= 0 and (not runs or self._runs <= 0):
                    return True
            # The event was set when we looked but work arrived since: wait again.


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
        self._gate_waiting: list[tuple[int, float, int, Callable[[], None]]] = []
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
    ) -> None:
        """Run `job` on a worker thread; it counts as activity until it returns.

        A `capped` job (a `main_fn` run) waits for a free place when `max_concurrent` runs are
        under way; waiting jobs start by `priority` (higher first), then `scheduled_at`.
        """
        self.activity.run_started()
        if not capped or self.max_concurrent is None:
            self._submit(job)
            return
        with self._gate:
            if self._gate_running < self.max_concurrent:
                self._gate_running += 1
            else:
                entry = (-priority, scheduled_at, next(self._gate_numbers), job)
                heapq.heappush(self._gate_waiting, entry)
                return
        self._submit(job, gated=True)

    def _submit(self, job: Callable[[], None], *, gated: bool = False) -> None:
        def counted() -> None:
            try:
                job()
            finally:
                self.activity.run_done()
                if gated:
                    self._release_gate()

        try:
            self.workers.submit(counted)
        except BaseException:
            self.activity.run_done()
            if gated:
                self._release_gate()
            raise

    def _release_gate(self) -> None:
        """A capped job ended: start the most urgent waiting one, or free its place."""
        with self._gate:
            if not self._gate_waiting:
                self._gate_running -= 1
                return
            job = heapq.heappop(self._gate_waiting)[3]
        with contextlib.suppress(RuntimeError):  # the pool shut down: the job is dropped
            self._submit(job, gated=True)

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
        stuck = self.workers.shutdown(max(0.05, wait_for_work))
        if stuck:
            logger.warning(
                "%d worker thread(s) still running user code after stop; "
                "they are daemon threads and will not keep the interpreter alive",
                len(stuck),
            )
