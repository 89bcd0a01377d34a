"""SQLiteCoordinator: leases, heartbeats and calls between the runners of one SQLite file.

The runners are processes of one machine (the workers of a gunicorn, say) sharing one store
file. The rules are `Coordinator`'s, kept as `PostgresCoordinator` keeps them. Where
PostgreSQL locks rows (`FOR UPDATE SKIP LOCKED`), each method that changes rows here is one
`BEGIN IMMEDIATE` transaction: it takes SQLite's one write lock on the whole file before it
reads, so two runners claiming at once take turns, and the second sees what the first took.
The lock is held for a few statements, and a runner waits up to the store's `busy_timeout`
for it. Every change of owner moves the program's epoch on, which fences the writes of the
owner it was taken from (`SQLiteStore.write` reads epochs in its own transaction).

SQLite cannot wake another process: `wakes` is false, so the membership polls `pending`, and
`call` polls for its answer. The statements avoid `RETURNING` (SQLite 3.35): under the write
lock, reading the rows and then changing them is just as atomic.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from actors.errors import StoreError
from actors.store import sqlite_checks as checks
from actors.store.abc import Command, Coordinator, RunnerRow
from actors.store.runner_liveness import FORGET, this_host
from actors.store.runner_rows import RunnerStatements, refuse_if_in_use, runner_rows
from actors.store.schema import SQLITE

__all__ = ["SQLiteCoordinator"]

_SQL = RunnerStatements(SQLITE)

#: How often `call` looks for its answer (seconds).
ANSWER_POLL = 0.02

#: Ids per `IN (...)` list: far below SQLite's oldest limit of 999 parameters a statement.
_CHUNK = 500


def _free(dead: str) -> str:
    """Programs nobody holds (`_FREE` of the PostgreSQL coordinator): no owner, a dead one
    (`dead`: the marks of the dead runners' ids), or a lapsed lease (a row written by an
    install has no lease yet: it is held while its owner is heard of)."""
    return (
        f"(owner IS NULL OR owner IN ({dead}) OR (owner <> :me AND CASE WHEN lease_expires "
        "IS NULL THEN owner NOT IN (SELECT id FROM actors_runners WHERE heartbeat >= :alive) "
        "ELSE lease_expires < :now END))"
    )


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(values: Sequence[str]) -> str:
    return ", ".join("?" * len(values))


class SQLiteCoordinator(Coordinator):
    """The coordinator of runner `runner_id` on the SQLite store at `path`.

    Args:
        runner_id: this runner.
        connect: opens a new connection to the store, as its writer's (WAL, the busy
            timeout, autocommit: transactions are begun explicitly).
        path: the store, for messages.
        busy_timeout: how long a connection waits for the write lock (seconds), for messages.
    """

    wakes = False

    def __init__(
        self,
        runner_id: str,
        connect: Callable[[], sqlite3.Connection],
        path: Path,
        busy_timeout: float,
    ) -> None:
        self.runner_id = runner_id
        self._connect = connect
        self._path = path
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = connect()
        # The membership calls from its thread and from callers' threads: one at a time.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SQLiteCoordinator({self.runner_id!r})"

    @contextlib.contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """The coordinator's connection in one transaction: `BEGIN IMMEDIATE` (the write lock,
        taken before reading) to change rows, a plain `BEGIN` (one snapshot) to read them."""
        with self._lock:
            conn = self._conn
            if conn is None:
                msg = f"store {self._path}: the coordinator of {self.runner_id!r} is closed"
                raise StoreError(msg)
            with self._errors(), _transaction(conn, "BEGIN IMMEDIATE" if write else "BEGIN"):
                yield conn

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise checks.explain(
                error, self._path, "cannot coordinate its runners", busy_timeout=self._busy_timeout
            ) from error

    # --- runners ----------------------------------------------------------------------------

    def join(self, *, now: int, span: int) -> None:
        host, pid = this_host(), os.getpid()
        with self._transaction() as conn:
            row = conn.execute(_SQL.find, (self.runner_id,)).fetchone()
            store = f"store {self._path}"
            refuse_if_in_use(row, self.runner_id, store, pid=pid, host=host, now=now, span=span)
            conn.execute(_SQL.join, (self.runner_id, pid, host, now, now))
            # What an earlier runner of this id held, it held in a process that is gone.
            conn.execute(_SQL.free_all, (self.runner_id,))

    def heartbeat(self, now: int, span: int) -> None:
        with self._transaction() as conn:
            conn.execute(_SQL.heartbeat, (self.runner_id, os.getpid(), this_host(), now, now))
            conn.execute(_SQL.forget, (now - FORGET * span, self.runner_id))

    def runners(self) -> list[RunnerRow]:
        with self._transaction(write=False) as conn:
            return runner_rows(conn.execute(_SQL.everyone).fetchall())

    def leave(self) -> None:
        with self._transaction() as conn:
            conn.execute(_SQL.free_all, (self.runner_id,))
            conn.execute(_SQL.leave, (self.runner_id,))
            conn.execute(
                "DELETE FROM actors_commands WHERE runner_id = ? AND taken = 0", (self.runner_id,)
            )

    # --- leases -----------------------------------------------------------------------------

    def _params(self, now: int, span: int, dead: Collection[str]) -> tuple[dict[str, Any], str]:
        """The named parameters of `_free` and `_share`, and the marks of the dead runners."""
        names = [f"dead{n}" for n in range(len(dead))]
        params: dict[str, Any] = {"me": self.runner_id, "now": now, "alive": now - span}
        params.update(zip(names, dead, strict=True))
        return params, ", ".join(f":{name}" for name in names)

    @staticmethod
    def _share(conn: sqlite3.Connection, params: Mapping[str, Any], dead: str) -> int:
        (live,) = conn.execute(
            "SELECT COUNT(*) FROM actors_runners WHERE (heartbeat >= :alive "
            f"AND id NOT IN ({dead})) OR id = :me",
            params,
        ).fetchone()
        (total,) = conn.execute("SELECT COUNT(*) FROM actors_programs").fetchone()
        return -(-int(total) // max(1, int(live)))  # rounded up

    def share(self, *, now: int, span: int, dead: Collection[str] = ()) -> int:
        params, marks = self._params(now, span, dead)
        with self._transaction(write=False) as conn:
            return self._share(conn, params, marks)

    def claim(
        self,
        *,
        now: int,
        span: int,
        dead: Collection[str] = (),
        skip: Collection[str] = (),
        prefer: Collection[str] = (),
    ) -> dict[str, int]:
        params, marks = self._params(now, span, dead)
        with self._transaction() as conn:
            (held,) = conn.execute(
                "SELECT COUNT(*) FROM actors_programs WHERE owner = :me", params
            ).fetchone()
            wanted = self._share(conn, params, marks) - int(held)
            if wanted <= 0:
                return {}
            # The write lock is held since BEGIN: nobody changes these rows before the update.
            # Skipped and preferred programs are few: they are sorted here, not in SQL.
            free = conn.execute(
                f"SELECT id, epoch FROM actors_programs WHERE {_free(marks)} "
                "AND schedule <> '' ORDER BY install_order",
                params,
            ).fetchall()
            first = set(prefer)
            chosen = sorted(
                (row for row in free if row[0] not in set(skip)),
                key=lambda row: row[0] not in first,
            )[:wanted]
            conn.executemany(
                "UPDATE actors_programs SET owner = ?, lease_expires = ?, epoch = epoch + 1 "
                "WHERE id = ?",
                [(self.runner_id, now + span, program_id) for program_id, _ in chosen],
            )
        return {program_id: int(epoch) + 1 for program_id, epoch in chosen}

    def owned(self) -> dict[str, int]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT id, epoch FROM actors_programs WHERE owner = ?", (self.runner_id,)
            ).fetchall()
        return {program_id: int(epoch) for program_id, epoch in rows}

    def take(
        self, program_id: str, *, now: int, span: int, dead: Collection[str] = ()
    ) -> int | None:
        params, marks = self._params(now, span, dead)
        with self._transaction() as conn:
            taken = conn.execute(
                "UPDATE actors_programs SET owner = :me, lease_expires = :until, "
                f"epoch = epoch + 1 WHERE id = :id AND {_free(marks)}",
                {**params, "until": now + span, "id": program_id},
            ).rowcount
            if taken != 1:
                return None
            (epoch,) = conn.execute(
                "SELECT epoch FROM actors_programs WHERE id = ?", (program_id,)
            ).fetchone()
        return int(epoch)

    def reserve(self, program_id: str, state: bytes, *, now: int, span: int) -> int | None:
        with self._transaction() as conn:
            # New programs go last; the write lock makes this runner the only one adding now.
            # (`WHERE true`: SQLite's upsert after a SELECT needs a WHERE to parse.)
            made = conn.execute(
                "INSERT INTO actors_programs (id, install_order, schedule, since, state, owner, "
                "lease_expires, epoch) SELECT ?, COALESCE(MAX(install_order), 0) + 1, '', ?, "
                "?, ?, ?, ? FROM actors_programs WHERE true ON CONFLICT (id) DO NOTHING",
                (program_id, now, state, self.runner_id, now + span, now),
            ).rowcount
        return now if made == 1 else None

    def renew(self, held: Mapping[str, int], *, now: int, span: int) -> set[str]:
        if not held:
            return set()
        with self._transaction() as conn:
            stored: dict[str, tuple[str | None, int]] = {}
            for chunk in _chunks(list(held)):
                sql = f"SELECT id, owner, epoch FROM actors_programs WHERE id IN ({_marks(chunk)})"
                for program_id, owner, epoch in conn.execute(sql, chunk):
                    stored[program_id] = (owner, int(epoch))
            # A program not stored (yet: its install's first write is on its way) is not lost.
            kept = [i for i, row in stored.items() if row == (self.runner_id, held[i])]
            conn.executemany(
                "UPDATE actors_programs SET lease_expires = ? WHERE id = ?",
                [(now + span, program_id) for program_id in kept],
            )
        return set(stored) - set(kept)

    def release(self, program_ids: Collection[str]) -> None:
        if not program_ids:
            return
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE actors_programs SET owner = NULL, lease_expires = NULL, "
                "epoch = epoch + 1 WHERE owner = ? AND id = ?",
                [(self.runner_id, program_id) for program_id in program_ids],
            )

    def owner_of(self, program_id: str, *, now: int, span: int) -> tuple[str | None, bool] | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(_SQL.owner_of, (program_id,)).fetchone()
        if row is None:
            return None
        return row[0], row[1] is not None and row[1] >= now - span

    # --- commands ---------------------------------------------------------------------------

    def call(
        self, owner: str, program_id: str, kind: str, payload: bytes, *, now: int, timeout: float
    ) -> tuple[bool, bytes] | None:
        deadline = time.monotonic() + timeout
        answered = "SELECT ok, answer FROM actors_commands WHERE id = ? AND ok IS NOT NULL"
        with self._errors(), contextlib.closing(self._connect()) as conn:
            with _transaction(conn, "BEGIN IMMEDIATE"):
                command_id = conn.execute(
                    "INSERT INTO actors_commands (runner_id, program_id, kind, payload, "
                    "created_at) VALUES (?, ?, ?, ?, ?)",
                    (owner, program_id, kind, payload, now),
                ).lastrowid
            while True:
                # A read needs no lock: the answer is looked for without holding up writers.
                row = conn.execute(answered, (command_id,)).fetchone()
                remaining = deadline - time.monotonic()
                if row is None and remaining <= 0:
                    with _transaction(conn, "BEGIN IMMEDIATE"):
                        # One last look under the lock: an answer may have just come.
                        row = conn.execute(answered, (command_id,)).fetchone()
                        conn.execute("DELETE FROM actors_commands WHERE id = ?", (command_id,))
                    return None if row is None else (bool(row[0]), bytes(row[1]))
                if row is not None:
                    with _transaction(conn, "BEGIN IMMEDIATE"):
                        conn.execute("DELETE FROM actors_commands WHERE id = ?", (command_id,))
                    return bool(row[0]), bytes(row[1])
                # sleep-ok: SQLite cannot wake another process, so the caller polls (bounded).
                time.sleep(min(ANSWER_POLL, remaining))

    def pending(self) -> list[Command]:
        untaken = "SELECT 1 FROM actors_commands WHERE runner_id = ? AND taken = 0 LIMIT 1"
        with self._lock, self._errors():
            # Polled often: a read first, so that a runner with no commands never takes the
            # write lock for nothing.
            conn = self._conn
            if conn is None or conn.execute(untaken, (self.runner_id,)).fetchone() is None:
                return []
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT id, program_id, kind, payload FROM actors_commands "
                "WHERE runner_id = ? AND taken = 0 ORDER BY id",
                (self.runner_id,),
            ).fetchall()
            conn.execute(
                "UPDATE actors_commands SET taken = 1 WHERE runner_id = ? AND taken = 0",
                (self.runner_id,),
            )
        return [Command(id=r[0], program_id=r[1], kind=r[2], payload=bytes(r[3])) for r in rows]

    def answer(self, command_id: int, ok: bool, payload: bytes) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE actors_commands SET ok = ?, answer = ? WHERE id = ?",
                (int(ok), payload, command_id),
            )

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, begin: str) -> Iterator[None]:
    """`conn` in one transaction begun with `begin`: committed, or rolled back on any error
    (the commit's own included)."""
    conn.execute(begin)
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite rolls back by itself on some errors
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
