"""ChildProcess and `Program(executor="process")`: each spawn runs its runs in a child process
of its own, reused; a timeout kills a stuck child and the spawn is replaced; a child that dies
is a dead spawn, replaced, whether it dies during a run or between runs; killing never waits;
errors come back as raised; no process is left after `stop()`, as the OS sees it."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time

import pytest

from actors import InvalidProgram, Program, Runner, RunRecord
from actors.runtime import ChildDied, ChildProcess, ChildWatcher, ExecutorLost
from tests.helpers import child_processes, eventually
from tests.process_jobs import crash, fail, pid, spin, stuck


def _new_children(before: dict[int, str]) -> dict[int, str]:
    """Child processes of ours (zombies too) that were not there `before`, but the resource
    tracker."""
    return {
        pid: cmd
        for pid, cmd in child_processes().items()
        if pid not in before and "resource_tracker" not in cmd
    }


def _left_behind(before: dict[int, str]) -> dict[int, str]:
    """Child processes of ours not there `before` (another test's Ray, say), and any
    multiprocessing one: the resource tracker counts even if an earlier test started it."""
    return {
        pid: cmd
        for pid, cmd in child_processes().items()
        if pid not in before or "multiprocessing" in cmd
    }


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
    assert child.wait(5)
    assert multiprocessing.active_children() == []


def test_a_child_that_dies_fails_its_call() -> None:
    """A child that exits during a call (a crash) ends the call with ChildDied, naming its
    exit code."""
    child = ChildProcess("test-child")
    with pytest.raises(ChildDied, match="exit code 3"):
        child.call(crash, None, None)
    child.kill()
    assert child.wait(5)


def test_a_child_that_dies_while_idle_is_reported_lost_once_and_never_restarted() -> None:
    """A child killed (SIGKILL) between calls is reported through `lost` with no call made,
    naming its exit code; the next call fails instead of starting a child quietly. A child
    killed by `kill()` is not reported."""
    reports: queue.SimpleQueue[ExecutorLost] = queue.SimpleQueue()
    child = ChildProcess("test-child")
    child.lost = reports.put
    os.kill(child.call(pid, None, None), signal.SIGKILL)
    assert "exit code -9" in str(reports.get(timeout=5))
    assert child.wait(5)
    with pytest.raises(ChildDied, match="exit code -9"):
        child.call(pid, None, None)
    child.kill()

    killed = ChildProcess("test-killed")
    killed.lost = reports.put
    killed.call(pid, None, None)
    killed.kill()
    assert killed.wait(5)
    assert reports.empty()


def test_a_child_killed_while_it_starts_is_not_left_alive() -> None:
    """`kill()` while the child of a first call is still starting (forked, not yet
    answering) ends that call with ChildDied, and the child does not stay alive."""
    before = child_processes()
    child = ChildProcess("test-starting")
    outcome: list[BaseException] = []

    def first_call() -> None:
        try:
            child.call(pid, None, None)
        except BaseException as error:
            outcome.append(error)

    caller = threading.Thread(target=first_call)
    caller.start()
    started = eventually(lambda: _new_children(before))  # forked: its boot takes ~0.1 s
    child.kill()
    caller.join(10)
    assert child.wait(5)
    assert [type(error) for error in outcome] == [ChildDied]
    assert not set(started) & set(child_processes())


def test_closing_a_watcher_waits_for_a_start_under_way_and_kills_its_child() -> None:
    """`close()` while a child is starting waits for it to be watched, kills it, and returns
    `True` once it is reaped (its end reported as killed); a closed watcher refuses starts."""
    watcher = ChildWatcher("test-watcher")
    ends: queue.SimpleQueue[tuple[int | None, bool]] = queue.SimpleQueue()
    closed: list[bool] = []
    assert watcher.starting()
    closer = threading.Thread(target=lambda: closed.append(watcher.close(10)))
    closer.start()
    eventually(lambda: watcher._closed)  # closing, the start still under way
    process = multiprocessing.get_context("spawn").Process(
        target=time.sleep, args=(60,), daemon=True
    )
    process.start()
    watcher.watch(process, lambda code, killed: ends.put((code, killed)))
    closer.join(10)
    assert closed == [True]
    assert ends.get(timeout=1) == (-signal.SIGKILL, True)
    assert not watcher.starting()
    assert multiprocessing.active_children() == []


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


def test_a_child_that_dies_while_idle_is_noticed_and_its_spawn_replaced() -> None:
    """A spawn's child killed with SIGKILL between runs is noticed with no run to find it:
    the spawn is dead and a fresh one replaces it (the pool back at `min`), whose run goes
    to a new child; no run failed."""
    with Runner() as runner:
        runner.install(Program(id="idle", main_fn=pid, executor="process", min=1))
        (first,) = runner.spawns("idle")
        old_pid = runner.trigger("idle")
        os.kill(old_pid, signal.SIGKILL)
        eventually(lambda: {spawn.id for spawn in runner.spawns("idle")} - {first.id})
        runner.settle()
        (replacement,) = runner.spawns("idle")
        assert replacement.id != first.id
        assert runner.trigger("idle") not in (old_pid, os.getpid())
        assert runner.info("idle").failed == 0


def test_killing_a_spawn_whose_child_is_starting_leaves_no_child() -> None:
    """`kill_spawn` while the spawn's first run waits for its child to start fails that run,
    and the child does not stay alive (its replacement starts none before it runs)."""
    before = child_processes()
    with Runner() as runner:
        runner.install(Program(id="k", main_fn=stuck, executor="process", min=1))
        (spawn,) = runner.spawns("k")
        future = runner.trigger("k", wait=False)
        eventually(lambda: _new_children(before))  # forked: its boot takes ~0.1 s
        runner.kill_spawn("k", spawn.id)
        with pytest.raises(Exception, match=f"spawn {spawn.id} \\(killed\\)"):
            future.result(10)
        eventually(lambda: not _new_children(before))


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


def test_stop_during_a_run_is_prompt_and_leaves_no_process_at_all() -> None:
    """`stop(timeout=0.5)` while a child is inside a stuck run returns within a moment of
    its timeout, and no child process of this one is left, as the OS sees it (zombies
    included), not even multiprocessing's resource tracker, which `active_children()` does
    not list."""
    before = child_processes()
    runner = Runner()
    runner.install(Program(id="idle", main_fn=pid, executor="process", min=1))
    runner.install(Program(id="busy", main_fn=stuck, executor="process", min=1))
    runner.trigger("idle")
    runner.trigger("busy", wait=False)
    eventually(lambda: runner.info("busy").running)
    began = time.monotonic()
    runner.stop(timeout=0.5)
    assert time.monotonic() - began < 3.0
    assert _left_behind(before) == {}
