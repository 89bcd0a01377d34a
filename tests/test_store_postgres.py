"""PostgresStore on a real PostgreSQL server the tests start (`initdb` + `pg_ctl`): rows round
trip, a batch means what its writes mean one by one (checked against the SQLite store), one
runner at a time, a killed holder frees the store, bad stores are refused, and a runner keeps
its programs across a restart."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors import ManualClock, Program, Runner
from actors.errors import StoreError
from actors.store import SQLiteStore, open_store
from actors.store.abc import Write
from actors.store.postgres import PostgresStore
from actors.store.schema import SCHEMA_VERSION
from tests.conftest import T0
from tests.postgres_server import create_database
from tests.store_helpers import (
    firing,
    install,
    program,
    run,
)
from tests.test_store_sqlite_batch import writes


@pytest.fixture
def url(postgres_server: str) -> str:
    """A new, empty database of the server."""
    return create_database(postgres_server, f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def store(url: str) -> Iterator[PostgresStore]:
    store = PostgresStore(url)
    store.open("runner-1")
    yield store
    store.close()


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_open_creates_the_schema_and_a_runner_records_itself(url: str) -> None:
    """A first open makes every table and marks the store as ours with its version and
    serializer; a runner on it records itself (its membership joins), and leaves on stop."""
    store = PostgresStore(url)
    store.open("runner-1")
    store.close()
    meta = dict(rows(url, "SELECT key, value FROM actors_meta"))
    assert (meta["application"], meta["schema_version"], meta["serializer"]) == (
        "actors",
        str(SCHEMA_VERSION),
        "json",
    )
    with Runner("r", store=url) as runner:
        assert [row[0] for row in rows(url, "SELECT id FROM actors_runners")] == ["r"]
        assert [info.id for info in runner.cluster()] == ["r"]
    assert rows(url, "SELECT id FROM actors_runners") == []


def test_runner_and_open_store_take_postgresql_urls(url: str) -> None:
    """`open_store` makes a PostgresStore of a postgresql:// URL, and its `url` hides the
    password."""
    assert isinstance(open_store(url), PostgresStore)
    secret = url.replace("actors@", "actors:hunter2@")
    assert "hunter2" not in PostgresStore(secret).url
    assert "hunter2" not in repr(PostgresStore(secret))


def test_rows_round_trip(store: PostgresStore) -> None:
    """Programs, runs and open firings come back as they were written, in install order."""
    store.write(
        [
            install("b", state=b'{"n": 1}', paused=True, last_fire=T0),
            install("a"),
            Write(program_id="b", firing=firing("b", 1), run=run("b", 1)),
        ]
    )
    loaded = store.load()
    assert [p.row.id for p in loaded] == ["b", "a"]
    b = loaded[0]
    assert (b.row.state, b.row.paused, b.row.last_fire) == (b'{"n": 1}', True, T0)
    assert [r.run_id for r in b.runs] == ["r1"]
    assert [f.scheduled_at for f in b.open_firings] == [T0 + timedelta(minutes=1)]
    assert store.load_program("nothing") is None


def test_duplicates_stale_epochs_and_deletes(store: PostgresStore, url: str) -> None:
    """A firing stored before is a duplicate and skips its write; a stale epoch skips its
    write; a delete removes the program's rows and nothing else."""
    store.write([install("p", epoch=1), install("q")])
    fire = Write(program_id="p", firing=firing("p", 3), run=run("p", 3))
    assert store.write([fire, fire]) == ["ok", "duplicate"]
    stale = Write(program_id="p", epoch=0, program=program("p", runs=9))
    assert store.write([stale]) == ["stale"]
    assert store.write([Write(program_id="p", delete=True)]) == ["ok"]
    assert store.load_program("p") is None
    assert rows(url, "SELECT DISTINCT program_id FROM actors_runs") == []
    assert [p.row.id for p in store.load()] == ["q"]


def test_recent_runs_read_every_program_s_newest_runs(store: PostgresStore) -> None:
    """recent_runs gives the runs after a number, of every program, oldest first, as the
    SQLite store does."""
    store.write([install("p"), install("q")])
    store.write([Write(program_id="p", run=run("p", 0)), Write(program_id="q", run=run("q", 0))])
    store.write([Write(program_id="p", run=run("p", 1))])
    runs = store.recent_runs()
    assert [(r.program_id, r.run_id) for _, r in runs] == [("p", "r0"), ("q", "r0"), ("p", "r1")]
    after = store.recent_runs(after=runs[0][0], limit=1)
    assert [(r.program_id, r.run_id) for _, r in after] == [("p", "r1")]


def test_a_failed_batch_writes_nothing(store: PostgresStore) -> None:
    """A batch with a row the store cannot hold raises StoreError naming the store, and none
    of its writes is there."""
    from datetime import datetime

    naive = datetime(2026, 1, 1, 12)  # naive: the point of the test
    with pytest.raises(StoreError, match="none of the 2 change"):
        store.write([install("a"), Write(program_id="b", program=program("b", last_run=naive))])
    assert store.load() == []
    assert store.write([install("c")]) == ["ok"]


def contents_sqlite(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return _contents(conn.execute)


def contents_postgres(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return _contents(conn.execute)


def _contents(execute: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "programs": [
            tuple(row)
            for row in execute(
                "SELECT id, runs, epoch, last_error FROM actors_programs ORDER BY install_order"
            ).fetchall()
        ],
        "runs": [
            tuple(row)
            for row in execute(
                "SELECT program_id, run_id, status FROM actors_runs ORDER BY id"
            ).fetchall()
        ],
        "firings": [
            tuple(row)
            for row in execute(
                "SELECT program_id, scheduled_at, status, run_id, runner_id FROM actors_firings "
                "ORDER BY program_id, scheduled_at"
            ).fetchall()
        ],
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=st.lists(writes(), max_size=6), batch=st.lists(writes(), max_size=25))
def test_a_batch_means_what_the_sqlite_store_makes_of_it_one_by_one(
    postgres_server: str, before: list[Write], batch: list[Write]
) -> None:
    """From the same rows, PostgreSQL answers a batch as SQLite answers its writes one per
    batch, and leaves the same rows in the same install order: one set of rules."""
    url = create_database(postgres_server, f"h_{uuid.uuid4().hex[:12]}")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "one-by-one.db"
        postgres, sqlite = PostgresStore(url), SQLiteStore(path)
        postgres.open("runner-1")
        sqlite.open("runner-1")
        try:
            for write in before:
                postgres.write([write])
                sqlite.write([write])
            batched = postgres.write(batch)
            one_by_one = [sqlite.write([write])[0] for write in batch]
        finally:
            postgres.close()
            sqlite.close()
        assert batched == one_by_one
        assert contents_postgres(url) == contents_sqlite(path)


def test_several_runners_open_one_store(url: str) -> None:
    """Stores of several runners open one database at once, and each reads what the others
    wrote: sharing the programs is the leases' work, not a lock's."""
    first, second = PostgresStore(url), PostgresStore(url)
    first.open("a")
    second.open("b")
    try:
        assert first.write([install("one")]) == ["ok"]
        assert second.write([install("two")]) == ["ok"]
        assert [p.row.id for p in first.load()] == ["one", "two"]
    finally:
        first.close()
        second.close()


def test_a_server_that_does_not_answer_is_a_clear_error() -> None:
    """No server at the URL: StoreError naming the URL (without its password) and what to
    check."""
    store = PostgresStore("postgresql://who:secret@127.0.0.1:1/none", connect_timeout=2)
    with pytest.raises(StoreError, match="check that the server runs") as caught:
        store.open("runner-1")
    assert "secret" not in str(caught.value)
    assert "127.0.0.1:1/none" in str(caught.value)


def test_a_newer_or_foreign_store_is_refused(url: str, postgres_server: str) -> None:
    """A store of a newer schema, and one kept with another serializer, are refused with
    StoreError saying what to do; a database with tables of its own but none of ours is a
    new store (our tables share it)."""
    other = create_database(postgres_server, f"o_{uuid.uuid4().hex[:12]}")
    with psycopg.connect(other) as conn:
        conn.execute("CREATE TABLE orders (id INT)")
    store = PostgresStore(other)
    store.open("runner-1")
    store.close()
    assert rows(other, "SELECT COUNT(*) FROM orders") == [(0,)]
    seed = PostgresStore(url)
    seed.open("seed")
    seed.close()
    with pytest.raises(StoreError, match="open it with serializer='json'"):
        PostgresStore(url, serializer="pickle").open("runner-1")
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE actors_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        PostgresStore(url).open("runner-1")


def counting(**fields: Any) -> Program:
    defaults: dict[str, Any] = {
        "id": "p",
        "interval": 1,
        "min": 1,
        "create_fn": lambda: 0,
        "main_fn": lambda args, ts: 1,
        "merge_fn": lambda state, result: state + result,
    }
    return Program(**{**defaults, **fields})


def test_a_runner_keeps_its_programs_across_a_restart(url: str) -> None:
    """With a PostgreSQL store, a program installed again after a restart goes on where it
    was: its state, counters, history and position; each scheduled time fired once."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=PostgresStore(url, flush_interval=0)) as runner:
        runner.install(counting())
        clock.advance(5)
        assert runner.get_state("p") == 5
    with Runner(clock=clock, store=PostgresStore(url, flush_interval=0)) as runner:
        runner.install(counting())
        info = runner.info("p")
        assert (info.state, info.runs, info.next_run) == (5, 5, T0 + timedelta(seconds=6))
        clock.advance(2)
        assert runner.get_state("p") == 7
    fired = rows(url, "SELECT scheduled_at, COUNT(*) FROM actors_firings GROUP BY 1")
    assert len(fired) == 7
    assert all(count == 1 for _, count in fired)


def test_the_cli_reads_a_postgresql_store_a_runner_holds(url: str) -> None:
    """`actors status --store URL` and `actors history` read a PostgreSQL store while a runner
    holds it, as they read an SQLite file."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    with Runner(clock=ManualClock(T0), store=PostgresStore(url, flush_interval=0)) as runner:
        runner.install(counting(id="held"))
        runner.trigger("held")
        runner.settle()
        outputs = [
            subprocess.run(
                [sys.executable, "-m", "actors", *args, "--store", url],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=True,
            ).stdout
            for args in (("status",), ("history", "held"))
        ]
    assert "held" in outputs[0]
    assert "completed" in outputs[1]


def test_writers_adding_programs_at_once_give_each_its_own_place(url: str) -> None:
    """Two connections writing batches of new programs at the same moment (as two runners
    will) both commit, and every program gets its own install order."""
    import threading

    from actors.store.batch_plan import Draft
    from actors.store.postgres import _write_segment

    first = PostgresStore(url)
    first.open("runner-1")
    first.close()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        from actors.store.batch_plan import plan_batch

        try:
            with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
                batch = [install(f"{prefix}{n}") for n in range(20)]
                start.wait(10)
                draft = Draft(PostgresStore._books(conn, batch))
                _, _, segments = plan_batch(batch, draft, set())
                with conn.cursor() as cursor:
                    for segment in segments:
                        _write_segment(cursor, segment)
        except BaseException as error:  # the test reports it
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(prefix,)) for prefix in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    orders = [order for (order,) in rows(url, "SELECT install_order FROM actors_programs")]
    assert len(orders) == len(set(orders)) == 40


def test_no_connection_of_a_stopped_runner_is_left(url: str) -> None:
    """After `runner.stop()` the server has no connection of the runner's left (its writer's,
    its read pool's), and its runner lock is free."""
    clock = ManualClock(T0)
    with Runner(clock=clock, store=PostgresStore(url, flush_interval=0)) as runner:
        runner.install(counting())
        clock.advance(2)
        runner.status()
        assert runner.history("p")
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        # A closed connection's server process ends a moment later: wait for that, bounded.
        deadline = time.monotonic() + 10
        while True:
            (others,) = conn.execute(
                "SELECT COUNT(*) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchone()
            if others == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.02)  # sleep-ok: polling the server's own cleanup, bounded
        (free,) = conn.execute("SELECT pg_try_advisory_lock(%s)", (0x6163746F72730002,)).fetchone()
    assert (others, free) == (0, True)
