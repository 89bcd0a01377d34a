"""RemoteChains: `on_success` chains whose programs run on different runners of a store.

Runners share programs one by one, so a program and the one that runs on its success may
land on two runners. Each beat, the membership reads which programs of the store run on
other runners, and which of them run `on_success` of a program of this runner's: the
supervisor learns the first (so such a program does not wait for its upstream here), and a
success of the second kind becomes a command (`SucceededElsewhere`) to the runners of its
dependents, as a success here is a message to the dependents' timers. The successes come from
the runner's events (`RunSucceeded`), subscribed to only while some dependent runs elsewhere.
"""

from __future__ import annotations

import json
import logging
import pickle
import queue
from collections.abc import Callable, Iterable
from datetime import datetime

from actors.events import Event, RunSucceeded, Subscription
from actors.store.abc import Coordinator, ProgramRow
from actors.system import ActorSystem
from actors.tree import messages as m
from actors.tree.events_actor import ActorBroker, Subscribe

__all__ = ["RemoteChains"]

logger = logging.getLogger("actors.membership")


def upstream_of(row: ProgramRow) -> str | None:
    """The program a stored program runs `on_success` of, if it does."""
    if "on_success" not in row.schedule:  # most rows: no JSON to read
        return None
    try:
        given = json.loads(row.schedule)["given"]
    except (ValueError, KeyError, TypeError):
        return None
    upstream = given.get("upstream") if isinstance(given, dict) else None
    return upstream if isinstance(upstream, str) else None


class RemoteChains:
    """The `on_success` links between runner `system.runner_id` and the other runners.

    Args:
        wake: wakes the membership thread (a success is to be told).
        wait: how long a runner told of a success may take to answer (seconds).
    """

    def __init__(
        self,
        system: ActorSystem,
        coordinator: Coordinator,
        *,
        wake: Callable[[], None],
        wait: float,
    ) -> None:
        self.system = system
        self.coordinator = coordinator
        self.runner_id = system.runner_id
        self._wake = wake
        self._wait = wait
        #: Each program of this runner's with dependents elsewhere: the runners that run them.
        self.dependents: dict[str, frozenset[str]] = {}
        self._elsewhere: frozenset[str] | None = None
        self._successes: queue.SimpleQueue[tuple[str, datetime]] = queue.SimpleQueue()
        self._subscription: Subscription | None = None

    def refresh(self, rows: Iterable[ProgramRow], here: Iterable[str]) -> None:
        """Learn the links from the store's rows; `here`: the programs this runner runs."""
        mine = set(here)
        elsewhere = frozenset(r.id for r in rows if r.owner not in (None, self.runner_id))
        links: dict[str, set[str]] = {}
        for row in rows:
            upstream = upstream_of(row)
            if upstream in mine and row.owner not in (None, self.runner_id):
                links.setdefault(upstream, set()).add(row.owner)
        self.dependents = {upstream: frozenset(owners) for upstream, owners in links.items()}
        if elsewhere != self._elsewhere:
            self._elsewhere = elsewhere
            self.system.supervisor.tell(m.UpstreamsElsewhere(elsewhere))
        self._subscribe(bool(self.dependents))

    def _subscribe(self, wanted: bool) -> None:
        if wanted and self._subscription is None:
            broker = ActorBroker(self.system.events)
            self._subscription = Subscription(self._succeeded, (RunSucceeded,), broker)
            self.system.events.tell(Subscribe(subscription=self._subscription))
        elif not wanted and self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None

    def _succeeded(self, event: Event) -> None:
        """On the events actor's thread: queue a success with dependents elsewhere."""
        if isinstance(event, RunSucceeded) and event.program in self.dependents:
            self._successes.put((event.program, event.at))
            self._wake()

    def tell_successes(self) -> None:
        """On the membership thread: tell each queued success to its dependents' runners."""
        while True:
            try:
                upstream, at = self._successes.get_nowait()
            except queue.Empty:
                return
            payload = pickle.dumps({"program_id": upstream, "at": at})
            now = int(at.timestamp() * 1_000_000)
            for owner in sorted(self.dependents.get(upstream, ())):
                # `call` opens a connection of its own: the coordinator's stays free.
                answer = self.coordinator.call(
                    owner, upstream, "SucceededElsewhere", payload, now=now, timeout=self._wait
                )
                if answer is None:
                    logger.warning(
                        "runner %r did not hear of the success of %r in time", owner, upstream
                    )
