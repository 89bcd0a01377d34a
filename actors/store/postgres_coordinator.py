"""Leases of programs to runners in a PostgreSQL store, and the runners' heartbeats.

A program row names its `owner` and holds `lease_expires`; `epoch` moves on each time the
program changes hands, so the writes of an owner that lost it are refused (`"stale"`). A
runner claims its fair share of the programs nobody holds (no owner, or a lease that lapsed),
`FOR UPDATE SKIP LOCKED`, so runners claiming at once never take the same program and never
wait for each other; it renews its leases while it lives (the heartbeat), and finds out at
each renewal which programs it lost; it releases them when it stops. Times are microseconds
from the runner's clock, so tests drive leases with a `ManualClock`.

Each function runs one transaction on `conn` (a psycopg connection in autocommit mode).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import attrs

__all__ = ["RunnerRow", "claim", "heartbeat", "release", "renew", "runners"]


@attrs.frozen(kw_only=True)
class RunnerRow:
    """A runner that opened the store, and when it was last heard of (microseconds)."""

    id: str
    pid: int
    host: str
    started_at: int
    heartbeat: int


def heartbeat(conn: Any, runner_id: str, now: int) -> None:
    """Say that `runner_id` is alive at `now`."""
    with conn.transaction():
        conn.execute("UPDATE actors_runners SET heartbeat = %s WHERE id = %s", (now, runner_id))


def runners(conn: Any) -> list[RunnerRow]:
    """Every runner that opened the store, the most recently heard of first."""
    rows = conn.execute(
        "SELECT id, pid, host, started_at, heartbeat FROM actors_runners ORDER BY heartbeat DESC"
    ).fetchall()
    return [RunnerRow(id=r[0], pid=r[1], host=r[2], started_at=r[3], heartbeat=r[4]) for r in rows]


def claim(conn: Any, runner_id: str, *, now: int, lease: int) -> dict[str, int]:
    """Take programs nobody holds, up to this runner's fair share: the programs divided by the
    runners heard of within one `lease` (rounded up), less those it holds. Returns each
    program taken with its new epoch; its lease runs to `now + lease`."""
    with conn.transaction():
        (live,) = conn.execute(
            "SELECT COUNT(*) FROM actors_runners WHERE heartbeat >= %s OR id = %s",
            (now - lease, runner_id),
        ).fetchone()
        (total,) = conn.execute("SELECT COUNT(*) FROM actors_programs").fetchone()
        (held,) = conn.execute(
            "SELECT COUNT(*) FROM actors_programs WHERE owner = %s AND lease_expires >= %s",
            (runner_id, now),
        ).fetchone()
        wanted = math.ceil(total / max(1, live)) - held
        if wanted <= 0:
            return {}
        rows = conn.execute(
            "UPDATE actors_programs SET owner = %s, lease_expires = %s, epoch = epoch + 1 "
            "WHERE id IN (SELECT id FROM actors_programs WHERE owner IS NULL "
            "OR lease_expires IS NULL OR lease_expires < %s ORDER BY install_order LIMIT %s "
            "FOR UPDATE SKIP LOCKED) RETURNING id, epoch",
            (runner_id, now + lease, now, wanted),
        ).fetchall()
    return dict(rows)


def renew(conn: Any, runner_id: str, held: Mapping[str, int], *, now: int, lease: int) -> set[str]:
    """Extend the leases of the programs `runner_id` holds (id -> the epoch it holds) to
    `now + lease`; returns those it no longer holds (another runner took them: their epoch
    moved on, or they are gone), which it must drop at once."""
    if not held:
        return set()
    with conn.transaction():
        rows = conn.execute(
            "UPDATE actors_programs AS p SET lease_expires = %s "
            "FROM unnest(%s::text[], %s::bigint[]) AS h(id, epoch) "
            "WHERE p.id = h.id AND p.epoch = h.epoch AND p.owner = %s RETURNING p.id",
            (now + lease, list(held), list(held.values()), runner_id),
        ).fetchall()
    kept = {program_id for (program_id,) in rows}
    return set(held) - kept


def release(conn: Any, runner_id: str, program_ids: Collection[str]) -> None:
    """Give up the programs `program_ids` (the runner stops): another runner may take them at
    once, without waiting for the leases to lapse."""
    if not program_ids:
        return
    with conn.transaction():
        conn.execute(
            "UPDATE actors_programs SET owner = NULL, lease_expires = NULL "
            "WHERE owner = %s AND id = ANY(%s)",
            (runner_id, list(program_ids)),
        )
