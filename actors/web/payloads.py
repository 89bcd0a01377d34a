"""Payloads: the dashboard's snapshots as JSON, for its API and its pages.

Times are ISO 8601 strings; errors are their `repr`; a state is kept as JSON where it is JSON
already (numbers, text, lists and dicts of them), else shown by its `repr`, cut at
`MAX_STATE_TEXT` characters. Nothing a user's code returns can make a payload fail.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from actors.snapshots import MonitorInfo, ProgramInfo, RunnerInfo, RunRecord, SpawnInfo
from actors.web.event_log import EventRecord
from actors.web.requests import ProgramPage
from actors.web.source import LoadSample, ProgramDetail

__all__ = [
    "detail_payload",
    "event_payload",
    "jsonable",
    "page_payload",
    "program_payload",
    "runner_payload",
]

#: The longest `repr` of a state or result shown.
MAX_STATE_TEXT = 4000


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _error(value: BaseException | None) -> str | None:
    return None if value is None else f"{type(value).__name__}: {value}"


def jsonable(value: Any) -> Any:
    """`value` if JSON holds it as it is, else its `repr` (cut at `MAX_STATE_TEXT`)."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        pass
    else:
        if len(text) <= MAX_STATE_TEXT:
            return value
    try:
        shown = repr(value)
    except Exception as error:  # noqa: BLE001 - a user's __repr__ must not break the page
        shown = f"<unprintable {type(value).__name__}: {error!r}>"
    return shown[:MAX_STATE_TEXT]


def program_payload(info: ProgramInfo, *, state: bool = False) -> dict[str, Any]:
    """One program, as a row of the table (`state`: with its state, for its own page)."""
    payload: dict[str, Any] = {
        "id": info.id,
        "name": info.name,
        "status": info.status,
        "schedule": info.schedule,
        "spawns": info.spawns,
        "min": info.min,
        "max": info.max,
        "spawn_counts": info.spawn_counts,
        "runs": info.runs,
        "succeeded": info.succeeded,
        "failed": info.failed,
        "skipped": info.skipped,
        "missed": info.missed,
        "running": info.running,
        "last_run": _when(info.last_run),
        "next_run": _when(info.next_run),
        "last_error": _error(info.last_error),
        "owner": info.owner,
        "tags": list(info.tags),
    }
    if state:
        payload["state"] = jsonable(info.state)
    return payload


def page_payload(page: ProgramPage) -> dict[str, Any]:
    """One page of the programs table."""
    return {
        "programs": [program_payload(info) for info in page.rows],
        "total": page.total,
        "page": page.page,
        "pages": page.pages,
        "size": page.size,
        "tags": page.tags,
    }


def runner_payload(info: RunnerInfo) -> dict[str, Any]:
    """One runner, and when it was last heard of."""
    return {
        "id": info.id,
        "host": info.host,
        "pid": info.pid,
        "started_at": _when(info.started_at),
        "heartbeat": _when(info.heartbeat),
        "alive": info.alive,
    }


def _spawn(info: SpawnInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "status": info.status,
        "started_at": _when(info.started_at),
        "runs": info.runs,
        "succeeded": info.succeeded,
        "failed": info.failed,
        "last_error": _error(info.last_error),
        "node": info.node,
    }


def _run(record: RunRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "attempt": record.attempt,
        "status": record.status,
        "spawn": record.spawn,
        "scheduled_at": _when(record.scheduled_at),
        "started_at": _when(record.started_at),
        "finished_at": _when(record.finished_at),
        "result": None if record.result is None else record.result[:MAX_STATE_TEXT],
        "error": _error(record.error),
    }


def _monitor(info: MonitorInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "mode": info.mode,
        "rule": info.rule,
        "active": info.active,
        "spawns": info.spawns,
        "samples": info.samples,
        "last_sample": _finite(info.last_sample),
        "last_sample_at": _when(info.last_sample_at),
        "last_change": info.last_change,
        "errors": info.errors,
        "last_error": _error(info.last_error),
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _sample(sample: LoadSample) -> dict[str, Any]:
    return {"at": _when(sample.at), "spawns": sample.spawns, "load": _finite(sample.load)}


def detail_payload(detail: ProgramDetail) -> dict[str, Any]:
    """A program's page, but its pictures (those are SVG of their own)."""
    return {
        "program": program_payload(detail.info, state=True),
        "spawns": [_spawn(info) for info in detail.spawns],
        "history": [_run(record) for record in detail.history],
        "next_fires": [_when(when) for when in detail.next_fires],
        "now": _when(detail.now),
        "monitor": _monitor(detail.monitor),
        "samples": [_sample(sample) for sample in detail.samples],
        "notes": detail.notes,
    }


def event_payload(record: EventRecord) -> dict[str, Any]:
    """One event of the events stream."""
    return {
        "seq": record.seq,
        "at": _when(record.at),
        "program": record.program,
        "kind": record.kind,
        "text": record.text,
        "error": record.error,
    }
