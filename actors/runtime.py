"""The runtime under every actor of ours: one base class, one place to swap what runs it.

`Actor` is a pykka actor. Today each one runs on its own daemon thread (pykka's threading
runtime); the rest of the package only relies on what this module provides:

- `Actor`: the base class. Its `on_receive` dispatches by message type to `receive` (a
  `functools.singledispatchmethod` in each subclass), and a handler that raises never kills the
  actor: the error goes to the message's `reply` future, or to the log.
- `Activity`: counts messages in flight and user code running, so `Runner.settle()` can wait for
  the system to go quiet instead of sleeping.
- `WorkerPool`: the threads that run user code (`main_fn`, `args_fn`), so that no actor's
  message loop ever waits on it.
- `Runtime`: the above, per runner, plus a record of the actors it started so `stop()` leaves no
  thread behind.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka
from pykka import ActorDeadError, ActorRef

from actors.messages import Request

if TYPE_CHECKING:
    from pykka._envelope import Envelope

    from actors.clock import Clock

__all__ = ["Activity", "Actor", "CountingInbox", "Runtime", "WorkerPool"]

logger = logging.getLogger("actors")

_thread_numbers = itertools.count(1)


class Activity:
    """A count of work in flight: queued messages, and runs of user code.

    Every message put in one of our inboxes adds one and is done once handled; every run handed
    to the worker pool adds one and is done after its result message is posted. When both
    counts are zero nothing is left that could cause more work, except the clock.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._messages = 0
        self._runs = 0

    @property
    def count(self) -> int:
        """Messages and runs in flight now."""
        return self._messages + self._runs

    @property
    def runs(self) -> int:
        """Runs of user code in flight now."""
        return self._runs

    def add(self, n: int = 1) -> None:
        """Count `n` more messages."""
        with self._condition:
            self._messages += n

    def done(self, n: int = 1) -> None:
        """Count `n` messages handled."""
        with self._condition:
            self._messages -= n
            if self._messages <= 0:
                self._condition.notify_all()

    def run_started(self) -> None:
        with self._condition:
            self._runs += 1

    def run_done(self) -> None:
        with self._condition:
            self._runs -= 1
            if self._runs <= 0:
                self._condition.notify_all()

    def wait_idle(self, timeout: float | None, *, runs: bool = True) -> bool:
        """Block until nothing is in flight (with `runs=False`: no message; runs may go on).

        Returns `False` if `timeout` passed first.
        """
        if runs:
            return self._wait(lambda: self._messages <= 0 and self._runs <= 0, timeout)
        return self._wait(lambda: self._messages <= 0, timeout)

    def _wait(self, idle: Callable[[], bool], timeout: float | None) -> bool:
        with self._condition:
            return self._condition.wait_for(idle, timeout)


def _reject(envelope: Envelope[Any]) -> None:
    """Answer a message that reached a stopped actor, as pykka does."""
    if envelope.reply_to is not None:
        if isinstance(envelope.message, pykka.messages._ActorStop):
            envelope.reply_to.set(None)
        else:
            error = ActorDeadError(f"actor stopped before handling {envelope.message!r}")
            envelope.reply_to.set_exception((ActorDeadError, error, None))
    message = envelope.message
    if isinstance(message, Request) and not message.reply.done():
        message.reply.set_exception(ActorDeadError(f"actor stopped before handling {message!r}"))


class CountingInbox:
    """An actor inbox that counts what it holds in the runtime's `Activity`.

    Once closed (the actor stopped), anything put is answered with `ActorDeadError` instead of
    waiting forever in a queue nobody reads.
    """

    def __init__(self, activity: Activity) -> None:
        self._queue: queue.SimpleQueue[Envelope[Any]] = queue.SimpleQueue()
        self._activity = activity
        self._lock = threading.Lock()
        self._closed = False

    def put(self, envelope: Envelope[Any], /) -> None:
        with self._lock:
            if not self._closed:
                self._activity.add()
                self._queue.put(envelope)
                return
        _reject(envelope)

    def get(self) -> Envelope[Any]:
        return self._queue.get()

    def empty(self) -> bool:
        return self._queue.empty()

    def close(self) -> None:
        """Refuse further messages and answer those still queued."""
        with self._lock:
            self._closed = True
            left: list[Envelope[Any]] = []
            while not self._queue.empty():
                left.append(self._queue.get_nowait())
        if left:
            self._activity.done(len(left))
        for envelope in left:
            _reject(envelope)


class WorkerPool:
    """Daemon threads that run user code. Created on demand, reused, and gone when idle.

    A thread that finds no work for `idle_timeout` seconds exits, so a runner whose jobs are
    idle holds no worker thread. `shutdown()` asks every thread to exit and reports the ones
    still stuck in user code (Python cannot kill a thread; they are daemons, so they never keep
    the interpreter alive).
    """

    def __init__(self, name: str = "actors-worker", *, idle_timeout: float = 5.0) -> None:
        self._name = name
        self._idle_timeout = idle_timeout
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._unreserved_idle = 0
        self._threads: set[threading.Thread] = set()
        self._closed = False

    @property
    def threads(self) -> int:
        """Worker threads alive now."""
        with self._lock:
            return len(self._threads)

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` on a worker thread (an idle one if any, else a new one)."""
        with self._lock:
            if self._closed:
                msg = "worker pool is shut down"
                raise RuntimeError(msg)
            if self._unreserved_idle > 0:
                self._unreserved_idle -= 1
            else:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{next(_thread_numbers)}", daemon=True
                )
                self._threads.add(thread)
                thread.start()
            self._jobs.put(job)

    def _work(self) -> None:
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=self._idle_timeout)
                except queue.Empty:
                    with self._lock:
                        if self._unreserved_idle > 0:
                            self._unreserved_idle -= 1
                            return
                    continue  # a job was promised to a waiting thread: stay for it
                if job is None:
                    return
                try:
                    job()
                except BaseException:
                    logger.exception("worker job failed")
                with self._lock:
                    if self._closed:
                        return
                    self._unreserved_idle += 1
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def shutdown(self, timeout: float = 1.0) -> list[threading.Thread]:
        """Ask every worker to exit; return those still running user code after `timeout`."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [thread for thread in threads if thread.is_alive()]


class Actor(pykka.ThreadingActor):
    """The base class of every actor of ours.

    Subclasses implement `receive` as a `functools.singledispatchmethod`, one handler per
    message class. A handler that raises answers the message's `reply` with the error (or logs
    it) and the actor carries on.
    """

    use_daemon_thread = True

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self.actor_inbox = CountingInbox(runtime.activity)
        # The ref pykka made in __init__ captured the default inbox; make one that sees ours.
        self._actor_ref = ActorRef(self)

    def _start_actor_loop(self) -> None:
        thread = threading.Thread(
            target=self._actor_loop,
            name=f"actors-{type(self).__name__}-{next(_thread_numbers)}",
            daemon=True,
        )
        self.runtime.started(self.actor_ref, thread)
        thread.start()

    def _handle_receive(self, message: Any) -> Any:
        try:
            return super()._handle_receive(message)
        finally:
            self.runtime.activity.done()

    def _actor_loop_teardown(self) -> None:
        assert isinstance(self.actor_inbox, CountingInbox)
        self.actor_inbox.close()
        self.runtime.stopped(self.actor_ref)

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
        """Handle one message; subclasses register a handler per message class."""
        logger.warning("%s got a message it does not handle: %r", self, message)

    def tell(self, ref: ActorRef[Any], message: Any) -> bool:
        """Send `message` to `ref`; `False` (and a debug log) if that actor has stopped."""
        try:
            ref.tell(message)
        except ActorDeadError:
            logger.debug("%s: %r dropped, %s has stopped", self, message, ref)
            return False
        return True


class Runtime:
    """What one runner's actors share: the clock, the activity count, the worker threads."""

    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self.clock = clock
        self.activity = Activity()
        self.workers = WorkerPool(f"actors-{name}-worker")
        self._lock = threading.Lock()
        self._actors: dict[str, tuple[ActorRef[Any], threading.Thread]] = {}

    def started(self, ref: ActorRef[Any], thread: threading.Thread) -> None:
        with self._lock:
            self._actors[ref.actor_urn] = (ref, thread)

    def stopped(self, ref: ActorRef[Any]) -> None:
        with self._lock:
            self._actors.pop(ref.actor_urn, None)

    def actor_count(self) -> int:
        """Actors started by this runtime and not yet stopped."""
        with self._lock:
            return len(self._actors)

    def run_user_code(self, job: Callable[[], None]) -> None:
        """Run `job` on a worker thread; it counts as activity until it returns."""
        self.activity.run_started()

        def counted() -> None:
            try:
                job()
            finally:
                self.activity.run_done()

        try:
            self.workers.submit(counted)
        except BaseException:
            self.activity.run_done()
            raise

    def shutdown(self, timeout: float = 2.0) -> None:
        """Stop every actor still alive, join their threads, and retire the worker threads."""
        with self._lock:
            actors = list(self._actors.values())
        for ref, _ in actors:
            ref.stop(block=False)
        deadline = time.monotonic() + timeout
        for _, thread in actors:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        stuck = self.workers.shutdown(max(0.0, deadline - time.monotonic()))
        if stuck:
            logger.warning(
                "%d worker thread(s) still running user code after stop; "
                "they are daemon threads and will not keep the interpreter alive",
                len(stuck),
            )
