"""A hypothesis state machine that interleaves calls with restarts of the runner on one SQLite
store, and checks after every step that the store kept everything and stayed consistent."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from actors import ManualClock, Program, ProgramInfo, Runner, SchedulerError
from actors.store.sqlite import SQLiteStore

IDS = ("a", "b", "c")


class RestartMachine(RuleBasedStateMachine):
    """Install (programs of module-level callables, so a restart restores them), advance,
    jump, trigger, pause, resume, spawn, unspawn, uninstall, and restart; every merge adds."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="actors-machine-"))
        self.path = self.folder / "actors.db"
        self.clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        self.runner = self._open()
        self.installed: set[str] = set()

    def _open(self) -> Runner:
        store = SQLiteStore(self.path, flush_interval=0)
        return Runner(id="machine", clock=self.clock, store=store, history=10_000)

    def teardown(self) -> None:
        self.runner.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _infos(self) -> dict[str, ProgramInfo]:
        self.runner.settle(timeout=10)
        return {info.id: info for info in self.runner.programs()}

    @rule(program_id=st.sampled_from(IDS), flaky=st.booleans(), interval=st.sampled_from([1, 2]))
    def install(self, program_id: str, flaky: bool, interval: int) -> None:
        program = Program(
            id=program_id,
            interval=interval,
            min=1,
            max=3,
            main_fn=f"tests.programs_for_store:{'flaky' if flaky else 'count'}",
            create_fn="tests.programs_for_store:zero",
            merge_fn="tests.programs_for_store:add",
        )
        try:
            self.runner.install(program)
        except SchedulerError:  # installed already: that is fine
            return
        self.installed.add(program_id)

    @rule(seconds=st.integers(1, 4))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(seconds=st.integers(1, 30))
    def jump(self, seconds: int) -> None:
        self.clock.jump(seconds)
        self.runner.settle(timeout=10)

    @precondition(lambda self: self.installed)
    @rule(data=st.data())
    def trigger(self, data: st.DataObject) -> None:
        program_id = data.draw(st.sampled_from(sorted(self.installed)))
        with contextlib.suppress(ValueError):  # a planned failure
            self.runner.trigger(program_id, timeout=10)

    @precondition(lambda self: self.installed)
    @rule(data=st.data(), paused=st.booleans())
    def pause_or_resume(self, data: st.DataObject, paused: bool) -> None:
        program_id = data.draw(st.sampled_from(sorted(self.installed)))
        (self.runner.pause if paused else self.runner.resume)(program_id)

    @precondition(lambda self: self.installed)
    @rule(data=st.data(), grow=st.booleans())
    def resize(self, data: st.DataObject, grow: bool) -> None:
        program_id = data.draw(st.sampled_from(sorted(self.installed)))
        with contextlib.suppress(SchedulerError):  # past max or below min
            (self.runner.spawn if grow else self.runner.unspawn)(program_id)

    @precondition(lambda self: self.installed)
    @rule(data=st.data())
    def uninstall(self, data: st.DataObject) -> None:
        program_id = data.draw(st.sampled_from(sorted(self.installed)))
        self.runner.uninstall(program_id)
        self.installed.discard(program_id)

    @rule()
    def restart(self) -> None:
        """Stop and open a new runner on the store: every program comes back as it was."""
        before = self._infos()
        self.runner.stop()
        self.runner = self._open()
        after = self._infos()
        assert set(after) == set(before) == self.installed
        for program_id, info in before.items():
            kept = after[program_id]
            assert (kept.state, kept.runs, kept.succeeded, kept.failed, kept.missed) == (
                info.state,
                info.runs,
                info.succeeded,
                info.failed,
                info.missed,
            )
            assert (kept.status == "paused") == (info.status == "paused")
            assert kept.spawns == info.spawns

    @invariant()
    def books_add_up(self) -> None:
        for program_id, info in self._infos().items():
            assert info.state == info.succeeded  # every success merged exactly once
            assert info.runs == info.succeeded + info.failed
            history = self.runner.history(program_id, limit=100_000)
            completed = sum(r.status == "completed" for r in history)
            assert completed == info.succeeded


RestartMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.timeout(300)
class TestRestartMachine(RestartMachine.TestCase):  # type: ignore[name-defined,misc]
    """Random calls and restarts keep every program's data, and the books add up."""
