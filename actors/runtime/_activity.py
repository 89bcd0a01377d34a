"""Activity: what is in flight in a runner, so `settle()` can wait for quiet instead of sleeping.

Messages in inboxes, jobs of user code on worker threads (each with a `RunTicket`, which lets
the one who handed it out stop waiting for it), and failed runs waiting for their retry.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

__all__ = ["Activity", "RunTicket"]


def _value(counter: itertools.count[int]) -> int:
    """How far `counter` has counted, without counting: from its repr, `count(N)` (its
    pickling hook, the other way to read it, is deprecated since Python 3.12)."""
    return int(repr(counter)[6:-1])


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
        # Messages are counted twice without a lock, on every message: `next()` of an
        # itertools.count is one C call, atomic under the GIL. In flight = sent - handled.
        self._sent = itertools.count()
        self._handled = itertools.count()
        #: Count one message sent, or handled: C calls, for the path every message takes (a
        #: handler that counted one handled calls `handled_wake` if `waiters`).
        self.message_sent: Callable[[], int] = self._sent.__next__
        self.message_handled: Callable[[], int] = self._handled.__next__
        self._runs = 0
        self._stuck = 0
        self._backoffs = 0
        self._tickets: set[RunTicket] = set()
        self._abandoned: dict[threading.Thread, RunTicket] = {}

    @property
    def _messages(self) -> int:
        """Messages sent to our inboxes and not yet handled. Read `handled` first: whatever
        is handled was sent before, so this is never below the true count of that moment."""
        handled = _value(self._handled)
        return _value(self._sent) - handled

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
        sent = self._sent
        for _ in range(n):
            next(sent)

    def done(self, n: int = 1) -> None:
        """Count `n` messages handled."""
        handled = self._handled
        for _ in range(n):
            next(handled)
        if self._waiters:
            self.handled_wake()

    @property
    def waiters(self) -> int:
        """How many threads wait for quiet now (read without the lock)."""
        return self._waiters

    def handled_wake(self) -> None:
        """After a message handled, with someone waiting: wake them if nothing is left.

        A waiter counts itself before it checks the counts (both under the lock): either it
        sees the message handled, or the handler sees it waiting and wakes it.
        """
        if self._messages <= 0:
            with self._lock:
                self._changed.notify_all()

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
