"""A hypothesis state machine that drives a runner with random sequences of calls and checks,
after every step, the invariants a user relies on."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from actors import ManualClock, Program, Runner, SchedulerError
from actors.tree.run_ledger import NOT_RUN_KEPT


class RunnerMachine(RuleBasedStateMachine):
    """Random install / spawn / unspawn / trigger / kill_spawn / advance / pause / resume /
    uninstall; every main_fn returns 1 or raises, every merge adds."""

    programs = Bundle("programs")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        self.runner = Runner(id="machine", clock=self.clock, history=10_000)
        self.installed: dict[str, Program] = {}
        self.numbers = 0

    @initialize()
    def start(self) -> None:
        self.runner.settle()

    def teardown(self) -> None:
        self.runner.stop()

    def _settle(self) -> None:
        self.runner.settle(timeout=10)

    @rule(
        target=programs,
        minimum=st.integers(0, 2),
        extra=st.integers(0, 3),
        interval=st.sampled_from([None, 1, 2.5]),
        fail_every=st.sampled_from([0, 2, 3]),
        overlap=st.sampled_from(["skip", "queue"]),
    )
    def install(
        self, minimum: int, extra: int, interval: float | None, fail_every: int, overlap: str
    ) -> str:
        self.numbers += 1
        program_id = f"p{self.numbers}"
        calls = {"n": 0}

        def main(args: object, ts: object) -> int:
            calls["n"] += 1
            if fail_every and calls["n"] % fail_every == 0:
                raise ValueError("planned failure")
            return 1

        program = Program(
            id=program_id,
            main_fn=main,
            interval=interval,
            min=minimum,
            max=minimum + extra if extra else None,
            overlap=overlap,  # type: ignore[arg-type]
            create_fn=lambda: 0,
            merge_fn=lambda state, result: state + result,
        )
        self.runner.install(program)
        self.installed[program_id] = program
        self._settle()
        return program_id

    @rule(program_id=programs, n=st.integers(1, 3))
    def spawn(self, program_id: str, n: int) -> None:
        if program_id in self.installed:
            with contextlib.suppress(SchedulerError):
                self.runner.spawn(program_id, n)
        self._settle()

    @rule(
        program_id=programs, n=st.integers(1, 2), policy=st.sampled_from(["last", "first", "idle"])
    )
    def unspawn(self, program_id: str, n: int, policy: str) -> None:
        if program_id in self.installed:
            with contextlib.suppress(SchedulerError):
                self.runner.unspawn(program_id, n, policy=policy)
        self._settle()

    @rule(program_id=programs)
    def trigger(self, program_id: str) -> None:
        if program_id in self.installed:
            with contextlib.suppress(ValueError):
                assert self.runner.trigger(program_id, timeout=10) == 1
        self._settle()

    @rule(program_id=programs, pick=st.integers(0, 5))
    def kill_spawn(self, program_id: str, pick: int) -> None:
        if program_id in self.installed:
            spawns = self.runner.spawns(program_id)
            if spawns:
                self.runner.kill_spawn(program_id, spawns[pick % len(spawns)].id)
        self._settle()

    @rule(seconds=st.sampled_from([0.5, 1, 3, 7]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(seconds=st.sampled_from([2, 10]))
    def jump(self, seconds: float) -> None:
        self.clock.jump(seconds)
        self._settle()

    @rule(program_id=st.one_of(st.none(), programs))
    def pause(self, program_id: str | None) -> None:
        if program_id is None or program_id in self.installed:
            self.runner.pause(program_id)

    @rule(program_id=st.one_of(st.none(), programs))
    def resume(self, program_id: str | None) -> None:
        if program_id is None or program_id in self.installed:
            self.runner.resume(program_id)

    @rule(program_id=consumes(programs))
    def uninstall(self, program_id: str) -> None:
        if program_id in self.installed:
            self.runner.uninstall(program_id)
            del self.installed[program_id]
        self._settle()

    @invariant()
    def spawns_within_bounds(self) -> None:
        for info in self.runner.programs():
            program = self.installed[info.id]
            assert info.spawns <= (program.max if program.max is not None else 10**6)
            if info.status != "failed":
                assert info.spawns >= program.min, info

    @invariant()
    def counters_add_up_and_no_merge_lost_or_doubled(self) -> None:
        for info in self.runner.programs():
            assert info.runs == info.succeeded + info.failed
            assert info.state == info.succeeded  # every success merged exactly once
            history = self.runner.history(info.id, limit=100_000)
            finals = [r for r in history if r.status in ("completed", "failed", "cancelled")]
            assert len(finals) == info.runs
            assert sum(r.status == "completed" for r in finals) == info.succeeded
            # Ticks that did not run are counted; only the newest few are kept as records.
            not_run = sum(r.status in ("skipped", "missed") for r in history)
            assert not_run == min(NOT_RUN_KEPT, info.skipped + info.missed)

    @invariant()
    def registry_matches(self) -> None:
        assert {info.id for info in self.runner.programs()} == set(self.installed)


RunnerMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.timeout(300)
class TestRunnerMachine(RunnerMachine.TestCase):  # type: ignore[name-defined,misc]
    """Random call sequences keep every invariant, and leave no thread behind."""
