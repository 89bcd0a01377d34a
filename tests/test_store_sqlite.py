"""SQLiteStore: rows round trip, batches are all or nothing, several store objects and
processes share one file.

Real files under `tmp_path`, real SQLite, real second processes; no mocks. The stores that
must be refused are in `test_store_sqlite_bad.py`; the schema and its migrations in
`test_store_schema.py`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from actors.errors import StoreError
from actors.store import SQLiteStore, open_store
from actors.store.abc import FiringRow, ProgramRow, RunRow, Write
from actors.store.schema import SCHEMA_VERSION
from actors.store.serializers import PickleSerializer
from tests.store_helpers import (
    T0,
    end_child,
    firing,
    install,
    program,
    run,
    start_child,
    wait_for_line,
)

IST = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "actors.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    """An open store on a new file, closed after the test."""
    store = SQLiteStore(path)
    store.open("runner-1")
    yield store
    store.close()


def raw(path: Path, sql: str, *parameters: object) -> list[tuple[object, ...]]:
    """Rows of `sql` read straight from the file, past the store."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, parameters).fetchall()


# --- opening ---------------------------------------------------------------------------------


def test_open_creates_the_file_and_its_schema(path: Path) -> None:
    """A new store is one file in WAL mode, marked as an actors store at the current schema
    version; `open` records no runner (its coordinator's `join` does); its url is
    SQLAlchemy's `sqlite:////abs`."""
    store = SQLiteStore(path)
    store.open("runner-1")
    try:
        assert store.url == f"sqlite:///{path}"
        assert store.url.startswith("sqlite:////")
        meta = dict(raw(path, "SELECT key, value FROM actors_meta"))
        assert meta["application"] == "actors"
        assert meta["schema_version"] == str(SCHEMA_VERSION)
        assert meta["serializer"] == "json"
        assert raw(path, "PRAGMA journal_mode") == [("wal",)]
        assert raw(path, "SELECT id FROM actors_runners") == []
    finally:
        store.close()


def test_a_new_store_loads_empty(store: SQLiteStore) -> None:
    """A store with nothing written holds no programs."""
    assert store.load() == []
    assert store.load_program("p") is None


def test_open_store_takes_paths_and_sqlite_urls(tmp_path: Path) -> None:
    """A plain path, `sqlite:///relative` and `sqlite:////absolute` name SQLite stores; another
    scheme is refused."""
    absolute = open_store(f"sqlite:///{tmp_path}/a.db")
    assert isinstance(absolute, SQLiteStore)
    assert absolute.path == tmp_path / "a.db"
    assert isinstance(open_store(tmp_path / "b.db"), SQLiteStore)
    relative = open_store("sqlite:///c.db")
    assert isinstance(relative, SQLiteStore)
    assert relative.path == Path.cwd() / "c.db"
    with pytest.raises(StoreError, match="must be a path"):
        open_store("mysql://host/db")


def test_constructor_arguments_are_checked(path: Path) -> None:
    """A bad serializer name, flush interval or busy timeout is refused at construction."""
    with pytest.raises(ValueError, match="serializer must be 'json' or 'pickle'"):
        SQLiteStore(path, serializer="yaml")
    with pytest.raises(ValueError, match="flush_interval"):
        SQLiteStore(path, flush_interval=-1)
    with pytest.raises(TypeError, match="serializer"):
        SQLiteStore(path, serializer=42)  # type: ignore[arg-type]
    store = SQLiteStore(path, serializer=PickleSerializer(), flush_interval=0.5)
    assert store.serializer.name == "pickle"
    assert store.flush_interval == 0.5


# --- round trips -----------------------------------------------------------------------------


def test_a_program_row_round_trips_every_field(store: SQLiteStore) -> None:
    """Every field of a ProgramRow comes back as written; datetimes given with any offset
    come back as the same instants, in UTC."""
    row = ProgramRow(
        id="p",
        definition='{"main_fn": "pkg.mod:main"}',
        schedule='{"every": 60}',
        since=datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=IST),
        state=b'{"total":3}',
        runs=7,
        succeeded=4,
        failed=2,
        skipped=1,
        missed=5,
        last_run=datetime(2026, 3, 1, 10, tzinfo=IST),
        last_error="ValueError: boom",
        last_fire=datetime(2026, 3, 1, 10, tzinfo=IST),
        next_fire=datetime(2026, 3, 1, 10, 1, tzinfo=IST),
        paused=True,
        spawns=3,
        owner="runner-1",
        lease_expires=datetime(2026, 3, 1, 4, 45, tzinfo=UTC),
        epoch=9,
        updated_at=datetime(2026, 3, 1, 10, 0, 1, tzinfo=IST),
    )
    assert store.write([Write(program_id="p", program=row)]) == ["ok"]
    stored = store.load_program("p")
    assert stored is not None
    assert stored.row == row  # aware datetimes compare as instants
    assert stored.row.since.tzinfo is UTC
    assert stored.row.since == datetime(2026, 3, 1, 3, 30, 0, 123456, tzinfo=UTC)
    assert stored.row.paused is True
    assert isinstance(stored.row.state, bytes)


def test_run_and_firing_rows_round_trip(store: SQLiteStore) -> None:
    """RunRows and FiringRows come back field for field, None fields included."""
    full = RunRow(
        program_id="p",
        run_id="r1",
        attempt=2,
        spawn="s3",
        scheduled_at=datetime(2026, 1, 1, 12, tzinfo=IST),
        status="failed",
        started_at=datetime(2026, 1, 1, 12, 0, 1, tzinfo=IST),
        finished_at=datetime(2026, 1, 1, 12, 0, 2, 500, tzinfo=IST),
        result=None,
        error="Traceback ...",
    )
    bare = RunRow(
        program_id="p", run_id="r2", attempt=1, spawn=None, scheduled_at=None, status="missed"
    )
    open_firing = FiringRow(program_id="p", scheduled_at=T0, run_id="r1", runner_id="runner-1")
    store.write(
        [
            Write(program_id="p", program=program(), firing=open_firing, run=full),
            Write(program_id="p", run=bare),
        ]
    )
    stored = store.load_program("p")
    assert stored is not None
    assert stored.runs == (bare, full)  # newest first
    assert stored.open_firings == (open_firing,)
    assert all(r.scheduled_at is None or r.scheduled_at.tzinfo is UTC for r in stored.runs)


def test_datetimes_are_stored_as_integer_microseconds_since_the_epoch(
    store: SQLiteStore, path: Path
) -> None:
    """A datetime is kept as exact integer microseconds since 1970-01-01 UTC, before 1970
    too, and a boolean as 0/1."""
    since = datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    last_fire = datetime(2026, 1, 1, 5, 30, 0, 1, tzinfo=IST)  # 2026-01-01 00:00:00.000001 UTC
    store.write([install(since=since, last_fire=last_fire, paused=True)])
    assert raw(path, "SELECT since, last_fire, paused FROM actors_programs") == [
        (-1, 1767225600000001, 1)
    ]
    stored = store.load_program("p")
    assert stored is not None
    assert (stored.row.since, stored.row.last_fire) == (since, last_fire)


def test_pickle_states_round_trip(tmp_path: Path) -> None:
    """A store opened with serializer='pickle' records it, and keeps the bytes it is given."""
    store = SQLiteStore(tmp_path / "p.db", serializer="pickle")
    store.open("runner-1")
    try:
        state = store.serializer.dumps({"when": T0, "items": (1, 2)})
        store.write([install(state=state)])
        stored = store.load_program("p")
        assert stored is not None
        assert store.serializer.loads(stored.row.state) == {"when": T0, "items": (1, 2)}
        assert (
            dict(raw(tmp_path / "p.db", "SELECT key, value FROM actors_meta"))["serializer"]
            == "pickle"
        )
    finally:
        store.close()


# --- writes ----------------------------------------------------------------------------------


def test_a_batch_is_all_or_nothing(store: SQLiteStore, path: Path) -> None:
    """When one write of a batch fails in the database, the batch raises StoreError naming
    the store, and none of its writes is there, those before the failing one included."""
    store.write([install("before")])
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON actors_runs WHEN NEW.run_id = 'r13' "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    batch = [
        install("a"),
        Write(program_id="a", run=run("a", 1)),
        Write(program_id="a", run=run("a", 13)),
    ]
    with pytest.raises(StoreError, match="refused by the test") as caught:
        store.write(batch)
    assert str(path) in str(caught.value)
    assert "none of the 3 change(s) of this batch was written" in str(caught.value)
    assert [p.row.id for p in store.load()] == ["before"]
    assert raw(path, "SELECT COUNT(*) FROM actors_runs") == [(0,)]
    assert store.write([install("b")]) == ["ok"]  # the store goes on after a failed batch


def test_a_row_the_store_cannot_hold_fails_the_whole_batch(store: SQLiteStore) -> None:
    """A naive datetime (which instant?) fails its batch with StoreError, and nothing of the
    batch is written."""
    naive = datetime(2026, 1, 1, 12)  # naive: the point of the test
    with pytest.raises(StoreError, match="must be an aware datetime"):
        store.write([install("a"), Write(program_id="b", program=program("b", last_run=naive))])
    assert store.load() == []


def test_a_duplicate_firing_skips_the_rest_of_its_write_only(store: SQLiteStore) -> None:
    """A firing of a scheduled time already stored answers "duplicate", and nothing else of
    that write is applied; the other writes of the batch are."""
    first = Write(
        program_id="p", program=program(runs=1), firing=firing(minute=1), run=run(number=1)
    )
    assert store.write([first]) == ["ok"]
    again = Write(
        program_id="p", program=program(runs=2), firing=firing(minute=1), run=run(number=2)
    )
    other = install("q")
    assert store.write([again, other]) == ["duplicate", "ok"]
    stored = store.load_program("p")
    assert stored is not None
    assert stored.row.runs == 1
    assert [r.run_id for r in stored.runs] == ["r1"]
    assert store.load_program("q") is not None


def test_a_duplicate_within_one_batch_is_caught(store: SQLiteStore) -> None:
    """Two writes in one batch firing the same scheduled time: the second is "duplicate"."""
    store.write([install()])
    fire = Write(program_id="p", firing=firing(minute=3))
    assert store.write([fire, fire]) == ["ok", "duplicate"]


def test_a_stale_epoch_skips_the_write(store: SQLiteStore) -> None:
    """A write whose epoch is not the stored row's is answered "stale" and changes nothing;
    with the stored epoch it is written; a program not stored is stale for any epoch."""
    store.write([install(epoch=2)])
    stale = Write(program_id="p", epoch=1, program=program(epoch=1, runs=5), run=run())
    current = Write(program_id="p", epoch=2, program=program(epoch=2, runs=6), run=run())
    assert store.write([stale]) == ["stale"]
    stored = store.load_program("p")
    assert stored is not None
    assert (stored.row.runs, stored.runs) == (0, ())
    assert store.write([current]) == ["ok"]
    stored = store.load_program("p")
    assert stored is not None
    assert stored.row.runs == 6
    assert store.write([Write(program_id="gone", epoch=0, program=program("gone"))]) == ["stale"]
    assert store.load_program("gone") is None


def test_an_outcome_concludes_its_firing(store: SQLiteStore, path: Path) -> None:
    """An outcome sets its firing's status (it is no longer open) and run id, keeping the
    stored runner id where the outcome has none; an outcome of a time never fired is kept."""
    store.write([install(), Write(program_id="p", firing=firing(minute=1, runner_id="runner-1"))])
    stored = store.load_program("p")
    assert stored is not None
    assert [f.scheduled_at for f in stored.open_firings] == [T0 + timedelta(minutes=1)]
    done = firing(minute=1, status="completed", run_id="r1")
    assert store.write([Write(program_id="p", outcome=done)]) == ["ok"]
    stored = store.load_program("p")
    assert stored is not None
    assert stored.open_firings == ()
    assert raw(path, "SELECT status, run_id, runner_id FROM actors_firings") == [
        ("completed", "r1", "runner-1")
    ]
    store.write([Write(program_id="p", outcome=firing(minute=9, status="interrupted"))])
    assert raw(path, "SELECT COUNT(*) FROM actors_firings") == [(2,)]


def test_install_order_is_kept_by_upserts(store: SQLiteStore) -> None:
    """Programs load in install order; replacing a row keeps its place; a program deleted and
    installed again goes last."""
    store.write([install("b"), install("a"), install("c")])
    store.write([install("a", runs=3)])
    assert [p.row.id for p in store.load()] == ["b", "a", "c"]
    store.write([Write(program_id="a", delete=True)])
    store.write([install("a")])
    assert [p.row.id for p in store.load()] == ["b", "c", "a"]


def test_delete_removes_the_program_its_runs_and_its_firings(
    store: SQLiteStore, path: Path
) -> None:
    """A delete leaves nothing of the program, and nothing of any other program goes."""
    store.write(
        [
            install("p"),
            install("q"),
            Write(program_id="p", firing=firing("p", 1), run=run("p", 1)),
            Write(program_id="q", firing=firing("q", 1), run=run("q", 1)),
        ]
    )
    assert store.write([Write(program_id="p", delete=True)]) == ["ok"]
    assert store.load_program("p") is None
    assert raw(path, "SELECT DISTINCT program_id FROM actors_runs") == [("q",)]
    assert raw(path, "SELECT DISTINCT program_id FROM actors_firings") == [("q",)]


def test_history_keeps_the_newest_runs(tmp_path: Path) -> None:
    """Loads give the newest `history` runs, newest first; the table holds at most a tenth
    more, as trimming runs now and then, for the programs written."""
    store = SQLiteStore(tmp_path / "h.db")
    store.open("runner-1", history=20)
    try:
        store.write([install("p"), install("q")])
        for number in range(100):
            store.write([Write(program_id="p", run=run("p", number))])
        store.write([Write(program_id="q", run=run("q", 0))])
        stored = store.load_program("p")
        assert stored is not None
        assert [r.run_id for r in stored.runs] == [f"r{n}" for n in range(99, 79, -1)]
        kept = raw(tmp_path / "h.db", "SELECT COUNT(*) FROM actors_runs WHERE program_id = 'p'")
        assert 20 <= kept[0][0] <= 22  # type: ignore[operator]
        q = store.load_program("q")
        assert q is not None
        assert len(q.runs) == 1
    finally:
        store.close()


def test_recent_runs_are_every_program_s_newest_runs_after_a_number(store: SQLiteStore) -> None:
    """recent_runs(after, limit) gives the runs written after run number `after`, of every
    program, oldest first, each with its number: the newest `limit` of them."""
    store.write([install("p"), install("q")])
    for number in range(3):
        store.write([Write(program_id="p", run=run("p", number))])
        store.write([Write(program_id="q", run=run("q", number))])
    everything = store.recent_runs()
    assert [(r.program_id, r.run_id) for _, r in everything] == [
        ("p", "r0"),
        ("q", "r0"),
        ("p", "r1"),
        ("q", "r1"),
        ("p", "r2"),
        ("q", "r2"),
    ]
    numbers = [number for number, _ in everything]
    assert numbers == sorted(numbers)
    newest = store.recent_runs(after=numbers[2], limit=2)
    assert [(number, r.run_id) for number, r in newest] == [(numbers[4], "r2"), (numbers[5], "r2")]
    assert store.recent_runs(after=numbers[-1]) == []


def test_a_smaller_history_applies_at_the_first_write_after_open(tmp_path: Path) -> None:
    """Runs kept under a larger `history` are trimmed to the new one at the program's first
    write after open, and loads return only the new bound even before that."""
    path = tmp_path / "h.db"
    store = SQLiteStore(path)
    store.open("runner-1", history=100)
    store.write([install(), *(Write(program_id="p", run=run(number=n)) for n in range(60))])
    store.close()
    store.open("runner-1", history=10)
    try:
        stored = store.load_program("p")
        assert stored is not None
        assert len(stored.runs) == 10
        store.write([Write(program_id="p", run=run(number=60))])
        assert raw(path, "SELECT COUNT(*) FROM actors_runs") == [(10,)]
    finally:
        store.close()


def test_history_zero_keeps_no_runs(tmp_path: Path) -> None:
    """With history=0 no run is kept, and the newest concluded firing still is."""
    store = SQLiteStore(tmp_path / "h.db")
    store.open("runner-1", history=0)
    try:
        store.write([install()])
        for minute in range(5):
            store.write(
                [
                    Write(
                        program_id="p",
                        firing=firing(minute=minute, status="completed"),
                        run=run(number=minute),
                    )
                ]
            )
        assert raw(tmp_path / "h.db", "SELECT COUNT(*) FROM actors_runs") == [(0,)]
        assert raw(tmp_path / "h.db", "SELECT scheduled_at FROM actors_firings") == [
            (int((T0 + timedelta(minutes=4)).timestamp()) * 1_000_000,)
        ]
    finally:
        store.close()


def test_concluded_firings_are_trimmed_and_open_ones_kept(tmp_path: Path) -> None:
    """Concluded firings older than the newest `history` firings go; an open firing (cut off
    by a crash) stays however old, so a restart finds it."""
    store = SQLiteStore(tmp_path / "f.db")
    store.open("runner-1", history=10)
    try:
        store.write([install(), Write(program_id="p", firing=firing(minute=0))])  # stays open
        for minute in range(1, 60):
            store.write([Write(program_id="p", firing=firing(minute=minute, status="completed"))])
        rows = raw(tmp_path / "f.db", "SELECT status, COUNT(*) FROM actors_firings GROUP BY status")
        counts = dict(rows)
        assert counts["fired"] == 1
        assert 10 <= counts["completed"] <= 11  # type: ignore[operator]
        stored = store.load_program("p")
        assert stored is not None
        assert [f.scheduled_at for f in stored.open_firings] == [T0]
        # The newest concluded firing always stays, so its time is still refused.
        assert store.write([Write(program_id="p", firing=firing(minute=59))]) == ["duplicate"]
    finally:
        store.close()


def test_writes_need_an_open_store(path: Path) -> None:
    """A write before open, or after close, raises StoreError naming the store."""
    store = SQLiteStore(path)
    with pytest.raises(StoreError, match="is not open"):
        store.write([install()])
    store.open("runner-1")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match=f"store {path} is not open"):
        store.write([install()])


def test_a_write_carrying_another_programs_row_is_refused() -> None:
    """A Write whose rows belong to another program fails at construction."""
    with pytest.raises(ValueError, match="carries a run of 'q'"):
        Write(program_id="p", run=run("q"))


# --- reading ---------------------------------------------------------------------------------


def test_reads_see_whole_batches_while_another_thread_writes(store: SQLiteStore) -> None:
    """Loads on one thread while another commits batches see each batch whole: a program's
    counter always equals the runs committed with it in the same batch."""
    store.write([install()])
    enough = threading.Event()  # the reader has read enough times, while batches came
    errors: list[BaseException] = []
    written = [0]

    def write() -> None:
        try:
            number = 0
            while not enough.is_set() or number < 50:
                number += 1
                store.write(
                    [
                        Write(program_id="p", run=run(number=number)),
                        Write(program_id="p", program=program(runs=number)),
                    ]
                )
            written[0] = number
        except BaseException as error:
            errors.append(error)
            enough.set()

    writer = threading.Thread(target=write)
    writer.start()
    counts = []
    for _ in range(30):
        (stored,) = store.load()
        assert stored.row.runs == len(stored.runs)
        counts.append(stored.row.runs)
    enough.set()
    writer.join()
    assert not errors
    assert counts == sorted(counts)  # snapshots only move forward
    (stored,) = store.load()
    assert stored.row.runs == len(stored.runs) == written[0]


def test_a_store_held_by_a_runner_can_be_read_without_opening(
    store: SQLiteStore, path: Path
) -> None:
    """Another store object on the same file reads it without `open`, as `actors status`
    does; a file that is not there is a StoreError."""
    store.write([install("a"), install("b")])
    reader = SQLiteStore(path)
    assert [p.row.id for p in reader.load()] == ["a", "b"]
    assert reader.load_program("b") is not None
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteStore(path.with_name("missing.db")).load()


# --- several runners on one file ------------------------------------------------------------


def test_a_second_store_in_the_same_process_opens_and_shares_the_file(
    store: SQLiteStore, path: Path
) -> None:
    """A second SQLiteStore opens the file another one holds; each sees the other's writes:
    a firing the first stored is a duplicate for the second, and a program either installs
    goes last in install order."""
    second = SQLiteStore(path)
    second.open("runner-2")
    try:
        assert store.write([install("a"), Write(program_id="a", firing=firing("a", 1))]) == [
            "ok",
            "ok",
        ]
        assert second.write([install("b"), Write(program_id="a", firing=firing("a", 1))]) == [
            "ok",
            "duplicate",
        ]
        assert store.write([install("c")]) == ["ok"]
        assert [p.row.id for p in second.load()] == ["a", "b", "c"]
        assert store.load_program("b") is not None  # a program only the other one wrote
    finally:
        second.close()


def test_opening_an_open_store_again_is_refused(store: SQLiteStore) -> None:
    """`open` on a store already open raises StoreError and leaves it open."""
    with pytest.raises(StoreError, match="open already"):
        store.open("runner-1")
    assert store.write([install()]) == ["ok"]


def test_a_store_another_live_process_holds_opens_and_reads_its_writes(path: Path) -> None:
    """While another process holds the store open (and has committed a program), this one
    opens it too, reads that program, and writes beside it."""
    child = start_child("hold", str(path), "child-runner")
    try:
        wait_for_line(child, "holding ")
        store = SQLiteStore(path)
        store.open("runner-1")
        try:
            assert [p.row.id for p in store.load()] == ["from-child"]
            assert store.write([install("mine")]) == ["ok"]
        finally:
            store.close()
        end_child(child)
        assert child.returncode == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()


def test_a_database_locked_by_another_process_is_an_error(path: Path) -> None:
    """A write transaction held by another process (not a runner) makes open, and writes of
    an open store, fail with StoreError after `busy_timeout`, naming the lock; the failed
    open leaves the store free, and a write after the lock ends succeeds."""
    seed = SQLiteStore(path)
    seed.open("seed")
    seed.close()
    store = SQLiteStore(path, busy_timeout=0.1)
    child = start_child("lock", str(path))
    try:
        wait_for_line(child, "locked")
        with pytest.raises(StoreError, match="locked by another process holding a write"):
            store.open("runner-1")
    finally:
        end_child(child)
    store.open("runner-1")  # the failed open left nothing held
    try:
        child = start_child("lock", str(path))
        try:
            wait_for_line(child, "locked")
            with pytest.raises(StoreError, match="locked by another process") as caught:
                store.write([install()])
            assert "none of the 1 change(s)" in str(caught.value)
        finally:
            end_child(child)
        assert store.write([install()]) == ["ok"]
        assert store.load_program("p") is not None
    finally:
        store.close()
