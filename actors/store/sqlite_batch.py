"""How an SQLite store writes a batch of `Write`s: planned in Python, then one statement.

Why not one statement per row, or even one per table: Python's `sqlite3` lets go of the GIL
for every statement it prepares, steps and resets, and a thread that lets go of it waits
behind every other busy thread (up to the interpreter's 5 ms switch interval each) to get it
back. A runner under load has busy actor threads, so a writer stepping many statements spends
its time waiting, not writing, and every run waits for its firing to commit. Measured on 2
cores with two busy threads, a batch of 200 runs took 87 ms as five statements (a transaction
of three multi-row inserts) and 24 ms as one.

So a batch is one `INSERT` of all its rows into `actors_batch`, a view of the writer's
connection only (`TEMP`: the file never holds it) whose triggers send each row to the table
its `kind` names: firings and outcomes to `actors_firings` (an upsert, in order), programs to
`actors_programs` (the last row of each program only), runs to `actors_runs`. One statement
is one transaction, all or nothing, with no `BEGIN` and `COMMIT` to step. A batch that needs
more (a `delete`, a trim, a lookup, more rows than one statement takes) is a transaction of
those statements.

No reads: the store keeps the `Books` of its rows (`batch_plan`), read once at open and kept
up to date by each committed batch. They are exact because one runner at a time holds the file
(`RunnerLock`). Only a firing no newer than the newest one of its program (a run again after a
restart) is looked up.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from actors.store.batch_plan import Books, Segment
from actors.store.codec import FIRING_COLUMNS, PROGRAM_COLUMNS, PROGRAM_UPDATED, RUN_COLUMNS

__all__ = [
    "BATCH_DDL",
    "Statement",
    "read_books",
    "statements",
    "stored_firings",
    "trim_statements",
]
#: A statement to execute: its SQL and its parameters.
Statement = tuple[str, list[Any]]

_Values = tuple[Any, ...]

#: The values of one row of `actors_batch` after its kind: as many as the widest table takes.
_WIDTH = max(len(FIRING_COLUMNS), len(PROGRAM_COLUMNS) + 1, len(RUN_COLUMNS))


def _trigger(kind: str, table: str, columns: Sequence[str], tail: str = "") -> str:
    values = ", ".join(f"NEW.c{n}" for n in range(1, len(columns) + 1))
    return (
        f"CREATE TEMP TRIGGER actors_batch_{kind} INSTEAD OF INSERT ON actors_batch "
        f"WHEN NEW.kind = '{kind}' BEGIN INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({values}) {tail}; END"
    )


#: Made on the writer's connection at open: `actors_batch` and the triggers that send its rows
#: on. Firings and outcomes share one upsert: a firing is known to be new (the plan says so),
#: so it is inserted; an outcome concludes its firing, or is inserted if never fired. A program
#: row's last value is its install order, which the update leaves as it was.
BATCH_DDL = (
    "CREATE TEMP VIEW actors_batch AS SELECT NULL AS kind, "
    + ", ".join(f"NULL AS c{n}" for n in range(1, _WIDTH + 1))
    + " WHERE 0",
    _trigger(
        "firing",
        "actors_firings",
        FIRING_COLUMNS,
        "ON CONFLICT (program_id, scheduled_at) DO UPDATE SET status = excluded.status, "
        "run_id = COALESCE(excluded.run_id, actors_firings.run_id), "
        "runner_id = COALESCE(excluded.runner_id, actors_firings.runner_id)",
    ),
    _trigger(
        "program",
        "actors_programs",
        (*PROGRAM_COLUMNS, "install_order"),
        "ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in PROGRAM_UPDATED),
    ),
    _trigger("run", "actors_runs", RUN_COLUMNS),
)

_PAD = {width: (None,) * (_WIDTH - width) for width in range(_WIDTH + 1)}


def _chunks(rows: Sequence[_Values], columns: int, limit: int) -> Iterator[Sequence[_Values]]:
    size = max(1, limit // columns)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def read_books(conn: sqlite3.Connection) -> Books:
    """The books of the rows (at open, in its transaction)."""
    (most,) = conn.execute("SELECT COALESCE(MAX(install_order), 0) FROM actors_programs").fetchone()
    return Books(
        epochs=dict(conn.execute("SELECT id, epoch FROM actors_programs")),
        newest_fired=dict(
            conn.execute("SELECT program_id, MAX(scheduled_at) FROM actors_firings GROUP BY 1")
        ),
        next_order=int(most) + 1,
    )


def stored_firings(
    conn: sqlite3.Connection, keys: Sequence[tuple[str, int]], limit: int
) -> set[tuple[str, int]]:
    """Which of `keys` (program id, scheduled time) the store holds."""
    found: set[tuple[str, int]] = set()
    for chunk in _chunks(keys, 2, limit):
        rows = ", ".join(["(?, ?)"] * len(chunk))
        sql = (
            "SELECT program_id, scheduled_at FROM actors_firings "
            f"WHERE (program_id, scheduled_at) IN (VALUES {rows})"
        )
        found.update(conn.execute(sql, [value for key in chunk for value in key]))
    return found


def statements(segments: Sequence[Segment], limit: int) -> list[Statement]:
    """The statements that write `segments`: an insert into `actors_batch` per segment (or per
    `limit` parameters), then the deletes a segment ends with."""
    out: list[Statement] = []
    marks = "(" + ", ".join("?" * (_WIDTH + 1)) + ")"
    for segment in segments:
        rows = [(kind, *values, *_PAD[len(values)]) for kind, values in segment.all_rows()]
        for chunk in _chunks(rows, _WIDTH + 1, limit):
            sql = f"INSERT INTO actors_batch VALUES {', '.join([marks] * len(chunk))}"
            out.append((sql, [value for row in chunk for value in row]))
        if segment.delete is not None:
            out += [
                (f"DELETE FROM {table} WHERE {column} = ?", [segment.delete])
                for table, column in (
                    ("actors_programs", "id"),
                    ("actors_runs", "program_id"),
                    ("actors_firings", "program_id"),
                )
            ]
    return out


# A program's runs past its newest `keep`; its concluded firings past its newest `keep` firings
# (open ones count, and stay until concluded).
_TRIM_RUNS = (
    "DELETE FROM actors_runs WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
    "(PARTITION BY program_id ORDER BY id DESC) AS newest FROM actors_runs "
    "WHERE program_id IN (VALUES {rows})) WHERE newest > ?)"
)
_TRIM_FIRINGS = (
    "DELETE FROM actors_firings WHERE (program_id, scheduled_at) IN (SELECT program_id, "
    "scheduled_at FROM (SELECT program_id, scheduled_at, status, row_number() OVER "
    "(PARTITION BY program_id ORDER BY scheduled_at DESC) AS newest FROM actors_firings "
    "WHERE program_id IN (VALUES {rows})) WHERE newest > ? AND status <> 'fired')"
)


def trim_statements(program_ids: Sequence[str], history: int, limit: int) -> list[Statement]:
    """Keep the newest `history` runs of each of `program_ids`, and its concluded firings
    among its newest `max(history, 1)` firings: two statements for any number of programs."""
    statements: list[Statement] = []
    keys = [(program_id,) for program_id in program_ids]
    for chunk in _chunks(keys, 1, limit - 1):  # one parameter is the bound
        rows = ", ".join(["(?)"] * len(chunk))
        names = [program_id for (program_id,) in chunk]
        statements.append((_TRIM_RUNS.format(rows=rows), [*names, history]))
        statements.append((_TRIM_FIRINGS.format(rows=rows), [*names, max(history, 1)]))
    return statements
