"""SupervisorActor: the registry, routing, and answers gathered from every program."""

from __future__ import annotations

import logging
import threading

import pytest

from actors import InvalidProgram, ManualClock, Program, Runner, on_success
from tests.helpers import Gate


def noop(args: object, timestamp: object) -> None:
    return None


def test_status_lists_programs_in_install_order(runner: Runner, clock: ManualClock) -> None:
    """status() gathers a ProgramInfo from every program, in install order, with totals."""
    for name in ("c", "a", "b"):
        runner.install(Program(id=name, interval=1, min=1, main_fn=noop))
    clock.advance(2)
    status = runner.status()
    assert [info.id for info in status.programs] == ["c", "a", "b"]
    assert status.running
    assert status.at == clock.now()
    assert status.totals == {
        "programs": 3,
        "spawns": 3,
        "runs": 6,
        "succeeded": 6,
        "failed": 0,
        "skipped": 0,
        "missed": 0,
    }


def test_status_answers_while_a_program_is_busy(runner: Runner) -> None:
    """A program with a run in flight still answers status: no actor waits on user code."""
    gate = Gate()
    runner.install(Program(id="busy", main_fn=gate, min=1))
    runner.install(Program(id="idle", main_fn=noop))
    runner.trigger("busy", wait=False)
    gate.wait_started()
    assert runner.status()["busy"].running == 1
    gate.open()
    runner.settle()
    assert runner.status()["busy"].runs == 1


def test_replace_drains_the_old_program(runner: Runner) -> None:
    """install(replace=True) starts the new program at once; the old one's run still
    finishes, merging into the old state only."""
    gate = Gate(result={"old": True})
    runner.install(Program(id="p", main_fn=gate, create_fn=dict, min=1))
    old_run = runner.trigger("p", wait=False)
    gate.wait_started()
    runner.install(
        Program(id="p", main_fn=lambda a, t: {"new": True}, create_fn=dict), replace=True
    )
    assert runner.trigger("p") == {"new": True}
    gate.open()
    assert old_run.result(timeout=5) == {"old": True}
    runner.settle()
    assert runner.get_state("p") == {"new": True}


def test_uninstall_waits_for_running_work(runner: Runner) -> None:
    """uninstall returns once the program's running work has finished and its actors stopped."""
    gate = Gate()
    runner.install(Program(id="p", main_fn=gate, min=1))
    runner.trigger("p", wait=False)
    gate.wait_started()
    done = threading.Event()

    def uninstall() -> None:
        runner.uninstall("p")
        done.set()

    threading.Thread(target=uninstall).start()
    assert not done.wait(0.05)  # still waiting for the run: the gate is closed
    gate.open()
    assert done.wait(5)


def test_each_runner_has_its_own_registry(clock: ManualClock) -> None:
    """Two runners on one clock keep separate programs and both settle as the clock moves."""
    with Runner(id="one", clock=clock) as one, Runner(id="two", clock=clock) as two:
        one.install(
            Program(
                id="p",
                interval=1,
                min=1,
                main_fn=lambda a, t: 1,
                create_fn=lambda: 0,
                merge_fn=lambda s, r: s + r,
            )
        )
        two.install(
            Program(
                id="p",
                interval=2,
                min=1,
                main_fn=lambda a, t: 1,
                create_fn=lambda: 0,
                merge_fn=lambda s, r: s + r,
            )
        )
        clock.advance(4)
        assert (one.get_state("p"), two.get_state("p")) == (4, 2)


def test_a_program_actor_that_dies_is_restarted_with_its_state(
    runner: Runner, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ProgramActor that dies is replaced (one-for-one) with the state it had, and its
    schedule goes on; past the restart intensity the program is given up."""
    from actors.tree.program_actor import ProgramActor

    runner.install(
        Program(
            id="p",
            interval=1,
            min=1,
            main_fn=lambda a, t: 1,
            create_fn=lambda: 0,
            merge_fn=lambda s, r: s + r,
        )
    )
    clock.advance(2)
    assert runner.get_state("p") == 2

    original = ProgramActor.on_start
    deaths = {"left": 1}

    def flaky_start(self: ProgramActor) -> None:
        if deaths["left"]:
            deaths["left"] -= 1
            raise RuntimeError("program actor crashed")
        original(self)

    monkeypatch.setattr(ProgramActor, "on_start", flaky_start)
    runner.install(
        Program(
            id="q",
            interval=1,
            min=1,
            main_fn=lambda a, t: 1,
            create_fn=lambda: 10,
            merge_fn=lambda s, r: s + r,
        )
    )
    runner.settle()
    clock.advance(2)
    assert runner.get_state("q") == 12  # restarted with create_fn's state, then ran twice
    assert [s.id for s in runner.spawns("q")] == ["q-1"]

    deaths["left"] = 10
    runner.install(Program(id="doomed", main_fn=lambda a, t: None), replace=False)
    runner.settle()
    assert "doomed" not in [info.id for info in runner.programs()]


class TestOnSuccessEdges:
    def test_on_success_of_itself_is_refused(self, runner: Runner) -> None:
        """A program that runs on success of itself would tick itself forever: refused."""
        with pytest.raises(InvalidProgram, match=r"cycle: 'a' -> 'a'"):
            runner.install(Program(id="a", schedule=on_success("a"), main_fn=noop))
        assert runner.programs() == []

    def test_a_longer_cycle_is_refused(self, runner: Runner) -> None:
        """a on success of b, b on success of c, c on success of a: the last one is refused."""
        runner.install(Program(id="a", schedule=on_success("b"), main_fn=noop))
        runner.install(Program(id="b", schedule=on_success("c"), main_fn=noop))
        with pytest.raises(InvalidProgram, match=r"'c' -> 'a' -> 'b' -> 'c'"):
            runner.install(Program(id="c", schedule=on_success("a"), main_fn=noop))

    def test_reschedule_into_a_cycle_is_refused(self, runner: Runner) -> None:
        """reschedule cannot close a cycle either; the old schedule stays."""
        runner.install(Program(id="a", interval=1, main_fn=noop))
        runner.install(Program(id="b", schedule=on_success("a"), main_fn=noop))
        with pytest.raises(InvalidProgram, match="cycle"):
            runner.reschedule("a", on_success("b"))
        assert runner.info("a").schedule == "every 1s"

    def test_unknown_upstream_waits_visibly(
        self, runner: Runner, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """on_success of a program not installed installs, shows status 'waiting' and logs
        why; installing the upstream makes it active and ticking."""
        with caplog.at_level(logging.WARNING, logger="actors"):
            runner.install(Program(id="b", schedule=on_success("a"), main_fn=noop, min=1))
        assert runner.info("b").status == "waiting"
        assert "'a', which is not installed" in caplog.text

        runner.install(Program(id="a", interval=1, main_fn=noop, min=1))
        clock.advance(1)

        info = runner.info("b")
        assert (info.status, info.runs) == ("active", 1)
        runner.uninstall("a")
        assert runner.info("b").status == "waiting"
