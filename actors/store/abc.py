"""The store interface: what a runner keeps of its programs, and the rows it keeps it in.

A `Store` holds, per program, one `ProgramRow` (its definition, schedule position, merged state,
counters, paused flag, wanted spawn count, and the lease columns several runners need), its
recent runs as `RunRow`s, and one `FiringRow` per scheduled time fired. A runner writes through
one writer thread that commits `Write`s in batches (`Store.write`, one transaction per batch) and
reads at start (`Store.load`) and when code installs a program the store already holds
(`Store.load_program`). No actor ever calls a store: the store actor hands writes to the writer
thread, and reads happen on the caller's thread.

Families (`actors.store.sqlite`, and `actors.store.postgres` for several machines) implement
this; `actors.store.memory.MemoryStore` keeps nothing and costs nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

import attrs

__all__ = [
    "Command",
    "Coordinator",
    "FiringRow",
    "FiringStatus",
    "ProgramRow",
    "RunRow",
    "RunnerRow",
    "Serializer",
    "Store",
    "StoredProgram",
    "Write",
    "WriteResult",
]

FiringStatus = Literal["fired", "completed", "failed", "skipped", "missed", "interrupted"]

#: What came of one `Write`: written; refused because its firing's scheduled time was fired
#: already (by this runner before a restart, or by another runner); or refused because another
#: runner owns the program now (its fencing epoch moved on).
WriteResult = Literal["ok", "duplicate", "stale"]


class Serializer(Protocol):
    """How a program's state becomes bytes in the store, and back."""

    name: str

    def dumps(self, value: Any) -> bytes:
        """The bytes of `value`; raises `TypeError` or `ValueError` if it cannot."""

    def loads(self, data: bytes) -> Any:
        """The value `dumps` made these bytes from."""


@attrs.frozen(kw_only=True)
class ProgramRow:
    """Everything a store keeps of one program but its runs and firings.

    Attributes:
        id: the program id.
        definition: the program's definition as JSON (`Program.to_definition`), or `None`
            when its callables cannot be stored (lambdas, closures): such a program's data is
            kept, and it comes back when code installs it again.
        schedule: the program's schedule as anchored at install, as JSON, so a restart keeps
            an `every()` grid where it was.
        since: when the schedule was anchored (install, or the last reschedule).
        state: the merged state, serialized.
        runs, succeeded, failed, skipped, missed: the counters.
        last_run: when the latest run started.
        last_error: the latest error, as text.
        last_fire: the latest scheduled time fired: where the schedule stands.
        next_fire: the next scheduled time, for status tables read from the store.
        paused: whether the program is paused.
        spawns: the number of spawns wanted (`min`, plus what `spawn` and monitors added).
        owner: the runner that owns the program now (several runners on one store).
        lease_expires: until when the owner's lease holds.
        epoch: the fencing epoch: it moves on at each change of owner, and a write carrying an
            older one is refused.
        updated_at: when the row was last written.
    """

    id: str
    definition: str | None
    schedule: str
    since: datetime
    state: bytes
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    missed: int = 0
    last_run: datetime | None = None
    last_error: str | None = None
    last_fire: datetime | None = None
    next_fire: datetime | None = None
    paused: bool = False
    spawns: int = 0
    owner: str | None = None
    lease_expires: datetime | None = None
    epoch: int = 0
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class FiringRow:
    """One scheduled time of one program, fired: the key `(program_id, scheduled_at)` is what
    makes a scheduled time fire at most once, across restarts and runners."""

    program_id: str
    scheduled_at: datetime
    status: FiringStatus = "fired"
    run_id: str | None = None
    runner_id: str | None = None


@attrs.frozen(kw_only=True)
class RunRow:
    """One try of one run, as the history shows it (`actors.RunRecord`, with the error as text)."""

    program_id: str
    run_id: str
    attempt: int
    spawn: str | None
    scheduled_at: datetime | None
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: str | None = None
    error: str | None = None


@attrs.frozen(kw_only=True)
class Write:
    """What one message of a program asks the store to commit, all or nothing.

    A batch of writes is one transaction; the writes are applied in order, and the parts of
    one write in this order:

    - `epoch`, when given, must match the stored row's epoch, else the whole write is skipped
      and answered `"stale"` (another runner owns the program now). A program the store does
      not hold has no epoch to match: a write with an epoch is `"stale"` there too (so a
      stale owner cannot bring back a program another runner uninstalled); installs write
      with `epoch=None`.
    - `firing` is inserted; if that `(program_id, scheduled_at)` is there already the whole
      write is skipped and answered `"duplicate"` (the time fired before: it must not run).
    - `outcome` sets the status of the firing of `outcome.scheduled_at`, and its run and
      runner ids where given (the stored ones stay where `None`); a firing not stored yet is
      inserted.
    - `program` replaces the program's row (upsert); a new program goes last in install
      order, a replaced one keeps its place.
    - `run` is added to the program's runs; runs beyond the newest `history` go, and so do
      concluded firings (any status but `"fired"`) beyond the newest `history` (the newest one
      always stays). Open firings stay until an `outcome` concludes them.
    - `delete` removes the program, its runs and its firings (uninstall).

    The checks come before any change, so a skipped write leaves nothing behind. Every row
    a write carries belongs to `program_id` (`ValueError` at construction otherwise).
    """

    program_id: str
    program: ProgramRow | None = None
    firing: FiringRow | None = None
    outcome: FiringRow | None = None
    run: RunRow | None = None
    delete: bool = False
    epoch: int | None = None

    def __attrs_post_init__(self) -> None:
        # A row of another program would be written under the wrong key, silently.
        for part, owner in (
            ("program", None if self.program is None else self.program.id),
            ("firing", None if self.firing is None else self.firing.program_id),
            ("outcome", None if self.outcome is None else self.outcome.program_id),
            ("run", None if self.run is None else self.run.program_id),
        ):
            if owner is not None and owner != self.program_id:
                msg = f"Write for program {self.program_id!r} carries a {part} of {owner!r}"
                raise ValueError(msg)


@attrs.frozen(kw_only=True)
class StoredProgram:
    """One program as a store holds it, for a runner that starts or installs it."""

    row: ProgramRow
    runs: tuple[RunRow, ...] = ()  # newest first
    open_firings: tuple[FiringRow, ...] = ()  # fired but never concluded: cut off by a crash


@attrs.frozen(kw_only=True)
class RunnerRow:
    """A runner that opened a shared store, and when it was last heard of (microseconds of
    its clock)."""

    id: str
    pid: int
    host: str
    started_at: int
    heartbeat: int


@attrs.frozen(kw_only=True)
class Command:
    """A call to a program that another runner owns, as its owner reads it: `kind` names the
    request (`"Trigger"`, `"GetState"`, ...), `payload` its fields, pickled."""

    id: int
    program_id: str
    kind: str
    payload: bytes


class Coordinator(ABC):
    """How the runners sharing one store agree on who runs what: leases, heartbeats, calls.

    A program row names its `owner`, holds `lease_expires`, and its `epoch` moves on each time
    it changes hands, so the writes of an owner that lost it are refused (`"stale"`). Runners
    claim their fair share of the programs nobody holds (no owner, an owner not heard of
    within the lease, or one declared dead), renew their leases while they live, find out at
    each renewal which programs they lost, and release them when they stop. Times are
    microseconds of the runner's clock (so tests drive leases with a `ManualClock`), `span`
    how long a lease holds.

    One per runner, used by its membership thread; `call` may come from any thread (a caller
    of the runner), and opens what it needs itself.
    """

    #: Whether the store wakes the runner when a command comes (`listen`), or is polled.
    wakes: bool = False

    @abstractmethod
    def join(self, *, now: int, span: int) -> None:
        """Record this runner, heard of at `now`.

        Raises:
            StoreError: a live runner elsewhere (another process, heard of within `span`)
                uses this runner's id.
        """

    @abstractmethod
    def heartbeat(self, now: int, span: int) -> None:
        """Say that this runner is alive at `now`; forget runners not heard of for long
        (many `span`s: a `kill -9` leaves its runner behind)."""

    @abstractmethod
    def runners(self) -> list[RunnerRow]:
        """Every runner that opened the store and did not leave, most recently heard first."""

    @abstractmethod
    def claim(
        self,
        *,
        now: int,
        span: int,
        dead: Collection[str] = (),
        skip: Collection[str] = (),
        prefer: Collection[str] = (),
    ) -> dict[str, int]:
        """Take programs nobody holds, up to this runner's fair share (the programs divided
        by the live runners, rounded up, less those it holds); returns each with its new
        epoch. `dead`: runners known to be gone (their programs are free, whatever their
        leases say); `skip`: programs not to take (this runner cannot run them); `prefer`:
        programs to take first (this runner has their code). Placeholders (`reserve`) are
        never claimed: only an install can make them a program."""

    @abstractmethod
    def owned(self) -> dict[str, int]:
        """The programs the store says this runner owns, with their epochs."""

    @abstractmethod
    def take(
        self, program_id: str, *, now: int, span: int, dead: Collection[str] = ()
    ) -> int | None:
        """Take one program if nobody holds it (an install of a stored program); its new
        epoch, or `None` if a live runner holds it."""

    @abstractmethod
    def reserve(self, program_id: str, state: bytes, *, now: int, span: int) -> int | None:
        """Make the row of a new program, owned by this runner, before its install writes
        it: its epoch, or `None` if the store holds the program already (another runner
        made it first). The row is a placeholder (no definition, an empty schedule, `state`)
        until then. Its epoch is `now`: past any epoch an earlier program of that id had, so
        that one's late writes are refused."""

    @abstractmethod
    def renew(self, held: Mapping[str, int], *, now: int, span: int) -> set[str]:
        """Extend the leases of `held` (id -> the epoch held); returns those another runner
        took (their owner or epoch moved on), which this runner must drop at once."""

    @abstractmethod
    def share(self, *, now: int, span: int, dead: Collection[str] = ()) -> int:
        """This runner's fair share of the programs now."""

    @abstractmethod
    def release(self, program_ids: Collection[str]) -> None:
        """Give up `program_ids`, fencing any write of this runner's after it (their epochs
        move on): another runner may take them at once."""

    @abstractmethod
    def leave(self) -> None:
        """This runner is gone (its writes flushed): release every program it holds, and
        remove it from the runners."""

    @abstractmethod
    def owner_of(self, program_id: str, *, now: int, span: int) -> tuple[str | None, bool] | None:
        """Who owns `program_id`, and whether that owner is alive; `None`: no such program."""

    @abstractmethod
    def call(
        self, owner: str, program_id: str, kind: str, payload: bytes, *, now: int, timeout: float
    ) -> tuple[bool, bytes] | None:
        """Send a command to `owner` and wait for its answer: `(ok, pickled result or
        error)`, or `None` if none came within `timeout` seconds (the command is withdrawn if
        the owner has not taken it yet). Any thread."""

    @abstractmethod
    def pending(self) -> list[Command]:
        """The commands sent to this runner and not taken yet, oldest first; taken now."""

    @abstractmethod
    def answer(self, command_id: int, ok: bool, payload: bytes) -> None:
        """Answer a command taken by `pending`."""

    def listen(self, wake: Callable[[], None]) -> None:  # noqa: B027 - optional
        """Call `wake()` (from a thread of the coordinator's) whenever a command comes for
        this runner, until `close`; a store that cannot (`wakes` is false) is polled."""

    @abstractmethod
    def close(self) -> None:
        """Close what this coordinator opened. Idempotent."""


class Store(ABC):
    """Where a runner keeps its programs. Opened by the runner, written by one writer thread.

    Attributes:
        durable: whether anything survives the process; a store that does not
            (`MemoryStore`) is never written, and costs nothing.
        flush_interval: the longest a write waits before its batch commits (seconds).
        serializer: how states are stored.
    """

    durable: bool = True
    flush_interval: float = 0.01

    @property
    @abstractmethod
    def url(self) -> str:
        """Where the store is, for people (`sqlite:///path/actors.db`)."""

    @property
    @abstractmethod
    def serializer(self) -> Serializer:
        """How states become bytes."""

    @abstractmethod
    def open(self, runner_id: str, *, history: int = 1000) -> None:
        """Get ready for `runner_id`: check (and migrate) the schema, connect. Several runners
        may open one store (their `coordinator`s share its programs). Runs beyond the newest
        `history` per program are dropped as new ones are written.

        Raises:
            StoreError: the store cannot be used (not an actors store, a newer schema, a
                missing or read-only directory, a locked or corrupt database); the message
                names the store and what to do.
        """

    @abstractmethod
    def close(self) -> None:
        """Release everything `open` took; writes must have been flushed. Idempotent."""

    @abstractmethod
    def load(self) -> list[StoredProgram]:
        """Every program the store holds, in install order, each with its newest `history`
        runs (newest first) and its open firings (oldest first). On the caller's thread, any
        thread but the writer's, while the writer writes: one consistent snapshot."""

    def use_lease(self, lease: float) -> None:  # noqa: B027 - optional
        """The lease of the runners that may share this store (seconds), told before `open`:
        a store bounds by it how long a runner frozen inside a transaction holds its rows
        (which would keep the other runners from taking its programs over)."""

    def program_rows(self) -> list[ProgramRow]:
        """Every program's row, in install order, without runs or firings (a status table
        of the whole store). On the caller's thread."""
        return [stored.row for stored in self.load()]

    def coordinator(self, runner_id: str) -> Coordinator | None:
        """What lets several runners share this store (a connection of its own), once it is
        open; `None` for a store only one runner ever uses."""
        return None

    def recent_runs(self, after: int = 0, limit: int = 100) -> list[tuple[int, RunRow]]:
        """The runs of every program written after run number `after`, each with its number,
        oldest first: the newest `limit` of them (a dashboard's events). None by default."""
        return []

    @abstractmethod
    def load_program(self, program_id: str) -> StoredProgram | None:
        """One program, if the store holds it. On the caller's thread."""

    @abstractmethod
    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        """Commit `batch` in one transaction; one result per write, in order. Called on the
        writer thread only.

        Raises:
            StoreError: the transaction failed; nothing of the batch was written.
        """
