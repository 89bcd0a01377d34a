"""ChildProcess and `Program(executor="process")`: each spawn runs its runs in a child process
of its own, reused; a timeout kills a stuck child and the spawn is replaced; a child that dies
is a dead spawn, replaced; errors come back as raised; nothing is left after `stop()`."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from actors import InvalidProgram, Program, Runner, RunRecord
from actors.runtime import ChildDied, ChildProcess
from tests.process_jobs import crash, fail, pid, spin, stuck


def test_a_child_runs_calls_and_is_reused() -> None:
    """Calls run in one child process, not this one, and its errors are raised here."""
    child = ChildProcess("test-child")
    try:
        first, second = child.call(pid, None, None), child.call(pid, None, None)
        assert first == second == child.pid
        assert first != os.getpid()
        with pytest.raises(ValueError, match="bad input 7"):
            child.call(fail, 7, None)
        assert child.call(pid, None, None) == first  # an error does not cost the child
    finally:
        child.kill()
    assert multiprocessing.active_children() == []


def test_a_child_that_dies_fails_its_call() -> None:
    """A child that exits during a call (a crash) ends the call with ChildDied, naming its
    exit code."""
    child = ChildProcess("test-child")
    with pytest.raises(ChildDied, match="exit code 3"):
        child.call(crash, None, None)
    child.kill()


def test_process_spawns_run_in_their_own_child() -> None:
    """A program with executor="process" runs in a child per spawn, the same child for
    every run of a spawn."""
    with Runner() as runner:
        runner.install(Program(id="p", main_fn=pid, executor="process", min=2))
        pids = {runner.trigger("p") for _ in range(4)}
        assert os.getpid() not in pids
        assert 1 <= len(pids) <= 2


def test_a_stuck_run_is_killed_at_its_timeout_and_its_spawn_replaced() -> None:
    """A run stuck past `timeout=1` is killed with its child, fails with a TimeoutError, and
    a fresh spawn replaces it within two seconds; the killed child is gone."""
    with Runner() as runner:
        runner.install(Program(id="s", main_fn=stuck, executor="process", min=1, timeout=1))
        (first,) = runner.spawns("s")
        began = time.monotonic()
        with pytest.raises(TimeoutError, match="took longer than 1 s"):
            runner.trigger("s", timeout=10)
        (replacement,) = runner.spawns("s")
        assert time.monotonic() - began < 2.0
        assert replacement.id != first.id
        assert runner.info("s").failed == 1


def test_a_child_that_dies_is_a_dead_spawn_replaced_where_min_asks() -> None:
    """A run whose process exits (os._exit, as a segfault or the OOM killer would end it)
    fails, its spawn is dead, and a new one replaces it: the program runs on."""
    with Runner() as runner:
        runner.install(Program(id="c", main_fn=crash, executor="process", min=1))
        (first,) = runner.spawns("c")
        with pytest.raises(Exception, match=f"spawn {first.id} \\(died\\)"):
            runner.trigger("c", timeout=10)
        runner.settle()
        (replacement,) = runner.spawns("c")
        assert replacement.id != first.id
        assert runner.info("c").failed == 1


def test_an_error_in_a_child_comes_back_as_raised() -> None:
    """main_fn's exception, raised in the child, is the run's error here, with its type and
    message."""
    with Runner() as runner:
        runner.install(Program(id="f", main_fn=fail, executor="process", min=1))
        with pytest.raises(ValueError, match="bad input 'x'"):
            runner.trigger("f", "x")


def test_a_lambda_cannot_run_in_a_process() -> None:
    """executor="process" with a main_fn that does not pickle (a lambda) is refused at
    construction, naming the field and the fix."""
    with pytest.raises(InvalidProgram, match="main_fn must be picklable with executor='process'"):
        Program(id="l", main_fn=lambda args, at: None, executor="process")
    with pytest.raises(InvalidProgram, match="executor"):
        Program(id="x", main_fn=pid, executor="cluster")  # type: ignore[arg-type]


def test_cpu_bound_runs_use_both_cores() -> None:
    """Two spawns' CPU-bound runs run at the same time, each in its process, not one after
    the other under one GIL: their run records overlap in time."""
    with Runner() as runner:
        runner.install(Program(id="cpu", main_fn=spin, executor="process", min=2))
        futures = [runner.trigger("cpu", 0.6, wait=False) for _ in range(2)]
        assert all(future.result(30) >= 0.6 for future in futures)
        runs: list[RunRecord] = runner.history("cpu")
        starts = sorted((run.started_at, run.finished_at) for run in runs)  # type: ignore[type-var]
        (_, first_finished), (second_started, _) = starts
        assert second_started < first_finished


def test_no_child_is_left_after_stop() -> None:
    """After `stop()` no child process of the runner is alive, idle or running."""
    runner = Runner()
    runner.install(Program(id="idle", main_fn=pid, executor="process", min=2))
    runner.install(Program(id="busy", main_fn=stuck, executor="process", min=1))
    runner.trigger("idle")
    runner.trigger("busy", wait=False)
    runner.stop(timeout=0.5)
    assert multiprocessing.active_children() == []
