"""The dispatcher: a few threads that run many actors, the way Akka or Erlang do.

An actor holds no thread of its own. Its `Mailbox` queues envelopes; when the first one arrives
the mailbox puts itself on the dispatcher's ready queue, and a dispatcher thread handles a batch
of its messages, one at a time, then moves on to the next ready mailbox. So a mailbox is never
run by two threads at once (messages of one actor are handled in order, one after another),
and an idle actor costs only its memory.

Waking a thread costs far more than handling a message, so work stays on the thread that made
it where it safely can:

- A thread that is running actors keeps the mailboxes it makes ready in a local queue and runs
  them next, depth first: a `Wake` becomes a `Tick` becomes a `Run` on the same thread.
- The runtime's own threads (the clock's, the worker pool's) run a mailbox they make ready
  themselves, instead of waking a dispatcher thread: the clock thread delivers the tick, a
  worker thread merges the result it just produced. Threads of the user (the main thread, a
  REPL) never run actors: a Ctrl-C must never land inside a handler.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import pykka
from pykka import ActorDeadError
from pykka._envelope import Envelope

from actors.runtime._replies import Request

__all__ = ["Dispatcher", "Mailbox", "StopFlag", "in_handler", "runs_actors"]

logger = logging.getLogger("actors.dispatcher")

#: Messages one actor handles before it yields its thread to the next ready actor.
BATCH = 64

#: Mailbox runs a thread does in one go before it hands the rest to the dispatcher threads.
INLINE_LIMIT = 256

_here = threading.local()


def runs_actors() -> None:
    """Mark the calling thread as one of the runtime's own: it may run actors itself."""
    _here.runs_actors = True


def in_handler() -> bool:
    """Whether the calling thread is inside an actor's message handler (where it must never
    wait for another actor: that actor may be queued behind this very handler)."""
    return getattr(_here, "pending", None) is not None


_dispatcher_numbers = itertools.count(1)


class Counter(Protocol):
    """Where a mailbox counts the messages it holds (the runtime's `Activity`)."""

    message_sent: Callable[[], int]

    def add(self, n: int = 1) -> None: ...

    def done(self, n: int = 1) -> None: ...


class Flag(Protocol):
    """Whether an actor has stopped."""

    def is_set(self) -> bool: ...


class Runnable(Protocol):
    """What a mailbox needs from its actor."""

    @property
    def actor_stopped(self) -> Flag: ...

    def dispatch_setup(self) -> None: ...

    def dispatch_envelope(self, envelope: Envelope[Any]) -> None: ...

    def dispatch_message(self, message: Any) -> None:
        """A bare message: what `ActorRef.tell` puts (a told message needs no envelope)."""

    def dispatch_teardown(self) -> None: ...


class StopFlag:
    """Whether an actor has stopped: the part of `threading.Event` pykka's `ActorRef` uses.

    An Event costs over a kilobyte; with a hundred thousand actors that matters.
    """

    __slots__ = ("stopped",)

    def __init__(self) -> None:
        self.stopped = False  #: read in place on every message (no call)

    def is_set(self) -> bool:
        return self.stopped

    def set(self) -> None:
        self.stopped = True


def reject(item: Envelope[Any] | Any) -> None:
    """Answer a message (an envelope, or a bare told message) that reached a stopped actor, as
    pykka does."""
    envelope = item if type(item) is Envelope else Envelope(item)
    if envelope.reply_to is not None:
        if isinstance(envelope.message, pykka.messages._ActorStop):  # noqa: SLF001 - pykka's stop
            envelope.reply_to.set(None)
        else:
            error = ActorDeadError(f"actor stopped before handling {envelope.message!r}")
            envelope.reply_to.set_exception((ActorDeadError, error, None))
    message = envelope.message
    if isinstance(message, Request) and not message.reply.done():
        message.reply.set_exception(ActorDeadError(f"actor stopped before handling {message!r}"))


#: The locks mailboxes guard their queues with, handed out in turn: a lock per mailbox would
#: be three more objects per program for the collector to walk, and no thread ever holds two
#: of them (a mailbox calls nothing while it holds its lock), so sharing cannot deadlock. (A
#: collection set off inside the lock could run a finalizer that tells an actor sharing it,
#: and wait on itself; with a lock each, a finalizer telling that same actor could too.)
_LOCKS = tuple(threading.Lock() for _ in range(256))
_lock_turns = itertools.count()

#: Empty queues of drained mailboxes, for the next mailbox that gets a message. An idle actor
#: keeps no queue, and an actor that gets one message at a time (a timer, a spawn) does not
#: allocate and free one per message: a deque is ~600 bytes, and that malloc was a fifth of
#: a run's CPU. `pop` and `append` on a list are atomic.
_SPARE_QUEUES: list[deque[Any]] = []
SPARE_QUEUES_KEPT = 1024


class Mailbox:
    """One actor's inbox, scheduled on a `Dispatcher` whenever it holds messages."""

    __slots__ = ("_actor", "_closed", "_counter", "_dispatcher", "_items", "_lock", "_scheduled")

    def __init__(self, actor: Runnable, counter: Counter, dispatcher: Dispatcher) -> None:
        self._actor = actor
        self._counter = counter
        self._dispatcher = dispatcher
        self._lock = _LOCKS[next(_lock_turns) % len(_LOCKS)]
        # Created on the first message and dropped when drained: an idle actor keeps no queue.
        self._items: deque[Envelope[Any] | Any] | None = None
        # True from the moment the mailbox is on the ready queue until a thread finds it empty.
        self._scheduled = False
        self._closed = False

    @property
    def actor(self) -> Runnable:
        """The actor whose inbox this is."""
        return self._actor

    def start(self) -> None:
        """Schedule the actor's `on_start`, before any message."""
        with self._lock:
            self._scheduled = True
        self._counter.add()
        self._dispatcher.submit(self, setup=True)

    def put(self, envelope: Envelope[Any] | Any, /) -> None:
        """Queue pykka's `Envelope` (an ask), or a bare message (`ActorRef.tell`: a told
        message needs no envelope, and building one per message is a Python call)."""
        with self._lock:
            if not self._closed:
                self._counter.message_sent()
                if self._items is None:
                    try:  # inline, not a function: this is every message's path
                        self._items = _SPARE_QUEUES.pop()
                    except IndexError:
                        self._items = deque()
                self._items.append(envelope)
                if self._scheduled:
                    return
                self._scheduled = True
                closed = False
            else:
                closed = True
        if closed:
            reject(envelope)
        else:
            self._dispatcher.submit(self)

    def get(self) -> Envelope[Any]:
        """pykka's inbox interface; the dispatcher does not use it."""
        with self._lock:
            if not self._items:
                raise queue.Empty
            item = self._items.popleft()
        return item if type(item) is Envelope else Envelope(item)

    def empty(self) -> bool:
        with self._lock:
            return not self._items

    def run(self, *, setup: bool = False) -> None:
        """Handle up to `BATCH` messages; called by one dispatcher thread at a time."""
        actor, lock = self._actor, self._lock
        flag = actor.actor_stopped
        ours = type(flag) is StopFlag  # read in place, no call per message; another Flag: is_set
        if setup:
            try:
                actor.dispatch_setup()
            finally:
                self._counter.done()
            if flag.is_set():  # its on_start failed
                self._tear_down()
                return
        # An actor stops only inside one of its own handlers: checked after each.
        handled = 0
        while True:
            with lock:
                items = self._items
                if not items:  # drained: off the ready queue, its queue kept for another
                    if items is not None and len(_SPARE_QUEUES) < SPARE_QUEUES_KEPT:
                        _SPARE_QUEUES.append(items)
                    self._items = None
                    self._scheduled = False
                    return
                if handled == BATCH:
                    break
                item = items.popleft()
            if type(item) is Envelope:
                actor.dispatch_envelope(item)
            else:
                actor.dispatch_message(item)
            handled += 1
            if flag.stopped if ours else flag.is_set():  # type: ignore[attr-defined]
                self._tear_down()
                return
        self._dispatcher.requeue(self)  # more to do: go to the back of the line, for fairness

    def _tear_down(self) -> None:
        """The actor stopped: refuse what comes, answer what is queued, tear it down."""
        self.close()
        self._actor.dispatch_teardown()

    def close(self) -> None:
        """Refuse further messages and answer those still queued."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            left = list(self._items or ())
            self._items = None
        if left:
            self._counter.done(len(left))
        for envelope in left:
            reject(envelope)


class Dispatcher:
    """A fixed handful of threads running whichever mailboxes are ready."""

    def __init__(self, name: str, threads: int = 2) -> None:
        if threads < 1:
            msg = f"threads must be >= 1, got {threads!r}"
            raise ValueError(msg)
        self._ready: queue.SimpleQueue[tuple[Mailbox, bool] | None] = queue.SimpleQueue()
        self._closing = False
        number = next(_dispatcher_numbers)
        self._threads = [
            threading.Thread(target=self._loop, name=f"{name}-dispatch-{number}.{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def threads(self) -> list[threading.Thread]:
        """The dispatcher's threads."""
        return list(self._threads)

    def submit(self, mailbox: Mailbox, *, setup: bool = False) -> None:
        """Make `mailbox` ready: run it on this thread if it may, else on a dispatcher thread."""
        here = _here
        pending = getattr(here, "pending", None)
        if pending is not None:
            if here.dispatcher is self:
                pending.append((mailbox, setup))  # run it next, on this thread
                return
        elif getattr(here, "runs_actors", False) and not self._closing:
            self._run_here(mailbox, setup)
            return
        self._ready.put((mailbox, setup))

    def requeue(self, mailbox: Mailbox) -> None:
        """Put a mailbox that used up its batch at the back of the shared line."""
        self._ready.put((mailbox, False))

    def _run_here(self, mailbox: Mailbox, setup: bool) -> None:
        """Run `mailbox`, then the mailboxes that makes ready, depth first, on this thread."""
        pending: deque[tuple[Mailbox, bool]] = deque([(mailbox, setup)])
        _here.pending, _here.dispatcher = pending, self
        try:
            for _ in range(INLINE_LIMIT):
                if not pending:
                    return
                mailbox, setup = pending.popleft()
                try:
                    mailbox.run(setup=setup)
                except BaseException:
                    logger.exception("dispatcher thread: mailbox run failed")
            while pending:  # enough for one go: the dispatcher threads take the rest
                self._ready.put(pending.popleft())
        finally:
            _here.pending = _here.dispatcher = None

    def _loop(self) -> None:
        while True:
            item = self._ready.get()
            if item is None:
                self._finish()
                return
            self._run_here(*item)

    def _finish(self) -> None:
        """On shutdown: run what is still ready (however often it re-queues), then exit.

        A stop sentinel meant for another thread is put back once the queue is empty, so every
        thread gets its own and exits.
        """
        others = 0
        while True:
            try:
                item = self._ready.get_nowait()
            except queue.Empty:
                break
            if item is None:
                others += 1
            else:
                self._run(*item)
        for _ in range(others):
            self._ready.put(None)

    @staticmethod
    def _run(mailbox: Mailbox, setup: bool) -> None:
        try:
            mailbox.run(setup=setup)
        except BaseException:
            logger.exception("dispatcher thread: mailbox run failed")

    def shutdown(self, timeout: float = 2.0) -> None:
        """Let the threads finish what is queued, then exit."""
        self._closing = True
        for _ in self._threads:
            self._ready.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
