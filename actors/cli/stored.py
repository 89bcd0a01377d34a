"""`actors status` and `actors history`: what a store holds, read without running anything.

Both open the store for reading only (no lock is taken), so they work while a runner runs on
it, and print a table with rich.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from actors.cli.usage import UsageError

if TYPE_CHECKING:
    from actors.store import Store

__all__ = ["DEFAULT_STORE", "default_store", "history_command", "readable_store", "status_command"]

#: Where `run`, `repl`, `status` and `history` keep programs when `--store` is not given.
DEFAULT_STORE = "actors.db"


def default_store() -> str:
    """`$ACTORS_STORE`, else `actors.db` in the working directory."""
    return os.environ.get("ACTORS_STORE") or DEFAULT_STORE


def status_command(args: argparse.Namespace) -> int:
    """Print the status table of the programs a store holds."""
    from actors.cli.output import stdout_console
    from actors.snapshots import RunnerStatus
    from actors.tree.program_view import stored_info

    store = readable_store(args.store, "status")
    infos = [stored_info(stored, store.serializer, None) for stored in store.load()]
    status = RunnerStatus(id=store.url, running=False, paused=False, programs=infos)
    stdout_console().print(status)
    return 0


def history_command(args: argparse.Namespace) -> int:
    """Print the recent runs of one program of a store, newest first."""
    from rich.table import Table

    from actors.cli.output import stdout_console
    from actors.tree.program_rows import run_record

    store = readable_store(args.store, "history")
    stored = store.load_program(args.program)
    if stored is None:
        ids = ", ".join(p.row.id for p in store.load()) or "none"
        msg = f"actors history: error: {store.url} holds no program {args.program!r} ({ids})"
        raise UsageError(msg)
    table = Table(title=f"{args.program}: the last {args.n} runs in {store.url}")
    for column in ("run", "try", "status", "spawn", "scheduled", "started", "finished", "outcome"):
        table.add_column(column)
    for row in stored.runs[: args.n]:
        record = run_record(row)
        outcome = record.result if record.status == "completed" else str(record.error or "")
        table.add_row(
            record.id,
            str(record.attempt),
            record.status,
            record.spawn or "-",
            _when(record.scheduled_at),
            _when(record.started_at),
            _when(record.finished_at),
            outcome or "",
        )
    stdout_console().print(table)
    return 0


def readable_store(spec: str, command: str) -> Store:
    """The store `spec` names, checked but not opened (no lock: a runner may hold it)."""
    from actors.errors import StoreError
    from actors.store import open_store

    if spec == "memory":
        msg = f"actors {command}: error: a memory store keeps nothing to show; give a path"
        raise UsageError(msg)
    try:
        store = open_store(spec)
        store.load()  # a missing file, or one that is not a store, says so here
    except StoreError as error:
        raise UsageError(f"actors {command}: error: {error}") from None
    return store


def _when(value: object) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"
