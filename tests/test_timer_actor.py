"""TimerActor: fire times from the schedule, woken by the clock, and late ticks by misfire."""

from __future__ import annotations

from datetime import timedelta

import pytest

from actors import ManualClock, Misfire, Program, Runner, every
from actors.tree.timer_actor import REPLAY_LIMIT
from tests.conftest import T0


def stamps(log: list[object]) -> list[int]:
    """Seconds after T0 of each recorded timestamp."""
    return [int((ts - T0).total_seconds()) for ts in log]  # type: ignore[operator]


def recorder(log: list[object]):  # type: ignore[no-untyped-def]
    return lambda args, ts: log.append(ts) or None


class TestFireTimes:
    def test_first_tick_one_interval_after_install(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """every(x) first fires x after install, then on a grid that never drifts."""
        clock.advance(0.3)
        log: list[object] = []
        runner.install(Program(id="p", schedule=every(10), min=1, main_fn=recorder(log)))
        assert runner.info("p").next_run == T0 + timedelta(seconds=10.3)
        clock.advance(35)
        assert [ts - T0 for ts in log] == [timedelta(seconds=s + 0.3) for s in (10, 20, 30)]

    def test_delay_zero_fires_at_once(self, runner: Runner, clock: ManualClock) -> None:
        """every(x, delay=0) fires at install, then every x."""
        log: list[object] = []
        runner.install(Program(id="p", schedule=every(5, delay=0), min=1, main_fn=recorder(log)))
        runner.settle()
        assert stamps(log) == [0]
        clock.advance(10)
        assert stamps(log) == [0, 5, 10]

    def test_start_in_the_past_keeps_the_grid(self, runner: Runner, clock: ManualClock) -> None:
        """A start before install keeps its grid: the first tick is the next grid point."""
        log: list[object] = []
        start = T0 - timedelta(seconds=7)
        runner.install(
            Program(id="p", schedule=every(5, start=start), min=1, main_fn=recorder(log))
        )
        clock.advance(10)
        assert stamps(log) == [3, 8]

    def test_end_stops_ticks(self, runner: Runner, clock: ManualClock) -> None:
        """No tick after `end`; next_run becomes None."""
        log: list[object] = []
        end = T0 + timedelta(seconds=3)
        runner.install(Program(id="p", schedule=every(1, end=end), min=1, main_fn=recorder(log)))
        clock.advance(10)
        assert stamps(log) == [1, 2, 3]
        assert runner.info("p").next_run is None

    def test_jitter_delays_within_bound(self, runner: Runner, clock: ManualClock) -> None:
        """With jitter, a tick runs up to `jitter` late, but keeps its scheduled timestamp."""
        started: list[object] = []

        def main(args: object, ts: object) -> None:
            started.append(clock.now() - ts)  # type: ignore[operator]

        runner.install(Program(id="p", schedule=every(10, jitter=2), min=1, main_fn=main))
        clock.advance(100)
        assert len(started) in (9, 10)  # the tick at 100 s may be jittered past it
        clock.advance(2)
        assert len(started) == 10
        assert all(timedelta(0) <= lag <= timedelta(seconds=2) for lag in started)  # type: ignore[operator]

    def test_manual_schedule_never_ticks(self, runner: Runner, clock: ManualClock) -> None:
        """A manual program never runs by itself and has no next run."""
        runner.install(Program(id="p", min=1, main_fn=lambda a, t: 1))
        clock.advance(3600)
        info = runner.info("p")
        assert (info.runs, info.next_run, info.schedule) == (0, None, "manual")


class TestMisfire:
    def install(self, runner: Runner, misfire: Misfire, log: list[object]) -> None:
        runner.install(Program(id="p", interval=1, min=2, misfire=misfire, main_fn=recorder(log)))

    def test_latest_runs_the_newest_once(self, runner: Runner, clock: ManualClock) -> None:
        """By default a jump over 5 ticks runs the newest once per spawn; 4 are missed."""
        log: list[object] = []
        self.install(runner, Misfire(), log)
        clock.jump(5)
        runner.settle()
        assert stamps(log) == [5, 5]
        info = runner.info("p")
        assert (info.runs, info.missed) == (2, 4)
        assert [r.status for r in runner.history("p")].count("missed") == 4
        clock.advance(1)
        assert stamps(log) == [5, 5, 6, 6]

    def test_all_replays_every_tick(self, runner: Runner, clock: ManualClock) -> None:
        """coalesce="all" replays each late tick on every spawn, none dropped as overlap."""
        log: list[object] = []
        self.install(runner, Misfire(coalesce="all"), log)
        clock.jump(5)
        runner.settle()
        assert sorted(stamps(log)) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        info = runner.info("p")
        assert (info.runs, info.missed, info.skipped) == (10, 0, 0)

    def test_skip_runs_none(self, runner: Runner, clock: ManualClock) -> None:
        """coalesce="skip" runs none of the late ticks; all are missed."""
        log: list[object] = []
        self.install(runner, Misfire(coalesce="skip"), log)
        clock.jump(5)
        runner.settle()
        assert log == []
        assert runner.info("p").missed == 5

    @pytest.mark.parametrize(("coalesce", "runs_per_spawn"), [("latest", 1), ("all", 2)])
    def test_grace_misses_ticks_too_late(
        self, runner: Runner, clock: ManualClock, coalesce: str, runs_per_spawn: int
    ) -> None:
        """Ticks later than `grace` are missed before coalescing the rest."""
        log: list[object] = []
        self.install(runner, Misfire(grace=1.5, coalesce=coalesce), log)  # type: ignore[arg-type]
        clock.jump(5)  # ticks 1..5 are 4, 3, 2, 1, 0 s late: 1, 2 and 3 are past grace
        runner.settle()
        assert len(log) == 2 * runs_per_spawn
        assert set(stamps(log)) == ({5} if coalesce == "latest" else {4, 5})
        assert runner.info("p").missed == 5 - runs_per_spawn

    def test_single_late_tick_past_grace_is_missed(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """Even a lone tick is missed when it comes later than `grace`."""
        log: list[object] = []
        runner.install(
            Program(
                id="p",
                schedule=every(10),
                min=1,
                misfire=Misfire(grace=1),
                main_fn=recorder(log),
            )
        )
        clock.jump(15)
        runner.settle()
        assert log == []
        assert runner.info("p").missed == 1


class TestMisfireRulesStatedExactly:
    def test_jitter_within_grace_runs(self, runner: Runner, clock: ManualClock) -> None:
        """A tick's jitter is not lateness: every(10, jitter=5) with grace=1 runs each tick."""
        log: list[object] = []
        runner.install(
            Program(
                id="p",
                schedule=every(10, jitter=5),
                min=1,
                misfire=Misfire(grace=1),
                main_fn=recorder(log),
            )
        )
        clock.advance(35)
        assert stamps(log) == [10, 20, 30]
        assert runner.info("p").missed == 0

    def test_jump_past_ten_thousand_ticks_runs_the_newest(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """However many ticks a jump passes over, the newest runs and the rest are counted:
        every(1) then jump(20000) runs the tick at 20000 and misses 19,999."""
        log: list[object] = []
        runner.install(Program(id="p", interval=1, min=1, main_fn=recorder(log)))
        clock.jump(20_000)
        runner.settle()
        assert stamps(log) == [20_000]
        assert runner.info("p").missed == 19_999
        assert runner.info("p").next_run == T0 + timedelta(seconds=20_001)

    def test_long_jump_with_grace_runs_the_newest(self, runner: Runner, clock: ManualClock) -> None:
        """every(10), jump(200000), grace=60: the tick at 200000 is on time and runs."""
        log: list[object] = []
        runner.install(
            Program(id="p", interval=10, min=1, misfire=Misfire(grace=60), main_fn=recorder(log))
        )
        clock.jump(200_000)
        runner.settle()
        assert stamps(log) == [200_000]
        assert runner.info("p").missed == 19_999

    def test_a_jump_of_a_year_counts_every_missed_tick(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """A jump of a year over every(1) counts 31,535,999 missed ticks and runs one, at once
        (counted, not walked), keeping only the newest few as records."""
        log: list[object] = []
        runner.install(Program(id="p", interval=1, min=1, main_fn=recorder(log)))
        year = 365 * 86400
        clock.jump(year)
        runner.settle()
        assert stamps(log) == [year]
        assert runner.info("p").missed == year - 1
        missed = [r for r in runner.history("p", limit=100) if r.status == "missed"]
        assert len(missed) == 10
        assert missed[0].scheduled_at == T0 + timedelta(seconds=year - 1)

    def test_skip_runs_not_even_a_single_late_tick(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """coalesce="skip": a lone tick delivered more than 1 s late does not run."""
        log: list[object] = []
        runner.install(
            Program(
                id="p",
                interval=10,
                min=1,
                misfire=Misfire(coalesce="skip"),
                main_fn=recorder(log),
            )
        )
        clock.jump(15)  # the tick at 10 comes 5 s late
        runner.settle()
        assert log == []
        assert runner.info("p").missed == 1

    def test_skip_runs_a_tick_that_is_on_time(self, runner: Runner, clock: ManualClock) -> None:
        """coalesce="skip" still runs ticks that come on time (within 1 s)."""
        log: list[object] = []
        runner.install(
            Program(
                id="p",
                interval=10,
                min=1,
                misfire=Misfire(coalesce="skip"),
                main_fn=recorder(log),
            )
        )
        clock.advance(10)
        clock.jump(10.5)  # half a second late: still on time
        runner.settle()
        assert stamps(log) == [10, 20]

    def test_all_replays_are_capped(self, runner: Runner, clock: ManualClock) -> None:
        """coalesce="all" replays at most REPLAY_LIMIT ticks, the newest; the older are missed."""
        log: list[object] = []
        runner.install(
            Program(
                id="p",
                interval=1,
                min=1,
                misfire=Misfire(coalesce="all"),
                main_fn=recorder(log),
            )
        )
        clock.jump(REPLAY_LIMIT + 500)
        runner.settle(timeout=30)
        assert len(log) == REPLAY_LIMIT
        assert stamps(log)[0] == 501
        assert runner.info("p").missed == 500


class TestScheduleKinds:
    def test_cron_ticks_on_the_runner(self, runner: Runner, clock: ManualClock) -> None:
        """A cron program ticks at each matching minute of the runner's clock."""
        from actors import cron

        log: list[object] = []
        runner.install(Program(id="p", schedule=cron("*/15 * * * *"), min=1, main_fn=recorder(log)))
        clock.advance(3600)
        assert stamps(log) == [900, 1800, 2700, 3600]
        assert runner.info("p").schedule.startswith("cron */15")

    def test_at_runs_once_then_finishes(self, runner: Runner, clock: ManualClock) -> None:
        """at(when) runs once at that time; the program is then finished."""
        from actors import at

        log: list[object] = []
        when = T0 + timedelta(seconds=90)
        runner.install(Program(id="p", schedule=at(when), min=1, main_fn=recorder(log)))
        assert runner.info("p").next_run == when
        clock.advance(600)
        assert stamps(log) == [90]
        info = runner.info("p")
        assert (info.status, info.next_run) == ("finished", None)

    def test_at_in_the_past_is_finished_at_once(self, runner: Runner, clock: ManualClock) -> None:
        """at() with a time already past never runs and shows as finished."""
        from actors import at

        runner.install(
            Program(id="p", schedule=at(T0 - timedelta(hours=1)), min=1, main_fn=lambda a, t: None)
        )
        runner.settle()
        assert runner.info("p").status == "finished"

    def test_after_runs_once_and_uninstalls(self, runner: Runner, clock: ManualClock) -> None:
        """after(s) runs once, s after install, on every spawn; then the program is gone."""
        from actors import after

        log: list[object] = []
        runner.install(Program(id="p", schedule=after(30), min=2, main_fn=recorder(log)))
        clock.advance(29)
        assert log == []
        clock.advance(1)
        assert stamps(log) == [30, 30]
        assert runner.programs() == []

    def test_on_success_chain(self, runner: Runner, clock: ManualClock) -> None:
        """extract -> transform -> load: each runs after the one before succeeds."""
        from actors import on_success

        order: list[str] = []

        def step(name: str):  # type: ignore[no-untyped-def]
            return lambda a, t: order.append(name)

        runner.install(
            Program(id="load", schedule=on_success("transform"), min=1, main_fn=step("load"))
        )
        runner.install(
            Program(
                id="transform",
                schedule=on_success("extract", delay=5),
                min=1,
                main_fn=step("transform"),
            )
        )
        runner.install(Program(id="extract", interval=60, min=1, main_fn=step("extract")))
        clock.advance(60)
        assert order == ["extract"]
        clock.advance(5)
        assert order == ["extract", "transform", "load"]
        assert runner.info("load").schedule == "on success of 'transform'"

    def test_failing_upstream_does_not_tick(self, runner: Runner, clock: ManualClock) -> None:
        """A failed upstream run gives no tick downstream; the next success does."""
        from actors import on_success

        outcomes = iter([ValueError("down"), "ok"])
        ran: list[object] = []

        def upstream(args: object, ts: object) -> object:
            outcome = next(outcomes)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        runner.install(Program(id="up", interval=10, min=1, main_fn=upstream))
        runner.install(Program(id="down", schedule=on_success("up"), min=1, main_fn=recorder(ran)))
        clock.advance(10)
        assert ran == []
        clock.advance(10)
        assert stamps(ran) == [20]

    def test_on_success_of_a_trigger(self, runner: Runner, clock: ManualClock) -> None:
        """A successful triggered run of the upstream also ticks the downstream."""
        from actors import on_success

        ran: list[object] = []
        runner.install(Program(id="down", schedule=on_success("up"), min=1, main_fn=recorder(ran)))
        runner.install(Program(id="up", main_fn=lambda a, t: None))
        runner.trigger("up")
        runner.settle()
        assert len(ran) == 1
        runner.uninstall("down")
        runner.trigger("up")
        runner.settle()
        assert len(ran) == 1
