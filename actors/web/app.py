"""The dashboard's web application (Starlette): its pages, its JSON API, its live streams and
its actions, over one `DashboardSource`.

```
GET  /                                   the runners, the programs table, the events stream
GET  /programs/{id}                      one program's page
GET  /api/info                           what is shown, and whether actions are allowed
GET  /api/runners                        the runners and their heartbeats
GET  /api/programs?page=&size=&sort=&order=&tag=&search=    a page of the programs table
GET  /api/programs/{id}                  a program: state, spawns, history, next fire times
GET  /api/events?after=&program=         the events after number `after`
GET  /api/stream/programs?...            server-sent events: the table page, runners, events
GET  /api/stream/programs/{id}           server-sent events: the program, its events
POST /programs/{id}/{action}             trigger, pause, resume, spawn, unspawn ({"n": 2})
POST /programs/{id}/spawns/{spawn}/kill  kill a spawn
```

The pages are static files that read the API and listen to a stream: the server pushes what
changed, the browser never polls. An action needs the dashboard's token in a header
(`X-Actors-Token`, or `Authorization: Bearer`), never a cookie, so another site cannot make a
visitor's browser send one (CSRF); without a token the dashboard is read-only. Whatever a
request sends is checked (`actors.web.requests`) before it becomes a message, and a bad one is
answered 4xx with a message that says what was wrong.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from actors.errors import (
    ProgramNotFound,
    ProgramUnavailable,
    RunnerStopped,
    SchedulerError,
    SpawnLimitError,
    SpawnNotFound,
)
from actors.web.payloads import (
    detail_payload,
    event_payload,
    jsonable,
    page_payload,
    runner_payload,
)
from actors.web.pictures import load_chart_svg, timeline_svg
from actors.web.requests import Action, ProgramQuery, program_id_of
from actors.web.source import DashboardSource, StillRunning

__all__ = ["HISTORY", "STATIC", "build_app"]

#: The dashboard's pages, scripts and styles, shipped in the package (no build step).
STATIC = Path(__file__).parent / "static"

#: How many runs a program's page shows and draws.
HISTORY = 200

#: The errors of an action, and the status each is answered with.
_STATUSES: tuple[tuple[type[BaseException], int], ...] = (
    (ValueError, 400),
    (ProgramNotFound, 404),
    (SpawnNotFound, 404),
    (SpawnLimitError, 409),
    (ProgramUnavailable, 503),
    (RunnerStopped, 503),
    (SchedulerError, 409),
)

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_PAGE_HEADERS = {**_HEADERS, "Content-Security-Policy": "default-src 'self'; img-src 'self' data:"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status, headers=_HEADERS)


def _after(request: Request) -> int:
    """The number of the last event a visitor has: `after`, or a reconnecting browser's
    Last-Event-ID."""
    text = request.query_params.get("after") or request.headers.get("last-event-id") or "0"
    if not text.isdigit():
        raise ValueError(f"after must be an int >= 0, got {text!r:.80}")
    return int(text)


def _answer(action: Action, status: int, **fields: Any) -> JSONResponse:
    """What became of `action`: `ok`, the action and its program, and `fields`."""
    body = {"ok": fields.pop("ok"), "action": action.kind, "program": action.program_id}
    return JSONResponse({**body, **fields}, status, headers=_HEADERS)


def _failure(error: BaseException) -> JSONResponse:
    for kind, status in _STATUSES:
        if isinstance(error, kind):
            return _error(status, f"{type(error).__name__}: {error}")
    return _error(500, f"{type(error).__name__}: {error}")


class _Dashboard:
    """The app's routes over `source` (see the module docstring)."""

    def __init__(
        self,
        source: DashboardSource,
        token: str | None,
        refresh: float,
        action_timeout: float,
        stopping: threading.Event,
    ) -> None:
        self.source = source
        self.token = token
        self.refresh = refresh
        self.action_timeout = action_timeout
        self.stopping = stopping

    # --- pages and reads ----------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    async def program_page(self, request: Request) -> Response:
        return FileResponse(STATIC / "program.html", headers=_PAGE_HEADERS)

    async def info(self, request: Request) -> Response:
        return JSONResponse(
            {"source": self.source.name, "read_only": self.token is None, "refresh": self.refresh},
            headers=_HEADERS,
        )

    def _runners(self) -> list[dict[str, Any]]:
        return [runner_payload(info) for info in self.source.runners()]

    async def runners(self, request: Request) -> Response:
        return await self._read(self._runners)

    def _page(self, query: ProgramQuery) -> dict[str, Any]:
        return page_payload(query.apply(self.source.programs()))

    async def programs(self, request: Request) -> Response:
        try:
            query = ProgramQuery.from_params(request.query_params)
        except ValueError as error:
            return _error(400, str(error))
        return await self._read(lambda: self._page(query))

    def _detail(self, program_id: str) -> dict[str, Any]:
        detail = self.source.detail(program_id, history=HISTORY)
        payload = detail_payload(detail)
        payload["timeline_svg"] = timeline_svg(detail.history, detail.now)
        watched = detail.monitor is not None or detail.samples
        payload["chart_svg"] = load_chart_svg(detail.samples) if watched else None
        return payload

    async def program(self, request: Request) -> Response:
        try:
            program_id = program_id_of(request.path_params["program_id"])
        except ValueError as error:
            return _error(400, str(error))
        return await self._read(lambda: self._detail(program_id))

    def _events(self, after: int, program: str | None) -> list[dict[str, Any]]:
        self.source.refresh()
        return [event_payload(record) for record in self.source.events.since(after, program)]

    async def events(self, request: Request) -> Response:
        try:
            after = _after(request)
        except ValueError as error:
            return _error(400, str(error))
        program = request.query_params.get("program") or None
        return await self._read(lambda: self._events(after, program))

    async def _read(self, read: Callable[[], Any]) -> Response:
        try:
            payload = await run_in_threadpool(read)
        except Exception as error:  # noqa: BLE001 - answered with its status and message
            return _failure(error)
        return JSONResponse(payload, headers=_HEADERS)

    # --- live streams -------------------------------------------------------------------

    async def stream_programs(self, request: Request) -> Response:
        try:
            query = ProgramQuery.from_params(
                {k: v for k, v in request.query_params.items() if k != "after"}
            )
            after = _after(request)
        except ValueError as error:
            return _error(400, str(error))
        reads = {"page": lambda: self._page(query), "runners": self._runners}
        return EventSourceResponse(self._stream(request, reads, None, after), ping=15)

    async def stream_program(self, request: Request) -> Response:
        try:
            program_id = program_id_of(request.path_params["program_id"])
            after = _after(request)
        except ValueError as error:
            return _error(400, str(error))
        reads = {"program": lambda: self._detail(program_id)}
        # A program that does not exist is a 404 now, not a stream of problems.
        first = await self._read(reads["program"])
        if first.status_code != 200:
            return first
        return EventSourceResponse(self._stream(request, reads, program_id, after), ping=15)

    async def _stream(
        self,
        request: Request,
        reads: dict[str, Callable[[], Any]],
        program: str | None,
        after: int,
    ) -> AsyncIterator[dict[str, str]]:
        """Each of `reads` as an event of its name whenever its answer changes, and the
        events stream's new events after number `after`, until the visitor leaves or the
        server stops. The events carry their last number as the SSE id: a browser that
        reconnects sends it back (Last-Event-ID), and misses nothing still kept."""
        last: dict[str, str] = {}
        while not self.stopping.is_set() and not await request.is_disconnected():
            for name, read in reads.items():
                try:
                    data = json.dumps(await run_in_threadpool(read))
                except Exception as error:  # noqa: BLE001 - the page says so, and goes on
                    name, data = "problem", json.dumps(f"{type(error).__name__}: {error}")
                if last.get(name) != data:
                    last[name] = data
                    yield {"event": name, "data": data}
            try:
                events = await run_in_threadpool(self._events, after, program)
            except Exception:  # noqa: BLE001 - a source that cannot say shows no events
                events = []
            if events:
                after = events[-1]["seq"]
                yield {"event": "events", "data": json.dumps(events), "id": str(after)}
            await anyio.sleep(self.refresh)

    # --- actions ------------------------------------------------------------------------

    def _refused(self, request: Request) -> JSONResponse | None:
        """The answer to an action that may not be done, or `None`: it may."""
        if self.token is None:
            return _error(
                403,
                "this dashboard is read-only: start it with --token (or ACTORS_WEB_TOKEN) "
                "to allow actions",
            )
        given = request.headers.get("x-actors-token")
        if given is None:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else None
        if not given:
            return _error(401, "an action needs the dashboard's token in X-Actors-Token")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return _error(403, "the token is wrong")
        return None

    async def action(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        params = request.path_params
        body = await request.body()
        try:
            sent = json.loads(body) if body.strip() else None
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return _error(400, f"the body must be JSON, got {body[:80]!r}")
        try:
            action = Action.from_params(
                params.get("action", "kill"), params["program_id"], sent, params.get("spawn_id")
            )
        except ValueError as error:
            return _error(400, str(error))
        try:
            result = await run_in_threadpool(self.source.act, action, self.action_timeout)
        except StillRunning:
            message = f"still running after {self.action_timeout:g} s"
            return _answer(action, 202, ok=True, running=True, message=message)
        except SchedulerError as error:
            return _failure(error)
        except Exception as error:  # noqa: BLE001 - the run's own error: it ran, and failed
            if action.kind != "trigger":
                return _failure(error)
            failed = f"the run failed: {type(error).__name__}: {error}"
            return _answer(action, 200, ok=False, error=failed)
        return _answer(action, 200, ok=True, result=jsonable(result))


def build_app(
    source: DashboardSource,
    *,
    token: str | None = None,
    refresh: float = 0.5,
    action_timeout: float = 10.0,
    stopping: threading.Event | None = None,
    allowed_hosts: Sequence[str] = ("*",),
) -> Starlette:
    """The dashboard of `source` as an ASGI app.

    Args:
        source: what it shows and acts on.
        token: the token actions need; `None`: read-only.
        refresh: how often a live stream looks for changes (seconds).
        action_timeout: how long an action waits for its answer (a trigger, for its run).
        stopping: set when the server stops: the live streams end.
        allowed_hosts: the names a request's Host header may give (`*`: any). A dashboard on
            loopback allows only loopback names, so a page elsewhere whose name is made to
            point at 127.0.0.1 (DNS rebinding) cannot read it.
    """
    dashboard = _Dashboard(
        source,
        token,
        refresh,
        action_timeout,
        stopping if stopping is not None else threading.Event(),
    )
    routes = [
        Route("/", dashboard.index),
        Route("/programs/{program_id}", dashboard.program_page),
        Route("/api/info", dashboard.info),
        Route("/api/runners", dashboard.runners),
        Route("/api/programs", dashboard.programs),
        Route("/api/programs/{program_id}", dashboard.program),
        Route("/api/events", dashboard.events),
        Route("/api/stream/programs", dashboard.stream_programs),
        Route("/api/stream/programs/{program_id}", dashboard.stream_program),
        Route("/programs/{program_id}/spawns/{spawn_id}/kill", dashboard.action, methods=["POST"]),
        Route("/programs/{program_id}/{action}", dashboard.action, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    hosts = Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    return Starlette(routes=routes, middleware=[hosts])
