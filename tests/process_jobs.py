"""Module-level main functions for the process and Ray executors' tests: a child process or a
Ray actor imports them by reference."""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any


def pid(args: Any, scheduled_at: datetime) -> int:
    """The pid of the process the run runs in."""
    return os.getpid()


def stuck(args: Any, scheduled_at: datetime) -> None:
    """A run that never returns (only a kill ends it)."""
    while True:
        time.sleep(60)  # sleep-ok: a stuck job is the scenario


def stuck_telling(args: Any, scheduled_at: datetime) -> None:
    """A run that writes its pid to the file `args` names, then never returns."""
    with open(args, "w") as file:
        file.write(str(os.getpid()))
    stuck(args, scheduled_at)


def crash(args: Any, scheduled_at: datetime) -> None:
    """A run that kills its process, as a segfault would."""
    os._exit(3)


def fail(args: Any, scheduled_at: datetime) -> None:
    """A run that raises."""
    raise ValueError(f"bad input {args!r}")


def spin(args: Any, scheduled_at: datetime) -> float:
    """About `args` seconds of CPU; the CPU time this process used."""
    deadline = time.process_time() + float(args)
    while time.process_time() < deadline:
        pass
    return time.process_time()


def node_and_pid(args: Any, scheduled_at: datetime) -> tuple[str, int]:
    """The Ray node and the pid of the process the run runs in (a Ray actor's)."""
    import ray

    return ray.get_runtime_context().get_node_id(), os.getpid()


def slow(args: Any, scheduled_at: datetime) -> int:
    """Sleep `args` seconds (none without), as a job that takes long, not one that is stuck;
    the pid of the process it ran in."""
    time.sleep(float(args or 0))  # sleep-ok: a slow job is the scenario
    return os.getpid()
