"""DashboardSource: what a dashboard shows and acts on, whoever answers it.

Two families answer it: `RunnerSource`, a runner of this process (`actors run --web`), and
`StoreSource`, a store read from outside (`actors web --store`), which sees every runner of
the store and sends actions to the runner that owns the program. The app (`actors.web.app`)
knows only this interface. Every method is called on a worker thread of the server, never on
its event loop: each may wait on a runner or a database.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

from actors.snapshots import MonitorInfo, ProgramInfo, RunnerInfo, RunRecord, SpawnInfo
from actors.web.event_log import EventLog, EventRecord
from actors.web.requests import Action

__all__ = [
    "DashboardSource",
    "EventRecord",
    "Fresh",
    "LoadSample",
    "ProgramDetail",
    "StillRunning",
]

T = TypeVar("T")

#: How many load samples a program's chart keeps.
SAMPLES_KEPT = 600

#: How many programs' pages are kept fresh at once (beyond, they are read afresh).
DETAILS_KEPT = 100


class StillRunning(Exception):
    """An action's run had not finished when the action stopped waiting for it (it goes on).
    Not a `TimeoutError`: a run may raise one of its own, and that is a failed run."""


@attrs.frozen(kw_only=True)
class LoadSample:
    """One point of a program's load chart: its spawns, and the load its monitor measured."""

    at: datetime
    spawns: int
    load: float | None


@attrs.frozen(kw_only=True)
class ProgramDetail:
    """Everything a program's page shows."""

    info: ProgramInfo
    spawns: list[SpawnInfo]
    history: list[RunRecord]  # newest first
    next_fires: list[datetime]
    now: datetime
    monitor: MonitorInfo | None = None
    samples: list[LoadSample] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)  # what this source cannot show, and why


#: A value that takes long to compute is kept this many times as long as it took: the
#: dashboard of a runner with 10,000 programs (a status takes ~0.5 s) costs it a fifth of a
#: core at most, however many browsers watch.
COST_RATIO = 5


class Fresh(Generic[T]):
    """The value of `compute()`, computed again once it is `max_age` seconds old (or
    `COST_RATIO` times as long as it took, if longer): however many browsers watch, a runner
    is asked once per refresh."""

    def __init__(self, compute: Callable[[], T], max_age: float) -> None:
        self._compute = compute
        self._max_age = max_age
        self._lock = threading.Lock()
        self._value: T | None = None
        self._at = -float("inf")
        self._cost = 0.0

    def get(self) -> T:
        with self._lock:  # one computes, the others wait for its value
            age = time.monotonic() - self._at
            if self._value is None or age >= max(self._max_age, COST_RATIO * self._cost):
                started = time.monotonic()
                self._value = self._compute()
                self._at = time.monotonic()
                self._cost = self._at - started
            return self._value


class DashboardSource(ABC):
    """What a dashboard reads and acts on.

    Attributes:
        name: what the dashboard shows, in words (`runner 'main'`, a store's URL).
        events: the events seen, for the events stream.
    """

    name: str

    def __init__(self, max_age: float) -> None:
        self.events = EventLog()
        self._max_age = max_age
        self._samples: dict[str, deque[LoadSample]] = {}
        self._samples_lock = threading.Lock()
        self._details: dict[tuple[str, int], Fresh[ProgramDetail]] = {}
        self._runners = Fresh(self.read_runners, max_age)

    def runners(self) -> list[RunnerInfo]:
        """The runners, most recently heard of first (one read a refresh, for every viewer)."""
        return self._runners.get()

    def detail(self, program_id: str, *, history: int) -> ProgramDetail:
        """One program's page, with its newest `history` runs (one read a refresh, for every
        viewer of it).

        Raises:
            ProgramNotFound: no such program.
        """
        key = (program_id, history)
        with self._samples_lock:
            fresh = self._details.get(key)
            if fresh is None:
                if len(self._details) >= DETAILS_KEPT:  # pages nobody may watch any more
                    self._details.clear()
                fresh = self._details[key] = Fresh(
                    lambda: self.read_detail(program_id, history=history), self._max_age
                )
        return fresh.get()

    @abstractmethod
    def read_runners(self) -> list[RunnerInfo]:
        """The runners, most recently heard of first, read now."""

    @abstractmethod
    def programs(self) -> list[ProgramInfo]:
        """Every program, in install order (the app sorts and pages them)."""

    @abstractmethod
    def read_detail(self, program_id: str, *, history: int) -> ProgramDetail:
        """One program's page, with its newest `history` runs, read now.

        Raises:
            ProgramNotFound: no such program.
        """

    @abstractmethod
    def act(self, action: Action, timeout: float) -> Any:
        """Do `action`; its answer (a trigger's result, the ids of spawns started).

        Raises:
            SchedulerError: the runner refused it (`ProgramNotFound`, `SpawnLimitError`...).
            StillRunning: a trigger's run had not finished within `timeout` seconds.
            Exception: a trigger's run raised it.
        """

    def refresh(self) -> None:  # noqa: B027 - optional
        """Take in what changed since the last call (new events, samples); called by the app
        before it reads the events."""

    def close(self) -> None:  # noqa: B027 - optional
        """Let go of what the source holds (subscriptions, connections). Idempotent."""

    def sample(self, program_id: str, point: LoadSample) -> None:
        """Add a point to a program's load chart (one with the time of the last is dropped)."""
        with self._samples_lock:
            kept = self._samples.setdefault(program_id, deque(maxlen=SAMPLES_KEPT))
            if not kept or kept[-1].at != point.at:
                kept.append(point)

    def samples(self, program_id: str) -> list[LoadSample]:
        """A program's load chart so far, oldest first."""
        with self._samples_lock:
            return list(self._samples.get(program_id, ()))
