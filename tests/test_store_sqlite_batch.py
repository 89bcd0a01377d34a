"""sqlite_batch: a batch planned in Python and written in a few statements means exactly what its
writes mean one by one, however large it is."""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.errors import StoreError
from actors.store import SQLiteStore
from actors.store.abc import Write
from tests.store_helpers import firing, install, program, run


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "actors.db")
    store.open("runner-1")
    yield store
    store.close()


def contents(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the store's tables but the runners, install order as ranks."""
    with sqlite3.connect(path) as conn:
        programs = conn.execute(
            "SELECT id, runs, epoch, last_error FROM actors_programs ORDER BY install_order"
        ).fetchall()
        runs = conn.execute(
            "SELECT program_id, run_id, status FROM actors_runs ORDER BY id"
        ).fetchall()
        firings = conn.execute(
            "SELECT program_id, scheduled_at, status, run_id, runner_id FROM actors_firings "
            "ORDER BY program_id, scheduled_at"
        ).fetchall()
    return {"programs": programs, "runs": runs, "firings": firings}


_IDS = st.sampled_from(["p", "q"])
_MINUTES = st.integers(0, 3)
_EPOCHS = st.one_of(st.none(), st.integers(0, 2))


@st.composite
def writes(draw: st.DrawFn) -> Write:
    """One write of any shape the store accepts, on two programs, four minutes, three epochs."""
    program_id = draw(_IDS)
    number = draw(st.integers(0, 99))
    if draw(st.integers(0, 9)) == 0:
        return Write(program_id=program_id, delete=True, epoch=draw(_EPOCHS))
    status = draw(st.sampled_from(["completed", "failed", "interrupted"]))
    run_id = draw(st.none() | st.just("r"))
    return Write(
        program_id=program_id,
        epoch=draw(_EPOCHS),
        program=draw(
            st.none()
            | st.builds(
                lambda epoch, runs: program(program_id, epoch=epoch, runs=runs),
                st.integers(0, 2),
                st.integers(0, 9),
            )
        ),
        firing=draw(st.none() | _MINUTES.map(lambda minute: firing(program_id, minute))),
        outcome=draw(
            st.none()
            | _MINUTES.map(lambda minute: firing(program_id, minute, status=status, run_id=run_id))
        ),
        run=draw(st.none() | st.just(run(program_id, number))),
    )


@settings(max_examples=150, deadline=None)
@given(before=st.lists(writes(), max_size=6), batch=st.lists(writes(), max_size=25))
def test_a_batch_means_what_its_writes_mean_one_by_one(
    before: list[Write], batch: list[Write]
) -> None:
    """From the same stored rows, a batch answers each write as the writes answer one per
    batch, and leaves the same rows, in the same install order."""
    with tempfile.TemporaryDirectory() as directory:
        paths = [Path(directory) / "batched.db", Path(directory) / "one-by-one.db"]
        stores = [SQLiteStore(path) for path in paths]
        for store in stores:
            store.open("runner-1")
            for write in before:
                store.write([write])
        try:
            batched = stores[0].write(batch)
            one_by_one = [stores[1].write([write])[0] for write in batch]
        finally:
            for store in stores:
                store.close()
        assert batched == one_by_one
        assert contents(paths[0]) == contents(paths[1])


def test_a_batch_larger_than_one_statement_holds_is_written_whole(store: SQLiteStore) -> None:
    """Thousands of rows in one batch (more than SQLite takes parameters in one statement)
    are all written, in order."""
    batch = [install("p")]
    batch += [
        Write(program_id="p", firing=firing("p", minute), run=run("p", minute))
        for minute in range(3000)
    ]
    assert store.write(batch) == ["ok"] * len(batch)
    stored = store.load_program("p")
    assert stored is not None
    assert [row.run_id for row in stored.runs[:3]] == ["r2999", "r2998", "r2997"]
    assert len(stored.open_firings) == 3000


def traced(store: SQLiteStore, batch: list[Write]) -> list[str]:
    """The statements the store runs to write `batch` (SQLite traces a statement again for
    each trigger it runs: those repeats are not counted)."""
    statements: list[str] = []
    assert store._conn is not None
    store._conn.set_trace_callback(statements.append)
    try:
        assert store.write(batch) == ["ok"] * len(batch)
    finally:
        store._conn.set_trace_callback(None)
    return [sql for sql, _ in itertools.groupby(statements)]


def busy_batch(size: int, start: int = 0) -> list[Write]:
    """`size` runs of 40 programs from minute `start`, each with its firing and its program
    row."""
    return [
        Write(
            program_id=f"p{n % 40}",
            epoch=0,
            program=program(f"p{n % 40}", runs=n),
            firing=firing(f"p{n % 40}", n),
            run=run(f"p{n % 40}", n),
        )
        for n in range(start, start + size)
    ]


def test_a_batch_is_one_read_and_one_insert_whatever_its_size(tmp_path: Path) -> None:
    """A batch of 4 runs and one of 400 are each the write lock (`BEGIN IMMEDIATE`), one
    SELECT of what the checks need, a single INSERT and the COMMIT: the writer steps as few
    statements as it can, whatever the load, as each step gives up the GIL."""
    store = SQLiteStore(tmp_path / "actors.db")
    store.open("runner-1")
    try:
        store.write([install(f"p{n}") for n in range(40)])
        store.write(busy_batch(40))  # the first writes of a program trim it
        for size, start in ((4, 40), (400, 44)):
            statements = traced(store, busy_batch(size, start))
            assert [sql.split()[0] for sql in statements] == [
                "BEGIN",
                "SELECT",
                "INSERT",
                "COMMIT",
            ]
            assert statements[0] == "BEGIN IMMEDIATE"
            assert statements[2].startswith("INSERT INTO actors_batch")
    finally:
        store.close()


def test_a_batch_with_a_trim_or_a_delete_is_one_transaction(store: SQLiteStore) -> None:
    """A batch that needs more than one insert (a program's first trim, a delete) runs them
    in its one transaction, after its read."""
    statements = traced(store, [install("p"), Write(program_id="p", delete=True)])
    assert statements[0] == "BEGIN IMMEDIATE"
    assert statements[-1] == "COMMIT"
    assert [sql.split()[0] for sql in statements[1:-1]] == ["SELECT", "INSERT", *["DELETE"] * 3]


def test_a_delete_inside_a_batch_drops_only_what_came_before_it(store: SQLiteStore) -> None:
    """Rows written before a delete in the same batch go with it; rows after it stay, and the
    program installed again after it goes last in install order."""
    store.write([install("p"), install("q")])
    batch = [
        Write(program_id="p", run=run("p", 1), firing=firing("p", 1)),
        Write(program_id="p", delete=True),
        install("p"),
        Write(program_id="p", run=run("p", 2), firing=firing("p", 1)),
    ]
    assert store.write(batch) == ["ok", "ok", "ok", "ok"]
    assert [stored.row.id for stored in store.load()] == ["q", "p"]
    stored = store.load_program("p")
    assert stored is not None
    assert [row.run_id for row in stored.runs] == ["r2"]
    assert len(stored.open_firings) == 1


def test_a_batch_rolled_back_leaves_the_books_as_they_were(store: SQLiteStore) -> None:
    """A failed batch leaves the rows its checks read (epochs, fired times) as they were:
    after it, its firing is still new and its epoch was never taken."""
    store.write([install("p")])
    assert store._conn is not None
    store._conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON actors_runs "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    )
    failing = [
        Write(program_id="p", firing=firing("p", 5), program=program("p", epoch=3), run=run()),
    ]
    with pytest.raises(StoreError):
        store.write(failing)
    store._conn.execute("DROP TRIGGER boom")
    assert store.write([Write(program_id="p", epoch=3, program=program("p"))]) == ["stale"]
    assert store.write([Write(program_id="p", epoch=0, firing=firing("p", 5))]) == ["ok"]


def test_an_older_time_is_looked_up_in_the_store(tmp_path: Path) -> None:
    """A firing older than its program's newest one (a run again after a restart) is checked
    against the stored rows: fired before, it is a duplicate; never fired, it is written."""
    path = tmp_path / "actors.db"
    first = SQLiteStore(path)
    first.open("runner-1")
    first.write([install("p"), *(Write(program_id="p", firing=firing("p", m)) for m in (1, 3))])
    first.close()
    again = SQLiteStore(path)
    again.open("runner-2")
    try:
        fires = [Write(program_id="p", firing=firing("p", m)) for m in (1, 2, 3, 4)]
        assert again.write(fires) == ["duplicate", "ok", "duplicate", "ok"]
    finally:
        again.close()


def test_the_checks_read_the_file_not_what_this_store_wrote(tmp_path: Path) -> None:
    """Each batch reads the epochs, the stored firings and the install order from the file in
    its transaction, so the writes of another store object on the file (another runner, a
    coordinator moving an epoch) count: its firing is a duplicate here, an epoch it moved
    makes this store's write stale, and a program it installed keeps its place."""
    path = tmp_path / "actors.db"
    mine, other = SQLiteStore(path), SQLiteStore(path)
    mine.open("runner-1")
    other.open("runner-2")
    try:
        assert mine.write([install("p")]) == ["ok"]
        assert other.write([Write(program_id="p", epoch=0, firing=firing("p", 7))]) == ["ok"]
        assert mine.write([Write(program_id="p", epoch=0, firing=firing("p", 7))]) == ["duplicate"]
        assert other.write([install("q"), Write(program_id="p", program=program("p", epoch=1))])
        assert mine.write([Write(program_id="p", epoch=0, run=run("p", 1))]) == ["stale"]
        assert mine.write([install("r")]) == ["ok"]
    finally:
        other.close()
        mine.close()
    assert [row[0] for row in contents(path)["programs"]] == ["p", "q", "r"]
