"""Module-level callables for the persistence tests: importable by reference, so a runner that
opens a store restores the programs that use them without any code installing them."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def count(args: Any, timestamp: datetime) -> int:
    """main_fn: one more."""
    return 1


def zero() -> int:
    """create_fn: start from nothing."""
    return 0


def add(state: int, result: int) -> int:
    """merge_fn: the running total."""
    return state + result


def busy_count(args: Any, timestamp: datetime) -> int:
    """main_fn of the crash test: one more, after a few milliseconds of work, so that a kill
    often lands while runs are in flight."""
    import random
    import time

    time.sleep(random.uniform(0, 0.03))  # sleep-ok: the work a kill should cut short
    return 1


def flaky(args: Any, timestamp: datetime) -> int:
    """main_fn of the restart machine: fails when the tick's second is a multiple of 3."""
    if timestamp.second % 3 == 0:
        msg = "planned failure"
        raise ValueError(msg)
    return 1
