"""How an SQLite store writes a batch of `Write`s: planned in Python, then a few statements.

Why not one statement per row: Python's `sqlite3` lets go of the GIL for every statement it
prepares, steps and resets, and a thread that lets go of it waits behind every other busy
thread (up to the interpreter's 5 ms switch interval each) to get it back. A runner under load
has busy actor threads, so a writer stepping one statement per row spends its time waiting,
not writing, and every run waits for its firing to commit. So a batch takes the same few
statements whatever its size: one upsert for its firings and outcomes, one for its programs,
one insert for its runs (each chunked to SQLite's limit on parameters), and no reads.

No reads, because the store keeps `StoreBooks`: what the checks of `Write` need to know of the
rows (each program's epoch, its newest fired time, the next install order), read once at open
and kept up to date by each committed batch. They are exact because one runner at a time holds
the file (`RunnerLock`). Only a firing older than the newest one of its program (a run again
after a restart) is looked up, in one statement for the batch. A batch plans on a `Draft` of
the books, kept only if it commits.

The plan keeps `Write`'s rules exactly, as if the writes were applied one by one. A `delete`
ends a segment: what the writes before it add is written first, then the program's rows go.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from actors.store.abc import Write, WriteResult
from actors.store.codec import (
    FIRING_COLUMNS,
    PROGRAM_COLUMNS,
    RUN_COLUMNS,
    encode,
    to_micros,
)

__all__ = ["Draft", "StoreBooks", "trim", "write_batch"]

#: Rows per multi-row statement at most: beyond a few hundred, longer statements buy nothing.
_MOST_ROWS = 500

_Values = tuple[Any, ...]


@cache
def _multi_row(head: str, columns: int, rows: int, tail: str = "") -> str:
    """`head VALUES (?, ...), ... tail` for `rows` rows of `columns` values (one text per
    size, so SQLite's statement cache keeps them)."""
    row = "(" + ", ".join("?" * columns) + ")"
    return f"{head} VALUES {', '.join([row] * rows)} {tail}".rstrip()


def _chunks(rows: Sequence[_Values], columns: int, limit: int) -> Iterator[Sequence[_Values]]:
    size = max(1, min(_MOST_ROWS, limit // columns))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _execute_rows(
    conn: sqlite3.Connection,
    head: str,
    rows: Sequence[_Values],
    columns: int,
    limit: int,
    tail: str = "",
) -> sqlite3.Cursor | None:
    cursor = None
    for chunk in _chunks(rows, columns, limit):
        flat = [value for row in chunk for value in row]
        cursor = conn.execute(_multi_row(head, columns, len(chunk), tail), flat)
    return cursor


def _limit(conn: sqlite3.Connection) -> int:
    return conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


# Firings and outcomes in one statement, in order: a firing is known to be new (the books say
# so), so it is inserted; an outcome concludes its firing, or is inserted if never fired.
_FIRING_UPSERT = (
    f"INSERT INTO actors_firings ({', '.join(FIRING_COLUMNS)})",
    "ON CONFLICT (program_id, scheduled_at) DO UPDATE SET status = excluded.status, "
    "run_id = COALESCE(excluded.run_id, actors_firings.run_id), "
    "runner_id = COALESCE(excluded.runner_id, actors_firings.runner_id)",
)
# Every row gets a fresh install_order, so none collides with a kept one; a replaced program
# keeps its own (the update leaves it), a new one goes last.
_PROGRAM_UPSERT = (
    f"INSERT INTO actors_programs ({', '.join(PROGRAM_COLUMNS)}, install_order)",
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in PROGRAM_COLUMNS if column != "id"),
)
_RUN_INSERT = f"INSERT INTO actors_runs ({', '.join(RUN_COLUMNS)})"
_SCHEDULED_AT = FIRING_COLUMNS.index("scheduled_at")


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
        self.firings: list[_Values] = []  # firings and outcomes, in order
        self.programs: dict[str, _Values] = {}  # a row replaces the whole row: the last wins
        self.runs: list[_Values] = []

    def write(self, conn: sqlite3.Connection, draft: Draft) -> None:
        """Write the rows, in `Write`'s order of parts."""
        limit = _limit(conn)
        head, tail = _FIRING_UPSERT
        _execute_rows(conn, head, self.firings, len(FIRING_COLUMNS), limit, tail)
        programs = []
        for row in self.programs.values():
            programs.append((*row, draft.next_order))
            draft.next_order += 1
        head, tail = _PROGRAM_UPSERT
        _execute_rows(conn, head, programs, len(PROGRAM_COLUMNS) + 1, limit, tail)
        _execute_rows(conn, _RUN_INSERT, self.runs, len(RUN_COLUMNS), limit)


def _stored_firings(
    conn: sqlite3.Connection, keys: Sequence[tuple[str, int]]
) -> set[tuple[str, int]]:
    """Which of `keys` (program id, scheduled time) the store holds."""
    found: set[tuple[str, int]] = set()
    for chunk in _chunks(keys, 2, _limit(conn)):
        rows = ", ".join(["(?, ?)"] * len(chunk))
        sql = (
            "SELECT program_id, scheduled_at FROM actors_firings "
            f"WHERE (program_id, scheduled_at) IN (VALUES {rows})"
        )
        found.update(conn.execute(sql, [value for key in chunk for value in key]))
    return found


def _at_least(value: int | None, default: int) -> int:
    return default if value is None else value


def write_batch(
    conn: sqlite3.Connection, batch: Sequence[Write], draft: Draft
) -> tuple[list[WriteResult], Counter[str]]:
    """Apply `batch` in the open transaction on `conn`, with `Write`'s rules, planning on
    `draft` (the store's books as the batch changes them).

    Returns:
        One result per write, in order, and how many runs and firings each program gained
        (0 for a program deleted by the batch).
    """
    firings = [
        (write.program_id, to_micros(write.firing.scheduled_at))
        for write in batch
        if write.firing is not None
    ]
    # Only a time no newer than its program's newest firing can have been fired before.
    older = [key for key in firings if key[1] <= _at_least(draft.newest(key[0]), key[1] + 1)]
    stored_older = _stored_firings(conn, older) if older else set()
    results: list[WriteResult] = []
    grown: Counter[str] = Counter()
    segment = _Segment()
    for write in batch:
        program_id = write.program_id
        if write.epoch is not None and draft.epoch(program_id) != write.epoch:
            results.append("stale")
            continue
        if write.firing is not None:
            firing = encode(write.firing)
            key = (program_id, firing[_SCHEDULED_AT])
            if key in draft.fired or (key in stored_older and program_id not in draft.deleted):
                results.append("duplicate")
                continue
            draft.add_firing(*key)
            segment.firings.append(firing)
            grown[program_id] += 1
        if write.outcome is not None:
            outcome = encode(write.outcome)
            draft.add_firing(program_id, outcome[_SCHEDULED_AT])
            segment.firings.append(outcome)
        if write.program is not None:
            segment.programs[program_id] = encode(write.program)
            draft.epochs[program_id] = write.program.epoch
        if write.run is not None:
            segment.runs.append(encode(write.run))
            grown[program_id] += 1
        if write.delete:
            segment.write(conn, draft)
            segment = _Segment()
            for table, column in (
                ("actors_programs", "id"),
                ("actors_runs", "program_id"),
                ("actors_firings", "program_id"),
            ):
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (program_id,))
            draft.delete(program_id)
            grown[program_id] = 0
        results.append("ok")
    segment.write(conn, draft)
    return results, grown


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


def trim(conn: sqlite3.Connection, program_ids: Sequence[str], history: int) -> None:
    """Keep the newest `history` runs of each of `program_ids`, and its concluded firings
    among its newest `max(history, 1)` firings: two statements for any number of programs."""
    keys = [(program_id,) for program_id in program_ids]
    # One parameter is the bound, the rest name programs.
    for chunk in _chunks(keys, 1, _limit(conn) - 1):
        rows = ", ".join(["(?)"] * len(chunk))
        names = [program_id for (program_id,) in chunk]
        conn.execute(_TRIM_RUNS.format(rows=rows), [*names, history])
        conn.execute(_TRIM_FIRINGS.format(rows=rows), [*names, max(history, 1)])
