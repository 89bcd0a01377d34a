"""Stores: where a runner keeps its programs, so that a restart forgets nothing.

- `Store` (`abc.py`): the interface, and the rows a store keeps.
- `MemoryStore` (`memory.py`): keeps nothing; the default.
- `SQLiteStore` (`sqlite.py`): one file, on one machine, shared by its runners; its tables
  and versions in `schema.py`, rows as columns in `codec.py`, its checks in
  `sqlite_checks.py`, its batches written as one statement by `sqlite_batch.py`, its runners
  coordinated by `sqlite_coordinator.py`.
- `PostgresStore` (`postgres.py`): a PostgreSQL database, the same tables (`pip install
  'actors[postgres]'`).
- `batch_plan.py`: a batch of writes planned with the rules of `Write`, for both.
- `StoreWriter` (`writer.py`): the one thread that writes a store, in batches.
- `open_store`: a store from what `Runner(store=...)` and `--store` take.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actors.errors import StoreError
from actors.store.abc import (
    FiringRow,
    ProgramRow,
    RunRow,
    Serializer,
    Store,
    StoredProgram,
    Write,
    WriteResult,
)
from actors.store.memory import MemoryStore
from actors.store.serializers import JsonSerializer, PickleSerializer
from actors.store.sqlite import SQLiteStore

__all__ = [
    "FiringRow",
    "JsonSerializer",
    "MemoryStore",
    "PickleSerializer",
    "ProgramRow",
    "RunRow",
    "SQLiteStore",
    "Serializer",
    "Store",
    "StoredProgram",
    "Write",
    "WriteResult",
    "open_store",
]


def open_store(spec: Any) -> Store:
    """The store `spec` names: `None` or `"memory"` (keeps nothing), a path (`"actors.db"`),
    `"sqlite:///path"`, a PostgreSQL URL (`"postgresql://user@host/db"`), or a `Store` (given
    back as it is).

    Raises:
        StoreError: `spec` names no store this runner knows.
    """
    if spec is None or spec == "memory":
        return MemoryStore()
    if isinstance(spec, Store):
        return spec
    if isinstance(spec, Path) or (isinstance(spec, str) and spec):
        text = str(spec)
        if text.startswith(("postgresql://", "postgres://")):
            from actors.store.postgres import PostgresStore  # psycopg only when asked for

            return PostgresStore(text)
        if "://" not in text:
            return SQLiteStore(text)
        # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path.
        if text.startswith("sqlite:///") and len(text) > len("sqlite:///"):
            return SQLiteStore(text.removeprefix("sqlite:///"))
    msg = (
        "store must be a path such as 'actors.db', 'sqlite:///path', 'memory' or a Store, "
        f"got {spec!r}"
    )
    raise StoreError(msg)
