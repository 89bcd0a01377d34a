"""Small test helpers shared by several test modules."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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
