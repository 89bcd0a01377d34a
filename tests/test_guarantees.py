"""Execution guarantees through the Runner: retries, timeouts, kill_spawn, restart intensity,
the concurrency cap with priorities, and what the history says about each."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from actors import (
    ManualClock,
    Program,
    Retry,
    Runner,
    SchedulerError,
    SpawnNotFound,
)
from actors.tree.messages import SpawnDied
from tests.conftest import T0
from tests.helpers import Gate


def flaky(failures: int, result: object = "ok"):  # type: ignore[no-untyped-def]
    """A main_fn that fails `failures` times, then returns `result`."""
    calls = {"n": 0}

    def main(args: object, ts: object) -> object:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise ConnectionError(f"try {calls['n']}")
        return result

    main.calls = calls  # type: ignore[attr-defined]
    return main


class TestRetry:
    def test_retried_after_backoff_on_the_clock(self, runner: Runner, clock: ManualClock) -> None:
        """A failing run is retried after backoff * factor**k; only the final outcome counts."""
        main = flaky(2, result={"done": 1})
        runner.install(
            Program(id="p", main_fn=main, create_fn=dict, retry=Retry(attempts=3, backoff=1))
        )
        future = runner.trigger("p", wait=False)
        runner.settle()
        assert main.calls["n"] == 1
        assert not future.done()
        clock.advance(0.9)
        assert main.calls["n"] == 1
        clock.advance(0.1)  # 1 s backoff over: try 2 fails
        assert main.calls["n"] == 2
        clock.advance(1.9)
        assert main.calls["n"] == 2
        clock.advance(0.1)  # 2 s backoff over: try 3 succeeds
        assert future.result(timeout=5) == {"done": 1}
        info = runner.info("p")
        assert (info.runs, info.succeeded, info.failed) == (1, 1, 0)
        history = runner.history("p")
        assert [(r.status, r.attempt) for r in history] == [
            ("completed", 3),
            ("failed", 2),
            ("failed", 1),
        ]
        assert runner.get_state("p") == {"done": 1}

    def test_gives_up_after_attempts(self, runner: Runner, clock: ManualClock) -> None:
        """After `attempts` tries the run fails once, with the last error."""
        runner.install(
            Program(id="p", main_fn=flaky(10), retry=Retry(attempts=2, backoff=5, factor=1))
        )
        future = runner.trigger("p", wait=False)
        clock.advance(5)
        with pytest.raises(ConnectionError, match="try 2"):
            future.result(timeout=5)
        info = runner.info("p")
        assert (info.runs, info.failed) == (1, 1)

    def test_max_backoff_caps_the_wait(self, runner: Runner, clock: ManualClock) -> None:
        """max_backoff caps each wait between tries."""
        main = flaky(3)
        retry = Retry(attempts=4, backoff=10, factor=10, max_backoff=15)
        runner.install(Program(id="p", main_fn=main, retry=retry))
        future = runner.trigger("p", wait=False)
        clock.advance(10 + 15 + 15)
        assert future.result(timeout=5) == "ok"
        assert main.calls["n"] == 4

    def test_counters_add_up_with_retries(self, runner: Runner, clock: ManualClock) -> None:
        """Ticks retried in the background still add up: runs == succeeded + failed."""
        runner.install(
            Program(id="p", interval=10, min=1, main_fn=flaky(1), retry=Retry(attempts=2))
        )
        clock.advance(30)
        info = runner.info("p")
        assert info.runs == info.succeeded + info.failed == 3
        assert info.failed == 0


class TestTimeout:
    def test_stuck_run_fails_and_spawn_is_replaced(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """A run past `timeout` fails with TimeoutError; its spawn is retired and replaced."""
        gate = Gate(result="late")
        runner.install(Program(id="p", main_fn=gate, min=2, timeout=5, create_fn=lambda: 0))
        future = runner.trigger("p", wait=False)
        gate.wait_started()
        clock.jump(5)
        runner.settle(runs=False)
        with pytest.raises(TimeoutError, match="longer than 5"):
            future.result(timeout=5)
        assert [s.id for s in runner.spawns("p")] == ["p-2", "p-3"]
        info = runner.info("p")
        assert (info.runs, info.failed, info.spawns) == (1, 1, 2)
        gate.open()  # the stuck thread ends; its late result is dropped
        runner.settle()
        assert runner.get_state("p") == 0
        assert runner.info("p").runs == 1

    def test_trigger_timeout_with_retry(self, runner: Runner, clock: ManualClock) -> None:
        """A timed-out try is retried like any failure."""
        calls: list[int] = []
        started, release = threading.Event(), threading.Event()

        def main(args: object, ts: object) -> str:
            calls.append(1)
            if len(calls) == 1:
                started.set()
                release.wait(10)
            return "second try"

        runner.install(Program(id="p", main_fn=main, timeout=1, retry=Retry(attempts=2, backoff=1)))
        future = runner.trigger("p", wait=False)
        assert started.wait(5)  # a try that times out before it starts never starts
        clock.jump(1)
        runner.settle(runs=False)
        clock.jump(1)
        assert future.result(timeout=5) == "second try"
        release.set()
        runner.settle()
        assert [(r.status, r.attempt) for r in runner.history("p")] == [
            ("completed", 2),
            ("failed", 1),
        ]


class TestTimeoutFreesWhatItHolds:
    def test_stop_does_not_wait_for_a_timed_out_run(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """Once a hung run has timed out, its thread is abandoned: settle() returns and stop()
        does not wait for it."""
        gate = Gate()
        runner.install(Program(id="p", main_fn=gate, timeout=0.5, min=1))
        future = runner.trigger("p", wait=False)
        gate.wait_started()
        clock.jump(0.5)
        with pytest.raises(TimeoutError):
            future.result(timeout=5)
        try:
            runner.settle(timeout=5)  # the abandoned run is not waited for
            stopping = threading.Thread(target=runner.stop, kwargs={"timeout": 30})
            stopping.start()
            stopping.join(5)
            assert not stopping.is_alive(), "stop() waited for the abandoned run"
        finally:
            gate.open()

    def test_max_concurrent_place_is_freed_by_a_timeout(self, clock: ManualClock) -> None:
        """A timed-out run no longer holds its place under max_concurrent."""
        with Runner(clock=clock, max_concurrent=1) as runner:
            gate = Gate()
            runner.install(Program(id="hung", main_fn=gate, timeout=1))
            runner.install(Program(id="quick", main_fn=lambda a, t: "ran"))
            runner.trigger("hung", wait=False)
            gate.wait_started()
            clock.jump(1)
            try:
                assert runner.trigger("quick", timeout=5) == "ran"
            finally:
                gate.open()

    def test_a_run_that_times_out_before_it_starts_never_starts(self, clock: ManualClock) -> None:
        """A run still waiting for a place under max_concurrent when its timeout comes is
        failed and never started later: nobody would count its outcome."""
        with Runner(clock=clock, max_concurrent=1) as runner:
            gate = Gate()
            ran: list[int] = []
            runner.install(Program(id="hung", main_fn=gate))
            runner.install(Program(id="late", main_fn=lambda a, t: ran.append(1), timeout=1))
            runner.trigger("hung", wait=False)
            gate.wait_started()
            waiting = runner.trigger("late", wait=False)
            runner.settle(runs=False)
            clock.jump(1)
            with pytest.raises(TimeoutError):
                waiting.result(5)
            gate.open()
            runner.settle()
            assert ran == []
            assert runner.info("late").failed == 1

    def test_advance_reaches_the_timeout_of_a_hung_run(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """A timeout falling inside ManualClock.advance fires during it, even though the run
        never returns: advance(5) over timeout=2 times the run out at 00:00:03."""
        gate = Gate()
        runner.install(Program(id="p", main_fn=gate, interval=1, timeout=2, min=1))
        try:
            clock.advance(5)
            history = runner.history("p")
        finally:
            gate.open()
        timed_out = [r for r in history if isinstance(r.error, TimeoutError)]
        assert timed_out, history
        assert timed_out[-1].finished_at == T0 + timedelta(seconds=3)
        assert timed_out[-1].spawn == "p-1"


class TestKillSpawn:
    def test_kill_idle_spawn_is_replaced_where_min_asks(self, runner: Runner) -> None:
        """Killing a spawn below min starts a replacement; above min it is just gone."""
        runner.install(Program(id="p", main_fn=lambda a, t: None, min=1, max=3))
        runner.spawn("p")
        runner.kill_spawn("p", "p-2")
        assert [s.id for s in runner.spawns("p")] == ["p-1"]
        runner.kill_spawn("p", "p-1")
        assert [s.id for s in runner.spawns("p")] == ["p-3"]

    def test_kill_running_spawn_cancels_its_run(self, runner: Runner) -> None:
        """A killed spawn's run is cancelled at once: counted failed, its result dropped,
        and the state it built so far survives."""
        gate = Gate(result={"late": True})
        runner.install(Program(id="p", main_fn=gate, min=1, create_fn=lambda: {"kept": 1}))
        future = runner.trigger("p", wait=False)
        gate.wait_started()
        runner["p"].kill_spawn("p-1")
        with pytest.raises(SchedulerError, match="killed"):
            future.result(timeout=5)
        assert runner.history("p")[0].status == "cancelled"
        gate.open()
        runner.settle()
        assert runner.get_state("p") == {"kept": 1}
        info = runner.info("p")
        assert (info.runs, info.failed, info.spawns) == (1, 1, 1)

    def test_unknown_spawn(self, runner: Runner) -> None:
        """Killing a spawn that does not exist raises SpawnNotFound, a KeyError."""
        runner.install(Program(id="p", main_fn=lambda a, t: None))
        with pytest.raises(SpawnNotFound, match="p-9") as raised:
            runner.kill_spawn("p", "p-9")
        assert isinstance(raised.value, KeyError)

    def test_restart_intensity_marks_the_program_failed(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """More than 3 replacements of dead spawns within 5 s marks the program failed: no
        restart storm."""
        runner.install(Program(id="p", main_fn=lambda a, t: None, min=1))
        for n in range(1, 4):
            report_death(runner, "p", f"p-{n}")
        assert [s.id for s in runner.spawns("p")] == ["p-4"]
        report_death(runner, "p", "p-4")
        info = runner.info("p")
        assert (info.status, info.spawns) == ("failed", 0)

    def test_kills_do_not_count_towards_the_intensity(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """kill_spawn is a choice, not a death: any number of kills keep the pool at min."""
        runner.install(Program(id="p", main_fn=lambda a, t: None, min=1))
        for n in range(1, 9):
            runner.kill_spawn("p", f"p-{n}")
        info = runner.info("p")
        assert (info.status, info.spawns) == ("active", 1)
        assert [s.id for s in runner.spawns("p")] == ["p-9"]

    def test_resume_brings_a_failed_program_back(self, runner: Runner, clock: ManualClock) -> None:
        """resume(id) of a failed program forgets its restarts and starts min spawns again."""
        runner.install(Program(id="p", main_fn=lambda a, t: 1, min=2, interval=1))
        for n in range(1, 6):
            report_death(runner, "p", f"p-{n}")
        assert runner.info("p").status == "failed"

        runner.resume("p")
        clock.advance(1)

        info = runner.info("p")
        assert (info.status, info.spawns) == ("active", 2)
        assert info.runs == 2  # both new spawns took the tick

    def test_restarts_spread_out_are_fine(self, runner: Runner, clock: ManualClock) -> None:
        """Replacements spread over more than the period never trip the intensity."""
        runner.install(Program(id="p", main_fn=lambda a, t: None, min=1))
        for n in range(1, 8):
            runner.kill_spawn("p", f"p-{n}")
            clock.advance(2)
        assert runner.info("p").status == "active"
        assert [s.id for s in runner.spawns("p")] == ["p-8"]


def report_death(runner: Runner, program_id: str, spawn_id: str) -> None:
    """Tell a program that one of its spawns died (what a SpawnActor that fails reports)."""
    registration = runner._system.supervisor.proxy().programs.get().lookup(program_id)
    registration.program_ref.tell(SpawnDied(spawn_id, RuntimeError("died")))
    runner.settle()


class TestConcurrencyCap:
    def test_never_more_than_max_concurrent(self, clock: ManualClock) -> None:
        """With max_concurrent=2, a third run waits (pending) until one finishes."""
        with Runner(clock=clock, max_concurrent=2) as runner:
            gate = Gate()
            runner.install(Program(id="p", main_fn=gate, min=3, interval=1))
            clock.jump(1)
            runner.settle(runs=False)
            gate.wait_started(2)
            assert not gate.started.acquire(timeout=0.05)
            statuses = sorted(r.status for r in runner.history("p"))
            assert statuses == ["pending", "running", "running"]
            gate.open()
            runner.settle()
            assert runner.info("p").runs == 3

    def test_waiting_runs_start_by_priority_then_time(self, clock: ManualClock) -> None:
        """When the cap is full, higher priority runs first, then earlier scheduled time."""
        with Runner(clock=clock, max_concurrent=1) as runner:
            order: list[str] = []
            gate = Gate()
            runner.install(Program(id="blocker", main_fn=gate))
            for name, priority in (("low", 0), ("high", 5), ("mid", 1)):
                runner.install(
                    Program(
                        id=name,
                        priority=priority,
                        main_fn=lambda a, t, name=name: order.append(name),
                    )
                )
            runner.trigger("blocker", wait=False)
            gate.wait_started()
            for name in ("low", "high", "mid"):
                runner.trigger(name, wait=False)
            runner.settle(runs=False)
            gate.open()
            runner.settle()
            assert order == ["high", "mid", "low"]


def test_history_shows_skipped_and_missed(runner: Runner, clock: ManualClock) -> None:
    """History records missed (late) and skipped (no spawn) ticks next to completed runs."""
    runner.install(Program(id="p", interval=1, main_fn=lambda a, t: None))
    clock.advance(1)
    runner.spawn("p")
    clock.jump(3)
    runner.settle()
    statuses = [r.status for r in runner.history("p")]
    assert statuses == ["completed", "missed", "missed", "skipped"]
    assert runner.history("p")[0].scheduled_at == T0 + timedelta(seconds=4)
