"""Reading programs back from an SQL store: the same queries for SQLite and PostgreSQL.

`conn` is a DB-API connection with an `execute` that returns its cursor (`sqlite3`, psycopg 3),
inside a read transaction of the caller's, and `mark` its parameter mark (`?`, `%s`).
"""

from __future__ import annotations

from typing import Any

from actors.store.abc import FiringRow, ProgramRow, RunRow, StoredProgram
from actors.store.codec import FIRING_COLUMNS, PROGRAM_COLUMNS, RUN_COLUMNS, decode

__all__ = ["load_all", "load_one", "load_recent", "load_rows"]

_PROGRAMS = f"SELECT {', '.join(PROGRAM_COLUMNS)} FROM actors_programs"


def load_all(conn: Any, mark: str, history: int) -> list[StoredProgram]:
    """Every program, in install order, with its newest `history` runs and its open firings."""
    rows = conn.execute(f"{_PROGRAMS} ORDER BY install_order").fetchall()
    return [_stored(conn, mark, history, decode(ProgramRow, row)) for row in rows]


def load_rows(conn: Any) -> list[ProgramRow]:
    """Every program's row, in install order, without its runs and firings."""
    rows = conn.execute(f"{_PROGRAMS} ORDER BY install_order").fetchall()
    return [decode(ProgramRow, row) for row in rows]


def load_one(conn: Any, mark: str, history: int, program_id: str) -> StoredProgram | None:
    """The program `program_id`, if the store holds it."""
    row = conn.execute(f"{_PROGRAMS} WHERE id = {mark}", (program_id,)).fetchone()
    return None if row is None else _stored(conn, mark, history, decode(ProgramRow, row))


def load_recent(conn: Any, mark: str, after: int, limit: int) -> list[tuple[int, RunRow]]:
    """The runs of every program written after run number `after`, each with its number,
    oldest first: the newest `limit` of them."""
    rows = conn.execute(
        f"SELECT id, {', '.join(RUN_COLUMNS)} FROM actors_runs WHERE id > {mark} "
        f"ORDER BY id DESC LIMIT {mark}",
        (after, limit),
    ).fetchall()
    return [(row[0], decode(RunRow, row[1:])) for row in reversed(rows)]


def _stored(conn: Any, mark: str, history: int, row: ProgramRow) -> StoredProgram:
    runs = conn.execute(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM actors_runs WHERE program_id = {mark} "
        f"ORDER BY id DESC LIMIT {mark}",
        (row.id, history),
    ).fetchall()
    firings = conn.execute(
        f"SELECT {', '.join(FIRING_COLUMNS)} FROM actors_firings "
        f"WHERE program_id = {mark} AND status = 'fired' ORDER BY scheduled_at",
        (row.id,),
    ).fetchall()
    return StoredProgram(
        row=row,
        runs=tuple(decode(RunRow, run) for run in runs),
        open_firings=tuple(decode(FiringRow, firing) for firing in firings),
    )
