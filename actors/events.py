"""Events: what happened in a runner, and the subscriptions that receive them.

Every event is a frozen attrs class. Actors publish events to a `Broker` (the runner's events
actor, `actors.tree.events_actor`), which hands them to each subscriber's callback on a worker
thread, in order, one batch at a time. So a slow or failing subscriber never delays a tick or a
run, and a subscriber sees its events in the order they were published. Nothing is published
while nobody subscribes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

import attrs

from actors.errors import InvalidProgram

__all__ = [
    "Broker",
    "Event",
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
    "Subscription",
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


def _event_types(types: Iterable[type[Event]]) -> tuple[type[Event], ...]:
    return tuple(types)


class Broker(Protocol):
    """What a `Subscription` needs of whatever delivers its events (the runner's events actor)."""

    def unsubscribe(self, subscription: Subscription) -> None:
        """Deliver nothing more to `subscription`."""

    def hand_over(self, timeout: float) -> None:
        """Return once every event published so far has been handed to its subscriptions."""


@attrs.define(eq=False)
class Subscription:
    """A subscriber's callback and the event types it wants; `cancel()` ends it.

    `accepted` counts the events handed to it, `delivered` and `failed` those its callback
    has returned from (or raised on); `flush()` waits for the two to meet.
    """

    callback: Callback = attrs.field()
    types: tuple[type[Event], ...] = attrs.field(converter=_event_types)
    broker: Broker | None = attrs.field(default=None, repr=False)
    cancelled: bool = False
    accepted: int = 0
    delivered: int = 0
    failed: int = 0
    _changed: threading.Condition = attrs.field(init=False, factory=threading.Condition, repr=False)

    @callback.validator
    def _check_callback(self, _: attrs.Attribute[Any], value: Any) -> None:
        if not callable(value):
            msg = f"callback must be callable, got {value!r}"
            raise InvalidProgram(msg)

    @types.validator
    def _check_types(self, _: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
        for event_type in value:
            if not (isinstance(event_type, type) and issubclass(event_type, Event)):
                msg = f"event types must be classes from actors.events, got {event_type!r}"
                raise InvalidProgram(msg)

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
        if self.broker is not None:
            self.broker.hand_over(timeout)
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
        """Count events the callback returned from (or raised on); the broker's part."""
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
        if self.broker is not None:
            self.broker.unsubscribe(self)
