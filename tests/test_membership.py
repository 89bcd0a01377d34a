"""Membership: several runners sharing one store (PostgreSQL, and SQLite), in one process,
on a ManualClock.

Leases move on virtual time and runners beat when they settle, so each takeover here is
deterministic: who owns what after each step, that a call reaches the owner, and that a
scheduled time never runs twice, whoever runs it.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from actors import (
    ManualClock,
    Program,
    ProgramNotFound,
    ProgramUnavailable,
    Runner,
    SpawnLimitError,
    StoreError,
    every,
    on_success,
)
from tests.conftest import T0
from tests.postgres_server import create_database

LEASE = 6.0  # leases last 3 s; a runner not heard of for 3 s is taken over

#: (program, scheduled time, runner) of every run, across the runners of a test.
WITNESS: list[tuple[str, datetime, str]] = []
_witness_lock = threading.Lock()
_created: list[str] = []


def witness(args: Any, scheduled_at: datetime) -> str:
    """A main_fn: records which runner ran which scheduled time (`args` is the program)."""
    runner = threading.current_thread().name.split("-")[1]
    with _witness_lock:
        WITNESS.append((args, scheduled_at, runner))
    return runner


def start() -> dict[str, int]:
    _created.append("created")
    return {"runs": 0}


def count(state: dict[str, int], result: str) -> dict[str, int]:
    return {"runs": state["runs"] + 1}


def fail(args: Any, scheduled_at: datetime) -> None:
    raise ValueError("failed on purpose")


def programs(n: int = 6) -> list[Program]:
    return [
        Program(
            id=f"p{i}",
            main_fn=witness,
            args_fn=lambda i=i: f"p{i}",
            create_fn=start,
            merge_fn=count,
            schedule=every(1),
            min=1,
            max=3,
        )
        for i in range(n)
    ]


@pytest.fixture(params=["postgresql", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new store, PostgreSQL (a database of the test server) or SQLite (a file): the
    runners share either the same way."""
    WITNESS.clear()
    _created.clear()
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    server: str = request.getfixturevalue("postgres_server")
    return create_database(server, f"m_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@contextlib.contextmanager
def two_runners(url: str, clock: ManualClock) -> Iterator[tuple[Runner, Runner]]:
    """Runners a and b on one store, both running the same code: six programs."""
    a = Runner("a", clock=clock, store=url, lease=LEASE)
    for program in programs():
        a.install(program)
    a.settle()
    b = Runner("b", clock=clock, store=url, lease=LEASE)
    for program in programs():
        b.install(program)
    settle(a, b)
    try:
        yield a, b
    finally:
        for runner in (a, b):
            runner.stop(timeout=5)


@pytest.fixture
def pair(url: str, clock: ManualClock) -> Iterator[tuple[Runner, Runner]]:
    """Runners a and b on one store, both running the same code: six programs."""
    with two_runners(url, clock) as runners:
        yield runners


def settle(*runners: Runner) -> None:
    """Each runner beats and settles, twice: a program one gives up, another claims."""
    for _ in range(2):
        for runner in runners:
            runner.settle()


def owners(runner: Runner) -> dict[str, str | None]:
    return {info.id: info.owner for info in runner.programs()}


def cut_off(runner: Runner) -> None:
    """The runner's membership thread ends, as if cut off from the store: it beats and
    answers no more, while its actors go on."""
    members = runner._members
    assert members is not None
    members._halted = True
    members._wake.set()


def no_time_ran_twice() -> None:
    times = [(program, at) for program, at, _ in WITNESS]
    assert len(times) == len(set(times)), sorted(times)


def test_runners_share_the_programs_fairly(pair: tuple[Runner, Runner]) -> None:
    """A runner that joins takes its fair share: the first gives up half, the second claims
    it; both list every program, with the same owners; `cluster()` lists both, alive."""
    a, b = pair
    assert owners(a) == owners(b)
    assert sorted(owners(a).values()) == ["a"] * 3 + ["b"] * 3  # type: ignore[type-var]
    assert [(r.id, r.alive) for r in sorted(a.cluster(), key=lambda r: r.id)] == [
        ("a", True),
        ("b", True),
    ]


def test_an_install_of_a_program_another_runner_runs_adopts_it_there(
    pair: tuple[Runner, Runner], clock: ManualClock
) -> None:
    """b's code installing the programs a had created called no `create_fn` (each program was
    created once, by a), and every program runs once per tick, on its owner only."""
    a, b = pair
    assert _created == ["created"] * 6
    clock.advance(3)
    settle(a, b)
    no_time_ran_twice()
    ran_by = {(program, runner) for program, _, runner in WITNESS}
    assert {program for program, _ in ran_by} == {f"p{i}" for i in range(6)}
    for program, runner in ran_by:
        assert owners(a)[program] == runner


def test_calls_reach_the_owner(pair: tuple[Runner, Runner], clock: ManualClock) -> None:
    """Calls on a program another runner owns are answered by that runner: a trigger returns
    its run's result, state and pause changes take effect there, spawn and its limit errors
    come back as they are, and an unknown program is still `ProgramNotFound`."""
    a, b = pair
    theirs = next(pid for pid, owner in owners(a).items() if owner == "b")
    assert a.trigger(theirs) == "b"
    a.set_state(theirs, {"runs": 100})
    assert b.get_state(theirs) == {"runs": 100}
    assert a.get_state(theirs) == {"runs": 100}
    a.pause(theirs)
    assert b.info(theirs).status == "paused"
    assert len(a.spawn(theirs, 2)) == 2
    with pytest.raises(SpawnLimitError):
        a.spawn(theirs, 5)
    assert len(a.spawns(theirs)) == 3
    with pytest.raises(ProgramNotFound):
        a.get_state("nothing")


def test_a_runner_that_stops_hands_its_programs_over_at_once(
    pair: tuple[Runner, Runner], clock: ManualClock
) -> None:
    """A runner that stops releases its programs: the next beat of the other takes them all,
    with their states, without waiting for the lease."""
    a, b = pair
    clock.advance(2)
    settle(a, b)
    states = {info.id: info.state for info in b.programs()}
    a.stop()
    b.settle()
    assert set(owners(b).values()) == {"b"}
    assert {info.id: info.state for info in b.programs()} == states
    clock.advance(1)
    b.settle()
    no_time_ran_twice()


def test_a_runner_cut_off_past_its_lease_loses_its_programs_and_runs_none_twice(
    pair: tuple[Runner, Runner], clock: ManualClock
) -> None:
    """a stops beating (partitioned, or frozen) but its timers go on: once its leases lapse b
    takes its programs with new epochs; a's next tick of each is refused by the store, and a
    drops the program; b goes on from the stored state. No scheduled time runs twice."""
    a, b = pair
    cut_off(a)
    clock.advance(LEASE)
    b.settle()
    assert set(owners(b).values()) == {"b"}
    clock.advance(2)
    settle(a, b)
    assert set(owners(a).values()) == {"b"}
    no_time_ran_twice()
    late = [at for _, at, runner in WITNESS if runner == "a" and at > T0 + timedelta(seconds=LEASE)]
    assert late == []


def test_a_call_nobody_answers_raises_program_unavailable(
    pair: tuple[Runner, Runner], clock: ManualClock
) -> None:
    """A call to an owner that takes no commands comes back `ProgramUnavailable` after its
    timeout; once the owner is not heard of, at once, naming the program."""
    a, b = pair
    assert a._members is not None
    theirs = next(pid for pid, owner in owners(b).items() if owner == "a")
    a._members.halt()
    with pytest.raises(ProgramUnavailable, match=theirs):
        b.trigger(theirs, timeout=0.3)
    clock.jump(LEASE)
    with pytest.raises(ProgramUnavailable, match="no live owner"):
        b.get_state(theirs)


def test_an_uninstall_from_another_runner_uninstalls_it_there(
    pair: tuple[Runner, Runner],
) -> None:
    """`uninstall` of a program another runner owns is done by the owner: the program leaves
    the store, and neither runner lists it any more."""
    a, b = pair
    theirs = next(pid for pid, owner in owners(a).items() if owner == "b")
    a.uninstall(theirs)
    settle(a, b)
    assert theirs not in owners(a)
    assert theirs not in owners(b)


def hold(args: Any, scheduled_at: datetime) -> str:
    """A main_fn that takes far longer than a lease (real seconds: the scenario)."""
    time.sleep(1.5)  # sleep-ok: a long main_fn is what this test is about
    return "done"


def test_a_long_main_fn_never_loses_the_lease(url: str) -> None:
    """On a real clock, a run much longer than the lease does not cost its runner the
    program: the membership thread renews the lease while the run goes on, so a second
    runner takes nothing, and the run's result comes back to its owner."""
    program = Program(id="long", main_fn=hold, min=1)
    with Runner("a", store=url, lease=0.6) as a, Runner("b", store=url, lease=0.6) as b:
        a.install(program)
        b.install(program)
        assert owners(b) == {"long": "a"}
        assert a.trigger("long", timeout=10) == "done"
        assert owners(b) == {"long": "a"}
        assert [info.alive for info in b.cluster()] == [True, True]


def test_a_runner_goes_on_after_its_connections_are_cut(
    postgres_server: str, clock: ManualClock
) -> None:
    """On PostgreSQL, when the server ends every session of the store (a restart, a network
    cut), the runners connect again: their programs go on running and being stored, their leases are
    renewed, and calls between them are answered again."""
    url = create_database(postgres_server, f"m_{uuid.uuid4().hex[:12]}")
    with two_runners(url, clock) as (a, b):
        cut_and_go_on(url, clock, a, b)


def cut_and_go_on(url: str, clock: ManualClock, a: Runner, b: Runner) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    clock.advance(1)  # the first writes after the cut may fail: those ticks count missed
    settle(a, b)
    before = {info.id: info.runs for info in b.programs()}
    clock.advance(3)
    settle(a, b)
    after = {info.id: info.runs for info in b.programs()}
    assert all(after[pid] >= before[pid] + 3 for pid in before), (before, after)
    theirs = next(pid for pid, owner in owners(a).items() if owner == "b")
    assert a.trigger(theirs) == "b"
    assert sorted(owners(a).values()) == ["a"] * 3 + ["b"] * 3  # type: ignore[type-var]


GATE = threading.Event()


def wait_for_gate(args: Any, scheduled_at: datetime) -> str:
    """A main_fn that runs until the test opens the gate."""
    GATE.wait(30)
    return "done"


def test_a_program_given_up_to_share_moves_once_its_run_is_done(
    url: str, clock: ManualClock
) -> None:
    """A runner giving a program up to a newcomer stops its timer at once, but keeps its
    lease until the run in flight is done: the newcomer takes it only then, so the program
    never runs on two runners at once."""
    GATE.clear()
    shared = [
        Program(id="a0", main_fn=witness, args_fn=lambda: "a0", min=1),
        Program(id="z", main_fn=wait_for_gate, min=1),  # given up first: the last id
    ]
    a = Runner("a", clock=clock, store=url, lease=LEASE)
    b = None
    try:
        for program in shared:
            a.install(program)
        running = a.trigger("z", wait=False)
        b = Runner("b", clock=clock, store=url, lease=LEASE)
        for program in shared:
            b.install(program)
        for _ in range(3):
            a.settle(runs=False)
            b.settle(runs=False)
        assert owners(b)["z"] != "b"
        assert owners(b)["a0"] == "a"
        GATE.set()
        assert running.result(10) == "done"
        settle(a, b)
        assert owners(b) == {"a0": "a", "z": "b"}
        assert a.info("z").owner == "b"
    finally:
        GATE.set()
        for runner in (a, b):
            if runner is not None:
                runner.stop(timeout=5)


def failing_create() -> dict[str, int]:
    raise RuntimeError("no state today")


def test_a_create_fn_that_raises_leaves_nothing_in_the_store(url: str, clock: ManualClock) -> None:
    """An install whose `create_fn` raises raises it, and leaves the store without the
    program: another install of it, with a working `create_fn`, makes it anew."""
    with Runner("a", clock=clock, store=url, lease=LEASE) as a:
        broken = Program(id="p", main_fn=witness, create_fn=failing_create, merge_fn=count)
        with pytest.raises(RuntimeError, match="no state today"):
            a.install(broken)
        assert a.programs() == []
        a.install(attrs.evolve(broken, create_fn=start))
        assert a.get_state("p") == {"runs": 0}


def test_one_id_joins_a_store_once_per_process(url: str, clock: ManualClock) -> None:
    """A second runner of one process with the id of a live one on the same store is refused
    with a StoreError naming the id; once the first stops, the id is free again."""
    first = Runner("a", clock=clock, store=url, lease=LEASE)
    with pytest.raises(StoreError, match="runner id 'a' is in use by another runner"):
        Runner("a", clock=clock, store=url, lease=LEASE)
    first.stop()
    with Runner("a", clock=clock, store=url, lease=LEASE) as again:
        assert [info.id for info in again.cluster()] == ["a"]


def test_a_stopping_runner_keeps_its_lease_until_its_run_is_done(url: str) -> None:
    """On a real clock, a runner that stops while a run much longer than its lease is in
    flight keeps renewing the program's lease until the run is done and recorded: the other
    runner takes the program only then."""
    program = Program(id="long", main_fn=hold, min=1)
    a = Runner("a", store=url, lease=0.6)
    with Runner("b", store=url, lease=0.6) as b:
        a.install(program)
        b.install(program)
        running = a.trigger("long", wait=False)
        stopping = threading.Thread(target=a.stop, kwargs={"timeout": 10})
        stopping.start()
        time.sleep(0.9)  # sleep-ok: three lease spans pass while the run is in flight
        assert owners(b) == {"long": "a"}
        stopping.join(10)
        assert running.result(0) == "done"
        deadline = time.monotonic() + 10
        while owners(b) != {"long": "b"} and time.monotonic() < deadline:
            b.settle()
        assert owners(b) == {"long": "b"}
        assert b.info("long").runs == 1


def test_an_on_success_chain_split_between_runners_still_fires(
    url: str, clock: ManualClock
) -> None:
    """When a program and the one that runs on its success land on two runners, each success
    of the first is told to the second's runner, which runs it; there it is not listed as
    waiting for its upstream."""
    chain = [
        Program(
            id="down", main_fn=witness, args_fn=lambda: "down", schedule=on_success("up"), min=1
        ),
        Program(id="up", main_fn=witness, args_fn=lambda: "up", schedule=every(1), min=1),
    ]
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(Runner("a", clock=clock, store=url, lease=LEASE))
        for program in chain:
            a.install(program)
        b = stack.enter_context(Runner("b", clock=clock, store=url, lease=LEASE))
        for program in chain:
            b.install(program)
        settle(a, b, a)  # a gives "up" up, b claims it, a learns where it runs
        assert owners(a) == {"down": "a", "up": "b"}
        assert a.info("down").status == "active"
        clock.advance(3)
        deadline = time.monotonic() + 20
        while a.info("down").runs < 3 and time.monotonic() < deadline:
            settle(b, a)
        assert b.info("up").runs == 3
        assert a.info("down").runs == 3
        no_time_ran_twice()
