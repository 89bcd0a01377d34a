"""The Runner facade: every call, every error, and its lifecycle."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from concurrent.futures import Future
from datetime import timedelta

import pytest

from actors import (
    DeadlockError,
    InvalidProgram,
    ManualClock,
    Program,
    ProgramExists,
    ProgramHandle,
    ProgramNotFound,
    Retry,
    Runner,
    RunnerStopped,
    SchedulerError,
    SystemClock,
    every,
    manual,
)
from actors.waiting import wait_for_answer
from tests.conftest import T0
from tests.helpers import Gate, eventually


def noop(args: object, timestamp: object) -> None:
    return None


class TestConstruction:
    def test_default_clock_is_system_clock(self) -> None:
        """A runner without a clock uses a SystemClock and gets a generated id."""
        with Runner() as runner:
            assert isinstance(runner.clock, SystemClock)
            assert runner.id.startswith("runner-")

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"id": ""}, "id"),
            ({"clock": "wall"}, "clock"),
            ({"max_concurrent": 0}, "max_concurrent"),
            ({"history": -1}, "history"),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, object], field: str) -> None:
        """Bad constructor arguments raise InvalidProgram naming the field, and start nothing."""
        before = threading.active_count()
        with pytest.raises(InvalidProgram, match=field):
            Runner(**kwargs)  # type: ignore[arg-type]
        assert threading.active_count() == before

    def test_context_manager_stops(self, clock: ManualClock) -> None:
        """Leaving the with-block stops the runner."""
        with Runner(clock=clock) as runner:
            runner.install(Program(id="p", main_fn=noop))
        assert runner.stopped
        with pytest.raises(RunnerStopped):
            runner.status()


class TestInstall:
    def test_install_returns_program_and_dict_style(self, runner: Runner) -> None:
        """install takes a Program or a dict and returns the Program."""
        program = runner.install({"id": "p", "main_fn": noop, "interval": 5})
        assert isinstance(program, Program)
        assert program.schedule == every(5)
        assert [info.id for info in runner.programs()] == ["p"]

    def test_invalid_dict(self, runner: Runner) -> None:
        """A dict with an unknown key raises InvalidProgram naming it."""
        with pytest.raises(InvalidProgram, match="'intervall'"):
            runner.install({"id": "p", "main_fn": noop, "intervall": 5})

    def test_duplicate_id(self, runner: Runner) -> None:
        """Installing an id twice raises ProgramExists; replace=True swaps it."""
        runner.install(Program(id="p", main_fn=noop, create_fn=lambda: 1))
        with pytest.raises(ProgramExists, match="'p'"):
            runner.install(Program(id="p", main_fn=noop))
        runner.install(Program(id="p", main_fn=noop, create_fn=lambda: 2), replace=True)
        assert runner.get_state("p") == 2
        assert len(runner.programs()) == 1

    def test_create_fn_raising_installs_nothing(self, runner: Runner) -> None:
        """A create_fn that raises makes install raise it, and nothing is installed."""

        def broken() -> None:
            raise LookupError("no database")

        with pytest.raises(LookupError, match="no database"):
            runner.install(Program(id="p", main_fn=noop, create_fn=broken, min=1))
        assert runner.programs() == []
        with pytest.raises(ProgramNotFound):
            runner.info("p")

    def test_min_spawns_started_at_install(self, runner: Runner) -> None:
        """install starts `min` spawns at once."""
        runner.install(Program(id="p", main_fn=noop, min=3))
        assert [s.id for s in runner.spawns("p")] == ["p-1", "p-2", "p-3"]
        assert all(s.status == "idle" for s in runner.spawns("p"))

    def test_uninstall(self, runner: Runner, clock: ManualClock) -> None:
        """uninstall stops timer and spawns and forgets the program; the id can be reused."""
        runner.install(Program(id="p", main_fn=noop, interval=1, min=2))
        runner.uninstall("p")
        assert runner.programs() == []
        with pytest.raises(ProgramNotFound):
            runner.uninstall("p")
        clock.advance(3)
        runner.install(Program(id="p", main_fn=noop))
        assert runner.info("p").runs == 0


class TestProgramNotFound:
    @pytest.mark.parametrize(
        "call",
        [
            lambda r: r.uninstall("nope"),
            lambda r: r.spawn("nope"),
            lambda r: r.unspawn("nope"),
            lambda r: r.trigger("nope"),
            lambda r: r.get_state("nope"),
            lambda r: r.set_state("nope", 1),
            lambda r: r.info("nope"),
            lambda r: r.spawns("nope"),
            lambda r: r.history("nope"),
            lambda r: r["nope"],
        ],
    )
    def test_unknown_program(self, runner: Runner, call: object) -> None:
        """Every call about an unknown program raises ProgramNotFound (a KeyError) naming it."""
        with pytest.raises(ProgramNotFound, match="'nope'") as raised:
            call(runner)  # type: ignore[operator]
        assert isinstance(raised.value, KeyError)


class TestTrigger:
    def test_trigger_raises_main_fn_error_and_counts_it(self, runner: Runner) -> None:
        """trigger re-raises main_fn's exception; the run is counted failed, nothing dies."""

        def fail(args: object, ts: object) -> None:
            raise ZeroDivisionError("boom")

        runner.install(Program(id="p", main_fn=fail))
        with pytest.raises(ZeroDivisionError, match="boom"):
            runner.trigger("p")
        info = runner.info("p")
        assert (info.runs, info.failed, info.succeeded) == (1, 1, 0)
        assert isinstance(info.last_error, ZeroDivisionError)
        with pytest.raises(ZeroDivisionError):
            runner.trigger("p")
        assert runner.info("p").failed == 2

    def test_merge_fn_and_args_fn_errors_fail_the_run(self, runner: Runner) -> None:
        """A raising args_fn or merge_fn fails the run and leaves the state unchanged."""

        def bad_merge(state: object, result: object) -> None:
            raise TypeError("cannot merge")

        def bad_args() -> None:
            raise OSError("no args")

        runner.install(
            Program(id="m", main_fn=lambda a, t: 1, merge_fn=bad_merge, create_fn=lambda: 0)
        )
        runner.install(Program(id="a", main_fn=lambda a, t: 1, args_fn=bad_args))
        with pytest.raises(TypeError, match="cannot merge"):
            runner.trigger("m")
        with pytest.raises(OSError, match="no args"):
            runner.trigger("a")
        assert runner.get_state("m") == 0
        assert runner.info("m").failed == runner.info("a").failed == 1

    def test_args_override_and_args_fn(self, runner: Runner) -> None:
        """args= overrides args_fn; without it, args_fn's value is passed."""
        runner.install(Program(id="p", main_fn=lambda args, ts: args, args_fn=lambda: "default"))
        assert runner.trigger("p") == "default"
        assert runner.trigger("p", args=None) is None
        assert runner.trigger("p", {"x": 1}) == {"x": 1}

    def test_trigger_timestamp_is_now(self, runner: Runner, clock: ManualClock) -> None:
        """A triggered run's timestamp is the clock's time, an aware datetime."""
        runner.install(Program(id="p", main_fn=lambda args, ts: ts))
        clock.advance(42)
        stamp = runner.trigger("p")
        assert stamp == clock.now()
        assert stamp.tzinfo is not None

    def test_trigger_without_waiting_returns_a_future(self, runner: Runner) -> None:
        """wait=False returns a concurrent.futures.Future answered when the run is merged."""
        gate = Gate(result="done")
        runner.install(Program(id="p", main_fn=gate))
        future = runner.trigger("p", wait=False)
        assert isinstance(future, Future)
        gate.wait_started()
        assert not future.done()
        gate.open()
        assert future.result(timeout=5) == "done"

    def test_trigger_timeout(self, runner: Runner) -> None:
        """trigger(timeout=) raises TimeoutError when the run takes longer; the run goes on."""
        gate = Gate(result=7)
        runner.install(Program(id="p", main_fn=gate, create_fn=lambda: 0))
        with pytest.raises(TimeoutError):
            runner.trigger("p", timeout=0.05)
        gate.open()
        runner.settle()
        assert runner.get_state("p") == 7


class TestWhileRunsAreInFlight:
    def test_status_spawns_and_stop_answer(self, clock: ManualClock) -> None:
        """status(), spawns() and stop() answer while main_fns are running."""
        runner = Runner(clock=clock)
        gate = Gate()
        runner.install(Program(id="slow", main_fn=gate, interval=1, min=3))
        clock.jump(1)
        gate.wait_started(3)
        assert runner.status()["slow"].running == 3
        assert {s.status for s in runner.spawns("slow")} == {"running"}
        assert runner.get_state("slow") is None
        stopper = threading.Thread(target=runner.stop, kwargs={"timeout": 5})
        stopper.start()
        eventually(lambda: runner.stopped)
        gate.open()
        stopper.join(5)
        assert not stopper.is_alive()
        assert len(gate.calls) == 3


class TestStop:
    def test_stop_lets_running_work_finish(self, clock: ManualClock) -> None:
        """stop() waits for a running main_fn and its merge before stopping the actors."""
        runner = Runner(clock=clock)
        gate = Gate(result={"finished": True})
        runner.install(Program(id="p", main_fn=gate, create_fn=dict))
        future = runner.trigger("p", wait=False)
        gate.wait_started()
        threading.Timer(0.05, gate.open).start()
        runner.stop(timeout=5)
        assert future.result(timeout=0) == {"finished": True}

    def test_stop_timeout_abandons_stuck_work(self, clock: ManualClock) -> None:
        """A main_fn still running after the timeout is abandoned; its trigger gets an error."""
        runner = Runner(clock=clock)
        gate = Gate()
        runner.install(Program(id="p", main_fn=gate))
        future = runner.trigger("p", wait=False)
        gate.wait_started()
        runner.stop(timeout=0.05)
        with pytest.raises(SchedulerError):
            future.result(timeout=1)
        gate.open()  # let the abandoned worker thread end so the leak check passes

    def test_calls_after_stop_raise(self, clock: ManualClock) -> None:
        """Every call on a stopped runner raises RunnerStopped; stop() again is a no-op."""
        runner = Runner(clock=clock)
        runner.install(Program(id="p", main_fn=noop))
        runner.stop()
        runner.stop()
        for call in (
            lambda: runner.install(Program(id="q", main_fn=noop)),
            lambda: runner.spawn("p"),
            lambda: runner.trigger("p"),
            lambda: runner.get_state("p"),
            runner.status,
            runner.settle,
        ):
            with pytest.raises(RunnerStopped):
                call()
        assert repr(runner).endswith("stopped>")

    def test_stop_leaves_no_thread_with_system_clock(self) -> None:
        """After stop() no thread of the runner is alive, clock and workers included."""
        before = set(threading.enumerate())
        runner = Runner()
        runner.install(Program(id="p", main_fn=noop, interval=0.01, min=2))
        runner.trigger("p")
        assert len(set(threading.enumerate()) - before) > 0
        runner.stop()
        assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []


def _run_python(
    code: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args, "-c", textwrap.dedent(code)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


class TestExit:
    def test_script_that_forgets_to_stop_exits(self) -> None:
        """A script that creates a runner and simply ends exits by itself (atexit stops it)."""
        result = _run_python(
            """
            import actors
            runner = actors.Runner()
            runner.install(actors.Program(id="p", main_fn=lambda a, t: print("ran", flush=True),
                                          interval=0.01, min=2))
            runner.trigger("p")
            """
        )
        assert result.returncode == 0, result.stderr
        assert "ran" in result.stdout

    def test_repl_exit_does_not_hang(self) -> None:
        """A runner created in an interactive session does not hang the session's exit."""
        result = _run_python(
            "import actors",
            "-i",
            stdin=(
                "runner = actors.Runner()\n"
                "runner.install({'id': 'p', 'main_fn': lambda a, t: None,"
                " 'interval': 0.01, 'min': 1})\n"
                "print(runner.info('p').spawns)\n"
                "exit()\n"
            ),
        )
        assert result.returncode == 0, result.stderr
        assert "1" in result.stdout


class TestHandleAndRepr:
    def test_program_handle(self, runner: Runner) -> None:
        """runner["id"] is a ProgramHandle with the runner's calls bound to that program."""
        runner.install(Program(id="w", main_fn=lambda a, t: {"seen": a}, create_fn=dict, max=2))
        handle = runner["w"]
        assert isinstance(handle, ProgramHandle)
        assert handle.spawn() == ["w-1"]
        assert handle.trigger(args=3) == {"seen": 3}
        assert handle.state == handle.get_state() == {"seen": 3}
        handle.set_state({})
        assert handle.get_state() == {}
        assert [s.id for s in handle.spawns()] == ["w-1"]
        assert handle.unspawn() == ["w-1"]
        assert handle.history()[0].status == "completed"
        assert "w" in repr(handle)
        handle.uninstall()
        with pytest.raises(ProgramNotFound):
            handle.info()

    def test_runner_repr_is_one_line(self, runner: Runner) -> None:
        """repr(runner) is a one-line summary with its id and counts."""
        runner.install(Program(id="p", main_fn=noop, min=2))
        text = repr(runner)
        assert "\n" not in text
        assert "'test-runner'" in text
        assert "1 programs" in text
        assert "2 spawns" in text


class TestPauseResume:
    def test_pause_one_program_misses_its_ticks(self, runner: Runner, clock: ManualClock) -> None:
        """A paused program's ticks are counted missed and not replayed on resume."""
        runner.install(Program(id="p", interval=1, min=1, main_fn=noop))
        runner.install(Program(id="q", interval=1, min=1, main_fn=noop))
        clock.advance(2)
        runner.pause("p")
        assert runner.info("p").status == "paused"
        clock.advance(3)
        runner.resume("p")
        clock.advance(2)
        p, q = runner.info("p"), runner.info("q")
        assert (p.status, p.runs, p.missed) == ("active", 4, 3)
        assert (q.runs, q.missed) == (7, 0)

    def test_pause_whole_runner_includes_later_installs(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """pause() pauses every program, and programs installed while paused start paused."""
        runner.install(Program(id="p", interval=1, min=1, main_fn=noop))
        runner.pause()
        runner.install(Program(id="late", interval=1, min=1, main_fn=noop))
        status = runner.status()
        assert status.paused
        assert {info.status for info in status.programs} == {"paused"}
        clock.advance(3)
        assert runner.info("late").missed == 3
        runner.resume()
        assert not runner.status().paused
        clock.advance(1)
        assert runner.info("p").runs == runner.info("late").runs == 1

    def test_pause_during_a_tick_storm(self, runner: Runner, clock: ManualClock) -> None:
        """Pausing between ticks of a fast program stops runs at once, and counters add up."""
        runner.install(Program(id="storm", interval=0.01, min=3, main_fn=noop))
        clock.advance(0.5)
        runner.pause("storm")
        clock.advance(0.5)
        runner.resume("storm")
        clock.advance(0.1)
        info = runner.info("storm")
        assert info.runs == 3 * (50 + 10)
        assert info.missed == 50
        assert info.runs == info.succeeded + info.failed

    def test_trigger_runs_while_paused(self, runner: Runner) -> None:
        """A paused program can still be triggered by hand."""
        runner.install(Program(id="p", main_fn=lambda a, t: "ran"))
        runner.pause("p")
        assert runner.trigger("p") == "ran"

    def test_pause_unknown_program(self, runner: Runner) -> None:
        """pause/resume of an unknown program raise ProgramNotFound."""
        with pytest.raises(ProgramNotFound):
            runner.pause("nope")
        with pytest.raises(ProgramNotFound):
            runner.resume("nope")


class TestReschedule:
    def test_reschedule_takes_effect_from_the_next_tick(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """reschedule swaps the timer: the new grid counts from the call."""
        seen: list[float] = []
        start = clock.now()
        runner.install(
            Program(
                id="p",
                interval=10,
                min=1,
                main_fn=lambda a, ts: seen.append((ts - start).total_seconds()),
            )
        )
        clock.advance(25)
        runner.reschedule("p", every(2))
        assert runner.info("p").schedule == "every 2s"
        clock.advance(5)
        assert seen == [10, 20, 27, 29]

    def test_set_interval(self, runner: Runner, clock: ManualClock) -> None:
        """set_interval(id, s) is reschedule(id, every(s)); a bad value is refused."""
        runner.install(Program(id="p", interval=60, min=1, main_fn=noop))
        runner["p"].set_interval(1)
        clock.advance(3)
        assert runner.info("p").runs == 3
        with pytest.raises(InvalidProgram, match="interval"):
            runner.set_interval("p", 0)
        with pytest.raises(InvalidProgram, match="schedule"):
            runner.reschedule("p", 5)  # type: ignore[arg-type]
        with pytest.raises(ProgramNotFound):
            runner.set_interval("nope", 1)

    def test_reschedule_revives_a_finished_schedule(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """A program whose schedule ran out is finished; a new schedule makes it active."""
        from datetime import timedelta

        end = clock.now() + timedelta(seconds=2)
        runner.install(Program(id="p", schedule=every(1, end=end), min=1, main_fn=noop))
        clock.advance(5)
        assert runner.info("p").status == "finished"
        runner.reschedule("p", every(1))
        clock.advance(2)
        info = runner.info("p")
        assert (info.status, info.runs) == ("active", 4)


def test_timeline_draws_each_spawn(runner: Runner, clock: ManualClock) -> None:
    """runner.timeline(id) draws a row per spawn of the program's recent runs."""
    runner.install(Program(id="w", interval=1, min=2, main_fn=noop))
    clock.advance(5)
    text = repr(runner.timeline("w", width=30))
    assert "w-1" in text
    assert "w-2" in text
    assert "█" in text
    assert repr(runner["w"].timeline(width=30)) == text


def test_next_fires_lists_the_coming_fire_times(runner: Runner, clock: ManualClock) -> None:
    """runner.next_fires(id, n) is the schedule's next n fire times from where the program's
    timer stands; a manual program has none; a bad n or an unknown id is refused."""
    runner.install(Program(id="w", schedule=every(10), main_fn=noop))
    runner.install(Program(id="m", schedule=manual(), main_fn=noop))
    assert runner.next_fires("w", 3) == [T0 + timedelta(seconds=s) for s in (10, 20, 30)]
    clock.advance(25)
    assert runner["w"].next_fires(2) == [T0 + timedelta(seconds=s) for s in (30, 40)]
    assert runner.next_fires("m") == []
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        runner.next_fires("w", 0)
    with pytest.raises(ValueError, match="n must be an int <= 1000, got 1001"):
        runner.next_fires("w", 1001)  # worked out by the program's actor: kept short
    with pytest.raises(ProgramNotFound):
        runner.next_fires("nothing")


def test_info_carries_the_program_s_tags(runner: Runner) -> None:
    """ProgramInfo.tags are the program's tags, for filters."""
    runner.install(Program(id="w", schedule=manual(), main_fn=noop, tags=["a", "b"]))
    assert runner.info("w").tags == ("a", "b")


class TestCallsThatWouldWaitOnThemselves:
    """A call that would wait on the runner from inside the runner fails at once, or works."""

    @pytest.mark.parametrize(
        ("call", "named"),
        [
            (lambda r: r.get_state("other"), "runner.get_state('other')"),
            (lambda r: r.spawn("other"), "runner.spawn('other')"),
            (lambda r: r.trigger("other"), "runner.trigger('other')"),
            (lambda r: r.status(), "runner.status()"),
            (lambda r: r.settle(), "runner.settle()"),
        ],
    )
    def test_from_merge_fn_fails_at_once_naming_program_and_function(
        self, runner: Runner, call: object, named: str
    ) -> None:
        """A merge_fn that calls the runner gets a DeadlockError at once, naming the call, the
        program and merge_fn; the run fails and the runner answers everything else."""
        errors: list[BaseException] = []

        def merge(state: object, result: object) -> object:
            try:
                call(runner)  # type: ignore[operator]
            except DeadlockError as error:
                errors.append(error)
                raise
            return state

        runner.install(Program(id="other", main_fn=noop))
        runner.install(Program(id="p", main_fn=noop, merge_fn=merge))

        with pytest.raises(DeadlockError):
            runner.trigger("p", timeout=5)

        assert named in str(errors[0])
        assert "merge_fn of program 'p'" in str(errors[0])
        assert runner.info("p").failed == 1
        assert runner.status().running  # nothing stalled

    def test_trigger_without_waiting_works_from_merge_fn(self, runner: Runner) -> None:
        """trigger(..., wait=False) waits for nothing, so merge_fn may use it to chain."""
        futures: list[Future[object]] = []

        def merge(state: object, result: object) -> object:
            futures.append(runner.trigger("next", wait=False))
            return state

        runner.install(Program(id="next", main_fn=lambda a, t: "ran"))
        runner.install(Program(id="p", main_fn=noop, merge_fn=merge))
        runner.trigger("p", timeout=5)

        assert futures[0].result(5) == "ran"

    def test_uninstall_itself_from_main_fn(self, runner: Runner) -> None:
        """main_fn may uninstall its own program: the call returns at once, the program is
        forgotten, and the run that made it still finishes and answers its trigger."""

        def main(args: object, timestamp: object) -> str:
            runner.uninstall("p")
            return "done"

        runner.install(Program(id="p", main_fn=main))

        assert runner.trigger("p", timeout=5) == "done"
        runner.settle()
        with pytest.raises(ProgramNotFound):
            runner.info("p")

    def test_stop_from_main_fn(self, clock: ManualClock) -> None:
        """main_fn may stop its runner: stop() returns at once, the run finishes, and the
        runner stops with no thread left (a later stop() waits for it)."""
        runner = Runner(clock=clock)
        returned: list[bool] = []

        def main(args: object, timestamp: object) -> str:
            runner.stop()
            returned.append(True)
            return "finished"

        runner.install(Program(id="p", main_fn=main))
        future = runner.trigger("p", wait=False)

        assert future.result(5) == "finished"
        assert returned == [True]
        runner.stop()  # waits for the stop already under way
        assert runner.stopped
        assert runner._runtime.actor_count() == 0

    def test_settle_from_main_fn_fails_at_once(self, runner: Runner) -> None:
        """settle() from inside a run would wait for that run: DeadlockError, naming it."""
        errors: list[BaseException] = []

        def main(args: object, timestamp: object) -> None:
            try:
                runner.settle(timeout=30)
            except DeadlockError as error:
                errors.append(error)

        runner.install(Program(id="p", main_fn=main))
        runner.trigger("p", timeout=5)

        assert "main_fn of program 'p'" in str(errors[0])

    def test_other_calls_from_main_fn_work(self, runner: Runner) -> None:
        """main_fn runs on a worker thread, not an actor: calls that answer work from it."""

        def main(args: object, timestamp: object) -> object:
            runner.spawn("other")
            return runner.get_state("other"), runner.trigger("other", timeout=5)

        runner.install(Program(id="other", main_fn=lambda a, t: 7, create_fn=lambda: "s"))
        runner.install(Program(id="p", main_fn=main))

        assert runner.trigger("p", timeout=5) == ("s", 7)


class TestTimeoutErrorsSayWhat:
    def test_trigger_timeout_names_the_call_and_the_wait(self, runner: Runner) -> None:
        """trigger(timeout=...) that runs out says which trigger, how long, and that the run
        goes on."""
        gate = Gate()
        runner.install(Program(id="slow", main_fn=gate))
        try:
            with pytest.raises(TimeoutError, match=r"runner.trigger\('slow'\) waited 0.05 s"):
                runner.trigger("slow", timeout=0.05)
        finally:
            gate.open()

    def test_settle_timeout_names_what_is_in_flight(self, runner: Runner) -> None:
        """settle() that runs out names the runs still inside user code."""
        gate = Gate()
        runner.install(Program(id="slow", main_fn=gate))
        runner.trigger("slow", wait=False)
        gate.wait_started()
        try:
            with pytest.raises(TimeoutError) as raised:
                runner.settle(timeout=0.05)
        finally:
            gate.open()
        assert "did not settle within 0.05 s" in str(raised.value)
        assert "main_fn of program 'slow' (run slow#1)" in str(raised.value)

    def test_call_timeout_names_the_call(self, runner: Runner) -> None:
        """A call that gets no answer in time says which call and how long it waited."""
        future: Future[object] = Future()
        with pytest.raises(TimeoutError, match=r"runner.get_state\('p'\) got no answer within"):
            wait_for_answer(future, "runner.get_state('p')", 0.01, runner.id)

    def test_a_run_that_timed_out_still_raises_its_own_error(self, runner: Runner) -> None:
        """The TimeoutError of a run (its program's timeout) reaches trigger unchanged."""

        def main(args: object, timestamp: object) -> None:
            raise TimeoutError("from main_fn")

        runner.install(Program(id="p", main_fn=main))
        with pytest.raises(TimeoutError, match="from main_fn"):
            runner.trigger("p", timeout=5)


class TestSettleAndRetries:
    def test_settle_waits_for_a_retry_in_its_backoff_on_a_real_clock(self) -> None:
        """On a SystemClock, settle() waits for a retry's backoff and the retry's run."""
        tries: list[int] = []

        def flaky(args: object, timestamp: object) -> str:
            tries.append(1)
            if len(tries) == 1:
                raise ValueError("first try fails")
            return "ok"

        with Runner() as runner:
            runner.install(Program(id="p", main_fn=flaky, retry=Retry(attempts=2, backoff=0.2)))
            runner.trigger("p", wait=False)
            runner.settle(timeout=5)
            info = runner.info("p")

        assert (len(tries), info.runs, info.succeeded) == (2, 1, 1)

    def test_paused_program_retries_wait_for_resume(
        self, runner: Runner, clock: ManualClock
    ) -> None:
        """A retry that comes due while its program is paused waits; resume runs it."""
        tries: list[int] = []

        def flaky(args: object, timestamp: object) -> str:
            tries.append(1)
            if len(tries) == 1:
                raise ValueError("first try fails")
            return "ok"

        runner.install(Program(id="p", main_fn=flaky, retry=Retry(attempts=2, backoff=1)))
        future = runner.trigger("p", wait=False)
        runner.settle()
        runner.pause("p")
        clock.advance(5)
        assert len(tries) == 1  # due, but paused

        runner.resume("p")
        runner.settle()

        assert future.result(5) == "ok"
        assert len(tries) == 2
