"""postgres_leases on a real PostgreSQL server: runners claim fair shares of the programs and
never the same one, renewals find the programs taken away, a lapsed lease is taken over with a
new epoch that fences the old owner's writes, and a release frees programs at once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest

from actors.store.abc import Write
from actors.store.postgres import PostgresStore
from actors.store.postgres_leases import claim, heartbeat, release, renew, runners
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


def join(conn: Any, runner_id: str, now: int = T) -> None:
    """Record a runner, heard of at `now`."""
    conn.execute(
        "INSERT INTO actors_runners (id, pid, host, started_at, heartbeat) "
        "VALUES (%s, 1, 'test', %s, %s)",
        (runner_id, now, now),
    )


def owners(url: str) -> dict[str, str | None]:
    with connect(url) as conn:
        return dict(conn.execute("SELECT id, owner FROM actors_programs").fetchall())


def test_live_runners_claim_fair_disjoint_shares(url: str) -> None:
    """Three live runners claiming one after another take 4 programs each, none twice; a
    second claim by a runner that has its share takes nothing."""
    with connect(url) as conn:
        for name in ("a", "b", "c"):
            join(conn, name)
        taken = {name: claim(conn, name, now=T, lease=LEASE) for name in ("a", "b", "c")}
        assert [len(ids) for ids in taken.values()] == [4, 4, 4]
        assert claim(conn, "a", now=T, lease=LEASE) == {}
    assert sorted(owners(url).values()) == ["a"] * 4 + ["b"] * 4 + ["c"] * 4  # type: ignore[operator]
    assert all(epoch == 1 for ids in taken.values() for epoch in ids.values())


def test_runners_claiming_at_once_never_take_the_same_program(url: str) -> None:
    """Four runners claiming at the same moment from four connections (SKIP LOCKED): no
    program is taken twice, and every one is taken."""
    names = ["a", "b", "c", "d"]
    with connect(url) as conn:
        for name in names:
            join(conn, name)
    taken: dict[str, dict[str, int]] = {}
    start = threading.Barrier(len(names))

    def claimer(name: str) -> None:
        with connect(url) as conn:
            start.wait()
            taken[name] = claim(conn, name, now=T, lease=LEASE)

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
    with connect(url) as conn:
        join(conn, "a")
        held = claim(conn, "a", now=T, lease=LEASE)
        assert len(held) == 12
        join(conn, "b")
        assert claim(conn, "b", now=T + LEASE // 2, lease=LEASE) == {}  # a's leases hold
        later = T + LEASE + SECOND
        heartbeat(conn, "b", later)
        taken = claim(conn, "b", now=later, lease=LEASE)
        assert set(taken) == set(held)
        assert all(taken[p] == held[p] + 1 for p in held)
        assert renew(conn, "a", held, now=later, lease=LEASE) == set(held)
    store = PostgresStore(url)
    store.open("a-again")
    try:
        stale = Write(program_id="p00", epoch=held["p00"], program=program("p00", runs=9))
        assert store.write([stale]) == ["stale"]
    finally:
        store.close()


def test_renewal_keeps_programs_and_release_frees_them(url: str) -> None:
    """A renewed lease holds past its first expiry; released programs go to the next claim at
    once; `runners` lists the runners, the most recently heard of first."""
    with connect(url) as conn:
        join(conn, "a")
        held = claim(conn, "a", now=T, lease=LEASE)
        assert renew(conn, "a", held, now=T + LEASE - SECOND, lease=LEASE) == set()
        join(conn, "b", now=T + LEASE + SECOND)
        assert claim(conn, "b", now=T + LEASE + SECOND, lease=LEASE) == {}
        release(conn, "a", list(held)[:3])
        assert len(claim(conn, "b", now=T + LEASE + SECOND, lease=LEASE)) == 3
        assert [row.id for row in runners(conn)] == ["b", "a"]


def test_a_program_write_leaves_the_lease(url: str) -> None:
    """A write of a program's row (its state and books) leaves its owner's lease as the
    heartbeat set it."""
    with connect(url) as conn:
        join(conn, "a")
        held = claim(conn, "a", now=T, lease=LEASE)
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
