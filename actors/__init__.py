"""actors: an actor-model job scheduler for Python.

A runner holds programs (job definitions); a spawn is one running worker of a program. Every
call on the `Runner` becomes a message to its actors: a Supervisor, one Timer and one Program
actor per program, and the program's Spawn actors.
"""

from __future__ import annotations

from actors.clock import Clock, ManualClock, SystemClock
from actors.errors import (
    DeadlockError,
    InvalidProgram,
    InvalidSchedule,
    ProgramExists,
    ProgramNotFound,
    RunnerStopped,
    SchedulerError,
    SpawnLimitError,
    SpawnNotFound,
)
from actors.program import Misfire, Program, Retry
from actors.runner import AutoscaleHandle, ProgramHandle, Runner
from actors.schedules import Schedule, after, at, cron, every, manual, on_success
from actors.snapshots import MonitorInfo, ProgramInfo, RunnerStatus, RunRecord, SpawnInfo

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
    "Retry",
    "RunRecord",
    "Runner",
    "RunnerStatus",
    "RunnerStopped",
    "Schedule",
    "SchedulerError",
    "SpawnInfo",
    "SpawnLimitError",
    "SpawnNotFound",
    "SystemClock",
    "after",
    "at",
    "cron",
    "every",
    "manual",
    "on_success",
]

__version__ = "0.1.0"
