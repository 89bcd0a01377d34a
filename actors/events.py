"""Events: what happened in a runner, and the actor that delivers it to subscribers.

Every event is a frozen attrs class. Actors publish events to the runner's `EventsActor`, which
hands them to each subscriber's callback on a worker thread, in order, one batch at a time.
So a slow or failing subscriber never delays a tick or a run, and a subscriber sees its events
in the order they were published. Nothing is published while nobody subscribes.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
from pykka import ActorDeadError, ActorRef

from actors.messages import Publish, Request, resolve
from actors.runtime import Actor, RunTicket, Runtime, handles

__all__ = [
    "Event",
    "EventsActor",
    "Flush",
    "MetricFailed",
    "ProgramFinished",
    "ProgramInstalled",
    "ProgramUninstalled",
    "RunFailed",
    "RunMissed",
    "RunSkipped",
    "RunStarted",
    "RunSucceeded",
    "ScaledDown",
    "ScaledUp",
    "SpawnReplaced",
    "SpawnStarted",
    "SpawnStopped",
    "Subscribe",
    "Subscription",
    "Unsubscribe",
]

logger = logging.getLogger("actors.events")


@attrs.frozen
class Event:
    """Something that happened to a program, at a time of the runner's clock."""

    program: str
    at: datetime


@attrs.frozen
class RunStarted(Event):
    """A run began on a spawn."""

    run_id: str
    spawn: str
    scheduled_at: datetime
    attempt: int = 1


@attrs.frozen
class RunSucceeded(Event):
    """A run finished and its result was merged."""

    run_id: str
    spawn: str
    scheduled_at: datetime
    result: Any = None
    attempt: int = 1


@attrs.frozen
class RunFailed(Event):
    """A run's `args_fn`, `main_fn` or `merge_fn` raised, or it timed out.

    `final` is false when a retry will follow.
    """

    run_id: str
    spawn: str
    scheduled_at: datetime
    error: BaseException
    attempt: int = 1
    final: bool = True


@attrs.frozen
class RunSkipped(Event):
    """A tick did not run: the spawn was busy (overlap), or the program had no spawn."""

    scheduled_at: datetime
    spawn: str | None = None


@attrs.frozen
class RunMissed(Event):
    """A tick did not run: it came too late (misfire), or the program was paused.

    `count` is how many ticks this event stands for: 1, except when a clock jump misses more
    ticks at once than are kept as records; then the oldest event of the batch stands for
    itself and every older tick of it, so the counts of the events add up to `missed`.
    """

    scheduled_at: datetime
    count: int = 1


@attrs.frozen
class SpawnStarted(Event):
    """A spawn was started."""

    spawn: str


@attrs.frozen
class SpawnStopped(Event):
    """A spawn stopped (unspawned, killed, retired after a timeout, or its program stopped)."""

    spawn: str
    reason: str = "unspawned"


@attrs.frozen
class SpawnReplaced(Event):
    """A spawn that was killed or timed out was replaced to keep the pool at its size."""

    spawn: str
    replacement: str
    reason: str


@attrs.frozen
class ProgramInstalled(Event):
    """A program was installed."""


@attrs.frozen
class ProgramUninstalled(Event):
    """A program was uninstalled."""


@attrs.frozen
class ProgramFinished(Event):
    """A program reached `max_runs`, or its schedule has no fire time left."""


@attrs.frozen
class ScaledUp(Event):
    """A LoadMonitor grew a pool."""

    from_spawns: int
    to_spawns: int
    sample: float


@attrs.frozen
class ScaledDown(Event):
    """A LoadMonitor shrank a pool."""

    from_spawns: int
    to_spawns: int
    sample: float


@attrs.frozen
class MetricFailed(Event):
    """A LoadMonitor's metric raised or returned something that is not a number."""

    error: BaseException


Callback = Callable[[Event], Any]


@attrs.define(eq=False)
class Subscription:
    """A subscriber's callback and the event types it wants; `cancel()` ends it.

    `accepted` counts the events handed to it, `delivered` and `failed` those its callback
    has returned from (or raised on); `flush()` waits for the two to meet.
    """

    callback: Callback
    types: tuple[type[Event], ...]
    events_ref: ActorRef[Any] | None = attrs.field(default=None, repr=False)
    cancelled: bool = False
    accepted: int = 0
    delivered: int = 0
    failed: int = 0
    _changed: threading.Condition = attrs.field(init=False, factory=threading.Condition, repr=False)

    def wants(self, event: Event) -> bool:
        return not self.cancelled and (not self.types or isinstance(event, self.types))

    def flush(self, timeout: float = 5.0) -> None:
        """Block until every event published so far has reached this subscriber's callback.

        Events travel off the scheduling path, so `runner.settle()` does not wait for them:
        in a test, `runner.settle()` then `subscription.flush()` sees every event of what
        settled.

        Raises:
            TimeoutError: the callback has not caught up within `timeout` seconds.
        """
        events_ref = self.events_ref
        if events_ref is not None and events_ref.is_alive():
            # Events already published are in the events actor's inbox: a request queued
            # behind them is answered once each has been handed to this subscription.
            marker = Flush()
            with contextlib.suppress(ActorDeadError):
                events_ref.tell(marker)
                marker.reply.result(timeout)
        with self._changed:
            caught_up = self._changed.wait_for(
                lambda: self.cancelled or self.delivered + self.failed >= self.accepted, timeout
            )
        if not caught_up:
            msg = (
                f"subscriber {self.callback!r} has {self.accepted - self.delivered - self.failed}"
                f" event(s) still to handle after {timeout:g} s"
            )
            raise TimeoutError(msg)

    def record(self, *, delivered: int = 0, failed: int = 0) -> None:
        """Count events the callback returned from (or raised on); the events actor's part."""
        with self._changed:
            self.delivered += delivered
            self.failed += failed
            self._changed.notify_all()

    def cancel(self) -> None:
        """Stop delivering events to this subscriber (events already handed over may arrive)."""
        if self.cancelled:
            return
        with self._changed:
            self.cancelled = True
            self._changed.notify_all()
        if self.events_ref is not None and self.events_ref.is_alive():
            self.events_ref.tell(Unsubscribe(subscription=self))


@attrs.frozen(kw_only=True)
class Subscribe(Request):
    """Add a subscription; answered with it."""

    subscription: Subscription


@attrs.frozen(kw_only=True)
class Unsubscribe(Request):
    """Remove a subscription."""

    subscription: Subscription


@attrs.frozen(kw_only=True)
class Flush(Request):
    """Answered once every event published before it has been handed to its subscribers."""


@attrs.frozen
class Delivered:
    """From a worker thread: a subscriber's batch was delivered; send the next if any."""

    subscription: Subscription


class EventsActor(Actor):
    """Delivers published events to subscribers, off the scheduling path."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.subscriptions: list[Subscription] = []
        self._pending: dict[int, list[Event]] = {}
        self._delivering: set[int] = set()

    def __str__(self) -> str:
        return "EventsActor"

    @handles(Subscribe)
    def _subscribe(self, message: Subscribe) -> None:
        self.subscriptions.append(message.subscription)
        self.runtime.subscribers = len(self.subscriptions)
        resolve(message.reply, message.subscription)

    @handles(Unsubscribe)
    def _unsubscribe(self, message: Unsubscribe) -> None:
        subscription = message.subscription
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)
        self._pending.pop(id(subscription), None)
        self.runtime.subscribers = len(self.subscriptions)
        resolve(message.reply)

    @handles(Publish)
    def _publish(self, message: Publish) -> None:
        for subscription in self.subscriptions:
            if subscription.wants(message.event):
                subscription.accepted += 1
                self._pending.setdefault(id(subscription), []).append(message.event)
                self._send(subscription)

    @handles(Flush)
    def _flush(self, message: Flush) -> None:
        resolve(message.reply)

    @handles(Delivered)
    def _delivered(self, message: Delivered) -> None:
        self._delivering.discard(id(message.subscription))
        self._send(message.subscription)

    def _send(self, subscription: Subscription) -> None:
        """Hand the subscriber's pending events to a worker, unless a batch is under way."""
        key = id(subscription)
        if key in self._delivering or not self._pending.get(key):
            return
        batch = self._pending.pop(key)
        self._delivering.add(key)
        # Not counted as activity: settle() does not wait for subscribers (flush() does).
        ticket = RunTicket(f"event subscriber {subscription.callback!r}", counted=False)
        self.runtime.run_user_code(
            functools.partial(self._deliver, subscription, batch), ticket=ticket
        )

    def _deliver(self, subscription: Subscription, batch: list[Event]) -> None:
        """On a worker thread: call the subscriber for each event; its errors are logged."""
        for event in batch:
            if subscription.cancelled:
                break
            try:
                subscription.callback(event)
                subscription.record(delivered=1)
            except Exception:
                subscription.record(failed=1)
                logger.exception("event subscriber %r failed on %r", subscription.callback, event)
        self.tell(self.actor_ref, Delivered(subscription))
