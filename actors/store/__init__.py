"""Stores: where a runner keeps its programs, so that a restart forgets nothing.

- `Store` (`abc.py`): the interface, and the rows a store keeps.
- `MemoryStore` (`memory.py`): keeps nothing; the default.
- `SQLiteStore` (`sqlite.py`): one file, on one machine.
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

__all__ = [
    "FiringRow",
    "JsonSerializer",
    "MemoryStore",
    "PickleSerializer",
    "ProgramRow",
    "RunRow",
    "Serializer",
    "Store",
    "StoredProgram",
    "Write",
    "WriteResult",
    "open_store",
]


def open_store(spec: Any) -> Store:
    """The store `spec` names: `None` or `"memory"` (keeps nothing), a path (`"actors.db"`),
    `"sqlite:///path"`, or a `Store` (given back as it is).

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
            msg = f"store {text!r}: PostgreSQL stores come with several-runner support"
            raise StoreError(msg)
        from actors.store.sqlite import SQLiteStore

        return SQLiteStore(text.removeprefix("sqlite:///") if "://" in text else text)
    msg = (
        "store must be a path such as 'actors.db', 'sqlite:///path', 'memory' or a Store, "
        f"got {spec!r}"
    )
    raise StoreError(msg)
