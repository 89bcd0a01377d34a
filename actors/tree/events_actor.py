"""EventsActor: delivers published events to subscribers, off the scheduling path.

Actors publish through their runtime's event sink, which this actor sets: each event becomes a
`Publish` message here, and each subscriber gets its events in batches on a worker thread,
one batch at a time. Deliveries are not counted as activity: `settle()` does not wait for a
subscriber; `Subscription.flush()` does.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import Any

import attrs
from pykka import ActorDeadError

from actors.events import Event, Subscription
from actors.runtime import Actor, ActorRef, Request, RunTicket, Runtime, handles, post, resolve

__all__ = [
    "ActorBroker",
    "Delivered",
    "EventsActor",
    "Flush",
    "Publish",
    "Subscribe",
    "Unsubscribe",
]

logger = logging.getLogger("actors.events")


@attrs.frozen
class Publish:
    """To the EventsActor: deliver `event` to its subscribers."""

    event: Any


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
        runtime.event_sink = functools.partial(_publish, self.actor_ref)

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


def _publish(ref: ActorRef[Any], event: Any) -> None:
    post(ref, Publish(event))


class ActorBroker:
    """A subscription's `Broker`: the events actor behind `ref`, reached by messages."""

    def __init__(self, ref: ActorRef[Any]) -> None:
        self.ref = ref

    def unsubscribe(self, subscription: Subscription) -> None:
        post(self.ref, Unsubscribe(subscription=subscription))

    def hand_over(self, timeout: float) -> None:
        # Events already published are in the actor's inbox: a request queued behind them is
        # answered once each has been handed to its subscriptions.
        marker = Flush()
        with contextlib.suppress(ActorDeadError):
            self.ref.tell(marker)
            marker.reply.result(timeout)
