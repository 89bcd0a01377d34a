"""Module-level callables of the cluster chaos test (`tests.cluster_child`), stored by
reference, so that any runner of the store restores the programs that use them.

`witness_c00` ... `witness_c99` are the main_fns of programs `c00` ... `c99`: each run leaves a
row `(program_id, scheduled_at, runner_id)` in the table `witness` of the store's own database,
on one psycopg connection per process (opened on first use). A main_fn gets `(args,
timestamp)`, `timestamp` being the run's scheduled time, but not its program's id: hence one
function per program, each a module attribute under its own name (so its reference imports
back as itself). The table has no unique constraint: a scheduled time run twice leaves two
rows.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["MOST_PROGRAMS", "configure", "ensure_witness_table", "program_ids"]

#: How many witnessing programs there are (`c00` ... `c99`).
MOST_PROGRAMS = 100

_WITNESS_TABLE = (
    "CREATE TABLE IF NOT EXISTS witness (program_id text NOT NULL, scheduled_at timestamptz "
    "NOT NULL, runner_id text NOT NULL, pid integer NOT NULL, "
    "written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
)

#: An advisory lock key: processes creating the table at once take turns (concurrent
#: `CREATE TABLE IF NOT EXISTS` may fail on a catalog's unique index otherwise).
_TABLE_LOCK = 0x6163746F72730077

_lock = threading.Lock()
_settings: dict[str, str] = {}
_conn: Any = None


def program_ids(count: int) -> list[str]:
    """The ids of the first `count` witnessing programs: `c00`, `c01`, ..."""
    if not 0 <= count <= MOST_PROGRAMS:
        msg = f"between 0 and {MOST_PROGRAMS} programs, got {count}"
        raise ValueError(msg)
    return [f"c{number:02}" for number in range(count)]


def configure(url: str, runner_id: str) -> None:
    """Say where the witness rows go and which runner writes them (once per process, before
    its runner starts)."""
    _settings["url"], _settings["runner_id"] = url, runner_id


def ensure_witness_table(url: str) -> None:
    """Create the table `witness` in the database of `url`, if it is missing."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_TABLE_LOCK,))
        conn.execute(_WITNESS_TABLE)


def _connection() -> Any:
    """This process's connection to the witness table, opened on first use."""
    global _conn
    with _lock:
        if _conn is None or _conn.closed:
            import psycopg

            _conn = psycopg.connect(_settings["url"], autocommit=True)
        return _conn


def _record(program_id: str, scheduled_at: datetime) -> int:
    _connection().execute(
        "INSERT INTO witness (program_id, scheduled_at, runner_id, pid) VALUES (%s, %s, %s, %s)",
        (program_id, scheduled_at, _settings["runner_id"], os.getpid()),
    )
    return 1


def _witness_of(program_id: str) -> Callable[[Any, datetime], int]:
    """The main_fn of program `program_id`, named `witness_<program_id>` in this module."""

    def witness(args: Any, timestamp: datetime) -> int:
        return _record(program_id, timestamp)

    witness.__name__ = witness.__qualname__ = f"witness_{program_id}"
    witness.__module__ = __name__
    witness.__doc__ = f"main_fn of program {program_id!r}: witness its run of `timestamp`."
    return witness


for _program_id in program_ids(MOST_PROGRAMS):
    globals()[f"witness_{_program_id}"] = _witness_of(_program_id)
