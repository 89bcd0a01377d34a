"""MemoryStore: the store of a runner that keeps nothing past its process (the default).

It holds no rows: a runner on it writes nothing and waits for no commit, so the default costs
nothing. Its programs live as long as the runner does.
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.store.abc import Serializer, Store, StoredProgram, Write, WriteResult
from actors.store.serializers import JsonSerializer

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Keeps nothing: `Runner()` and `Runner(store="memory")`."""

    durable = False

    def __init__(self) -> None:
        self._serializer = JsonSerializer()

    @property
    def url(self) -> str:
        return "memory"

    @property
    def serializer(self) -> Serializer:
        return self._serializer

    def open(self, runner_id: str, *, history: int = 1000) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""

    def load(self) -> list[StoredProgram]:
        return []

    def load_program(self, program_id: str) -> StoredProgram | None:
        return None

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        return ["ok"] * len(batch)
