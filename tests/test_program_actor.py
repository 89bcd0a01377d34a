"""ProgramActor: tick fan-out, overlap, spawns within [min, max], counters and history."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from actors import InvalidProgram, ManualClock, Program, Runner, SchedulerError
from actors.tree.messages import Drain, Tick, Unspawn
from actors.tree.run_ledger import NOT_RUN_KEPT
from actors.tree.spawn_pool import SpawnPool, SpawnSlot
from tests.conftest import T0
from tests.helpers import Gate, eventually


def noop(args: object, timestamp: object) -> None:
    return None


class TestFanOut:
    def test_every_tick_goes_to_every_spawn(self, runner: Runner, clock: ManualClock) -> None:
        """Each tick runs once on each spawn, with the tick's scheduled time."""
        seen: list[tuple[str, object]] = []
        runner.install(
            Program(id="p", interval=2, min=3, main_fn=lambda a, ts: seen.append(ts) or None)
        )
        clock.advance(4)
        assert sorted(seen) == [T0.replace(second=2)] * 3 + [T0.replace(second=4)] * 3
        assert [s.runs for s in runner.spawns("p")] == [2, 2, 2]

    def test_no_spawns_skips_and_warns_once(
        self, runner: Runner, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A program without spawns lets its ticks pass, counted skipped, with one warning."""
        runner.install(Program(id="lonely", interval=1, main_fn=noop))
        with caplog.at_level(logging.WARNING, logger="actors"):
            clock.advance(3)
        info = runner.info("lonely")
        assert (info.runs, info.skipped) == (0, 3)
        warnings = [r for r in caplog.records if "has no spawns" in r.getMessage()]
        assert len(warnings) == 1
        assert "runner.spawn('lonely')" in warnings[0].getMessage()


class TestOverlap:
    def test_skip_drops_ticks_for_a_busy_spawn(self, runner: Runner, clock: ManualClock) -> None:
        """overlap="skip": a tick given to a busy spawn is dropped and counted skipped."""
        gate = Gate()
        runner.install(Program(id="p", interval=1, min=1, main_fn=gate, overlap="skip"))
        clock.jump(1)
        runner.settle(runs=False)
        gate.wait_started()
        for _ in range(2):
            clock.jump(1)
            runner.settle(runs=False)
        assert runner.info("p").skipped == 2
        gate.open()
        runner.settle()
        info = runner.info("p")
        assert (info.runs, info.skipped) == (1, 2)
        assert [r.status for r in runner.history("p")] == ["skipped", "skipped", "completed"]

    def test_queue_keeps_one_tick(self, runner: Runner, clock: ManualClock) -> None:
        """overlap="queue": one tick waits and runs right after; a further one is skipped."""
        gate = Gate()
        runner.install(Program(id="p", interval=1, min=1, main_fn=gate, overlap="queue"))
        clock.jump(1)
        runner.settle(runs=False)
        gate.wait_started()
        for _ in range(2):
            clock.jump(1)
            runner.settle(runs=False)
        assert runner.info("p").skipped == 1
        gate.open()
        runner.settle()
        assert gate.calls == [T0.replace(second=1), T0.replace(second=2)]
        info = runner.info("p")
        assert (info.runs, info.skipped) == (2, 1)


class TestSpawns:
    def test_unspawn_running_spawn_finishes_first(self, runner: Runner, clock: ManualClock) -> None:
        """A running spawn being unspawned is listed as stopping until its run is merged."""
        gate = Gate(result={"done": 1})
        runner.install(Program(id="p", interval=1, min=0, main_fn=gate, create_fn=dict))
        runner.spawn("p")
        clock.jump(1)
        runner.settle(runs=False)
        gate.wait_started()
        assert runner.unspawn("p") == ["p-1"]
        assert [(s.id, s.status) for s in runner.spawns("p")] == [("p-1", "stopping")]
        assert runner.info("p").spawns == 0
        gate.open()
        runner.settle()
        assert runner.spawns("p") == []
        assert runner.get_state("p") == {"done": 1}

    def test_idle_policy_prefers_an_idle_spawn(self, runner: Runner, clock: ManualClock) -> None:
        """policy="idle" stops an idle spawn rather than interrupt the busy newest one."""
        gate = Gate()
        runner.install(Program(id="p", main_fn=gate, max=3))
        runner.spawn("p", 3)
        runner.trigger("p", wait=False)  # runs on the oldest idle spawn, p-1
        gate.wait_started()
        assert runner.unspawn("p", 2, policy="idle") == ["p-3", "p-2"]
        assert [s.id for s in runner.spawns("p")] == ["p-1"]
        gate.open()
        runner.settle()

    def test_bad_counts_and_policy(self, runner: Runner) -> None:
        """spawn/unspawn refuse n < 1 and an unknown policy with InvalidProgram."""
        runner.install(Program(id="p", main_fn=noop, min=1))
        for bad in (0, -1, 1.5, True):
            with pytest.raises(InvalidProgram, match="n must be"):
                runner.spawn("p", bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidProgram, match="'random'"):
            runner.unspawn("p", policy="random")

    def test_trigger_uses_idle_spawn_else_a_temporary_one(self, runner: Runner) -> None:
        """trigger runs on an idle spawn, or on a temporary spawn when all are busy."""
        gate = Gate(result="slow")
        runner.install(Program(id="p", min=1, main_fn=lambda a, t: a(a, t) if callable(a) else a))
        assert runner.trigger("p", args="quick") == "quick"
        assert runner.history("p")[0].spawn == "p-1"
        busy = runner.trigger("p", args=gate, wait=False)
        gate.wait_started()
        assert runner.trigger("p", args="meanwhile") == "meanwhile"
        assert runner.history("p")[0].spawn == "p-temp-1"
        assert [s.id for s in runner.spawns("p")] == ["p-1"]
        gate.open()
        assert busy.result(timeout=5) == "slow"


class TestCountersAndHistory:
    def test_counters_add_up(self, runner: Runner, clock: ManualClock) -> None:
        """runs == succeeded + failed, and history holds one record per tick outcome."""
        outcomes = iter([1, ValueError("bad"), 2, ValueError("worse")])

        def flaky(args: object, ts: object) -> object:
            outcome = next(outcomes)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        runner.install(Program(id="p", interval=1, min=1, main_fn=flaky, create_fn=lambda: 0))
        clock.advance(4)
        info = runner.info("p")
        assert (info.runs, info.succeeded, info.failed) == (4, 2, 2)
        assert info.runs == info.succeeded + info.failed
        assert str(info.last_error) == "worse"
        assert runner.get_state("p") == 2
        history = runner.history("p")
        assert [r.status for r in history] == ["failed", "completed", "failed", "completed"]
        assert history[1].result == "2"
        assert history[0].attempt == 1
        assert history[0].started_at == T0.replace(second=4)
        assert len(runner.history("p", limit=2)) == 2

    def test_history_is_bounded(self, clock: ManualClock) -> None:
        """Runner(history=N) keeps the last N records per program."""
        with Runner(clock=clock, history=3) as runner:
            runner.install(Program(id="p", interval=1, min=1, main_fn=lambda a, t: t.second))
            clock.advance(10)
            assert [r.result for r in runner.history("p")] == ["10", "9", "8"]

    def test_max_runs_finishes_the_program(self, runner: Runner, clock: ManualClock) -> None:
        """After max_runs finished runs the program is finished: no ticks, next_run None."""
        runner.install(Program(id="p", interval=1, min=1, max_runs=3, main_fn=noop))
        clock.advance(10)
        info = runner.info("p")
        assert (info.status, info.runs, info.next_run) == ("finished", 3, None)

    def test_state_is_set_and_read(self, runner: Runner) -> None:
        """set_state replaces the state that later merges build on."""
        runner.install(Program(id="p", main_fn=lambda a, t: {"b": 2}, create_fn=lambda: {"a": 1}))
        runner.set_state("p", {"z": 0})
        runner.trigger("p")
        assert runner.get_state("p") == {"z": 0, "b": 2}


def test_requests_while_draining_are_refused(runner: Runner) -> None:
    """While uninstalling waits for a run, spawn and trigger on the old program are refused."""
    gate = Gate()
    runner.install(Program(id="p", main_fn=gate, min=1))
    runner.trigger("p", wait=False)
    gate.wait_started()
    # Uninstall forgets the program at once; its actor drains in the background.
    import threading

    uninstaller = threading.Thread(target=runner.uninstall, args=("p",))
    uninstaller.start()
    eventually(lambda: runner.programs() == [])
    with pytest.raises(SchedulerError):
        runner.spawn("p")
    gate.open()
    uninstaller.join(5)
    assert not uninstaller.is_alive()


def test_shrink_stops_idle_spawns_first_and_busy_ones_after_their_run(runner: Runner) -> None:
    """Unspawn(shrink=True) (a LoadMonitor's) never goes below min, takes idle spawns first,
    then marks busy ones stopping: they finish their run, then stop."""
    gate = Gate()
    runner.install(Program(id="p", main_fn=gate, min=1, max=4))
    runner.spawn("p", 3)
    runner.trigger("p", wait=False)  # p-1 is busy
    runner.trigger("p", wait=False)  # p-2 is busy
    gate.wait_started(2)
    stopped = runner._call(Unspawn(program_id="p", n=4, shrink=True))
    assert stopped == ["p-4", "p-3", "p-2"]
    assert [(s.id, s.status) for s in runner.spawns("p")] == [
        ("p-1", "running"),
        ("p-2", "stopping"),
    ]
    assert runner._call(Unspawn(program_id="p", n=1, shrink=True)) == []  # at min
    gate.open()
    runner.settle()
    assert [s.id for s in runner.spawns("p")] == ["p-1"]
    assert runner.info("p").runs == 2  # the stopping spawn's run finished and counted


class TestScaleAndOverload:
    def test_unspawn_looks_at_the_pool_once(
        self, runner: Runner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """unspawn(n) chooses its n spawns in one pass over the pool, not one pass each
        (it was quadratic: 16,000 spawns took 12 s)."""
        runner.install(Program(id="p", main_fn=noop))
        runner.spawn("p", 500)
        looks: list[int] = []
        original = SpawnPool.members

        def counted(self: SpawnPool) -> list[SpawnSlot]:
            looks.append(1)
            return original(self)

        monkeypatch.setattr(SpawnPool, "members", counted)
        stopped = runner.unspawn("p", 500)

        assert len(stopped) == 500
        assert len(looks) <= 3

    @pytest.mark.parametrize(
        ("policy", "expected"),
        [("last", ["p-4", "p-3"]), ("first", ["p-1", "p-2"]), ("idle", ["p-4", "p-3"])],
    )
    def test_unspawn_order_by_policy(
        self, runner: Runner, policy: str, expected: list[str]
    ) -> None:
        """Several spawns at once are chosen in the order one-at-a-time calls would choose:
        with p-1..p-3 busy and p-4 idle, "idle" takes p-4, then the newest busy one."""
        gate = Gate()
        runner.install(Program(id="p", main_fn=gate))
        runner.spawn("p", 4)
        for _ in range(3):  # a trigger takes the oldest idle spawn
            runner.trigger("p", wait=False)
        gate.wait_started(3)
        try:
            running = {s.id for s in runner.spawns("p") if s.status == "running"}
            assert running == {"p-1", "p-2", "p-3"}
            assert runner.unspawn("p", 2, policy=policy) == expected
        finally:
            gate.open()

    def test_many_spawns_unspawn_and_stop_leave_no_thread(self, clock: ManualClock) -> None:
        """20,000 spawns start, stop and the runner stops with every thread gone."""
        runner = Runner(clock=clock)
        runner.install(Program(id="p", main_fn=noop))
        runner.spawn("p", 20_000)
        assert len(runner.unspawn("p", 19_000)) == 19_000
        runner.stop()
        assert runner._runtime.actor_count() == 0
        assert not any(t.is_alive() for t in runner._runtime.dispatcher.threads)

    def test_dropped_ticks_are_counted_not_stored(self, runner: Runner, clock: ManualClock) -> None:
        """Skipped and missed ticks are counted; only the newest few are kept as records, so
        overload does not grow memory. The history holds the runs."""
        runner.install(Program(id="idle", interval=1, main_fn=noop))  # no spawn: all skipped
        runner.install(Program(id="busy", interval=1, min=1, main_fn=noop))
        clock.advance(500)

        idle = runner.info("idle")
        assert idle.skipped == 500
        records = runner.history("idle", limit=10_000)
        assert len(records) == NOT_RUN_KEPT
        assert records[0].scheduled_at == T0 + timedelta(seconds=500)
        assert len(runner.history("busy", limit=10_000)) == 500


def test_no_false_no_spawns_warning_while_stopping(
    runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    """A tick that reaches a min=1 program after it has drained (stopping under load) is
    dropped quietly: no "has no spawns" warning."""
    runner.install(Program(id="p", interval=1, min=1, main_fn=noop))
    program_ref = runner._system.supervisor.proxy().programs.get().lookup("p").program_ref
    with caplog.at_level(logging.WARNING, logger="actors"):
        drain = Drain()
        program_ref.tell(drain)
        program_ref.tell(Tick(T0))  # queued behind the drain, before the actor stops
        drain.reply.result(5)
        runner.settle()
    assert "has no spawns" not in caplog.text
