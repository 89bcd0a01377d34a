"""actors: an actor-model job scheduler for Python.

A runner holds programs (job definitions); a spawn is one running worker of a program. Every
call on the `Runner` becomes a message to its actors: a Supervisor, one Timer and one Program
actor per program, and the program's Spawn actors.

Every public name is importable from here (`from actors import Runner, every`). The package
loads each one's module on first use (PEP 562), so `import actors` is cheap and a command
that needs only schedules (`actors next`) never loads the runner, pykka or rich.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads these
    from actors.clock import Clock, ManualClock, SystemClock
    from actors.errors import (
        DeadlockError,
        InvalidProgram,
        InvalidSchedule,
        ProgramExists,
        ProgramNotFound,
        ProgramUnavailable,
        RunnerStopped,
        SchedulerError,
        SpawnLimitError,
        SpawnNotFound,
        StateNotSerializable,
        StoreError,
    )
    from actors.handles import AutoscaleHandle, ProgramHandle
    from actors.policies import Misfire, Retry
    from actors.program import Program
    from actors.runner import Runner
    from actors.schedules import Schedule, after, at, cron, every, manual, on_success
    from actors.snapshots import (
        MonitorInfo,
        ProgramInfo,
        RunnerInfo,
        RunnerStatus,
        RunRecord,
        SpawnInfo,
    )

__all__ = [
    "AutoscaleHandle",
    "Clock",
    "DeadlockError",
    "InvalidProgram",
    "InvalidSchedule",
    "ManualClock",
    "Misfire",
    "MonitorInfo",
    "Program",
    "ProgramExists",
    "ProgramHandle",
    "ProgramInfo",
    "ProgramNotFound",
    "ProgramUnavailable",
    "Retry",
    "RunRecord",
    "Runner",
    "RunnerInfo",
    "RunnerStatus",
    "RunnerStopped",
    "Schedule",
    "SchedulerError",
    "SpawnInfo",
    "SpawnLimitError",
    "SpawnNotFound",
    "StateNotSerializable",
    "StoreError",
    "SystemClock",
    "after",
    "at",
    "cron",
    "every",
    "manual",
    "on_success",
]

__version__ = "0.1.0"

#: The module that defines each public name.
_MODULES = {
    "AutoscaleHandle": "actors.handles",
    "Clock": "actors.clock",
    "DeadlockError": "actors.errors",
    "InvalidProgram": "actors.errors",
    "InvalidSchedule": "actors.errors",
    "ManualClock": "actors.clock",
    "Misfire": "actors.policies",
    "MonitorInfo": "actors.snapshots",
    "Program": "actors.program",
    "ProgramExists": "actors.errors",
    "ProgramHandle": "actors.handles",
    "ProgramInfo": "actors.snapshots",
    "ProgramNotFound": "actors.errors",
    "ProgramUnavailable": "actors.errors",
    "Retry": "actors.policies",
    "RunRecord": "actors.snapshots",
    "Runner": "actors.runner",
    "RunnerInfo": "actors.snapshots",
    "RunnerStatus": "actors.snapshots",
    "RunnerStopped": "actors.errors",
    "Schedule": "actors.schedules",
    "SchedulerError": "actors.errors",
    "SpawnInfo": "actors.snapshots",
    "SpawnLimitError": "actors.errors",
    "SpawnNotFound": "actors.errors",
    "StateNotSerializable": "actors.errors",
    "StoreError": "actors.errors",
    "SystemClock": "actors.clock",
    "after": "actors.schedules",
    "at": "actors.schedules",
    "cron": "actors.schedules",
    "every": "actors.schedules",
    "manual": "actors.schedules",
    "on_success": "actors.schedules",
}


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use, and keep the name here for the next time."""
    module = _MODULES.get(name)
    if module is None:
        msg = f"module 'actors' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
