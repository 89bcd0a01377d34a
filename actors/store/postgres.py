"""PostgresStore: a runner's programs in a PostgreSQL database (psycopg 3), for several machines.

The tables are the SQLite store's (`schema`, in PostgreSQL's dialect), every name starting
`actors_`, so a store can share a database with an application's own tables. A store is
created or migrated in one transaction, under an advisory lock so that runners starting
together do it once.

Writes: one transaction per batch on the writer connection, the batch planned in Python with
`Write`'s rules (`batch_plan`) from what the transaction reads of the batch's programs (their
epochs, locked `FOR UPDATE`, and which of its firings are stored), then written with pipelined
`executemany`. So the checks hold whoever else writes the database. Reads take a connection of
a small pool, in a read-only repeatable-read transaction: one snapshot, however long the
writer writes.

Several runners share a store: its `coordinator` (`postgres_coordinator.py`) leases the
programs to them, and carries calls between them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from actors.errors import StoreError
from actors.store import schema
from actors.store.abc import (
    ProgramRow,
    RunRow,
    Serializer,
    Store,
    StoredProgram,
    Write,
    WriteResult,
)
from actors.store.batch_plan import Books, Draft, RowKind, Segment, TrimSchedule, plan_batch
from actors.store.codec import (
    FIRING_COLUMNS,
    PROGRAM_COLUMNS,
    PROGRAM_UPDATED,
    RUN_COLUMNS,
    to_micros,
)
from actors.store.postgres_checks import inspect
from actors.store.postgres_coordinator import ORDER_LOCK, PostgresCoordinator, session_name
from actors.store.reads import load_all, load_one, load_recent, load_rows
from actors.store.serializers import serializer_of
from actors.validation import check_int, check_non_empty_str, check_seconds

__all__ = ["PostgresStore"]

#: The advisory lock keys (any 64-bit numbers; these spell "actors" and a purpose).
_SCHEMA_LOCK = 0x6163746F72730001


#: A runner frozen (`SIGSTOP`) inside a transaction would hold its rows' locks, and keep
#: the other runners from taking its programs over: the server ends such a transaction, idle
#: or stuck in a statement, after a sixth of the lease (what a heartbeat may take). One
#: frozen halfway through a pipeline escapes both: the others end its sessions
#: (`postgres_coordinator.py`), found by the `application_name` each connection carries.
_SESSION = "-c idle_in_transaction_session_timeout={idle} -c statement_timeout={statement}"


def _columns(names: Sequence[str]) -> str:
    return ", ".join(names)


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


_FIRING_UPSERT = (
    f"INSERT INTO actors_firings ({_columns(FIRING_COLUMNS)}) "
    f"VALUES ({_marks(len(FIRING_COLUMNS))}) "
    "ON CONFLICT (program_id, scheduled_at) DO UPDATE SET status = excluded.status, "
    "run_id = COALESCE(excluded.run_id, actors_firings.run_id), "
    "runner_id = COALESCE(excluded.runner_id, actors_firings.runner_id)"
)
_PROGRAM_UPSERT = (
    f"INSERT INTO actors_programs ({_columns(PROGRAM_COLUMNS)}, install_order) "
    f"VALUES ({_marks(len(PROGRAM_COLUMNS) + 1)}) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in PROGRAM_UPDATED)
)
_RUN_INSERT = (
    f"INSERT INTO actors_runs ({_columns(RUN_COLUMNS)}) VALUES ({_marks(len(RUN_COLUMNS))})"
)
_INSERTS = {"firing": _FIRING_UPSERT, "program": _PROGRAM_UPSERT, "run": _RUN_INSERT}
_TRIM_RUNS = (
    "DELETE FROM actors_runs WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
    "(PARTITION BY program_id ORDER BY id DESC) AS newest FROM actors_runs "
    "WHERE program_id = ANY(%s)) AS ranked WHERE newest > %s)"
)
_TRIM_FIRINGS = (
    "DELETE FROM actors_firings WHERE (program_id, scheduled_at) IN (SELECT program_id, "
    "scheduled_at FROM (SELECT program_id, scheduled_at, status, row_number() OVER "
    "(PARTITION BY program_id ORDER BY scheduled_at DESC) AS newest FROM actors_firings "
    "WHERE program_id = ANY(%s)) AS ranked WHERE newest > %s AND status <> 'fired')"
)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as error:  # pragma: no cover - depends on the installation
        msg = "PostgreSQL stores need psycopg: pip install 'actors[postgres]'"
        raise StoreError(msg) from error
    return psycopg


def _masked(url: str) -> str:
    """`url` with its password replaced by `***`, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresStore(Store):
    """A store in a PostgreSQL database: `Runner(store="postgresql://...")`.

    Args:
        url: a libpq connection URL (`postgresql://user:password@host:5432/dbname`).
        serializer: how states are kept: `"json"` (the default), `"pickle"`, or a
            `Serializer`. A store keeps the name it was made with and refuses another.
        flush_interval: the longest a write waits for its batch to commit (seconds).
        connect_timeout: how long to wait for the server (seconds).
        pool_size: the most connections reads take at once.
    """

    def __init__(
        self,
        url: str,
        *,
        serializer: str | Serializer = "json",
        flush_interval: float = 0.01,
        connect_timeout: float = 10.0,
        pool_size: int = 4,
    ) -> None:
        check_non_empty_str("url", url, error=ValueError)
        if not url.startswith(("postgresql://", "postgres://")):
            msg = f"url must start with postgresql://, got {_masked(url)!r}"
            raise ValueError(msg)
        self._url = url
        self._serializer = serializer_of(serializer)
        self.flush_interval = check_seconds(
            "flush_interval", flush_interval, error=ValueError, type_error=TypeError
        )
        self._connect_timeout = check_seconds(
            "connect_timeout", connect_timeout, error=ValueError, type_error=TypeError
        )
        self._pool_size = check_int("pool_size", pool_size, at_least=1, error=ValueError)
        self._name = f"store {_masked(url)}"
        self._history = 1000
        self._trims = TrimSchedule(self._history)
        self._conn: Any = None  # the writer's connection
        self._guard = 2500  # milliseconds a transaction may idle (a sixth of a 15 s lease)
        self._session = "actors"  # each connection's application_name, the runner's once open
        self._pool: Any = None

    def __repr__(self) -> str:
        return f"PostgresStore({_masked(self._url)!r}, serializer={self._serializer.name!r})"

    @property
    def url(self) -> str:
        return _masked(self._url)

    @property
    def serializer(self) -> Serializer:
        return self._serializer

    def use_lease(self, lease: float) -> None:
        self._guard = max(100, round(lease * 1000 / 6))

    # --- opening and closing ----------------------------------------------------------------

    def open(self, runner_id: str, *, history: int = 1000) -> None:
        """Connect, create or migrate the schema."""
        check_non_empty_str("runner_id", runner_id, error=ValueError)
        history = check_int("history", history, at_least=0, error=ValueError)
        if self._conn is not None:
            msg = f"{self._name} is open already: close it first"
            raise StoreError(msg)
        psycopg = _psycopg()
        self._session = session_name(runner_id)
        conn = self._connect()
        try:
            with self._errors(psycopg, "cannot be opened"), conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                version = self._inspect(conn, migrating=True)
                if version is None:
                    schema.create(
                        conn,
                        serializer=self._serializer.name,
                        created_at=_now(),
                        dialect=schema.POSTGRESQL,
                    )
                else:
                    steps = schema.plan(version, store=self._name)
                    schema.migrate(conn, steps, store=self._name, dialect=schema.POSTGRESQL)
            from psycopg_pool import ConnectionPool

            pool = ConnectionPool(
                self._url,
                min_size=1,
                max_size=self._pool_size,
                kwargs={
                    "connect_timeout": max(1, round(self._connect_timeout)),
                    "application_name": self._session,
                },
                check=ConnectionPool.check_connection,  # one lost with the server: again
                configure=_for_reading,
                open=True,
                name=f"actors-{runner_id}-reads",
            )
        except BaseException:
            conn.close()
            raise
        self._conn, self._pool, self._history = conn, pool, history
        self._trims = TrimSchedule(history)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _connect(self) -> Any:
        psycopg = _psycopg()
        try:
            return psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=max(1, round(self._connect_timeout)),
                options=_SESSION.format(idle=self._guard, statement=self._guard * 2),
                application_name=self._session,
            )
        except psycopg.Error as error:
            msg = (
                f"{self._name} cannot be opened ({str(error).strip()}): check that the server "
                "runs, and the URL's host, port, user, password and database"
            )
            raise StoreError(msg) from error

    @contextlib.contextmanager
    def _errors(self, psycopg: Any, doing: str, after: str = "") -> Iterator[None]:
        try:
            yield
        except psycopg.Error as error:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
            msg = f"{self._name} {doing} ({detail}): check the server and its logs" + (
                f"; {after}" if after else ""
            )
            raise StoreError(msg) from error

    def _inspect(self, conn: Any, *, migrating: bool = False) -> int | None:
        return inspect(conn, self._name, serializer=self._serializer.name, migrating=migrating)

    def coordinator(self, runner_id: str) -> PostgresCoordinator | None:
        if self._conn is None:
            msg = f"{self._name} is not open: a coordinator needs open() first"
            raise StoreError(msg)
        return PostgresCoordinator(runner_id, self._connect, self._name)

    # --- reading ----------------------------------------------------------------------------

    def load(self) -> list[StoredProgram]:
        with self._reading() as conn:
            return [] if conn is None else load_all(conn, "%s", self._history)

    def program_rows(self) -> list[ProgramRow]:
        with self._reading() as conn:
            return [] if conn is None else load_rows(conn)

    def recent_runs(self, after: int = 0, limit: int = 100) -> list[tuple[int, RunRow]]:
        with self._reading() as conn:
            return [] if conn is None else load_recent(conn, "%s", after, limit)

    def load_program(self, program_id: str) -> StoredProgram | None:
        with self._reading() as conn:
            return None if conn is None else load_one(conn, "%s", self._history, program_id)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        """A connection in a read-only repeatable-read transaction, or `None` for a store
        with none of our tables yet. A store that is not open reads on a connection of its
        own and is checked first: `actors status` reads a store a runner holds."""
        psycopg = _psycopg()
        with self._errors(psycopg, "cannot be read"):
            if self._pool is not None:
                with self._pool.connection() as conn, conn.transaction():
                    yield conn
                return
            with contextlib.closing(self._connect()) as conn:
                _for_reading(conn)
                with conn.transaction():
                    yield None if self._inspect(conn) is None else conn

    # --- writing ----------------------------------------------------------------------------

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        if not batch:
            return []
        conn = self._conn
        if conn is None:
            msg = f"{self._name} is not open: writes need open() first"
            raise StoreError(msg)
        if conn.closed or conn.broken:  # lost with the server or the network: again
            conn = self._conn = self._connect()
        psycopg = _psycopg()
        after = f"none of the {len(batch)} change(s) of this batch was written"
        try:
            with self._errors(psycopg, "cannot be written", after), conn.transaction():
                draft = Draft(self._books(conn, batch))
                stored = self._stored_firings(conn, batch)
                results, grown, segments = plan_batch(batch, draft, stored)
                since, due = self._trims.due(grown)
                with conn.cursor() as cursor:
                    for segment in segments:
                        _write_segment(cursor, segment)
                    if due:
                        cursor.execute(_TRIM_RUNS, (due, self._history))
                        cursor.execute(_TRIM_FIRINGS, (due, max(self._history, 1)))
        except StoreError:
            raise
        except Exception as error:  # a row the store cannot hold: nothing was written
            msg = f"{self._name} cannot be written ({error}): {after}"
            raise StoreError(msg) from error
        self._trims.since = since
        return results

    @staticmethod
    def _books(conn: Any, batch: Sequence[Write]) -> Books:
        """The epochs of the batch's programs (locked until the batch commits) and the next
        install order: what the plan needs of the stored rows."""
        ids = sorted({write.program_id for write in batch})
        epochs = dict(
            conn.execute(
                "SELECT id, epoch FROM actors_programs WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                (ids,),
            ).fetchall()
        )
        if any(w.program is not None and w.program_id not in epochs for w in batch):
            # A new program goes last: writers that add programs take turns, so two never
            # give the same install order (a replaced program keeps its own).
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (ORDER_LOCK,))
        (most,) = conn.execute(
            "SELECT COALESCE(MAX(install_order), 0) FROM actors_programs"
        ).fetchone()
        return Books(epochs=epochs, next_order=int(most) + 1)

    @staticmethod
    def _stored_firings(conn: Any, batch: Sequence[Write]) -> set[tuple[str, int]]:
        """Which firings of the batch are stored already (all are looked up: another runner
        may have written any of them)."""
        keys = [
            (write.program_id, to_micros(write.firing.scheduled_at))
            for write in batch
            if write.firing is not None
        ]
        if not keys:
            return set()
        ids, times = [key[0] for key in keys], [key[1] for key in keys]
        rows = conn.execute(
            "SELECT f.program_id, f.scheduled_at FROM actors_firings AS f "
            "JOIN unnest(%s::text[], %s::bigint[]) AS k(program_id, scheduled_at) "
            "ON f.program_id = k.program_id AND f.scheduled_at = k.scheduled_at",
            (ids, times),
        ).fetchall()
        return {(program_id, at) for program_id, at in rows}


def _write_segment(cursor: Any, segment: Segment) -> None:
    """Each table's rows with one pipelined `executemany`, in order within the table."""
    by_kind: dict[RowKind, list[tuple[Any, ...]]] = {}
    for kind, values in segment.all_rows():
        by_kind.setdefault(kind, []).append(values)
    for kind, rows in by_kind.items():
        cursor.executemany(_INSERTS[kind], rows)
    if segment.delete is not None:
        for table, column in (
            ("actors_programs", "id"),
            ("actors_runs", "program_id"),
            ("actors_firings", "program_id"),
        ):
            cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", (segment.delete,))


def _for_reading(conn: Any) -> None:
    """Make `conn`'s transactions read-only snapshots (repeatable read)."""
    psycopg = _psycopg()
    conn.autocommit = True  # transaction() then begins with the settings below
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True


def _now() -> int:
    """Now, in microseconds since the Unix epoch: when the store was made, not scheduling time."""
    return time.time_ns() // 1000
