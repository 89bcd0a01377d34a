"""What the actors say to each other.

Every message is a frozen attrs class. A message that expects an answer carries its own `reply`
future (a `concurrent.futures.Future`): whoever handles it, however far it was forwarded, sets the
answer there. So no actor ever waits on another actor's answer; only the caller of the `Runner`
waits, on its own thread.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime
from typing import Any

import attrs

from actors.program import Program
from actors.runtime import Request
from actors.schedules import Schedule
from actors.store.abc import StoredProgram

__all__ = [
    "NO_ARGS",
    "Drain",
    "Drop",
    "FiringStored",
    "GetHeld",
    "GetHistory",
    "GetNextFires",
    "GetProgramInfo",
    "GetSpawns",
    "GetState",
    "GetStatus",
    "Install",
    "InstallMany",
    "KillSpawn",
    "MaxRunsReached",
    "Pause",
    "ProgramDied",
    "ProgramRequest",
    "ProgramSucceeded",
    "Reschedule",
    "Resume",
    "RetryDue",
    "Run",
    "RunBegan",
    "RunFinished",
    "RunTimedOut",
    "SetPaused",
    "SetSchedule",
    "SetState",
    "Shutdown",
    "Spawn",
    "SpawnDied",
    "SpawnPlaced",
    "SucceededElsewhere",
    "Tick",
    "Trigger",
    "Uninstall",
    "Uninstalled",
    "Unspawn",
    "UpstreamPresence",
    "UpstreamSucceeded",
    "UpstreamsElsewhere",
    "WaitInStore",
    "Wake",
    "WatchSuccess",
]


class _NoArgs:
    """Marks 'no args given': call the program's `args_fn`."""

    def __repr__(self) -> str:
        return "NO_ARGS"


NO_ARGS: Any = _NoArgs()


@attrs.frozen(kw_only=True)
class ProgramRequest(Request):
    """A request about one program: the supervisor routes it to that program's actor."""

    program_id: str


# --- Runner -> Supervisor ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Install(Request):
    """Register `program` with its initial `state` (built by `create_fn`, unless the store
    holds the program: then `stored` is what it holds, and the install adopts it, unless
    `replace`, which starts it fresh)."""

    program: Program
    state: Any
    replace: bool = False
    stored: StoredProgram | None = None
    restored: bool = False  # restored by the runner at start, not installed by code
    #: The epoch this runner claimed it with (runners sharing a store): its writes carry it.
    epoch: int | None = None
    since: datetime | None = None  # when `install` was called (default: when this is handled)


@attrs.frozen(kw_only=True)
class InstallMany(Request):
    """Several `Install`s at once (`install_many`): all checked before any is installed."""

    installs: tuple[Install, ...]
    replace: bool = False  # as each of `installs` says


@attrs.frozen(kw_only=True)
class Drop(Request):
    """To the supervisor: another runner owns the program now (its lease moved on), or this
    runner gives it up to share the programs fairly: stop its timer at once and its spawns
    gracefully, and forget it here, keeping it in the store. `urn`: only if that actor still
    serves it."""

    program_id: str
    urn: str | None = None
    #: Answer once its running work is done (it is given up: its lease is kept meanwhile).
    drain: bool = False


@attrs.frozen(kw_only=True)
class GetHeld(Request):
    """To the supervisor: the programs this runner runs with their fencing epochs (its leases),
    and the specs it dropped since last asked (one taken back runs again, lambdas and all)."""


@attrs.frozen(kw_only=True)
class WaitInStore:
    """From the runner at start to the supervisor: a program the store holds that no code
    installs yet (its callables have no reference, or `error`: they no longer import)."""

    stored: StoredProgram
    error: str | None = None


@attrs.frozen(kw_only=True)
class Uninstall(ProgramRequest):
    """Stop a program's timer and spawns (gracefully) and forget it; answered once its running
    work has finished, or, with `wait_for_drain=False` (asked from inside one of the runner's
    own runs), as soon as it is forgotten."""

    wait_for_drain: bool = True


@attrs.frozen(kw_only=True)
class Pause(Request):
    """Pause one program (`program_id`), or the whole runner (`None`)."""

    program_id: str | None = None


@attrs.frozen(kw_only=True)
class Resume(Request):
    """Resume one program (`program_id`), or the whole runner and every program (`None`)."""

    program_id: str | None = None


@attrs.frozen(kw_only=True)
class Reschedule(ProgramRequest):
    """Give a program a new schedule, from the next tick on."""

    schedule: Schedule


@attrs.frozen(kw_only=True)
class GetStatus(Request):
    """Ask for a `RunnerStatus` snapshot."""


@attrs.frozen(kw_only=True)
class Shutdown(Request):
    """Stop every timer and drain every program: the first half of `Runner.stop`."""


# --- routed to a ProgramActor ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Spawn(ProgramRequest):
    """Start `n` spawns; answered with their ids."""

    n: int = 1


@attrs.frozen(kw_only=True)
class Unspawn(ProgramRequest):
    """Stop `n` spawns gracefully, chosen by `policy`; answered with their ids. With `shrink`
    (a LoadMonitor's), at most `n` and never below `min`: idle ones first, then busy ones,
    marked `stopping`, which stop once their run has finished (never interrupted)."""

    n: int = 1
    policy: str | None = None
    shrink: bool = False


@attrs.frozen(kw_only=True)
class Trigger(ProgramRequest):
    """Run `main_fn` once now; answered with its result when the run is merged."""

    args: Any = NO_ARGS


@attrs.frozen(kw_only=True)
class GetState(ProgramRequest):
    """Ask for the program's merged state."""


@attrs.frozen(kw_only=True)
class SetState(ProgramRequest):
    """Replace the program's state."""

    value: Any


@attrs.frozen(kw_only=True)
class GetProgramInfo(ProgramRequest):
    """Ask for a `ProgramInfo` snapshot."""


@attrs.frozen(kw_only=True)
class GetSpawns(ProgramRequest):
    """Ask for the `SpawnInfo` of every spawn not yet stopped, oldest first."""


@attrs.frozen(kw_only=True)
class GetHistory(ProgramRequest):
    """Ask for the newest `limit` `RunRecord`s, newest first."""

    limit: int = 50


@attrs.frozen(kw_only=True)
class GetNextFires(ProgramRequest):
    """Ask for the program's next `n` fire times, oldest first."""

    n: int = 5


@attrs.frozen(kw_only=True)
class SetPaused(Request):
    """From the supervisor to a ProgramActor: ticks while paused are missed, not queued."""

    paused: bool


@attrs.frozen(kw_only=True)
class SetSchedule(Request):
    """From the supervisor to a ProgramActor: the schedule its new timer follows, anchored at
    `since` (the same object the timer gets: the supervisor anchors it once), from the
    schedule as `given`."""

    schedule: Schedule
    since: datetime
    given: Schedule


@attrs.frozen
class WatchSuccess:
    """To a ProgramActor: report each success (`ProgramSucceeded`): a program follows it."""

    enabled: bool


@attrs.frozen
class ProgramSucceeded:
    """From a ProgramActor to the supervisor: a run completed successfully at `at`."""

    program_id: str
    at: datetime


@attrs.frozen(kw_only=True)
class SucceededElsewhere(Request):
    """To the supervisor, from another runner of the store (a command): the program
    `program_id`, which runs there, succeeded at `at`: its `on_success` programs here fire."""

    program_id: str
    at: datetime


@attrs.frozen
class UpstreamsElsewhere:
    """To the supervisor: the programs other runners run (their on_success programs here run)."""

    program_ids: frozenset[str]


@attrs.frozen
class UpstreamPresence:
    """To an `on_success` program's actor: its upstream is installed, or not (then it waits)."""

    installed: bool


@attrs.frozen
class UpstreamSucceeded:
    """From the supervisor to the TimerActor of an `on_success` program: tick after the delay."""

    at: datetime


@attrs.frozen
class Uninstalled:
    """From a ProgramActor to the supervisor: uninstall me (an `after()` program has run)."""

    program_id: str


@attrs.frozen(kw_only=True)
class Drain(Request):
    """Stop taking ticks, let running work finish, stop every spawn, then stop."""


# --- Clock -> Timer -> Program -> Spawn -> Program ----------------------------------------


@attrs.frozen
class Wake:
    """From the clock to a TimerActor: fire time `fire_at` is due (plus its `jitter` seconds)."""

    fire_at: datetime
    jitter: float = 0.0


@attrs.frozen
class Tick:
    """From a TimerActor to its ProgramActor: run now, for the tick scheduled at `scheduled_at`.

    `missed` counts the late ticks that will not run (the misfire policy dropped them), however
    many; `missed_latest` holds the newest few of their times, for the history. `runs` is
    `False` when this tick only reports them. A `replay` tick (coalesce `"all"`) is never
    dropped by a busy spawn: it waits its turn. `next_at` is when the timer fires next.
    """

    scheduled_at: datetime
    missed: int = 0
    missed_latest: tuple[datetime, ...] = ()
    runs: bool = True
    replay: bool = False
    next_at: datetime | None = None  # the timer's next fire time, so no NextRun is needed


@attrs.frozen
class FiringStored:
    """To a ProgramActor, once the store has committed the firing of `tick`: `answer` holds
    the write's result (`"ok"`: run it; `"duplicate"`: it fired before) or its error.
    `spawns` were idle when it fired, and wait for it (no other tick or trigger takes them)."""

    tick: Tick
    spawns: tuple[str, ...]
    answer: Future[Any] = attrs.field(eq=False)


@attrs.frozen
class Run:
    """From a ProgramActor to a SpawnActor: run `main_fn` once (try number `attempt`); by
    `ticket` (a `RunTicket`) the ProgramActor stops waiting for it (a timeout, a kill)."""

    run_id: str
    scheduled_at: datetime
    args: Any = NO_ARGS
    attempt: int = 1
    priority: int = 0
    ticket: Any = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class RunBegan:
    """From a worker thread to the ProgramActor, under `max_concurrent`: a pending run started."""

    run_id: str
    attempt: int
    started_at: datetime


@attrs.frozen
class RunTimedOut:
    """From the clock to a ProgramActor: try `attempt` of a run passed the program's timeout."""

    run_id: str
    attempt: int


@attrs.frozen
class RetryDue:
    """From the clock to a ProgramActor: a failed run's backoff is over; try it again."""

    run_id: str


@attrs.frozen(kw_only=True)
class KillSpawn(ProgramRequest):
    """Abandon a spawn at once; replace it where `min` asks."""

    spawn_id: str


@attrs.frozen
class ProgramDied:
    """From a failed ProgramActor to the supervisor: restart me with `state` (books: `stored`)."""

    program_id: str
    urn: str
    state: Any
    error: BaseException | None
    stored: StoredProgram | None = None


@attrs.frozen
class SpawnDied:
    """From a SpawnActor that failed to the ProgramActor."""

    spawn_id: str
    error: BaseException | None


@attrs.frozen
class SpawnPlaced:
    """From a SpawnActor's executor to the ProgramActor: the node its Ray actor lives on."""

    spawn_id: str
    node: str


@attrs.frozen
class RunFinished:
    """From a worker thread to its SpawnActor, and on to the ProgramActor: a run's outcome."""

    run_id: str
    spawn_id: str
    started_at: datetime
    finished_at: datetime
    result: Any = None
    error: BaseException | None = None
    attempt: int = 1


@attrs.frozen
class MaxRunsReached:
    """From a ProgramActor to the supervisor: `max_runs` reached, stop the program's timer."""

    program_id: str
