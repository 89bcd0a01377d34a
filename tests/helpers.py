"""Small test helpers shared by several test modules."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def eventually(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Wait until `predicate()` is truthy and return it; fail after `timeout` seconds.

    For conditions that depend on a run still blocked in user code, where `settle()` would wait
    for that run. It waits on the condition itself, never on a guessed duration.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            msg = f"condition not met within {timeout} s"
            raise AssertionError(msg)
        time.sleep(0.002)  # sleep-ok: polls a condition; the run it waits on holds no signal


class Gate:
    """A main_fn that blocks until opened, and tells when each run has started."""

    def __init__(self, result: Any = None) -> None:
        self.opened = threading.Event()
        self.started = threading.Semaphore(0)
        self.result = result
        self.calls: list[Any] = []

    def __call__(self, args: Any, timestamp: Any) -> Any:
        self.calls.append(timestamp)
        self.started.release()
        if not self.opened.wait(10):
            msg = "gate never opened"
            raise RuntimeError(msg)
        return self.result

    def wait_started(self, count: int = 1, timeout: float = 5.0) -> None:
        """Block until `count` more runs have entered the gate."""
        for _ in range(count):
            assert self.started.acquire(timeout=timeout), "run did not start"

    def open(self) -> None:
        self.opened.set()


def child_processes() -> dict[int, str]:
    """This process's child processes, as the OS sees them (zombies included, which
    `multiprocessing.active_children()` would not show): each pid and its command line, a
    zombie's being its name in brackets."""
    me = os.getpid()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # it ended while we looked
            continue
        # "pid (name) state ppid ...": the name may hold spaces and parentheses of its own.
        name, _, rest = stat.partition(" (")[2].rpartition(")")
        if int(rest.split()[1]) == me:
            text = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
            found[int(entry.name)] = text or f"[{name}]"
    return found
