"""Clocks: where time comes from, and the one place where actors are woken at a deadline.

Timer actors never sleep. They ask the clock to call them back at a deadline (`call_at`), and the
clock turns that deadline into a message. `SystemClock` keeps a deadline heap on one thread that
waits on a monotonic clock; `ManualClock` keeps the same heap and fires it only when a test moves
time with `advance` or `jump`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from actors.runtime import runs_actors
from actors.validation import check_instance, check_seconds

__all__ = ["Clock", "Deadline", "ManualClock", "Settleable", "SystemClock", "to_seconds"]

logger = logging.getLogger("actors.clock")

# How long the SystemClock thread lingers with no deadline before it exits. Long enough that a
# timer re-arming itself after each tick never pays for a new thread, short enough that an idle
# clock holds no thread.
_IDLE_LINGER = 2.0

#: How long (real seconds) `ManualClock.advance` waits for a run that has a timeout before it
#: takes the run as stuck and lets virtual time move on to that timeout.
STUCK_AFTER = 0.5


def to_seconds(value: float | timedelta, *, field: str = "seconds") -> float:
    """Convert a number of seconds or a `timedelta` to float seconds, refusing negatives.

    Raises:
        TypeError: not a number (a bool is not one) nor a timedelta.
        ValueError: negative or not finite.
    """
    return check_seconds(field, value, error=ValueError, type_error=TypeError)


def _aware(when: datetime) -> datetime:
    """Return `when` as an aware datetime, taking a naive one as UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


class Settleable(Protocol):
    """Something a `ManualClock` waits on after each deadline (a `Runner`)."""

    def settle_at_deadline(self, timeout: float, stuck_after: float) -> None: ...


class Deadline:
    """A pending callback registered with `Clock.call_at`; `cancel()` withdraws it."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: datetime, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Withdraw the callback; a no-op if it already fired."""
        self.cancelled = True

    def fire(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        try:
            self.callback()
        except Exception:
            logger.exception("clock callback %r failed", self.callback)

    def __repr__(self) -> str:
        return f"Deadline({self.when.isoformat()}, cancelled={self.cancelled})"


class Clock(ABC):
    """Where a runner reads the time and registers deadlines."""

    #: Whether time passes by itself (a real clock), so that `settle()` may wait for a
    #: deadline still to come (a retry's backoff); a `ManualClock` only moves when told.
    moves_by_itself: bool = True

    @abstractmethod
    def now(self) -> datetime:
        """The current time, an aware datetime."""

    @abstractmethod
    def call_at(self, when: datetime, callback: Callable[[], None]) -> Deadline:
        """Call `callback` (it must not block) once the clock reaches `when`."""

    @abstractmethod
    def has_due(self) -> bool:
        """Whether a deadline is due but has not fired yet."""

    def attach(self, runner: Settleable) -> None:  # noqa: B027 - optional hook
        """Tell the clock about a runner that uses it (ManualClock settles it while advancing)."""

    def detach(self, runner: Settleable) -> None:  # noqa: B027 - optional hook
        """Forget a runner that stopped."""

    def release(self, timeout: float = 1.0) -> None:  # noqa: B027 - optional hook
        """Let go of any thread the clock holds once it has nothing left to wait for."""


class SystemClock(Clock):
    """Real time: waits on `time.monotonic`, reads wall time (UTC) for timestamps.

    One thread waits for the earliest deadline. It starts with the first deadline and exits once
    no deadline has been pending for a short while, so an idle clock holds no thread.
    """

    def __init__(self) -> None:
        # The condition's lock, taken directly where nothing waits (call_at, on every tick):
        # Condition's own `with` is two Python calls more.
        self._lock = threading.RLock()
        self._condition = threading.Condition(self._lock)
        self._heap: list[tuple[float, int, Deadline]] = []
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._firing = 0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Deadline:
        deadline = Deadline(_aware(when), callback)
        # Convert once to the monotonic clock, so a wall-clock step (NTP) does not move it.
        due = time.monotonic() + (deadline.when - self.now()).total_seconds()
        with self._lock:
            heapq.heappush(self._heap, (due, next(self._sequence), deadline))
            self._closing = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="actors-clock", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._condition.notify()
        return deadline

    def has_due(self) -> bool:
        now = time.monotonic()
        with self._condition:
            if self._firing:
                return True
            return bool(self._heap) and any(
                due <= now and not d.cancelled for due, _, d in self._heap
            )

    def release(self, timeout: float = 1.0) -> None:
        with self._condition:
            self._heap = [entry for entry in self._heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            if self._heap:
                return  # another runner still uses this clock
            self._closing = True
            self._condition.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        runs_actors()  # the clock thread delivers the ticks it fires: no thread to wake
        with self._condition:
            idle_since: float | None = None
            while True:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                now = time.monotonic()
                if not self._heap:
                    if self._closing:
                        break
                    idle_since = now if idle_since is None else idle_since
                    if now - idle_since >= _IDLE_LINGER:
                        break
                    self._condition.wait(_IDLE_LINGER - (now - idle_since))
                    continue
                idle_since = None
                due = self._heap[0][0]
                if due > now:
                    self._condition.wait(due - now)
                    continue
                batch = []
                while self._heap and self._heap[0][0] <= now:
                    batch.append(heapq.heappop(self._heap)[2])
                # Fire without the lock, so timers re-arming meanwhile are not held up; has_due()
                # counts the batch as due until it has been posted.
                self._firing += len(batch)
                self._condition.release()
                try:
                    for due_deadline in batch:
                        due_deadline.fire()
                finally:
                    self._condition.acquire()
                    self._firing -= len(batch)
            self._thread = None


class ManualClock(Clock):
    """Virtual time for tests: nothing fires until the test moves time.

    Args:
        start: the initial time. A naive datetime is taken as UTC; `None` means now (UTC).
    """

    moves_by_itself = False

    def __init__(self, start: datetime | None = None) -> None:
        check_instance("start", start, datetime, optional=True, error=TypeError)
        self._now = _aware(start) if start is not None else datetime.now(UTC)
        self._lock = threading.RLock()
        self._heap: list[tuple[datetime, int, Deadline]] = []
        self._sequence = itertools.count()
        self._runners: weakref.WeakSet[Settleable] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def call_at(self, when: datetime, callback: Callable[[], None]) -> Deadline:
        deadline = Deadline(_aware(when), callback)
        with self._lock:
            due_now = deadline.when <= self._now
            if not due_now:
                heapq.heappush(self._heap, (deadline.when, next(self._sequence), deadline))
        if due_now:
            # A deadline already reached fires at once, as it would on a real clock.
            deadline.fire()
        return deadline

    def has_due(self) -> bool:
        # A ManualClock fires what is due itself: at once in call_at and jump, one by one in
        # advance (which settles the runners between them). Nothing due waits on a runner.
        return False

    def attach(self, runner: Settleable) -> None:
        self._runners.add(runner)

    def detach(self, runner: Settleable) -> None:
        self._runners.discard(runner)

    def pending(self) -> list[datetime]:
        """The times of the deadlines not yet fired, earliest first."""
        with self._lock:
            return sorted(w for w, _, d in self._heap if not d.cancelled)

    def advance(
        self,
        seconds: float | timedelta,
        *,
        settle_timeout: float = 30.0,
        stuck_after: float = STUCK_AFTER,
    ) -> None:
        """Move time forward deadline by deadline, settling every runner after each one.

        Deadlines due at the same instant fire one at a time, in the order they were armed,
        each settled before the next, so a test gives the same answer every time. A 10 s
        advance over a 1 s interval gives 10 runs per spawn, as 10 s of real time would: at
        each deadline, runs take no virtual time, however long they take for real. A run
        that never returns would stop time for good, so a run of a program with a `timeout`
        that is still inside user code after `stuck_after` real seconds is taken as stuck:
        time moves on without it, and its timeout fires when time reaches it.

        Raises:
            TimeoutError: a runner did not settle within `settle_timeout` at some deadline
                (the message says at which virtual time and what was still in flight).
        """
        target = self._now + timedelta(seconds=to_seconds(seconds))
        self._settle(settle_timeout, stuck_after)
        while True:
            with self._lock:
                deadline = self._pop_next(target)
                if deadline is None:
                    self._now = max(self._now, target)
                    break
                self._now = max(self._now, deadline.when)
            # One deadline at a time, each settled before the next: deadlines due at the same
            # instant fire in the order they were armed, and never race each other.
            deadline.fire()
            self._settle(settle_timeout, stuck_after)
        self._settle(settle_timeout, stuck_after)

    def jump(self, seconds: float | timedelta) -> None:
        """Move time at once, like a machine waking from sleep.

        Every deadline passed over fires once, late; the timers decide (by the program's misfire
        policy) what runs. Call `runner.settle()` to wait for the consequences.
        """
        target = self._now + timedelta(seconds=to_seconds(seconds))
        with self._lock:
            self._now = max(self._now, target)
            due = self._pop_due(self._now, all_due=True)
        for deadline in due:
            deadline.fire()

    def _pop_next(self, limit: datetime) -> Deadline | None:
        """Pop the earliest live deadline at or before `limit` (armed first, of equal ones)."""
        while self._heap:
            when, _, deadline = self._heap[0]
            if when > limit:
                return None
            heapq.heappop(self._heap)
            if not deadline.cancelled:
                return deadline
        return None

    def _pop_due(self, limit: datetime, *, all_due: bool = False) -> list[Deadline]:
        """Pop the earliest deadlines at or before `limit` (all of them if `all_due`)."""
        due: list[Deadline] = []
        while self._heap:
            when, _, deadline = self._heap[0]
            if when > limit or (due and not all_due and when != due[0].when):
                break
            heapq.heappop(self._heap)
            if not deadline.cancelled:
                due.append(deadline)
        return due

    def _settle(self, timeout: float, stuck_after: float) -> None:
        for runner in list(self._runners):
            try:
                runner.settle_at_deadline(timeout, stuck_after)
            except TimeoutError as error:
                msg = f"ManualClock at {self._now.isoformat()}: {error}"
                raise TimeoutError(msg) from None
