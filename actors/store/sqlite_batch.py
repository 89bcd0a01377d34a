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

No reads: the store keeps `StoreBooks`, what the checks of `Write` need to know of the rows
(each program's epoch, its newest fired time, the next install order), read once at open and
kept up to date by each committed batch. They are exact because one runner at a time holds
the file (`RunnerLock`). Only a firing no newer than the newest one of its program (a run
again after a restart) is looked up. A batch plans on a `Draft` of the books, kept only if it
commits. The plan keeps `Write`'s rules exactly, as if the writes were applied one by one.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from actors.store.abc import Write, WriteResult
from actors.store.codec import FIRING_COLUMNS, PROGRAM_COLUMNS, RUN_COLUMNS, encode, to_micros

__all__ = [
    "BATCH_DDL",
    "Draft",
    "Statement",
    "StoreBooks",
    "older_firings",
    "stored_firings",
    "trim_statements",
    "write_batch",
]

#: A statement to execute: its SQL and its parameters.
Statement = tuple[str, list[Any]]

_Values = tuple[Any, ...]

#: The values of one row of `actors_batch` after its kind: as many as the widest table takes.
_WIDTH = max(len(FIRING_COLUMNS), len(PROGRAM_COLUMNS) + 1, len(RUN_COLUMNS))
_SCHEDULED_AT = FIRING_COLUMNS.index("scheduled_at")


def _trigger(kind: str, table: str, columns: Sequence[str], tail: str = "") -> str:
    values = ", ".join(f"NEW.c{n}" for n in range(1, len(columns) + 1))
    return (
        f"CREATE TEMP TRIGGER actors_batch_{kind} INSTEAD OF INSERT ON actors_batch "
        f"WHEN NEW.kind = '{kind}' BEGIN INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({values}) {tail}; END"
    )


#: Made on the writer's connection at open: `actors_batch` and the triggers that send its rows
#: on. Firings and outcomes share one upsert: a firing is known to be new (the books say so),
#: so it is inserted; an outcome concludes its firing, or is inserted if never fired. Every
#: program row comes with a fresh install order, so none collides with a kept one: a replaced
#: program keeps its own (the update leaves it), a new one goes last.
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
        + ", ".join(f"{name} = excluded.{name}" for name in PROGRAM_COLUMNS if name != "id"),
    ),
    _trigger("run", "actors_runs", RUN_COLUMNS),
)

_PAD = {width: (None,) * (_WIDTH - width) for width in range(_WIDTH + 1)}


def _row(kind: str, values: _Values) -> _Values:
    return (kind, *values, *_PAD[len(values)])


def _chunks(rows: Sequence[_Values], columns: int, limit: int) -> Iterator[Sequence[_Values]]:
    size = max(1, limit // columns)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class StoreBooks:
    """What the checks of `Write` need to know of a store's rows, kept beside the store by the
    runner that holds it: each program's epoch, its newest fired time, the next install order."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        """Read the books from the rows (at open, in its transaction)."""
        self.epochs: dict[str, int] = dict(conn.execute("SELECT id, epoch FROM actors_programs"))
        self.newest_fired: dict[str, int] = dict(
            conn.execute("SELECT program_id, MAX(scheduled_at) FROM actors_firings GROUP BY 1")
        )
        (most,) = conn.execute(
            "SELECT COALESCE(MAX(install_order), 0) FROM actors_programs"
        ).fetchone()
        self.next_order = int(most) + 1


class Draft:
    """The books as one batch changes them; `apply` them once the batch has committed."""

    def __init__(self, books: StoreBooks) -> None:
        self.books = books
        self.epochs: dict[str, int | None] = {}  # None: deleted
        self.newest_fired: dict[str, int | None] = {}
        self.fired: set[tuple[str, int]] = set()  # added by this batch
        self.deleted: set[str] = set()  # its rows stored before the batch are gone
        self.next_order = books.next_order

    def epoch(self, program_id: str) -> int | None:
        if program_id in self.epochs:
            return self.epochs[program_id]
        return self.books.epochs.get(program_id)

    def newest(self, program_id: str) -> int | None:
        if program_id in self.newest_fired:
            return self.newest_fired[program_id]
        return self.books.newest_fired.get(program_id)

    def add_firing(self, program_id: str, at: int) -> None:
        self.fired.add((program_id, at))
        newest = self.newest(program_id)
        self.newest_fired[program_id] = at if newest is None else max(newest, at)

    def delete(self, program_id: str) -> None:
        self.epochs[program_id] = self.newest_fired[program_id] = None
        self.fired = {key for key in self.fired if key[0] != program_id}
        self.deleted.add(program_id)

    def apply(self) -> None:
        """Make the draft the books (its batch committed)."""
        for changes, books in (
            (self.epochs, self.books.epochs),
            (self.newest_fired, self.books.newest_fired),
        ):
            for program_id, value in changes.items():
                if value is None:
                    books.pop(program_id, None)
                else:
                    books[program_id] = value
        self.books.next_order = self.next_order


class _Segment:
    """The rows of consecutive writes with no `delete` between them, to write together."""

    def __init__(self) -> None:
        self.rows: list[_Values] = []  # firings, outcomes and runs, in order
        self.programs: dict[str, _Values] = {}  # a row replaces the whole row: the last wins

    def statements(self, draft: Draft, limit: int) -> list[Statement]:
        """The inserts into `actors_batch` that write the rows (one, unless they are more
        than one statement takes)."""
        rows = self.rows
        for values in self.programs.values():
            rows.append(_row("program", (*values, draft.next_order)))
            draft.next_order += 1
        statements = []
        marks = "(" + ", ".join("?" * (_WIDTH + 1)) + ")"
        for chunk in _chunks(rows, _WIDTH + 1, limit):
            sql = f"INSERT INTO actors_batch VALUES {', '.join([marks] * len(chunk))}"
            statements.append((sql, [value for row in chunk for value in row]))
        return statements


def older_firings(batch: Sequence[Write], draft: Draft) -> list[tuple[str, int]]:
    """The firings of `batch` that may have been stored before: only a time no newer than its
    program's newest firing can have been (a run again after a restart)."""
    older = []
    for write in batch:
        if write.firing is not None:
            at = to_micros(write.firing.scheduled_at)
            newest = draft.newest(write.program_id)
            if newest is not None and at <= newest:
                older.append((write.program_id, at))
    return older


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


def write_batch(
    batch: Sequence[Write], draft: Draft, stored: set[tuple[str, int]], limit: int
) -> tuple[list[WriteResult], Counter[str], list[Statement]]:
    """Plan `batch` with `Write`'s rules on `draft` (the store's books as the batch changes
    them), given which of its `older_firings` are `stored`.

    Returns:
        One result per write, in order; how many runs and firings each program gained (0 for
        a program deleted by the batch); the statements that write it, each with at most
        `limit` parameters.

    Raises:
        ValueError, TypeError: a row the store cannot hold (`codec.encode`).
    """
    results: list[WriteResult] = []
    grown: Counter[str] = Counter()
    statements: list[Statement] = []
    segment = _Segment()
    for write in batch:
        program_id = write.program_id
        if write.epoch is not None and draft.epoch(program_id) != write.epoch:
            results.append("stale")
            continue
        if write.firing is not None:
            firing = encode(write.firing)
            key = (program_id, firing[_SCHEDULED_AT])
            if key in draft.fired or (key in stored and program_id not in draft.deleted):
                results.append("duplicate")
                continue
            draft.add_firing(*key)
            segment.rows.append(_row("firing", firing))
            grown[program_id] += 1
        if write.outcome is not None:
            outcome = encode(write.outcome)
            draft.add_firing(program_id, outcome[_SCHEDULED_AT])
            segment.rows.append(_row("firing", outcome))
        if write.program is not None:
            segment.programs[program_id] = encode(write.program)
            draft.epochs[program_id] = write.program.epoch
        if write.run is not None:
            segment.rows.append(_row("run", encode(write.run)))
            grown[program_id] += 1
        if write.delete:
            statements += segment.statements(draft, limit)
            segment = _Segment()
            statements += [
                (f"DELETE FROM {table} WHERE {column} = ?", [program_id])
                for table, column in (
                    ("actors_programs", "id"),
                    ("actors_runs", "program_id"),
                    ("actors_firings", "program_id"),
                )
            ]
            draft.delete(program_id)
            grown[program_id] = 0
        results.append("ok")
    statements += segment.statements(draft, limit)
    return results, grown, statements


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
