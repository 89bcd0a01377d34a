"""Snapshots: frozen pictures of a runner, a program, a spawn and a run, and how they render.

Snapshots are answers, not live views: each is built by the actor that owns the data and
handed out frozen. Each has a concise `repr`, `_repr_pretty_` for IPython and `__rich__` for
rich; a `RunnerStatus` renders as an aligned table.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Literal

import attrs
from rich.console import Console, Group, JustifyMethod
from rich.table import Table
from rich.text import Text

__all__ = [
    "MonitorInfo",
    "ProgramInfo",
    "RunRecord",
    "RunnerInfo",
    "RunnerStatus",
    "SpawnInfo",
    "render",
]

ProgramStatus = Literal["active", "paused", "finished", "failed", "waiting"]
SpawnStatus = Literal["idle", "running", "stopping", "stopped"]
RunStatus = Literal[
    "pending", "running", "completed", "failed", "cancelled", "skipped", "missed", "interrupted"
]
MonitorMode = Literal["threshold", "target"]

_STATE_WIDTH = 40


def render(renderable: Any, *, width: int | None = None) -> str:
    """Render a rich renderable to plain text (no colour), for `repr`.

    By default the text is as wide as the renderable needs, so long ids are never cut.
    """
    buffer = io.StringIO()
    if width is None:
        measured = Console(width=10_000).measure(renderable).maximum
        width = max(40, measured)
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def _time(when: datetime | None) -> str:
    """`12:00:03`, or `12:00:03.250` when the time has a fraction of a second (at least 1 ms).

    Whole-second times stay short; a sub-second schedule still shows its last and next run
    as different times. Milliseconds are always three digits, so a column lines up.
    """
    if when is None:
        return "-"
    milliseconds = when.microsecond // 1000
    return f"{when:%H:%M:%S}.{milliseconds:03d}" if milliseconds else f"{when:%H:%M:%S}"


def _short(value: Any, width: int = _STATE_WIDTH) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _error(error: BaseException | None) -> str:
    return "-" if error is None else f"{type(error).__name__}: {error}"


class _Pretty:
    """IPython and rich hooks shared by every snapshot."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def __rich__(self) -> Any:
        return Text(repr(self))


@attrs.frozen(repr=False)
class SpawnInfo(_Pretty):
    """One spawn (worker) of a program.

    Its `runs`, `succeeded` and `failed` count every try it ran: a run retried on this spawn
    counts once per try here, but once (its final outcome) in the program's `ProgramInfo`.
    """

    id: str
    program: str
    status: SpawnStatus
    started_at: datetime
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    last_error: BaseException | None = None
    #: The Ray node a Ray spawn's actor lives on (its node id), once known; `None` for a
    #: spawn that runs in this runner (`executor="thread"` or `"process"`).
    node: str | None = None

    def __repr__(self) -> str:
        where = "" if self.node is None else f" node={self.node[:12]}"
        return (
            f"<SpawnInfo {self.id} {self.status} runs={self.runs} "
            f"ok={self.succeeded} failed={self.failed}{where}>"
        )


@attrs.frozen(repr=False)
class RunRecord(_Pretty):
    """One run (or one tick that did not run: skipped, missed) of a program."""

    id: str
    program: str
    spawn: str | None
    scheduled_at: datetime | None
    status: RunStatus
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: str | None = None
    error: BaseException | None = None
    attempt: int = 1

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, if the run finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def __repr__(self) -> str:
        detail = self.result if self.status == "completed" else _error(self.error)
        if self.status in ("skipped", "missed", "pending", "running"):
            detail = ""
        return (
            f"<RunRecord {self.id} {self.status} spawn={self.spawn} "
            f"scheduled={_time(self.scheduled_at)}{' ' + detail if detail else ''}>"
        )


@attrs.frozen(kw_only=True)
class RunnerInfo:
    """A runner of a store that several runners share, as `runner.cluster()` lists it.

    Attributes:
        id: the runner's id (what `ProgramInfo.owner` names).
        host, pid: where it runs.
        started_at: when it joined the store.
        heartbeat: when it was last heard of (its own clock).
        alive: whether it was heard of within half its lease (how long a lease lasts): its
            programs stay with it.
    """

    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat: datetime
    alive: bool

    def __repr__(self) -> str:
        state = "alive" if self.alive else "not heard of"
        return f"<RunnerInfo {self.id} pid {self.pid} on {self.host}, {state}>"


@attrs.frozen(repr=False)
class ProgramInfo(_Pretty):
    """One program: its schedule, spawns, state and counters.

    The counters add up: `runs == succeeded + failed`, each run counted once by its final
    outcome (retries included); ticks that never ran are counted in `skipped` (a busy spawn, or
    no spawn) and `missed` (late ticks dropped by the misfire policy, or ticks while paused),
    however many, though only the newest few are kept in the history.
    """

    id: str
    name: str
    schedule: str
    status: ProgramStatus
    spawns: int
    min: int
    max: int | None
    state: Any
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    missed: int = 0
    running: int = 0
    last_run: datetime | None = None
    next_run: datetime | None = None
    last_error: BaseException | None = None
    owner: str | None = None  # the id of the runner that runs it (a store's row: the last one)
    tags: tuple[str, ...] = ()

    @property
    def spawn_counts(self) -> str:
        """`"n/min/max"`, with `-` for no upper bound."""
        return f"{self.spawns}/{self.min}/{'-' if self.max is None else self.max}"

    def __repr__(self) -> str:
        return (
            f"<ProgramInfo {self.id} {self.status} {self.schedule} spawns={self.spawn_counts} "
            f"runs={self.runs} failed={self.failed} state={_short(self.state)}>"
        )

    def __rich__(self) -> Table:
        return _program_table([self], title=None)


def _program_table(programs: list[ProgramInfo], title: str | None) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    # Programs of several runners (a shared store): say which runs each.
    owners = len({info.owner for info in programs}) > 1
    columns: list[tuple[str, JustifyMethod]] = [
        ("program", "left"),
        ("status", "left"),
        ("schedule", "left"),
        ("spawns n/min/max", "right"),
        ("runs", "right"),
        ("failed", "right"),
        ("last run", "right"),
        ("next run", "right"),
        ("state", "left"),
    ]
    if owners:
        columns.insert(2, ("owner", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify, no_wrap=column != "state")
    for info in programs:
        table.add_row(
            info.id,
            info.status,
            *((info.owner or "-",) if owners else ()),
            info.schedule,
            info.spawn_counts,
            str(info.runs),
            str(info.failed),
            _time(info.last_run),
            _time(info.next_run),
            _short(info.state),
        )
    return table


def _sample(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@attrs.frozen(repr=False)
class MonitorInfo(_Pretty):
    """One LoadMonitor (`Runner.autoscale`): its rule, its last sample and its last change.

    `last_change` is `"+n"` or `"-n"` (spawns started or stopped), at `last_change_at`;
    `spawns` is the pool size the monitor last saw or made. `errors` counts failed samples.
    """

    program: str
    mode: MonitorMode
    rule: str
    active: bool = True
    spawns: int | None = None
    samples: int = 0
    last_sample: float | None = None
    last_sample_at: datetime | None = None
    last_change: str | None = None
    last_change_at: datetime | None = None
    errors: int = 0
    last_error: BaseException | None = None
    next_sample: datetime | None = None

    @property
    def change_text(self) -> str:
        """`"+2 at 10:00:05"`, or `-` before the first change."""
        if self.last_change is None:
            return "-"
        return f"{self.last_change} at {_time(self.last_change_at)}"

    def __repr__(self) -> str:
        state = "active" if self.active else "stopped"
        return (
            f"<MonitorInfo {self.program} {self.mode} {self.rule} {state} "
            f"spawns={'-' if self.spawns is None else self.spawns} "
            f"last_sample={_sample(self.last_sample)} last_change={self.change_text} "
            f"errors={self.errors}>"
        )

    def __rich__(self) -> Table:
        return _monitor_table([self], title=None)


def _monitor_table(monitors: list[MonitorInfo], title: str | None) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for column, justify in (
        ("monitor of", "left"),
        ("mode", "left"),
        ("rule", "left"),
        ("spawns", "right"),
        ("last sample", "right"),
        ("last change", "right"),
        ("errors", "right"),
        ("status", "left"),
    ):
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for info in monitors:
        table.add_row(
            info.program,
            info.mode,
            info.rule,
            "-" if info.spawns is None else str(info.spawns),
            _sample(info.last_sample),
            info.change_text,
            str(info.errors),
            "active" if info.active else "stopped",
        )
    return table


@attrs.frozen(repr=False)
class RunnerStatus(_Pretty):
    """The whole runner: its programs, its monitors and totals. Its `repr` is a table (two
    when monitors are running: programs, then monitors)."""

    id: str
    running: bool
    paused: bool
    programs: list[ProgramInfo]
    at: datetime | None = None
    monitors: list[MonitorInfo] = attrs.field(factory=list)

    @property
    def totals(self) -> dict[str, int]:
        """Sums over every program: programs, spawns, runs, succeeded, failed, skipped, missed."""
        keys = ("spawns", "runs", "succeeded", "failed", "skipped", "missed")
        sums = {key: sum(getattr(info, key) for info in self.programs) for key in keys}
        return {"programs": len(self.programs), **sums}

    def __getitem__(self, program_id: str) -> ProgramInfo:
        for info in self.programs:
            if info.id == program_id:
                return info
        raise KeyError(program_id)

    def _title(self) -> str:
        state = "paused" if self.paused else "running" if self.running else "stopped"
        totals = self.totals
        return (
            f"Runner {self.id!r} {state} at {_time(self.at)}: {totals['programs']} programs, "
            f"{totals['spawns']} spawns, {totals['runs']} runs, {totals['failed']} failed"
        )

    def __rich__(self) -> Table | Group:
        programs = _program_table(self.programs, title=self._title())
        if not self.monitors:
            return programs
        return Group(programs, _monitor_table(self.monitors, title="Monitors"))

    def __repr__(self) -> str:
        return render(self.__rich__())
