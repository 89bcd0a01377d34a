"""LoadMonitor (runner.autoscale): target and threshold modes, cooldown, idle-first shrinking,
metric errors, lifecycle and status, all on a ManualClock."""

from __future__ import annotations

import io
import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from rich.console import Console

from actors import (
    AutoscaleHandle,
    InvalidProgram,
    ManualClock,
    MonitorInfo,
    Program,
    ProgramNotFound,
    Runner,
    RunnerStopped,
)
from actors.autoscaling import as_sample
from actors.events import Event, MetricFailed, ScaledDown, ScaledUp
from tests.conftest import T0
from tests.helpers import Gate, eventually


def noop(args: object, timestamp: object) -> None:
    return None


class Metric:
    """A metric the test sets by hand; counts its calls and the threads it ran on."""

    def __init__(self, value: Any = 0) -> None:
        self.value = value
        self.calls = 0
        self.threads: set[str] = set()

    def __call__(self) -> Any:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value


def install(runner: Runner, id: str = "w", *, min: int = 1, max: int | None = 6) -> None:
    """A manual() program: no ticks, so every spawn stays idle unless a test makes it busy."""
    runner.install(Program(id=id, main_fn=noop, min=min, max=max))


def pool(runner: Runner, id: str = "w") -> int:
    return len(runner.spawns(id))


def record(runner: Runner, *types: type[Event]) -> list[Event]:
    seen: list[Event] = []
    runner.subscribe(seen.append, *types)
    return seen


class TestTargetMode:
    def test_grows_to_the_wanted_count_at_once(self, runner: Runner, clock: ManualClock) -> None:
        """Target mode: one sample of 22 with per_spawn=5 takes the pool from 1 to 5 at once."""
        install(runner)
        seen = record(runner, ScaledUp, ScaledDown)
        metric = Metric(22)
        runner.autoscale("w", metric, per_spawn=5, interval=1, cooldown=10)
        clock.advance(1)
        assert pool(runner) == 5
        assert len(seen) == 1
        assert isinstance(seen[0], ScaledUp)
        assert (seen[0].from_spawns, seen[0].to_spawns, seen[0].sample) == (1, 5, 22.0)
        assert seen[0].at == T0.replace(second=1)

    def test_first_sample_one_interval_after_start(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """The first sample comes one interval after autoscale(), then one per interval."""
        install(runner)
        metric = Metric(0)
        runner.autoscale("w", metric, per_spawn=5, interval=2)
        clock.advance(1.9)
        assert metric.calls == 0
        clock.advance(0.1)
        assert metric.calls == 1
        clock.advance(10)
        assert metric.calls == 6

    def test_interval_and_cooldown_take_timedeltas(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """interval and cooldown may be timedeltas, like a program's interval."""
        install(runner)
        metric = Metric(0)
        handle = runner.autoscale(
            "w", metric, per_spawn=5, interval=timedelta(seconds=2), cooldown=timedelta(0)
        )
        clock.advance(4)
        assert metric.calls == 2
        assert handle.info().rule == "per_spawn=5 every 2s cooldown 0s"

    def test_cooldown_holds_shrinking(self, runner: Runner, clock: ManualClock) -> None:
        """After a change the pool shrinks only once `cooldown` seconds have passed."""
        install(runner)
        metric = Metric(30)
        runner.autoscale("w", metric, per_spawn=5, interval=1, cooldown=3)
        clock.advance(1)  # t=1: grow to 6
        assert pool(runner) == 6
        metric.value = 0
        clock.advance(2)  # t=2, t=3: held by the cooldown
        assert pool(runner) == 6
        clock.advance(1)  # t=4: 3 s since the change
        assert pool(runner) == 1

    def test_cooldown_counts_from_the_start(self, runner: Runner, clock: ManualClock) -> None:
        """Before its first change a monitor waits `cooldown` from its start to shrink."""
        install(runner)
        runner.spawn("w", 3)
        runner.autoscale("w", Metric(0), per_spawn=5, interval=1, cooldown=5)
        clock.advance(4)
        assert pool(runner) == 4
        clock.advance(1)
        assert pool(runner) == 1

    def test_growth_is_not_held_by_cooldown(self, runner: Runner, clock: ManualClock) -> None:
        """Growth follows the metric at every sample, however recent the last change."""
        install(runner)
        metric = Metric(6)
        runner.autoscale("w", metric, per_spawn=5, interval=1, cooldown=60)
        clock.advance(1)
        assert pool(runner) == 2
        metric.value = 16
        clock.advance(1)
        assert pool(runner) == 4

    def test_shrinks_to_min_and_never_below(self, runner: Runner, clock: ManualClock) -> None:
        """A metric of 0 (or below) shrinks the pool to min, and later rounds leave it there."""
        install(runner, min=2)
        seen = record(runner, ScaledDown)
        metric = Metric(30)
        runner.autoscale("w", metric, per_spawn=5, interval=1, cooldown=0)
        clock.advance(1)
        assert pool(runner) == 6
        metric.value = 0
        clock.advance(1)
        assert pool(runner) == 2
        metric.value = -50
        clock.advance(5)
        assert pool(runner) == 2
        assert [(e.from_spawns, e.to_spawns) for e in seen] == [(6, 2)]  # type: ignore[attr-defined]

    def test_max_is_never_exceeded(
        self, runner: Runner, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """However high the metric, the pool stops at max, and no SpawnLimitError appears."""
        install(runner, max=4)
        seen = record(runner, ScaledUp)
        handle = runner.autoscale("w", Metric(10_000), per_spawn=1, interval=1)
        with caplog.at_level(logging.DEBUG, logger="actors"):
            clock.advance(5)
        assert pool(runner) == 4
        assert len(seen) == 1
        assert handle.info().errors == 0
        assert not [r for r in caplog.records if "SpawnLimitError" in r.getMessage()]

    def test_needs_a_max(self, runner: Runner) -> None:
        """Target mode on a program without max is refused: it could ask for any number."""
        install(runner, max=None)
        with pytest.raises(InvalidProgram, match="max=None"):
            runner.autoscale("w", Metric(0), per_spawn=5)


class TestThresholdMode:
    def test_up_and_down_by_step(self, runner: Runner, clock: ManualClock) -> None:
        """Above high it starts `step` spawns per sample, below low it stops `step`, within
        [min, max]; in between it changes nothing."""
        install(runner, min=0, max=5)
        metric = Metric(11)
        runner.autoscale("w", metric, high=10, low=2, step=2, interval=1, cooldown=0)
        sizes = []
        for value in (11, 11, 11, 5, 1, 1, 1, 1):
            metric.value = value
            clock.advance(1)
            sizes.append(pool(runner))
        assert sizes == [2, 4, 5, 5, 3, 1, 0, 0]

    def test_threshold_shrinking_waits_for_cooldown(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """In threshold mode each step down waits `cooldown` after the previous change."""
        install(runner, min=0, max=5)
        runner.spawn("w", 4)
        runner.autoscale("w", Metric(0), low=1, interval=1, cooldown=2)
        sizes = []
        for _ in range(6):
            clock.advance(1)
            sizes.append(pool(runner))
        assert sizes == [4, 3, 3, 2, 2, 1]  # cooldown counts from the start, then each change

    def test_high_alone_never_shrinks(self, runner: Runner, clock: ManualClock) -> None:
        """With only `high`, a low metric leaves the pool as it is."""
        install(runner, min=0)
        runner.spawn("w", 2)
        runner.autoscale("w", Metric(0), high=10, interval=1, cooldown=0)
        clock.advance(3)
        assert pool(runner) == 2

    def test_low_alone_never_grows(self, runner: Runner, clock: ManualClock) -> None:
        """With only `low`, a high metric leaves the pool as it is."""
        install(runner)
        runner.autoscale("w", Metric(1000), low=1, interval=1, cooldown=0)
        clock.advance(3)
        assert pool(runner) == 1


class TestIdleFirst:
    def test_a_busy_spawn_is_retired_after_its_run(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """Shrinking stops idle spawns at once and marks a busy one stopping: it is never
        interrupted, finishes its run (merged, counted), then stops."""
        gate = Gate()
        runner.install(Program(id="w", main_fn=gate, min=0, max=5))
        metric = Metric(3)
        handle = runner.autoscale("w", metric, per_spawn=1, interval=1, cooldown=2)
        clock.advance(1)
        assert [s.id for s in runner.spawns("w")] == ["w-1", "w-2", "w-3"]
        running = runner.trigger("w", wait=False)  # on the oldest idle spawn, w-1
        gate.wait_started()
        metric.value = 0
        clock.jump(2)  # t=3: 2 s after the change; the run is still in the gate
        runner.settle(runs=False)
        eventually(lambda: handle.info().last_change == "-3")
        assert [(s.id, s.status) for s in runner.spawns("w")] == [("w-1", "stopping")]
        assert runner.info("w").spawns == 0
        gate.open()
        assert running.result(5) is None
        runner.settle()
        assert runner.spawns("w") == []
        assert runner.info("w").runs == 1

    def test_all_busy_still_shrinks_gracefully(self, runner: Runner, clock: ManualClock) -> None:
        """When every spawn is busy the monitor still shrinks: they stop after their runs."""
        gate = Gate()
        runner.install(Program(id="w", main_fn=gate, min=0, max=5))
        runner.spawn("w")
        handle = runner.autoscale("w", Metric(0), per_spawn=1, interval=1, cooldown=0)
        running = runner.trigger("w", wait=False)
        gate.wait_started()
        clock.jump(1)
        runner.settle(runs=False)
        eventually(lambda: handle.info().last_change == "-1")
        assert [s.status for s in runner.spawns("w")] == ["stopping"]
        gate.open()
        running.result(5)
        runner.settle()
        assert runner.spawns("w") == []


class TestShrinkingCannotStarve:
    """A pool whose spawns are busy whenever the monitor looks still shrinks to min, the same
    way every time (issue: samples every 1 s coincided with ticks every 0.1 s)."""

    @staticmethod
    def scenario(clock: ManualClock) -> tuple[int, int]:
        """interval=0.1, min=1, max=5, target mode over a queue of 500 that drains."""
        with Runner(clock=clock) as runner:
            queue = {"depth": 500}

            def work(args: object, timestamp: object) -> None:
                queue["depth"] = max(0, queue["depth"] - 1)

            runner.install(Program(id="w", interval=0.1, min=1, max=5, main_fn=work))
            runner.autoscale("w", lambda: queue["depth"], per_spawn=100, interval=1.0, cooldown=5.0)
            clock.advance(1)
            grown = runner.info("w").spawns
            clock.advance(120)
            return grown, runner.info("w").spawns

    @pytest.mark.parametrize("attempt", range(3))
    def test_shrinks_to_min_every_time(self, attempt: int) -> None:
        """Run three times in one process (after other runners): grows to 5, ends at 1."""
        assert self.scenario(ManualClock(T0)) == (5, 1)

    def test_shrinks_within_one_round_after_the_cooldown(self) -> None:
        """Once the queue is empty, the pool is at min one sample after the cooldown."""
        clock = ManualClock(T0)
        with Runner(clock=clock) as runner:
            depth = {"n": 500}
            runner.install(Program(id="w", interval=0.1, min=1, max=5, main_fn=noop))
            runner.autoscale("w", lambda: depth["n"], per_spawn=100, interval=1.0, cooldown=5.0)
            clock.advance(1)
            assert runner.info("w").spawns == 5
            depth["n"] = 0
            clock.advance(4.5)  # t=5.5: cooldown (5 s from the change at t=1) not over
            assert runner.info("w").spawns == 5
            clock.advance(0.5)  # t=6: the first sample after the cooldown
            assert runner.info("w").spawns == 1


class TestMetric:
    @pytest.mark.parametrize(
        "value",
        [ZeroDivisionError("boom"), "x", float("nan"), float("inf"), True, None],
        ids=["raises", "str", "nan", "inf", "bool", "none"],
    )
    def test_a_bad_sample_is_counted_published_and_changes_nothing(
        self, runner: Runner, clock: ManualClock, value: Any
    ) -> None:
        """A metric that raises or returns a non-number, bool, NaN or inf is counted on the
        monitor, published as MetricFailed, and that round changes nothing."""
        install(runner)
        runner.spawn("w", 2)
        seen = record(runner)
        metric = Metric(value)
        handle = runner.autoscale("w", metric, per_spawn=1, interval=1, cooldown=0)
        clock.advance(2)
        info = handle.info()
        assert (info.errors, info.samples, info.last_sample, info.last_change) == (2, 0, None, None)
        assert pool(runner) == 3
        failed = [e for e in seen if isinstance(e, MetricFailed)]
        assert len(failed) == 2
        assert failed[0].program == "w"
        assert isinstance(failed[0].error, Exception)
        assert not [e for e in seen if isinstance(e, ScaledUp | ScaledDown)]

    def test_a_good_sample_after_errors_works(self, runner: Runner, clock: ManualClock) -> None:
        """The monitor keeps going after a failed sample; the next good one scales."""
        install(runner)
        metric = Metric(RuntimeError("queue unreachable"))
        handle = runner.autoscale("w", metric, per_spawn=1, interval=1)
        clock.advance(1)
        metric.value = 4
        clock.advance(1)
        info = handle.info()
        assert (info.errors, info.samples, info.spawns) == (1, 1, 4)
        assert isinstance(info.last_error, RuntimeError)

    def test_the_metric_runs_off_the_monitor_loop(self, runner: Runner, clock: ManualClock) -> None:
        """A slow metric runs on a worker thread: the monitor still answers, and a sample due
        meanwhile is skipped rather than queued."""
        install(runner)
        release = threading.Event()
        calls: list[str] = []

        def slow() -> int:
            calls.append(threading.current_thread().name)
            release.wait(10)
            return 10

        handle = runner.autoscale("w", slow, per_spawn=1, interval=1)
        clock.jump(1)
        runner.settle(runs=False)
        eventually(lambda: calls)
        assert handle.info().samples == 0  # answered while the metric is still running
        assert "worker" in calls[0]
        clock.jump(1)
        runner.settle(runs=False)
        release.set()
        runner.settle()
        assert len(calls) == 1
        assert (handle.info().samples, pool(runner)) == (1, 6)

    @pytest.mark.parametrize(
        ("value", "expected"), [(3, 3.0), (2.5, 2.5), (-1, -1.0)], ids=["int", "float", "neg"]
    )
    def test_as_sample_takes_real_numbers(self, value: Any, expected: float) -> None:
        """Real numbers become float samples."""
        assert as_sample(value) == expected


class TestLifecycle:
    def test_a_monitor_stops_itself_when_its_program_is_uninstalled(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """The first round after uninstall finds no program: the monitor stops for good."""
        install(runner)
        metric = Metric(3)
        handle = runner.autoscale("w", metric, per_spawn=1, interval=1)
        clock.advance(1)
        runner.uninstall("w")
        clock.advance(1)
        assert not handle.active
        assert runner.status().monitors == []
        assert clock.pending() == []
        clock.advance(5)
        assert metric.calls == 2
        handle.stop()  # a no-op now

    def test_handle_stop_stops_sampling(self, runner: Runner, clock: ManualClock) -> None:
        """After handle.stop() the metric is not called again and the pool is left alone."""
        install(runner)
        metric = Metric(3)
        handle = runner.autoscale("w", metric, per_spawn=1, interval=1, cooldown=0)
        clock.advance(1)
        handle.stop()
        handle.stop()
        metric.value = 0
        clock.advance(5)
        assert (metric.calls, pool(runner)) == (1, 3)
        assert clock.pending() == []
        info = handle.info()
        assert (info.active, info.samples, info.next_sample) == (False, 1, None)
        assert runner.status().monitors == []

    def test_handle_is_a_context_manager(self, runner: Runner, clock: ManualClock) -> None:
        """Leaving a `with runner.autoscale(...)` block stops the monitor."""
        install(runner)
        metric = Metric(2)
        with runner.autoscale("w", metric, per_spawn=1, interval=1) as handle:
            assert isinstance(handle, AutoscaleHandle)
            clock.advance(1)
        clock.advance(3)
        assert metric.calls == 1

    def test_two_monitors_on_two_programs(self, runner: Runner, clock: ManualClock) -> None:
        """Monitors of different programs run side by side, each on its own metric."""
        install(runner, "a")
        install(runner, "b", min=0, max=3)
        runner.autoscale("a", Metric(12), per_spawn=4, interval=1)
        runner.autoscale("b", Metric(50), high=10, interval=2)
        clock.advance(4)
        assert (pool(runner, "a"), pool(runner, "b")) == (3, 2)
        assert [m.program for m in runner.status().monitors] == ["a", "b"]

    def test_a_second_autoscale_replaces_the_first(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """A program has one monitor: autoscaling it again stops the previous one."""
        install(runner)
        first, second = Metric(2), Metric(5)
        old = runner.autoscale("w", first, per_spawn=1, interval=1)
        new = runner.autoscale("w", second, per_spawn=1, interval=1)
        clock.advance(1)
        assert (first.calls, second.calls, pool(runner)) == (0, 1, 5)
        assert not old.info().active
        assert new.info().active
        old.stop()  # does not touch the new one
        assert [m.rule for m in runner.status().monitors] == [new.info().rule]

    def test_a_paused_program_is_held(self, runner: Runner, clock: ManualClock) -> None:
        """While its program is paused a monitor samples but does not resize the pool."""
        install(runner)
        handle = runner.autoscale("w", Metric(4), per_spawn=1, interval=1)
        runner.pause("w")
        clock.advance(2)
        assert (pool(runner), handle.info().samples) == (1, 2)
        runner.resume("w")
        clock.advance(1)
        assert pool(runner) == 4

    def test_stopping_the_runner_stops_its_monitors(self, clock: ManualClock) -> None:
        """runner.stop() stops every monitor; after it, autoscale raises RunnerStopped."""
        runner = Runner(clock=clock)
        install(runner)
        handle = runner.autoscale("w", Metric(1), per_spawn=1, interval=1)
        runner.stop()
        assert clock.pending() == []
        handle.stop()  # a no-op on a stopped runner
        with pytest.raises(RunnerStopped):
            handle.info()
        with pytest.raises(RunnerStopped):
            runner.autoscale("w", Metric(1), per_spawn=1)

    def test_on_the_real_clock(self) -> None:
        """On a SystemClock a monitor samples by itself, and stop() leaves no thread behind."""
        runner = Runner()
        try:
            install(runner)
            metric = Metric(3)
            handle = runner.autoscale("w", metric, per_spawn=1, interval=0.01)
            eventually(lambda: pool(runner) == 3)
            eventually(lambda: metric.calls >= 3)
            assert handle.info().errors == 0
        finally:
            runner.stop()

    def test_program_handle_autoscale(self, runner: Runner, clock: ManualClock) -> None:
        """runner["w"].autoscale(...) is runner.autoscale("w", ...)."""
        install(runner)
        runner["w"].autoscale(Metric(3), per_spawn=1, interval=1)
        clock.advance(1)
        assert pool(runner) == 3


class TestValidation:
    @pytest.mark.parametrize(
        ("options", "field", "shown"),
        [
            ({"high": 10, "per_spawn": 5}, "not both", "per_spawn=5"),
            ({}, "none of them", ""),
            ({"high": -1}, "high", "-1"),
            ({"high": True}, "high", "True"),
            ({"high": "10"}, "high", "'10'"),
            ({"low": float("nan")}, "low", "nan"),
            ({"low": 5, "high": 5}, "low must be below high", "low=5"),
            ({"low": 8, "high": 3}, "low must be below high", "high=3"),
            ({"per_spawn": 0}, "per_spawn", "0"),
            ({"per_spawn": -2}, "per_spawn", "-2"),
            ({"per_spawn": float("inf")}, "per_spawn", "inf"),
            ({"per_spawn": 5, "interval": 0}, "interval", "0"),
            ({"per_spawn": 5, "interval": -1}, "interval", "-1"),
            ({"per_spawn": 5, "cooldown": -1}, "cooldown", "-1"),
            ({"high": 5, "step": 0}, "step", "0"),
            ({"high": 5, "step": 1.5}, "step", "1.5"),
            ({"high": 5, "step": True}, "step", "True"),
        ],
    )
    def test_bad_arguments_name_field_and_value(
        self, runner: Runner, options: dict[str, Any], field: str, shown: str
    ) -> None:
        """Both modes, neither, or a bad number raise InvalidProgram naming field and value."""
        install(runner)
        with pytest.raises(InvalidProgram, match=field) as raised:
            runner.autoscale("w", Metric(0), **options)
        assert shown in str(raised.value)
        assert runner.status().monitors == []

    def test_metric_must_be_callable(self, runner: Runner) -> None:
        """A metric that is not callable is refused, naming it."""
        install(runner)
        bad: Any = 42
        with pytest.raises(InvalidProgram, match=r"metric must be callable.*42"):
            runner.autoscale("w", bad, per_spawn=5)

    def test_unknown_program(self, runner: Runner) -> None:
        """Autoscaling a program that is not installed raises ProgramNotFound."""
        with pytest.raises(ProgramNotFound, match="nope"):
            runner.autoscale("nope", Metric(0), per_spawn=5)


class TestStatus:
    def test_status_shows_each_monitor(self, runner: Runner, clock: ManualClock) -> None:
        """status() lists each monitor: program, mode, last sample and last change."""
        install(runner)
        runner.autoscale("w", Metric(7), per_spawn=2, interval=1)
        clock.advance(1)
        status = runner.status()
        [info] = status.monitors
        assert isinstance(info, MonitorInfo)
        assert (info.program, info.mode, info.active) == ("w", "target", True)
        assert (info.last_sample, info.last_change, info.spawns) == (7.0, "+3", 4)
        assert info.last_change_at == T0.replace(second=1)
        assert info.next_sample == T0.replace(second=2)
        text = repr(status)
        assert "Monitors" in text
        assert "per_spawn=2 every 1s cooldown 30s" in text
        assert "+3 at 00:00:01" in text
        assert "last_change=+3 at 00:00:01" in repr(info)

    def test_threshold_rule_text(self, runner: Runner) -> None:
        """A threshold monitor shows its high, low and step."""
        install(runner)
        handle = runner.autoscale("w", Metric(0), high=10, low=2.5, step=2, cooldown=5)
        assert handle.info().rule == "high=10 low=2.5 step=2 every 1s cooldown 5s"
        assert handle.info().mode == "threshold"
        assert "threshold" in repr(handle)

    def test_monitor_info_renders_with_rich(self, runner: Runner, clock: ManualClock) -> None:
        """MonitorInfo has __rich__: rich prints it as a one-row table."""
        install(runner)
        handle = runner.autoscale("w", Metric(2), per_spawn=1, interval=1)
        clock.advance(1)
        buffer = io.StringIO()
        Console(file=buffer, width=200, color_system=None).print(handle.info().__rich__())
        text = buffer.getvalue()
        assert "monitor of" in text
        assert "+1 at 00:00:01" in text

    def test_no_monitor_table_without_monitors(self, runner: Runner) -> None:
        """A runner without monitors renders just the programs table."""
        install(runner)
        assert "Monitors" not in repr(runner.status())
