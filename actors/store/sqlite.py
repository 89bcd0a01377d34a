"""SQLiteStore: a runner's programs in one SQLite file (stdlib `sqlite3`), on one machine.

The file is in WAL mode with `synchronous=NORMAL`. A commit appends the batch to the `-wal`
file with write(2), and only checkpoints call fsync: a process killed at any moment (`kill
-9`) loses nothing committed, and at most the batch it was committing; a power cut or an OS
crash may also lose the commits since the last checkpoint, never consistency (the store comes
back as it was after some earlier commit). WAL also lets `load` read on any thread while the
writer thread writes.

Several runners (processes of one machine, such as gunicorn workers) may share the file: each
batch reads what the checks of `Write` need inside its `BEGIN IMMEDIATE` transaction, which
holds SQLite's one write lock on the file (`sqlite_batch`), and the store's `coordinator`
(`sqlite_coordinator.py`) leases the programs to the runners and carries calls between them.
A file that is not an actors store is never written to: `open` reads it first, read-only.
(Reading a file in WAL mode, SQLite itself may leave its `-wal` and `-shm` files beside it.)
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

from actors.errors import StoreError
from actors.store import schema
from actors.store import sqlite_checks as checks
from actors.store.abc import (
    ProgramRow,
    RunRow,
    Serializer,
    Store,
    StoredProgram,
    Write,
    WriteResult,
)
from actors.store.batch_plan import Draft, TrimSchedule, plan_batch
from actors.store.reads import load_all, load_one, load_recent, load_rows
from actors.store.serializers import serializer_of
from actors.store.sqlite_batch import BATCH_DDL, read_books, statements, trim_statements
from actors.store.sqlite_coordinator import SQLiteCoordinator
from actors.validation import check_int, check_non_empty_str, check_seconds

__all__ = ["SQLiteStore"]


class SQLiteStore(Store):
    """A store in one SQLite file: `Runner(store="actors.db")` or `SQLiteStore(path)`.

    Args:
        path: the file; created (with its tables) by `open` if it does not exist, in a
            directory that must.
        serializer: how states are kept: `"json"` (the default), `"pickle"`, or a
            `Serializer`. A store keeps the name it was made with and refuses another.
        flush_interval: the longest a write waits for its batch to commit (seconds).
        busy_timeout: how long to wait for another process's write transaction on the file
            (another runner's batch, say) before giving up with `StoreError` (seconds).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        serializer: str | Serializer = "json",
        flush_interval: float = 0.01,
        busy_timeout: float = 5.0,
    ) -> None:
        self._path = Path(os.fspath(path)).expanduser().resolve()
        self._serializer = serializer_of(serializer)
        self.flush_interval = check_seconds(
            "flush_interval", flush_interval, error=ValueError, type_error=TypeError
        )
        self._busy_timeout = check_seconds(
            "busy_timeout", busy_timeout, error=ValueError, type_error=TypeError
        )
        self._name = f"store {self._path}"
        self._history = 1000
        self._trims = TrimSchedule(self._history)
        self._conn: sqlite3.Connection | None = None  # the writer's
        self._writing = threading.Lock()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self._path)!r}, serializer={self._serializer.name!r})"

    @property
    def path(self) -> Path:
        """The file, as an absolute path."""
        return self._path

    @property
    def url(self) -> str:
        return f"sqlite:///{self._path}"

    @property
    def serializer(self) -> Serializer:
        return self._serializer

    # --- opening and closing ----------------------------------------------------------------

    def open(self, runner_id: str, *, history: int = 1000) -> None:
        """Check the file, and create or migrate the schema.

        In this order, so that a bad store is refused before anything is written or made
        beside it: the directory and the file's header (`check_place`), permissions
        (`check_writable`), the schema read-only (`inspect`), then one transaction that
        checks again and creates or migrates (once, however many runners open it at once:
        the transaction holds the write lock). Other runners may hold the file: the
        `coordinator` records this one and shares the programs.
        """
        check_non_empty_str("runner_id", runner_id, error=ValueError)
        history = check_int("history", history, at_least=0, error=ValueError)
        if self._conn is not None:
            msg = f"{self._name} is open already: close it first"
            raise StoreError(msg)
        self._history = history
        checks.check_place(self._path)
        checks.check_writable(self._path)
        if self._path.exists() and self._path.stat().st_size > 0:
            self._probe()  # what the file is, before anything is written or made beside it
        conn = self._connect()
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._trims = TrimSchedule(history)

    def close(self) -> None:
        with self._writing:  # a batch being written finishes first
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()  # the last connection checkpoints the WAL into the file

    def _probe(self) -> None:
        """Check the file read-only: an actors store this code can open, or an empty one."""
        try:
            with contextlib.closing(self._reader()) as conn:
                self._inspect(conn, migrating=True)
        except sqlite3.Error as error:
            raise self._error(error, "cannot be opened") from error

    def _connect(self, *, batch: bool = True) -> sqlite3.Connection:
        """A connection to the file in WAL mode; the writer's has the `actors_batch` view
        (`batch`), a coordinator's does not."""
        try:
            # check_same_thread=False: opened here, then used by the writer thread only (or by
            # a coordinator, under its lock).
            conn = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as error:
            raise self._error(error, "cannot be opened") from error
        try:
            mode = self._wal(conn)
            if mode != "wal":
                msg = (
                    f"{self._name} cannot use WAL journal mode (it stays in {mode!r} mode): put "
                    "it on a local disk"
                )
                raise StoreError(msg)
            conn.execute("PRAGMA synchronous = NORMAL")  # enough for WAL: see the module doc
            for statement in BATCH_DDL if batch else ():  # on this connection only
                conn.execute(statement)
        except BaseException as error:
            conn.close()
            if isinstance(error, sqlite3.Error):
                raise self._error(error, "cannot be opened") from error
            raise
        return conn

    def _wal(self, conn: sqlite3.Connection) -> str:
        """Put the file in WAL mode (once: it stays so), and say the mode it is in.

        Runners opening a new file at once contend for the switch, and SQLite does not wait
        for that lock with its busy timeout (it fails at once, so as not to deadlock): the
        switch is tried again until the busy timeout has passed.
        """
        deadline = time.monotonic() + self._busy_timeout
        pause = 0.001
        while True:
            try:
                (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
                if str(mode).lower() != "wal":
                    (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
                return str(mode).lower()
            except sqlite3.OperationalError as error:
                busy = str(getattr(error, "sqlite_errorname", "")).startswith("SQLITE_BUSY")
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)  # sleep-ok: SQLite gives no signal when the lock is let go
            pause = min(2 * pause, 0.05)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Create or migrate the schema, in one transaction."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = self._inspect(conn, migrating=True)
                if version is None:
                    schema.create(conn, serializer=self._serializer.name, created_at=_now())
                else:
                    steps = schema.plan(version, store=self._name)
                    schema.migrate(conn, steps, store=self._name)
                    checks.check_tables(conn, self._path)
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        except sqlite3.Error as error:
            raise self._error(error, "cannot be opened") from error

    # --- reading ----------------------------------------------------------------------------

    def load(self) -> list[StoredProgram]:
        with self._reading() as conn:
            return [] if conn is None else load_all(conn, "?", self._history)

    def coordinator(self, runner_id: str) -> SQLiteCoordinator:
        """The coordinator of `runner_id` on this file, on a connection of its own.

        Raises:
            StoreError: the store is not open.
        """
        if self._conn is None:
            msg = f"{self._name} is not open: a coordinator needs open() first"
            raise StoreError(msg)
        connect = functools.partial(self._connect, batch=False)
        return SQLiteCoordinator(runner_id, connect, self._path, self._busy_timeout)

    def program_rows(self) -> list[ProgramRow]:
        with self._reading() as conn:
            return [] if conn is None else load_rows(conn)

    def recent_runs(self, after: int = 0, limit: int = 100) -> list[tuple[int, RunRow]]:
        with self._reading() as conn:
            return [] if conn is None else load_recent(conn, "?", after, limit)

    def load_program(self, program_id: str) -> StoredProgram | None:
        with self._reading() as conn:
            return None if conn is None else load_one(conn, "?", self._history, program_id)

    def _reader(self) -> sqlite3.Connection:
        """A read-only connection of the calling thread's own."""
        uri = f"file:{quote(str(self._path))}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=self._busy_timeout, isolation_level=None)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """A connection in a read transaction (one snapshot, however long the writer writes),
        or `None` for a store with nothing in it yet. A store that is not open is checked
        first, read-only: `actors status` reads a store runners hold."""
        opened = self._conn is not None
        if not opened and not self._path.exists():
            msg = f"{self._name} does not exist: check the path"
            raise StoreError(msg)
        try:
            with contextlib.closing(self._reader()) as conn:
                conn.execute("BEGIN")
                if not opened and self._inspect(conn) is None:
                    yield None
                else:
                    yield conn
                conn.execute("COMMIT")
        except sqlite3.Error as error:
            raise self._error(error, "cannot be read") from error

    # --- writing ----------------------------------------------------------------------------

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        if not batch:
            return []
        with self._writing:
            conn = self._conn
            if conn is None:
                msg = f"{self._name} is not open: writes need open() first"
                raise StoreError(msg)
            limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            try:
                # The write lock first, then the reads: no other runner writes in between.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    books, stored = read_books(conn, batch, limit)
                    results, grown, segments = plan_batch(batch, Draft(books), stored)
                    since_trim, due = self._trims.due(grown)
                    todo = statements(segments, limit) + trim_statements(due, self._history, limit)
                    for sql, parameters in todo:
                        conn.execute(sql, parameters)
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
            except Exception as error:
                # Whatever failed (SQLite, or a row it cannot hold), the batch was rolled back.
                after = f"none of the {len(batch)} change(s) of this batch was written"
                if isinstance(error, sqlite3.Error):
                    raise self._error(error, "cannot be written", after) from error
                msg = f"{self._name} cannot be written ({error}): {after}"
                raise StoreError(msg) from error
            self._trims.since = since_trim
            return results

    def _inspect(self, conn: sqlite3.Connection, *, migrating: bool = False) -> int | None:
        return checks.inspect(
            conn, self._path, serializer=self._serializer.name, migrating=migrating
        )

    def _error(self, error: sqlite3.Error, doing: str, after: str = "") -> StoreError:
        return checks.explain(
            error, self._path, doing, busy_timeout=self._busy_timeout, after=after
        )


def _now() -> int:
    """Now, in microseconds since the Unix epoch: when a runner came, not scheduling time."""
    return time.time_ns() // 1000


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already (it does on some errors)."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
