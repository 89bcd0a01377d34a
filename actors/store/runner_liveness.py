"""Whether a runner recorded in a shared store is alive: the rules every coordinator shares.

A runner row (`actors_runners`) names its process (pid and host) and when it was last heard
of. Another process's row heard of within the lease is alive, unless that process is on this
host and gone (a `kill -9` leaves its row behind, and its id must be reusable at once).
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterable

from actors.snapshots import RunnerInfo
from actors.store.abc import RunnerRow
from actors.store.codec import from_micros

__all__ = ["FORGET", "in_use", "pid_alive", "runner_infos", "this_host"]

#: Runners not heard of for this many lease spans are forgotten (their rows deleted).
FORGET = 40


def in_use(row: tuple[int, str, int], pid: int, host: str, alive: int) -> bool:
    """Whether the runner row `(pid, host, heartbeat)` is another process's, alive (heard of
    since `alive`, and not a process of this host that is gone).

    Args:
        row: the recorded runner's pid, host and heartbeat (microseconds).
        pid: this process's pid.
        host: this host's name.
        alive: the oldest heartbeat of a live runner.
    """
    other = (row[0], row[1]) != (pid, host)
    return other and row[2] >= alive and (row[1] != host or pid_alive(row[0]))


def runner_infos(rows: Iterable[RunnerRow], *, now: int, span: int) -> list[RunnerInfo]:
    """Runner rows as `runner.cluster()` shows them: alive when heard of within `span` of
    `now` (microseconds)."""
    return [
        RunnerInfo(
            id=row.id,
            host=row.host,
            pid=row.pid,
            started_at=from_micros(row.started_at),
            heartbeat=from_micros(row.heartbeat),
            alive=row.heartbeat >= now - span,
        )
        for row in rows
    ]


#: The inode of the first pid namespace of Linux (a process not in a container sees this).
_INIT_PID_NAMESPACE = 0xEFFFFFFC


@functools.cache
def this_host() -> str:
    """This host's name as runner rows record it: its host name, and in a container, its pid
    namespace too (containers may share a host name, and a pid of one means nothing in
    another: only runners with the same `this_host()` may judge each other by pid)."""
    name = socket.gethostname()
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux: the host name alone
        return name
    return name if namespace == _INIT_PID_NAMESPACE else f"{name}/pid-ns-{namespace}"


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host is alive (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
