"""The SQL of the runners table, and of what a runner frees, shared by the coordinators.

Both coordinators keep the same rows the same way; only their dialects differ (`schema`'s
`{p}` parameter marks). `RunnerStatements(dialect)` gives the statements in one dialect;
`runner_liveness` says which runners are alive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from actors.errors import StoreError
from actors.store.abc import RunnerRow
from actors.store.runner_liveness import in_use
from actors.store.schema import Dialect

__all__ = ["RunnerStatements", "refuse_if_in_use", "runner_rows"]

_RUNNER_COLUMNS = "id, pid, host, started_at, heartbeat"


@attrs.frozen
class RunnerStatements:
    """The runners' statements in `dialect`'s marks."""

    dialect: Dialect

    def _sql(self, template: str) -> str:
        return self.dialect.sql(template)

    @property
    def find(self) -> str:
        """A runner's pid, host and heartbeat, by id."""
        return self._sql("SELECT pid, host, heartbeat FROM actors_runners WHERE id = {p}")

    @property
    def join(self) -> str:
        """Record a runner (id, pid, host, started_at, heartbeat), over an earlier one."""
        return self._sql(
            f"INSERT INTO actors_runners ({_RUNNER_COLUMNS}) VALUES ({{p}}, {{p}}, {{p}}, {{p}}, "
            "{p}) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, "
            "started_at = excluded.started_at, heartbeat = excluded.heartbeat"
        )

    @property
    def heartbeat(self) -> str:
        """Say a runner is alive (an upsert: one frozen for long may have been forgotten)."""
        return self._sql(
            f"INSERT INTO actors_runners ({_RUNNER_COLUMNS}) VALUES ({{p}}, {{p}}, {{p}}, {{p}}, "
            "{p}) ON CONFLICT (id) DO UPDATE SET heartbeat = excluded.heartbeat"
        )

    @property
    def forget(self) -> str:
        """Forget the runners not heard of since a time, but one (a kill -9 leaves its row)."""
        return self._sql("DELETE FROM actors_runners WHERE heartbeat < {p} AND id <> {p}")

    @property
    def everyone(self) -> str:
        """Every runner, the most recently heard of first."""
        return f"SELECT {_RUNNER_COLUMNS} FROM actors_runners ORDER BY heartbeat DESC, id"

    @property
    def leave(self) -> str:
        """Remove a runner."""
        return self._sql("DELETE FROM actors_runners WHERE id = {p}")

    @property
    def free_all(self) -> str:
        """Free every program a runner owns, fencing its writes (the epoch moves on)."""
        return self._sql(
            "UPDATE actors_programs SET owner = NULL, lease_expires = NULL, epoch = epoch + 1 "
            "WHERE owner = {p}"
        )

    @property
    def owner_of(self) -> str:
        """A program's owner and that runner's heartbeat."""
        return self._sql(
            "SELECT p.owner, r.heartbeat FROM actors_programs AS p LEFT JOIN actors_runners "
            "AS r ON r.id = p.owner WHERE p.id = {p}"
        )


def runner_rows(rows: Sequence[Sequence[Any]]) -> list[RunnerRow]:
    """`RunnerRow`s of the rows of `RunnerStatements.everyone`."""
    return [RunnerRow(id=r[0], pid=r[1], host=r[2], started_at=r[3], heartbeat=r[4]) for r in rows]


def refuse_if_in_use(
    row: tuple[int, str, int] | None,
    runner_id: str,
    store: str,
    *,
    pid: int,
    host: str,
    now: int,
    span: int,
) -> None:
    """Raise if `row` (of `RunnerStatements.find`) is a runner of another process heard of
    within `span` of `now`.

    Raises:
        StoreError: naming the id, that process and when it was last heard of.
    """
    if row is not None and in_use(row, pid, host, now - span):
        msg = (
            f"{store}: runner id {runner_id!r} is in use by pid {row[0]} on {row[1]}, heard of "
            f"{(now - row[2]) / 1e6:.1f} s ago: give each runner of a store its own id (or "
            "leave the default)"
        )
        raise StoreError(msg)
