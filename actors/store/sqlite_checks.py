"""The checks an SQLite store passes before a runner uses it, and the errors of a bad one.

Each bad store gets a `StoreError` that names the file, what is wrong with it, and what to do;
none is ever written to:

- a missing directory, or a path that is a directory: `check_place`;
- a file that is not SQLite (its first 16 bytes are not SQLite's header): `check_place`;
- an SQLite database of something else (no `actors_meta` table, or no `application` marker in
  it), a store of a newer schema, a damaged one (no version, a table missing), or one kept with
  another serializer: `inspect`, read-only, before anything is created beside the file;
- a read-only directory or file: `check_writable` (and SQLite's own errors, for a user the
  permission bits do not stop);
- a database locked by another process, a corrupt one, a full disk: SQLite's error codes,
  explained by `explain`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from actors.errors import StoreError
from actors.store import schema

__all__ = ["check_place", "check_tables", "check_writable", "explain", "inspect"]

#: The first 16 bytes of every SQLite database file.
HEADER = b"SQLite format 3\x00"


def _name(path: Path) -> str:
    return f"store {path}"


def check_place(path: Path) -> None:
    """The directory of `path` exists, `path` is not a directory, and the file (if any) is
    empty or an SQLite database.

    Raises:
        StoreError: naming what is wrong and what to do.
    """
    directory = path.parent
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        msg = (
            f"{_name(path)} cannot be opened: its directory {directory} {what}: create it "
            f"(mkdir -p {directory}), or give another store path"
        )
        raise StoreError(msg)
    if path.is_dir():
        msg = f"{_name(path)} is a directory: give the path of a file, such as {path / 'actors.db'}"
        raise StoreError(msg)
    if not path.exists():
        return
    try:
        with path.open("rb") as file:
            head = file.read(len(HEADER))
    except OSError as error:
        msg = f"{_name(path)} cannot be read ({error.strerror}): check its permissions"
        raise StoreError(msg) from error
    # An empty file is a new database to SQLite, and to us.
    if head and head != HEADER:
        msg = (
            f"{_name(path)} is not an actors store: it is not an SQLite database (it begins "
            f"{head!r}): give another path; actors does not write to it"
        )
        raise StoreError(msg)


def check_writable(path: Path) -> None:
    """A runner can write `path` and make files beside it.

    Raises:
        StoreError: the directory or the file is read-only.
    """
    directory = path.parent
    if not os.access(directory, os.W_OK | os.X_OK):
        msg = (
            f"{_name(path)} cannot be opened: its directory {directory} is read-only (a store "
            f"keeps {path.name}-wal and -shm files beside it): make it writable, or give "
            "another store path"
        )
        raise StoreError(msg)
    if path.exists() and not os.access(path, os.W_OK):
        msg = (
            f"{_name(path)} is read-only: make it writable (chmod u+w {path}), or give another "
            "store path"
        )
        raise StoreError(msg)


def inspect(
    conn: sqlite3.Connection, path: Path, *, serializer: str, migrating: bool = False
) -> int | None:
    """The schema version of the database on `conn`, or `None` if it has no tables (new).

    Args:
        conn: a connection to the store (read-only will do).
        path: the store, for messages.
        serializer: the name of the serializer the store was opened with.
        migrating: whether an older version is fine (the caller migrates it).

    Raises:
        StoreError: not an actors store, damaged, newer than this code, older and not
            `migrating`, or kept with another serializer.
    """
    name = _name(path)
    names = [
        table
        for (table,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    ]
    if not names:
        return None
    if "actors_meta" not in names:
        shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
        msg = (
            f"{name} is not an actors store: it is an SQLite database of something else (it "
            f"has {shown}): give another path; actors does not write to it"
        )
        raise StoreError(msg)
    meta = dict(conn.execute("SELECT key, value FROM actors_meta").fetchall())
    version = schema.check_meta(meta, store=name, serializer=serializer, migrating=migrating)
    if version == schema.SCHEMA_VERSION:
        check_tables(conn, path, names)
    return version


def check_tables(conn: sqlite3.Connection, path: Path, names: Sequence[str] = ()) -> None:
    """Every table of the current schema is there.

    Raises:
        StoreError: one is missing: the store is damaged.
    """
    if not names:
        names = [table for (table,) in conn.execute("SELECT name FROM sqlite_master")]
    missing = schema.missing_tables(names)
    if missing:
        msg = (
            f"{_name(path)} is damaged: it has no {', '.join(missing)} table: restore it from "
            "a backup, or move it away to start with an empty store"
        )
        raise StoreError(msg)


def explain(
    error: sqlite3.Error, path: Path, doing: str, *, busy_timeout: float, after: str = ""
) -> StoreError:
    """SQLite's `error` as a `StoreError` naming the store, what is wrong, and what to do.

    Args:
        error: what SQLite raised.
        path: the store.
        doing: what failed (`"cannot be opened"`).
        busy_timeout: how long SQLite waited for a lock (seconds), for the message.
        after: what the caller adds (what was not written).
    """
    code = str(getattr(error, "sqlite_errorname", ""))
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        detail = (
            "it is locked by another process holding a write transaction (waited "
            f"{busy_timeout:g} s): end that transaction, or stop the other process, and try "
            "again"
        )
    elif code.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")):
        detail = "it is read-only: make the file and its directory writable"
    elif code == "SQLITE_NOTADB":
        detail = (
            "it is not an SQLite database, or is corrupt: give another path, or restore it "
            "from a backup"
        )
    elif code.startswith("SQLITE_CORRUPT"):
        detail = "it is corrupt: restore it from a backup, or move it away to start afresh"
    elif code.startswith("SQLITE_CANTOPEN"):
        detail = "the file cannot be opened: check that it and its directory are writable"
    elif code == "SQLITE_FULL":
        detail = "the disk is full: free some space"
    else:
        detail = "check the disk and the file"
    return StoreError(
        f"{_name(path)} {doing} ({error}): {detail}" + (f"; {after}" if after else "")
    )
