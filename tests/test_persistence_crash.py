"""Crash tests: a real runner process killed with `kill -9` at random moments, many times over
one store; after each kill the store must be consistent."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actors.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]

#: How many times a child is started and killed. Each round is about a second.
KILLS = 24


def start_child(path: Path) -> subprocess.Popen[str]:
    """A runner process on `path`, once it says it is running."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.crash_child", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "ready", (line, child.stderr.read() if child.stderr else "")
    return child


def check_consistent(path: Path) -> tuple[int, int]:
    """The invariants of a store after a crash; returns (succeeded, interrupted)."""
    store = SQLiteStore(path)
    store.open("checker", history=100_000)
    try:
        stored = store.load_program("counter")
    finally:
        store.close()
    assert stored is not None
    row = stored.row
    state = int(store.serializer.loads(row.state))
    completed = [run for run in stored.runs if run.status == "completed"]
    # The stored state is exactly the merge of the stored successes.
    assert state == row.succeeded == len(completed)
    assert row.runs == row.succeeded + row.failed
    # No scheduled time ran twice: one completed run per (time, spawn), never two runs of a
    # time on one spawn; and a time's runs never outnumber the spawns.
    by_time: dict[object, int] = {}
    for run in completed:
        by_time[run.scheduled_at] = by_time.get(run.scheduled_at, 0) + 1
    assert max(by_time.values(), default=0) <= 2
    interrupted = [run for run in stored.runs if run.status == "interrupted"]
    return row.succeeded, len(interrupted)


@pytest.mark.timeout(180)
def test_kill_9_at_random_moments_24_times_leaves_the_store_consistent(tmp_path: Path) -> None:
    """24 times: start a runner process on one store (it restores the program the last one
    left), let it run a random while (50 ms ticks on two spawns), kill -9 it. After every kill
    the stored state equals the merge of the stored successes, the counters add up, and no
    scheduled time ran twice; the runs go on accumulating across the kills."""
    path = tmp_path / "actors.db"
    random.seed(os.getpid())
    succeeded = 0
    for _ in range(KILLS):
        child = start_child(path)
        time.sleep(random.uniform(0.05, 0.6))  # sleep-ok: the random moment of the kill
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        assert child.returncode == -signal.SIGKILL
        now_succeeded, _ = check_consistent(path)
        assert now_succeeded >= succeeded  # nothing committed is ever lost
        succeeded = now_succeeded
    assert succeeded > 0
