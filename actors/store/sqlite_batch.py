"""How an SQLite store writes a batch of `Write`s: planned in Python, then one `INSERT`.

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
writes every row of the batch, all or nothing. A batch that needs more (a `delete`, a trim,
more rows than one statement takes) adds those statements to its transaction.

Several processes may write the file (the runners of one machine), so the checks of `Write`
read what they need inside the batch's transaction, as PostgreSQL's do: `BEGIN IMMEDIATE`
takes SQLite's one write lock on the file before reading, then one `SELECT` (`read_books`)
reads the epochs of the batch's programs, which of its firings are stored, and the next
install order (one row: a row is a step, and each step lets go of the GIL), then the one
`INSERT` writes the batch, then `COMMIT`. Four statements, not one, but the write lock makes
the reads and the insert one atomic step, whoever else writes. Measured as above (2 cores,
two busy threads), a batch of 200 writes takes about half as long again as the one `INSERT`
alone did (65 ms, not 44); with no busy threads beside the writer, about 5% longer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from actors.store.abc import Write
from actors.store.batch_plan import Books, Segment
from actors.store.codec import (
    FIRING_COLUMNS,
    PROGRAM_COLUMNS,
    PROGRAM_UPDATED,
    RUN_COLUMNS,
    to_micros,
)

__all__ = [
    "BATCH_DDL",
    "Statement",
    "read_books",
    "statements",
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


# `read_books` reads one row: each column one of these, the matches as the numbers of their
# keys (a step of a statement lets go of the GIL, so one row, not one per match). The keys are
# looked up one by one in the primary keys: `CROSS JOIN` keeps them outside (a row-value
# `IN (VALUES ...)` would scan the whole table).
_ORDER = "(SELECT COALESCE(MAX(install_order), 0) FROM actors_programs)"
_EPOCHS = (
    "(SELECT group_concat(k.column1 || ':' || p.epoch) FROM (VALUES {rows}) AS k "
    "CROSS JOIN actors_programs AS p ON p.id = k.column2)"
)
_FIRED = (
    "(SELECT group_concat(k.column1) FROM (VALUES {rows}) AS k CROSS JOIN actors_firings AS f "
    "ON f.program_id = k.column2 AND f.scheduled_at = k.column3)"
)


def read_books(
    conn: sqlite3.Connection, batch: Sequence[Write], limit: int
) -> tuple[Books, set[tuple[str, int]]]:
    """What the plan of `batch` needs of the stored rows, read in the caller's transaction:
    the books (the epochs of the batch's programs, the next install order) and which of its
    firings (program id, scheduled time) are stored. Every firing is looked up: another
    runner may have written any of them. One statement, more only past `limit` parameters."""
    ids = sorted({write.program_id for write in batch})
    keys = sorted(
        {
            (write.program_id, to_micros(write.firing.scheduled_at, "scheduled_at"))
            for write in batch
            if write.firing is not None
        }
    )
    columns: list[tuple[str, str, list[Any]]] = [("order", _ORDER, [])]
    for start in range(0, len(ids), limit):
        chunk = range(start, min(start + limit, len(ids)))
        rows = ", ".join(f"({n}, ?)" for n in chunk)
        columns.append(("epochs", _EPOCHS.format(rows=rows), [ids[n] for n in chunk]))
    for start in range(0, len(keys), limit // 2):
        chunk = range(start, min(start + limit // 2, len(keys)))
        rows = ", ".join(f"({n}, ?, ?)" for n in chunk)
        columns.append(("fired", _FIRED.format(rows=rows), [v for n in chunk for v in keys[n]]))
    books, stored = Books(), set[tuple[str, int]]()
    for kinds, sql, parameters in _selects(columns, limit):
        for kind, found in zip(kinds, conn.execute(sql, parameters).fetchone(), strict=True):
            if kind == "order":
                books.next_order = int(found) + 1
            elif found is None:  # no match
                continue
            elif kind == "epochs":
                for match in str(found).split(","):
                    number, epoch = match.split(":")
                    books.epochs[ids[int(number)]] = int(epoch)
            else:
                stored.update(keys[int(number)] for number in str(found).split(","))
    return books, stored


def _selects(
    columns: Sequence[tuple[str, str, list[Any]]], limit: int
) -> Iterator[tuple[list[str], str, list[Any]]]:
    """`columns` (kind, scalar subquery, parameters) as few `SELECT`s of one row each as
    `limit` parameters allow: each with its columns' kinds, its SQL and its parameters."""
    kinds: list[str] = []
    sql: list[str] = []
    parameters: list[Any] = []
    for kind, column, column_parameters in columns:
        if sql and len(parameters) + len(column_parameters) > limit:
            yield kinds, "SELECT " + ", ".join(sql), parameters
            kinds, sql, parameters = [], [], []
        kinds.append(kind)
        sql.append(column)
        parameters += column_parameters
    if sql:
        yield kinds, "SELECT " + ", ".join(sql), parameters


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
