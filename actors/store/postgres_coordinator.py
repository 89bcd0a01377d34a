"""PostgresCoordinator: leases, heartbeats and calls between the runners of a PostgreSQL store.

The rules are `Coordinator`'s. Claims take programs `FOR UPDATE SKIP LOCKED`, so runners
claiming at once never take the same program and never wait for each other; every change of
owner moves the program's epoch on, which fences the writes of the owner it was taken from.
Commands wake their runner by `NOTIFY` on a channel of its own (`listen`: a thread on a
connection of its own), and their caller by a channel of the command's; the membership also
looks for commands at each beat, the fallback for a notification lost with a connection.

Each method but `call` runs on the coordinator's own connection (autocommit, one
transaction per method), from the membership thread; `call` opens a connection per call, so
any thread may make one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from actors.store.abc import Command, Coordinator, RunnerRow
from actors.store.runner_liveness import FORGET, this_host
from actors.store.runner_rows import RunnerStatements, refuse_if_in_use, runner_rows
from actors.store.schema import POSTGRESQL

__all__ = ["PostgresCoordinator"]

#: Programs nobody holds: no owner, a dead one, or a lease that lapsed (a row written by an
#: install has no lease yet: it is held while its owner is heard of).
_FREE = (
    "(owner IS NULL OR owner = ANY(%(dead)s) OR (owner <> %(me)s AND CASE WHEN lease_expires "
    "IS NULL THEN owner NOT IN (SELECT id FROM actors_runners WHERE heartbeat >= %(alive)s) "
    "ELSE lease_expires < %(now)s END))"
)


#: The advisory lock of new programs' install order (the store's writer takes it too).
ORDER_LOCK = 0x6163746F72730003


_SQL = RunnerStatements(POSTGRESQL)


def channel(runner_id: str) -> str:
    """The `NOTIFY` channel that wakes `runner_id` (an identifier whatever the id is)."""
    return "actors_" + hashlib.sha1(runner_id.encode()).hexdigest()[:24]


def session_name(runner_id: str, pid: int | None = None, host: str | None = None) -> str:
    """The `application_name` of each connection of runner `runner_id` in process `pid` of
    `host` (this one by default): how the others find its sessions in `pg_stat_activity`.

    Hashes first, so a long or non-ASCII id still matches; the process's hash, so a runner
    restarted with the same id is never taken for the process it replaced.
    """
    process = f"{host or this_host()}:{os.getpid() if pid is None else pid}"
    digest = hashlib.md5(runner_id.encode()).hexdigest()[:12]
    return f"actors {digest} {hashlib.md5(process.encode()).hexdigest()[:8]} {runner_id}"[:63]


#: A transaction open this long (seconds, by the server's clock) is one its runner is stuck in.
#: A live runner's transactions last milliseconds: ending only sessions stuck in one keeps a
#: claimer whose clock runs ahead (or a `ManualClock`) from ending a live runner's sessions.
STUCK_AFTER = 2.0


#: Ends the sessions, stuck in a transaction, of the runners whose heartbeat lapsed (waiting a
#: moment for each to go). A runner frozen (`SIGSTOP`) halfway through sending a pipeline
#: holds its rows' locks in a session neither `idle_in_transaction_session_timeout` nor
#: `statement_timeout` ends (the server waits on the client, in no statement and not idle);
#: its programs could never be taken over. Ending its sessions releases the locks; if it wakes,
#: it connects again and finds its programs' epochs moved on. A session is the lapsed row's
#: process's (by `session_name`'s process hash), never a newer process's of the same id.
_END_LAPSED = (
    "SELECT pg_terminate_backend(a.pid, 200) FROM pg_stat_activity AS a "
    "JOIN actors_runners AS r ON a.application_name LIKE 'actors ' || left(md5(r.id), 12) "
    "|| ' ' || left(md5(r.host || ':' || r.pid), 8) || ' %%' "
    "WHERE (r.heartbeat < %(alive)s OR r.id = ANY(%(dead)s)) AND r.id <> %(me)s "
    "AND a.xact_start < clock_timestamp() - make_interval(secs => %(stuck)s) "
    "AND a.usename = current_user AND a.datname = current_database() "
    "AND a.pid <> pg_backend_pid()"
)

#: Ends the sessions, stuck in a transaction, of the process a runner id was in before this one
#: (its row lapsed): what it held, it held in a process that is gone or frozen.
_END_PREDECESSOR = (
    "SELECT pg_terminate_backend(pid, 200) FROM pg_stat_activity WHERE application_name = "
    "%s AND xact_start < clock_timestamp() - make_interval(secs => %s) "
    "AND usename = current_user AND datname = current_database() AND pid <> pg_backend_pid()"
)


def _answer_channel(command_id: int) -> str:
    return f"actors_answer_{command_id}"


class PostgresCoordinator(Coordinator):
    """The coordinator of runner `runner_id` on a PostgreSQL store.

    Args:
        connect: opens a new autocommit connection to the store's database.
    """

    wakes = True

    def __init__(self, runner_id: str, connect: Callable[[], Any], name: str) -> None:
        self.runner_id = runner_id
        self._connect = connect
        self._name = name
        self._conn = connect()
        self._listener: threading.Thread | None = None
        self._closed = threading.Event()
        #: Seconds a lapsed runner's transaction must have been open for its session to be
        #: ended (`STUCK_AFTER`, or half the lease if shorter).
        self.stuck_after = STUCK_AFTER

    def __repr__(self) -> str:
        return f"PostgresCoordinator({self.runner_id!r})"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        if self._conn.closed or self._conn.broken:  # the server restarted, or the network
            self._conn = self._connect()
        with self._conn.transaction():
            yield self._conn

    # --- runners ----------------------------------------------------------------------------

    def join(self, *, now: int, span: int) -> None:
        host, pid = this_host(), os.getpid()
        with self._transaction() as conn:
            conn.execute("LOCK TABLE actors_runners IN SHARE ROW EXCLUSIVE MODE")
            row = conn.execute(_SQL.find, (self.runner_id,)).fetchone()
            refuse_if_in_use(
                row, self.runner_id, self._name, pid=pid, host=host, now=now, span=span
            )
            if row is not None and (row[0], row[1]) != (pid, host):
                predecessor = session_name(self.runner_id, row[0], row[1])
                conn.execute(_END_PREDECESSOR, (predecessor, self._stuck(span)))
            conn.execute(_SQL.join, (self.runner_id, pid, host, now, now))
            # What an earlier runner of this id held, it held in a process that is gone.
            self._free_all(conn)

    def _free_all(self, conn: Any) -> None:
        _lock(conn, "owner = %s", (self.runner_id,))
        conn.execute(_SQL.free_all, (self.runner_id,))

    def heartbeat(self, now: int, span: int) -> None:
        with self._transaction() as conn:
            conn.execute(_SQL.heartbeat, (self.runner_id, os.getpid(), this_host(), now, now))
            conn.execute(_SQL.forget, (now - FORGET * span, self.runner_id))

    def runners(self) -> list[RunnerRow]:
        with self._transaction() as conn:
            return runner_rows(conn.execute(_SQL.everyone).fetchall())

    def leave(self) -> None:
        with self._transaction() as conn:
            self._free_all(conn)
            conn.execute(_SQL.leave, (self.runner_id,))
            conn.execute(
                "DELETE FROM actors_commands WHERE runner_id = %s AND taken = 0",
                (self.runner_id,),
            )

    # --- leases -----------------------------------------------------------------------------

    def _stuck(self, span: int) -> float:
        """Seconds in a transaction after which a lapsed runner's session is stuck (`span`,
        the lease, is in microseconds)."""
        return min(self.stuck_after, span / 2e6)

    def _params(self, now: int, span: int, dead: Collection[str]) -> dict[str, Any]:
        stuck = self._stuck(span)
        alive = now - span
        return {
            "me": self.runner_id,
            "now": now,
            "alive": alive,
            "dead": list(dead),
            "stuck": stuck,
        }

    def _share(self, conn: Any, params: Mapping[str, Any]) -> int:
        (live,) = conn.execute(
            "SELECT COUNT(*) FROM actors_runners WHERE (heartbeat >= %(alive)s "
            "AND id <> ALL(%(dead)s)) OR id = %(me)s",
            params,
        ).fetchone()
        (total,) = conn.execute("SELECT COUNT(*) FROM actors_programs").fetchone()
        return -(-int(total) // max(1, int(live)))  # rounded up

    def share(self, *, now: int, span: int, dead: Collection[str] = ()) -> int:
        with self._transaction() as conn:
            return self._share(conn, self._params(now, span, dead))

    def claim(
        self,
        *,
        now: int,
        span: int,
        dead: Collection[str] = (),
        skip: Collection[str] = (),
        prefer: Collection[str] = (),
    ) -> dict[str, int]:
        params = {**self._params(now, span, dead), "skip": list(skip), "prefer": list(prefer)}
        with self._transaction() as conn:
            (held,) = conn.execute(
                "SELECT COUNT(*) FROM actors_programs WHERE owner = %(me)s", params
            ).fetchone()
            wanted = self._share(conn, params) - held
            if wanted <= 0:
                return {}
            conn.execute(_END_LAPSED, params)
            rows = conn.execute(
                "UPDATE actors_programs SET owner = %(me)s, lease_expires = %(until)s, "
                "epoch = epoch + 1 WHERE id IN (SELECT id FROM actors_programs WHERE "
                f"{_FREE} AND schedule <> '' AND id <> ALL(%(skip)s) "
                "ORDER BY id = ANY(%(prefer)s) DESC, install_order LIMIT %(wanted)s "
                "FOR UPDATE SKIP LOCKED) RETURNING id, epoch",
                {**params, "until": now + span, "wanted": wanted},
            ).fetchall()
        return dict(rows)

    def owned(self) -> dict[str, int]:
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT id, epoch FROM actors_programs WHERE owner = %s", (self.runner_id,)
            ).fetchall()
        return {program_id: int(epoch) for program_id, epoch in rows}

    def take(
        self, program_id: str, *, now: int, span: int, dead: Collection[str] = ()
    ) -> int | None:
        params = {**self._params(now, span, dead), "until": now + span, "id": program_id}
        with self._transaction() as conn:
            conn.execute(_END_LAPSED, params)
            row = conn.execute(
                "UPDATE actors_programs SET owner = %(me)s, lease_expires = %(until)s, "
                f"epoch = epoch + 1 WHERE id = %(id)s AND {_FREE} RETURNING epoch",
                params,
            ).fetchone()
        return None if row is None else int(row[0])

    def reserve(self, program_id: str, state: bytes, *, now: int, span: int) -> int | None:
        with self._transaction() as conn:
            # New programs go last, one writer at a time (as the store's writes do).
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (ORDER_LOCK,))
            row = conn.execute(
                "INSERT INTO actors_programs (id, install_order, schedule, since, state, owner, "
                "lease_expires, epoch) SELECT %s, COALESCE(MAX(install_order), 0) + 1, '', "
                "%s, %s, %s, %s, %s FROM actors_programs ON CONFLICT (id) DO NOTHING "
                "RETURNING epoch",
                (program_id, now, state, self.runner_id, now + span, now),
            ).fetchone()
        return None if row is None else int(row[0])

    def renew(self, held: Mapping[str, int], *, now: int, span: int) -> set[str]:
        if not held:
            return set()
        ids, epochs = list(held), list(held.values())
        with self._transaction() as conn:
            _lock(conn, "id = ANY(%s)", (ids,))
            kept = conn.execute(
                "UPDATE actors_programs AS p SET lease_expires = %s "
                "FROM unnest(%s::text[], %s::bigint[]) AS h(id, epoch) "
                "WHERE p.id = h.id AND p.epoch = h.epoch AND p.owner = %s RETURNING p.id",
                (now + span, ids, epochs, self.runner_id),
            ).fetchall()
            # A program not stored (yet: its install's first write is on its way) is not lost.
            stored = conn.execute(
                "SELECT id FROM actors_programs WHERE id = ANY(%s)", (ids,)
            ).fetchall()
        return {i for (i,) in stored} - {i for (i,) in kept}

    def release(self, program_ids: Collection[str]) -> None:
        if not program_ids:
            return
        with self._transaction() as conn:
            _lock(conn, "owner = %s AND id = ANY(%s)", (self.runner_id, list(program_ids)))
            conn.execute(
                "UPDATE actors_programs SET owner = NULL, lease_expires = NULL, "
                "epoch = epoch + 1 WHERE owner = %s AND id = ANY(%s)",
                (self.runner_id, list(program_ids)),
            )

    def owner_of(self, program_id: str, *, now: int, span: int) -> tuple[str | None, bool] | None:
        row = self._connect_once(_SQL.owner_of, (program_id,))
        if row is None:
            return None
        return row[0], row[1] is not None and row[1] >= now - span

    def _connect_once(self, query: str, params: tuple[Any, ...]) -> Any:
        with contextlib.closing(self._connect()) as conn:
            return conn.execute(query, params).fetchone()

    # --- commands ---------------------------------------------------------------------------

    def call(
        self, owner: str, program_id: str, kind: str, payload: bytes, *, now: int, timeout: float
    ) -> tuple[bool, bytes] | None:
        deadline = time.monotonic() + timeout
        with contextlib.closing(self._connect()) as conn:
            (command_id,) = conn.execute(
                "INSERT INTO actors_commands (runner_id, program_id, kind, payload, created_at) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (owner, program_id, kind, payload, now),
            ).fetchone()
            conn.execute(f'LISTEN "{_answer_channel(command_id)}"')
            conn.execute("SELECT pg_notify(%s, '')", (channel(owner),))
            while True:
                row = conn.execute(
                    "DELETE FROM actors_commands WHERE id = %s AND ok IS NOT NULL "
                    "RETURNING ok, answer",
                    (command_id,),
                ).fetchone()
                if row is not None:
                    return bool(row[0]), bytes(row[1])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    conn.execute("DELETE FROM actors_commands WHERE id = %s", (command_id,))
                    return None
                for _ in conn.notifies(timeout=min(remaining, 1.0), stop_after=1):
                    pass

    def pending(self) -> list[Command]:
        with self._transaction() as conn:
            rows = conn.execute(
                "UPDATE actors_commands SET taken = 1 WHERE id IN (SELECT id FROM "
                "actors_commands WHERE runner_id = %s AND taken = 0 FOR UPDATE SKIP LOCKED) "
                "RETURNING id, program_id, kind, payload",
                (self.runner_id,),
            ).fetchall()
        commands = [Command(id=r[0], program_id=r[1], kind=r[2], payload=bytes(r[3])) for r in rows]
        return sorted(commands, key=lambda command: command.id)

    def answer(self, command_id: int, ok: bool, payload: bytes) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE actors_commands SET ok = %s, answer = %s WHERE id = %s",
                (int(ok), payload, command_id),
            )
            conn.execute("SELECT pg_notify(%s, '')", (_answer_channel(command_id),))

    def listen(self, wake: Callable[[], None]) -> None:
        """Wake the runner at each command, from a thread listening on a connection of its
        own (the coordinator's connection stays free for the membership's transactions). A
        lost connection is made again, and the runner woken, in case a command came
        meanwhile; `close` ends the thread and its connection."""

        def listen_until_closed() -> None:
            while not self._closed.is_set():
                try:
                    with contextlib.closing(self._connect()) as conn:
                        conn.execute(f'LISTEN "{channel(self.runner_id)}"')
                        wake()
                        while not self._closed.is_set():
                            for _ in conn.notifies(timeout=1.0, stop_after=1):
                                wake()
                except Exception:  # noqa: BLE001 - lost: again, a moment later
                    self._closed.wait(1.0)

        self._listener = threading.Thread(
            target=listen_until_closed, name=f"actors-{self.runner_id}-listen", daemon=True
        )
        self._listener.start()

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None and self._listener is not threading.current_thread():
            self._listener.join(5.0)  # it looks at `_closed` each second
        with contextlib.suppress(Exception):
            self._conn.close()


def _lock(conn: Any, where: str, params: tuple[Any, ...]) -> None:
    """Lock the program rows `where` in id order, as the store's writer does: two
    transactions that lock rows of both in the same order never deadlock."""
    conn.execute(f"SELECT id FROM actors_programs WHERE {where} ORDER BY id FOR UPDATE", params)
