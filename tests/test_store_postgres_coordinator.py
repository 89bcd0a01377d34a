"""PostgresCoordinator on a real PostgreSQL server: runners claim fair shares of the programs
and never the same one, renewals find the programs taken away, a lapsed lease is taken over
with a new epoch that fences the old owner's writes, a release frees programs at once, an id
in use by a live process is refused, and commands reach their runner and come back."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

from actors.errors import StoreError
from actors.store import postgres_coordinator
from actors.store.abc import Command, Write
from actors.store.postgres import PostgresStore
from actors.store.postgres_coordinator import PostgresCoordinator, session_name
from tests.postgres_server import create_database
from tests.store_helpers import install, program

SECOND = 1_000_000  # leases and clocks are microseconds
LEASE = 15 * SECOND
T = 1_000 * SECOND  # "now" for the tests


@pytest.fixture
def url(postgres_server: str) -> str:
    """A store of 12 programs, p00 ... p11, that no runner holds, and no runner recorded."""
    url = create_database(postgres_server, f"l_{uuid.uuid4().hex[:12]}")
    store = PostgresStore(url)
    store.open("seed")
    store.write([install(f"p{n:02d}") for n in range(12)])
    store.close()
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM actors_runners")
        conn.execute("UPDATE actors_programs SET owner = NULL")
    return url


def connect(url: str) -> Any:
    return psycopg.connect(url, autocommit=True)


def join(url: str, runner_id: str, now: int = T) -> PostgresCoordinator:
    """The coordinator of a runner that joined at `now`."""
    coordinator = PostgresCoordinator(runner_id, lambda: connect(url), "test store")
    coordinator.join(now=now, span=LEASE)
    return coordinator


def owners(url: str) -> dict[str, str | None]:
    with connect(url) as conn:
        return dict(conn.execute("SELECT id, owner FROM actors_programs").fetchall())


def test_live_runners_claim_fair_disjoint_shares(url: str) -> None:
    """Three live runners claiming one after another take 4 programs each, none twice; a
    second claim by a runner that has its share takes nothing."""
    runners = {name: join(url, name) for name in ("a", "b", "c")}
    taken = {name: c.claim(now=T, span=LEASE) for name, c in runners.items()}
    assert [len(ids) for ids in taken.values()] == [4, 4, 4]
    assert runners["a"].claim(now=T, span=LEASE) == {}
    assert sorted(owners(url).values()) == ["a"] * 4 + ["b"] * 4 + ["c"] * 4  # type: ignore[operator]
    assert all(epoch == 1 for ids in taken.values() for epoch in ids.values())


def test_runners_claiming_at_once_never_take_the_same_program(url: str) -> None:
    """Four runners claiming at the same moment from four connections (SKIP LOCKED): no
    program is taken twice, and every one is taken."""
    names = ["a", "b", "c", "d"]
    runners = {name: join(url, name) for name in names}
    taken: dict[str, dict[str, int]] = {}
    start = threading.Barrier(len(names))

    def claimer(name: str) -> None:
        start.wait()
        taken[name] = runners[name].claim(now=T, span=LEASE)

    threads = [threading.Thread(target=claimer, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    claimed = [program_id for ids in taken.values() for program_id in ids]
    assert len(claimed) == len(set(claimed))
    assert set(owners(url).values()) <= set(names)
    assert None not in owners(url).values()


def test_a_lapsed_lease_is_taken_over_and_fences_the_old_owner(url: str) -> None:
    """When runner a stops renewing, runner b (alone alive) takes a's programs after the lease
    with a new epoch; a's renewal then names every program it lost, and a write carrying a's
    epoch is refused as stale."""
    a = join(url, "a")
    held = a.claim(now=T, span=LEASE)
    assert len(held) == 12
    b = join(url, "b")
    assert b.claim(now=T + LEASE // 2, span=LEASE) == {}  # a's leases hold
    later = T + LEASE + SECOND
    b.heartbeat(later, LEASE)
    taken = b.claim(now=later, span=LEASE)
    assert set(taken) == set(held)
    assert all(taken[p] == held[p] + 1 for p in held)
    assert a.renew(held, now=later, span=LEASE) == set(held)
    store = PostgresStore(url)
    store.open("a-again")
    try:
        stale = Write(program_id="p00", epoch=held["p00"], program=program("p00", runs=9))
        assert store.write([stale]) == ["stale"]
    finally:
        store.close()


def test_a_lapsed_runners_sessions_are_ended_so_its_locked_programs_are_taken(
    url: str,
) -> None:
    """A runner frozen halfway through a pipeline holds its programs' row locks in a session no
    server timeout ends: when its heartbeat lapsed, the runner claiming its programs ends its
    sessions stuck in a transaction (found by their application_name), and takes every
    program, the locked ones too; a live runner's sessions are left alone."""
    a = join(url, "a")
    held = a.claim(now=T, span=LEASE)
    frozen = psycopg.connect(url, application_name=session_name("a"))
    bystander = psycopg.connect(url, application_name=session_name("b"), autocommit=True)
    pipeline = frozen.pipeline()
    pipeline.__enter__()
    try:
        # Sent, and never synced: the server waits on the client, in no statement, not idle.
        frozen.execute("SELECT id FROM actors_programs WHERE id IN ('p00', 'p05') FOR UPDATE")
        assert wait_for_locks(url, 2)
        later = T + LEASE + SECOND
        b = join(url, "b", now=later)
        b.stuck_after = 0.0
        taken = b.claim(now=later, span=LEASE)
        assert set(taken) == set(held)
        assert sessions(url) == [session_name("b")]
    finally:
        with contextlib.suppress(psycopg.OperationalError):  # its session is gone
            pipeline.__exit__(None, None, None)
        frozen.close()
        bystander.close()


def test_only_a_lapsed_process_stuck_in_a_transaction_has_its_sessions_ended(url: str) -> None:
    """The sessions a claimer ends are those of the process its lapsed row names, stuck in a
    transaction for `stuck_after`: a newer process of the same id (restarted, not yet
    heard of) keeps its session and its locks, and so does one whose transaction is young
    (the claimer's clock runs ahead, its own rows look lapsed)."""
    a = join(url, "a")
    a.claim(now=T, span=LEASE)
    with connect(url) as conn:  # the row names the process a was in before a restart
        conn.execute("UPDATE actors_runners SET pid = 4242, host = 'gone' WHERE id = 'a'")
    old = psycopg.connect(url, application_name=session_name("a", 4242, "gone"))
    new = psycopg.connect(url, application_name=session_name("a"))
    try:
        old.execute("SELECT id FROM actors_programs WHERE id = 'p00' FOR UPDATE")
        new.execute("SELECT id FROM actors_programs WHERE id = 'p01' FOR UPDATE")
        assert wait_for_locks(url, 2)
        later = T + LEASE + SECOND
        b = join(url, "b", now=later)
        b.stuck_after = 60.0  # however slow this machine, both transactions are young
        assert b.claim(now=later, span=LEASE).keys() == set(unlocked(url)) - {"p00", "p01"}
        assert sorted(sessions(url)) == sorted([session_name("a", 4242, "gone"), session_name("a")])
        b.stuck_after = 0.0  # both transactions are old enough now
        assert set(b.claim(now=later, span=LEASE)) == {"p00"}
        assert sessions(url) == [session_name("a")]
    finally:
        for conn in (old, new):
            with contextlib.suppress(psycopg.OperationalError):
                conn.rollback()
            conn.close()


def test_a_runner_restarted_with_its_id_ends_its_predecessors_sessions(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner joining under the id of a lapsed runner of another process ends that process's
    sessions stuck in a transaction (what it held it held in a process gone or frozen)."""
    monkeypatch.setattr(postgres_coordinator, "STUCK_AFTER", 0.0)
    a = join(url, "a")
    a.claim(now=T, span=LEASE)
    with connect(url) as conn:
        conn.execute("UPDATE actors_runners SET pid = 4242, host = 'gone' WHERE id = 'a'")
    old = psycopg.connect(url, application_name=session_name("a", 4242, "gone"))
    try:
        old.execute("SELECT id FROM actors_programs WHERE id = 'p00' FOR UPDATE")
        assert wait_for_locks(url, 1)
        again = join(url, "a", now=T + LEASE + SECOND)
        assert sessions(url) == []
        assert again.owned() == {}
    finally:
        with contextlib.suppress(psycopg.OperationalError):
            old.rollback()
        old.close()


def wait_for_locks(url: str, count: int) -> bool:
    """Whether `count` programs are locked within a few seconds (the pipeline's statement
    reaches the server a moment after it is sent)."""
    deadline = time.monotonic() + 5.0
    while len(unlocked(url)) != 12 - count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)  # sleep-ok: polling another session's locks
    return True


def unlocked(url: str) -> list[str]:
    with connect(url) as conn:
        rows = conn.execute("SELECT id FROM actors_programs FOR UPDATE SKIP LOCKED").fetchall()
    return [program_id for (program_id,) in rows]


def sessions(url: str) -> list[str]:
    """The application names of the other sessions on the store's database named by a runner."""
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE 'actors %%' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [name for (name,) in rows]


def test_renewal_keeps_programs_and_release_frees_them(url: str) -> None:
    """A renewed lease holds past its first expiry; released programs go to the next claim at
    once; `runners` lists the runners, the most recently heard of first."""
    a = join(url, "a")
    held = a.claim(now=T, span=LEASE)
    assert a.renew(held, now=T + LEASE - SECOND, span=LEASE) == set()
    a.heartbeat(T + LEASE - SECOND, LEASE)
    b = join(url, "b", now=T + LEASE + SECOND)
    assert b.claim(now=T + LEASE + SECOND, span=LEASE) == {}
    a.release(list(held)[:3])
    assert len(b.claim(now=T + LEASE + SECOND, span=LEASE)) == 3
    assert [row.id for row in b.runners()] == ["b", "a"]


def test_a_program_write_leaves_the_lease(url: str) -> None:
    """A write of a program's row (its state and books) leaves its owner's lease as the
    heartbeat set it."""
    held = join(url, "a").claim(now=T, span=LEASE)
    store = PostgresStore(url)
    store.open("a")
    try:
        row = program("p00", epoch=held["p00"], owner="a", runs=3)
        assert store.write([Write(program_id="p00", epoch=held["p00"], program=row)]) == ["ok"]
    finally:
        store.close()
    with connect(url) as conn:
        assert conn.execute(
            "SELECT runs, lease_expires FROM actors_programs WHERE id = 'p00'"
        ).fetchone() == (3, T + LEASE)


def test_an_id_a_live_process_uses_is_refused(url: str) -> None:
    """A runner joining with the id of a live runner of another process gets a StoreError
    naming the id and that process; once that runner is not heard of within the lease, the
    id may be used again, and what it held is free."""
    join(url, "a").claim(now=T, span=LEASE)
    with connect(url) as conn:  # as if "a" ran in another live process (pid 1 is init)
        conn.execute("UPDATE actors_runners SET pid = 1 WHERE id = 'a'")
    with pytest.raises(StoreError, match=r"runner id 'a' is in use by pid 1"):
        join(url, "a", now=T + SECOND)
    again = join(url, "a", now=T + 2 * LEASE)
    assert set(owners(url).values()) == {None}
    assert len(again.claim(now=T + 2 * LEASE, span=LEASE)) == 12


def test_a_command_reaches_its_runner_and_its_answer_comes_back(url: str) -> None:
    """A call to runner a becomes a command a takes (and wakes a's listener); a's answer
    comes back to the caller; a call nobody answers comes back `None` after its timeout, and
    is withdrawn, so a never takes it."""
    a, b = join(url, "a"), join(url, "b")
    woken = threading.Event()
    a.listen(woken.set)
    answers: list[object] = []
    caller = threading.Thread(
        target=lambda: answers.append(b.call("a", "p00", "GetState", b"fields", now=T, timeout=20))
    )
    caller.start()
    assert woken.wait(20)
    commands: list[Command] = []
    deadline = time.monotonic() + 20
    while not commands and time.monotonic() < deadline:  # woken at the listener's start too
        woken.wait(1.0)
        woken.clear()
        commands = a.pending()
    (command,) = commands
    assert (command.program_id, command.kind, command.payload) == ("p00", "GetState", b"fields")
    a.answer(command.id, True, b"state")
    caller.join(20)
    assert answers == [(True, b"state")]
    assert b.call("a", "p01", "GetState", b"", now=T, timeout=0.2) is None
    assert a.pending() == []
    a.close()
    b.close()


def test_a_new_program_is_reserved_by_one_runner(url: str) -> None:
    """Of two runners installing the same new program, the first to reserve its row owns it
    (its epoch is `now`: past any an earlier program of that id had; last in install order);
    the second is told the store holds it already."""
    a, b = join(url, "a"), join(url, "b")
    assert a.reserve("new", b"null", now=T, span=LEASE) == T
    assert b.reserve("new", b"null", now=T, span=LEASE) is None
    assert owners(url)["new"] == "a"
    with connect(url) as conn:
        orders = dict(conn.execute("SELECT id, install_order FROM actors_programs").fetchall())
    assert orders["new"] == max(orders.values())


def test_runners_gone_for_long_are_forgotten(url: str) -> None:
    """A heartbeat forgets the runners not heard of for many leases (a `kill -9` leaves its
    row behind), and keeps the others."""
    join(url, "gone", now=T)
    join(url, "recent", now=T + 30 * LEASE)
    a = join(url, "a", now=T + 41 * LEASE)
    a.heartbeat(T + 41 * LEASE, LEASE)
    assert sorted(row.id for row in a.runners()) == ["a", "recent"]
