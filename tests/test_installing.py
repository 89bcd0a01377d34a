"""Installing: `install_many` (all checked before any is installed) and `install` that does not
wait for the supervisor when it cannot be refused (yet behaves as if it had waited)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from actors import (
    DeadlockError,
    InvalidProgram,
    ManualClock,
    Program,
    ProgramExists,
    Runner,
    RunnerStopped,
    every,
    on_success,
)
from actors.installing import InstallsInFlight
from tests.conftest import T0

#: How long a test waits for a thread before calling it stuck.
WAIT = 5.0


def count(state: int, result: object) -> int:
    return state + 1


def noop(args: object, timestamp: object) -> None:
    return None


def counter(program_id: str, interval: float = 1.0) -> Program:
    return Program(
        id=program_id,
        schedule=every(interval),
        main_fn=noop,
        create_fn=lambda: 0,
        merge_fn=count,
        min=1,
    )


class TestInstallMany:
    def test_installs_all_in_order_and_they_run(self, runner: Runner, clock: ManualClock) -> None:
        """install_many installs every program, returns them in order, and each runs on
        its schedule."""
        programs = [counter(f"p{i}") for i in range(5)]

        installed = runner.install_many(programs)
        clock.advance(3)

        assert installed == programs
        assert [p.id for p in runner.programs()] == [f"p{i}" for i in range(5)]
        assert {runner.get_state(f"p{i}") for i in range(5)} == {3}

    def test_takes_dicts_and_an_iterator(self, runner: Runner) -> None:
        """Like install, install_many takes dicts, and any iterable of them."""
        specs = ({"id": f"d{i}", "main_fn": noop} for i in range(3))

        installed = runner.install_many(specs)

        assert [p.id for p in installed] == ["d0", "d1", "d2"]
        assert all(isinstance(p, Program) for p in installed)

    def test_an_installed_id_refuses_the_whole_batch(self, runner: Runner) -> None:
        """One id already installed: ProgramExists naming it, and none of the batch is
        installed."""
        runner.install(counter("b"))

        with pytest.raises(ProgramExists, match="'b'"):
            runner.install_many([counter("a"), counter("b"), counter("c")])

        assert [p.id for p in runner.programs()] == ["b"]

    def test_an_id_given_twice_refuses_the_whole_batch(self, runner: Runner) -> None:
        """The same id twice in one batch: ProgramExists, nothing installed."""
        with pytest.raises(ProgramExists, match="'a' is given twice"):
            runner.install_many([counter("a"), counter("z"), counter("a")])

        assert runner.programs() == []

    def test_a_cycle_within_the_batch_refuses_it(self, runner: Runner) -> None:
        """on_success programs that make a cycle among themselves: InvalidProgram, nothing
        installed (each alone would have been accepted until the other came)."""
        first = Program(id="x", schedule=on_success("y"), main_fn=noop)
        second = Program(id="y", schedule=on_success("x"), main_fn=noop)

        with pytest.raises(InvalidProgram, match="cycle"):
            runner.install_many([first, second])

        assert runner.programs() == []

    def test_create_fn_that_raises_installs_none(self, runner: Runner) -> None:
        """A create_fn that raises propagates its error, and no program of the batch is
        installed."""

        def broken() -> int:
            raise ValueError("no state today")

        bad = Program(id="bad", main_fn=noop, create_fn=broken)

        with pytest.raises(ValueError, match="no state today"):
            runner.install_many([counter("good"), bad])

        assert runner.programs() == []

    def test_replace_starts_installed_ones_fresh(self, runner: Runner, clock: ManualClock) -> None:
        """replace=True replaces installed programs of the batch with fresh ones."""
        runner.install(counter("a"))
        clock.advance(2)

        runner.install_many([counter("a"), counter("b")], replace=True)

        assert runner.get_state("a") == 0
        assert sorted(p.id for p in runner.programs()) == ["a", "b"]

    def test_with_a_store_they_survive_a_restart(self, tmp_path: Path, clock: ManualClock) -> None:
        """With a SQLite store, programs installed together are kept, and installing them
        together again on a new runner adopts what the store holds (their state)."""
        path = tmp_path / "many.db"
        with Runner(clock=clock, store=path) as first:
            first.install_many([counter("s1"), counter("s2")])
            clock.advance(2)
            first.settle()

        with Runner(clock=clock, store=path) as second:
            second.install_many([counter("s1"), counter("s2")])
            assert {second.get_state("s1"), second.get_state("s2")} == {2}

    def test_stopped_runner_refuses(self, clock: ManualClock) -> None:
        """install_many on a stopped runner raises RunnerStopped."""
        runner = Runner(clock=clock)
        runner.stop()

        with pytest.raises(RunnerStopped):
            runner.install_many([counter("a")])


class TestInstallWithoutWaiting:
    def test_a_duplicate_right_after_still_raises(self, runner: Runner) -> None:
        """install returns before the supervisor has handled it, yet installing the same id
        at once after raises ProgramExists at the caller, as if it had waited."""
        runner.install(counter("a"))

        with pytest.raises(ProgramExists, match="'a'"):
            runner.install(counter("a"))

    def test_later_calls_see_it_installed(self, runner: Runner) -> None:
        """Every call after install sees the program: they reach the supervisor after it."""
        runner.install(counter("a"))

        assert runner.get_state("a") == 0
        assert runner.status()["a"].spawns == 1

    def test_anchored_at_the_call(self, runner: Runner, clock: ManualClock) -> None:
        """The schedule is anchored when install is called, so a clock jump right after
        (before anything settled) still fires the first tick, as it did when install waited."""
        runner.install(counter("a"))
        clock.jump(1)
        runner.settle()

        assert runner.get_state("a") == 1
        assert runner.history("a")[0].scheduled_at == T0.replace(second=1)

    def test_two_threads_one_id_one_wins(self, runner: Runner) -> None:
        """Two threads installing one id at once: exactly one succeeds, the other gets
        ProgramExists, and the program is installed once."""
        outcomes: list[str] = []
        start = threading.Barrier(2)

        def install() -> None:
            start.wait(WAIT)
            try:
                runner.install(counter("same"))
                outcomes.append("installed")
            except ProgramExists:
                outcomes.append("exists")

        threads = [threading.Thread(target=install) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)

        assert sorted(outcomes) == ["exists", "installed"]
        assert [p.id for p in runner.programs()] == ["same"]

    def test_on_success_waits_and_refuses_a_cycle(self, runner: Runner) -> None:
        """An on_success program is checked by the supervisor before install returns: a
        cycle raises InvalidProgram at the caller."""
        runner.install(Program(id="x", schedule=on_success("y"), main_fn=noop))

        with pytest.raises(InvalidProgram, match="cycle"):
            runner.install(Program(id="y", schedule=on_success("x"), main_fn=noop))

    def test_stop_right_after_stops_it(self, clock: ManualClock) -> None:
        """A runner stopped right after an install stops the program too: no actor is left."""
        runner = Runner(clock=clock)
        runner.install(counter("a"))
        runner.stop()

        assert runner._runtime.actor_count() == 0

    def test_from_a_handler_refused_and_nothing_held(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """An install from inside a merge_fn (an actor's handler) raises DeadlockError, as any
        call that may wait does there, and leaves nothing behind: installing that id from
        outside then works."""
        errors: list[BaseException] = []

        def merge(state: int, result: object) -> int:
            try:
                runner.install(counter("inner"), replace=True)
            except DeadlockError as error:
                errors.append(error)
            return state

        runner.install(Program(id="outer", main_fn=noop, create_fn=lambda: 0, merge_fn=merge))
        runner.trigger("outer")

        assert len(errors) == 1
        runner.install(counter("inner"))
        assert runner.get_state("inner") == 0


def enter_in_a_thread(books: InstallsInFlight, program_id: str) -> tuple[Any, threading.Thread]:
    """Start a thread that enters an install of `program_id`; the event is set once it has."""
    entered = threading.Event()

    def enter() -> None:
        books.enter([program_id], Future())
        entered.set()

    thread = threading.Thread(target=enter)
    thread.start()
    return entered, thread


class TestInstallsInFlight:
    def test_a_second_install_of_an_id_waits_for_the_first(self) -> None:
        """enter() of an id in flight returns only once the first install is answered."""
        books = InstallsInFlight()
        first: Future[Any] = Future()
        books.enter(["a"], first)
        books.watch(["a"], first, quiet=False)
        entered, thread = enter_in_a_thread(books, "a")
        assert not entered.wait(0.2)  # sleep-ok: proving it waits; the answer comes next
        first.set_result(None)
        thread.join(WAIT)

        assert entered.is_set()

    def test_an_answered_install_holds_nothing(self) -> None:
        """An install whose reply is answered (even before its bookkeeping ran) no longer holds
        its id: the next enter() returns at once."""
        books = InstallsInFlight()
        first: Future[Any] = Future()
        books.enter(["a"], first)
        first.set_exception(RuntimeError("never sent"))
        entered, thread = enter_in_a_thread(books, "a")
        thread.join(WAIT)

        assert entered.is_set()

    def test_a_quiet_install_that_fails_is_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        """An install nobody waits for that fails anyway is logged as an error."""
        books = InstallsInFlight()
        reply: Future[Any] = Future()
        books.enter(["q"], reply)
        books.watch(["q"], reply, quiet=True)

        reply.set_exception(RuntimeError("a bug"))

        assert "install of ['q'] failed after it returned" in caplog.text
