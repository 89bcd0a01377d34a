"""Persistence through the Runner: a restart forgets nothing (an SQLite store under tmp_path,
time from a ManualClock shared by the runner before and after the restart)."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from actors import (
    ManualClock,
    Misfire,
    Program,
    ProgramExists,
    ProgramNotFound,
    Retry,
    Runner,
    every,
)
from actors.errors import StateNotSerializable
from actors.store.abc import FiringRow, Write
from actors.store.sqlite import SQLiteStore
from tests.conftest import T0


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "actors.db"


def store(path: Path) -> SQLiteStore:
    """A store that commits at once: tests need no group-commit wait."""
    return SQLiteStore(path, flush_interval=0)


def raw(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql` read straight from the file, past the store."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def by_reference() -> Program:
    """A program of callables given as "module:function" strings: restorable alone."""
    return Program(
        id="ref",
        interval=1,
        min=1,
        main_fn="tests.programs_for_store:count",
        create_fn="tests.programs_for_store:zero",
        merge_fn="tests.programs_for_store:add",
    )


def counting(**fields: Any) -> Program:
    """A program whose state counts its successful runs (lambdas: not restorable alone)."""
    created: list[int] = fields.pop("created", [])
    defaults: dict[str, Any] = {
        "id": "p",
        "interval": 1,
        "min": 1,
        "create_fn": lambda: created.append(1) or 0,
        "main_fn": lambda args, ts: 1,
        "merge_fn": lambda state, result: state + result,
    }
    return Program(**{**defaults, **fields})


def test_restart_adopts_state_counters_history_and_position(path: Path) -> None:
    """A program installed again after a restart goes on where it was: its state, counters,
    history and schedule position are the stored ones, and create_fn is not called."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting())
        clock.advance(5)
        assert runner.get_state("p") == 5

    created: list[int] = []
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(created=created))
        info = runner.info("p")
        assert (info.state, info.runs, info.succeeded) == (5, 5, 5)
        assert info.next_run == T0 + timedelta(seconds=6)
        assert len(runner.history("p")) == 5
        clock.advance(3)
        assert runner.get_state("p") == 8
        assert [r.scheduled_at for r in runner.history("p", limit=3)] == [
            T0 + timedelta(seconds=s) for s in (8, 7, 6)
        ]
    assert created == []


def test_a_program_with_lambdas_waits_for_its_code(path: Path) -> None:
    """After a restart a program the code has not installed yet is listed as waiting, with its
    stored state and counters; it cannot be used until installed."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting())
        clock.advance(2)
    with Runner(clock=clock, store=store(path)) as runner:
        info = runner.info("p")
        assert (info.status, info.state, info.runs) == ("waiting", 2, 2)
        assert [i.id for i in runner.programs()] == ["p"]
        with pytest.raises(ProgramNotFound, match="waits for its code"):
            runner.trigger("p")
        runner.install(counting())
        assert runner.info("p").status == "active"


@pytest.mark.parametrize(
    ("coalesce", "runs", "missed"), [("latest", 1, 14), ("all", 15, 0), ("skip", 0, 15)]
)
def test_downtime_is_a_clock_jump(path: Path, coalesce: str, runs: int, missed: int) -> None:
    """Ticks due while no runner ran go through misfire: 15 s of downtime over every(1)."""
    clock = ManualClock(T0)
    misfire = Misfire(coalesce=coalesce)  # type: ignore[arg-type]
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(misfire=misfire))
        clock.advance(5)
    clock.jump(15)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(misfire=misfire))
        runner.settle()
        info = runner.info("p")
        assert (info.runs - 5, info.missed) == (runs, missed)
        assert info.state == 5 + runs


def test_callables_by_reference_restore_without_code(path: Path) -> None:
    """A program of module-level callables (or "module:function" strings) comes back at start
    with no code installing it, and runs on."""
    clock = ManualClock(T0)
    program = by_reference()
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(program)
        clock.advance(3)
    with Runner(clock=clock, store=store(path)) as runner:
        assert runner.info("ref").status == "active"
        clock.advance(2)
        assert runner.get_state("ref") == 5


def test_a_reference_that_no_longer_imports_fails_that_program_only(path: Path) -> None:
    """A stored reference that does not import any more marks that program failed, naming the
    reference; the other programs run."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(
            Program(id="ok", interval=1, min=1, main_fn="tests.programs_for_store:count")
        )
        runner.install(
            Program(id="gone", interval=1, min=1, main_fn="tests.programs_for_store:count")
        )
    writer = store(path)
    writer.open("surgeon")
    row = writer.load_program("gone")
    assert row is not None
    broken = row.row.definition.replace("programs_for_store:count", "no_such_module:count")  # type: ignore[union-attr]
    writer.write([Write(program_id="gone", program=attrs.evolve(row.row, definition=broken))])
    writer.close()
    with Runner(clock=clock, store=store(path)) as runner:
        gone = runner.info("gone")
        assert gone.status == "failed"
        assert "no_such_module" in str(gone.last_error)
        clock.advance(1)
        assert runner.info("ok").runs == 1


def test_replace_starts_fresh(path: Path) -> None:
    """install(replace=True) of a stored program starts it fresh: create_fn, zero counters."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting())
        clock.advance(3)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(), replace=True)
        info = runner.info("p")
        assert (info.state, info.runs, runner.history("p")) == (0, 0, [])


def test_uninstall_forgets_the_program_in_the_store(path: Path) -> None:
    """An uninstalled program is not restored, nor listed, after a restart."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting())
        clock.advance(1)
        runner.uninstall("p")
    with Runner(clock=clock, store=store(path)) as runner:
        assert runner.programs() == []


def test_a_state_that_cannot_be_stored_fails_the_run(path: Path) -> None:
    """A merged state that is not JSON fails that run with StateNotSerializable; the state
    stays the stored one, in memory and in the store."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(
            Program(
                id="p",
                create_fn=lambda: {"n": 0},
                main_fn=lambda args, ts: {"bad": object()},
            )
        )
        with pytest.raises(StateNotSerializable, match="program 'p'"):
            runner.trigger("p")
        assert runner.get_state("p") == {"n": 0}
        assert runner.info("p").failed == 1
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(Program(id="p", main_fn=lambda args, ts: None))
        assert runner.get_state("p") == {"n": 0}


def test_pause_and_spawns_are_kept(path: Path) -> None:
    """A paused program comes back paused, with as many spawns as it had."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(max=5))
        runner.spawn("p", 2)
        runner.pause("p")
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(max=5))
        info = runner.info("p")
        assert (info.status, info.spawns) == ("paused", 3)


def test_a_run_cut_off_by_a_crash_is_interrupted_and_recovered(path: Path) -> None:
    """A firing stored without an outcome (the process died during the run) is recorded
    `interrupted` and counted failed; with recover=True it runs once more."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(recover=True))
        clock.advance(2)
    cut = T0 + timedelta(seconds=3)
    writer = store(path)
    writer.open("crashed")
    stored = writer.load_program("p")
    assert stored is not None
    writer.write(
        [
            Write(
                program_id="p",
                firing=FiringRow(program_id="p", scheduled_at=cut, run_id="p#3"),
                program=attrs.evolve(stored.row, last_fire=cut),
            )
        ]
    )
    writer.close()
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(recover=True))
        runner.settle()
        statuses = [(r.status, r.scheduled_at) for r in runner.history("p", limit=3)]
        assert ("interrupted", cut) in statuses
        assert ("completed", cut) in statuses  # recovered: ran once more
        info = runner.info("p")
        assert (info.failed, info.state) == (1, 3)


def test_a_second_runner_on_the_same_file_shares_it(path: Path) -> None:
    """While one runner holds a store, a second runner (another id) opens the same file too,
    with no StoreError: runners share a store by leases. The program the first one runs
    stays its own, and the second one's calls to it reach it through the store."""
    with Runner(id="first", clock=ManualClock(T0), store=store(path)) as first:
        first.install(by_reference())
        with Runner(id="second", clock=ManualClock(T0), store=store(path)) as second:
            assert second.info("ref").owner == "first"
            assert first.info("ref").owner == "first"


def test_stop_flushes(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Everything a runner did is in the store once stop() returns (the default group commit
    of 10 ms included)."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=SQLiteStore(path)) as runner:
        runner.install(counting())
        clock.advance(4)
    reader = SQLiteStore(path)
    reader.open("reader")
    stored = reader.load_program("p")
    reader.close()
    assert stored is not None
    assert (stored.row.runs, len(stored.runs)) == (4, 4)
    assert stored.row.last_fire == T0 + timedelta(seconds=4)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_every_grid_survives_a_restart(path: Path) -> None:
    """An every(10) program installed at 00:00:03 keeps ticking at :13, :23, ... after a
    restart at 00:00:15 (its anchor is stored)."""
    clock = ManualClock(T0 + timedelta(seconds=3))
    seen: list[Any] = []
    program = Program(id="g", schedule=every(10), min=1, main_fn=lambda a, ts: seen.append(ts))
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(program)
        clock.advance(12)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(program)
        clock.advance(10)
    assert [int((ts - T0).total_seconds()) for ts in seen] == [13, 23]


def test_code_installing_a_restored_program_takes_it_over(path: Path) -> None:
    """A program restored at start (its callables import) may be installed by the code again:
    the same definition is taken as it runs; a changed one replaces it, keeping its data."""
    clock = ManualClock(T0)
    program = by_reference()
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(program)
        clock.advance(2)
    with Runner(clock=clock, store=store(path)) as runner:
        assert runner.install(program) == program  # no ProgramExists
        clock.advance(1)
        with pytest.raises(ProgramExists):  # the code installed it: a second install fails
            runner.install(program)
    with Runner(clock=clock, store=store(path)) as runner:
        changed = attrs.evolve(by_reference(), min=2)
        runner.install(changed)  # the code's definition replaces the restored one
        info = runner.info("ref")
        assert (info.state, info.spawns, info.min) == (3, 2, 2)


def test_settle_returns_once_the_store_has_committed(path: Path) -> None:
    """`settle()` waits for the store too: right after it, another reader of the file sees every
    run that settled, even with commits grouped 0.2 s apart."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=SQLiteStore(path, flush_interval=0.2)) as runner:
        runner.install(counting())
        clock.advance(3)
        runner.settle()
        (stored,) = SQLiteStore(path).load()  # read without opening: no lock needed
        assert (stored.row.runs, stored.row.succeeded) == (3, 3)
        assert len(stored.runs) == 3


def test_a_stored_tick_that_does_not_run_is_not_taken_for_a_cut_off_run(path: Path) -> None:
    """A tick whose firing was stored but that ran nowhere (its spawn was busy with a tick
    queued already, or the queued tick was dropped at stop) is marked skipped in the store:
    no firing stays open, so a restart finds no run cut off by a crash, records nothing
    interrupted and runs nothing again."""
    clock = ManualClock(T0)
    release = threading.Event()

    def hang_until_released(args: Any, timestamp: Any) -> int:
        release.wait(30)
        return 1

    program = counting(main_fn=hang_until_released, overlap="queue", timeout=60, recover=True)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(program)
        clock.advance(3, stuck_after=0.1)  # 1 runs and hangs, 2 is queued, 3 finds no room
        assert runner.info("p").skipped == 1
        release.set()
    statuses = sorted(status for (status,) in raw(path, "SELECT status FROM actors_firings"))
    assert len(statuses) == 3
    assert "fired" not in statuses
    assert "skipped" in statuses
    completed = statuses.count("completed")
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(recover=True))
        runner.settle()
        assert [r.status for r in runner.history("p")].count("interrupted") == 0
        assert (runner.info("p").failed, runner.get_state("p")) == (0, completed)


def test_a_tick_every_spawn_is_too_busy_for_is_not_stored(path: Path) -> None:
    """With overlap "skip", a tick that comes while every spawn is busy is skipped at once,
    as without a store, and writes no firing: only the ticks that run are stored."""
    clock = ManualClock(T0)
    release = threading.Event()

    def hang_until_released(args: Any, timestamp: Any) -> int:
        release.wait(30)
        return 1

    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(main_fn=hang_until_released, timeout=60))
        clock.advance(4, stuck_after=0.1)
        release.set()
        runner.settle()
        assert runner.info("p").skipped == 3
    assert raw(path, "SELECT status FROM actors_firings") == [("completed",)]


def test_a_try_to_be_retried_leaves_its_firing_open(path: Path, tmp_path: Path) -> None:
    """A failed try with a retry to come does not conclude its firing: a crash during the
    backoff (the file as it was then) is seen as one at restart, and with recover=True the
    run is recorded interrupted and runs again."""
    calls: list[Any] = []

    def fails_once(args: Any, timestamp: Any) -> int:
        calls.append(timestamp)
        if len(calls) == 1:
            raise ValueError("first try fails")
        return 1

    def retried() -> Program:
        return counting(interval=100, main_fn=fails_once, retry=Retry(attempts=3, backoff=50),
                        recover=True)  # fmt: skip

    crashed = tmp_path / "crashed.db"
    clock = ManualClock(T0)
    # One runner id, as a restarted process has: the copy names the runner that crashed as
    # the owner, heard of a second ago by a live process (this one), so a runner of another
    # id would leave its programs to it until its lease lapsed.
    with Runner(id="restarted", clock=clock, store=store(path)) as runner:
        runner.install(retried())
        clock.advance(100)  # the first try fails; its retry waits 50 s
        runner.settle()
        with sqlite3.connect(path) as source, sqlite3.connect(crashed) as copy:
            source.backup(copy)  # the file as a crash now would leave it
    assert raw(crashed, "SELECT status FROM actors_firings") == [("fired",)]
    again = ManualClock(T0 + timedelta(seconds=101))
    with Runner(id="restarted", clock=again, store=store(crashed)) as runner:
        runner.install(retried())
        runner.settle()
        statuses = [r.status for r in runner.history("p")]
        assert "interrupted" in statuses
        assert runner.get_state("p") == 1  # ran again, and succeeded
    assert raw(crashed, "SELECT status FROM actors_firings") == [("completed",)]


def test_a_firing_run_by_several_spawns_concludes_when_the_last_is_done(path: Path) -> None:
    """With two spawns each running every tick, a firing stays open while one of them still
    runs it, and a copy of it dropped at stop does not undo another spawn's completed."""
    clock = ManualClock(T0)
    gate = threading.Event()
    calls: list[Any] = []
    lock = threading.Lock()

    def first_one_hangs(args: Any, timestamp: Any) -> int:
        with lock:
            calls.append(timestamp)
            first = len(calls) == 1
        if first:
            gate.wait(30)
        return 1

    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting(min=2, overlap="queue", main_fn=first_one_hangs, timeout=60))
        clock.advance(2, stuck_after=0.1)  # 1 on both spawns (one hangs); 2 runs and queues
        assert raw(path, "SELECT status FROM actors_firings ORDER BY scheduled_at") == [
            ("fired",),  # one spawn still runs it
            ("fired",),  # queued on the hung spawn
        ]
        gate.set()
    statuses = raw(path, "SELECT status FROM actors_firings ORDER BY scheduled_at")
    assert statuses == [("completed",), ("completed",)]


def test_a_stop_while_a_firing_is_stored_concludes_it(path: Path) -> None:
    """A runner stopped while a tick's firing is being committed waits for the commit, and
    the firing, which will not run, is concluded: no open firing is left to be taken for a
    crash at restart."""
    writing, proceed = threading.Event(), threading.Event()

    class HeldStore(SQLiteStore):
        def write(self, batch: Any) -> Any:
            if any(write.firing is not None for write in batch):
                writing.set()
                proceed.wait(30)
            return super().write(batch)

    clock = ManualClock(T0)
    runner = Runner(clock=clock, store=HeldStore(path, flush_interval=0))
    runner.install(counting(recover=True))
    runner.settle()
    clock.jump(1)  # the tick fires; its firing's write waits for `proceed`
    assert writing.wait(30)
    # Let the write go shortly after stop has begun draining (either order must hold).
    threading.Timer(0.2, proceed.set).start()  # sleep-ok: orders the race, not the checks
    runner.stop()
    assert raw(path, "SELECT status FROM actors_firings") in ([("skipped",)], [("completed",)])
    with Runner(clock=clock, store=store(path)) as again:
        again.install(counting(recover=True))
        again.settle()
        assert [r.status for r in again.history("p")].count("interrupted") == 0


def test_a_program_actor_that_dies_does_not_wipe_its_stored_books(path: Path) -> None:
    """A program whose actor dies (here: its stored state no longer loads) is restarted from
    the stored books, never from nothing: its stored counters and position stay, whatever
    its restarts come to."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=store(path)) as runner:
        runner.install(counting())
        clock.advance(5)
    before = raw(path, "SELECT runs, last_fire FROM actors_programs")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE actors_programs SET state = X'7b7b'")  # '{{': not JSON
    with Runner(clock=clock, store=store(path)) as runner:
        with contextlib.suppress(Exception):  # the install may see the program fail
            runner.install(counting())
        runner.settle()
    assert raw(path, "SELECT runs, last_fire FROM actors_programs") == before
    assert before[0][0] == 5


def test_info_names_the_runner_that_owns_a_program(path: Path) -> None:
    """A program's info names the runner that runs it; a stored program that no code has
    installed yet names none (nobody runs it: the runner that found no code let it go)."""
    clock = ManualClock(T0)
    with Runner(id="first", clock=clock, store=store(path)) as runner:
        runner.install(counting())
        assert runner.info("p").owner == "first"
    with Runner(id="second", clock=clock, store=store(path)) as runner:
        assert (runner.info("p").status, runner.info("p").owner) == ("waiting", None)
        runner.install(counting())
        assert runner.info("p").owner == "second"
