"""The dashboard: every program, spawn and run of a runner or a store, live in a browser.

`actors web --store PATH|URL` serves a store's dashboard beside its runners; `actors run FILE
--web :8470` (or `actors.web.serve(runner)`) serves a runner of this process. Needs the extra
`actors[web]` (Starlette, uvicorn, sse-starlette). See docs/web.md.

```
requests.py        ProgramQuery, Action: what a visitor asks for, checked
source.py          DashboardSource: what a dashboard reads and acts on; ProgramDetail
runner_source.py   RunnerSource: a runner of this process
store_source.py    StoreSource: a store, read beside its runners; actions sent to owners
event_log.py       EventLog: the newest events, numbered, for the events stream
payloads.py        the snapshots as JSON
pictures.py        the timeline and the load chart as SVG
app.py             build_app: the Starlette app (pages, API, streams, actions)
server.py          WebServer (uvicorn on a thread of its own), serve, serve_store
static/            the pages, their scripts and style (no build step)
```
"""

from __future__ import annotations

from actors.web.app import build_app
from actors.web.requests import Action, ProgramPage, ProgramQuery
from actors.web.runner_source import RunnerSource
from actors.web.server import DEFAULT_BIND, WebServer, parse_bind, serve, serve_store
from actors.web.source import DashboardSource, LoadSample, ProgramDetail
from actors.web.store_source import StoreSource

__all__ = [
    "DEFAULT_BIND",
    "Action",
    "DashboardSource",
    "LoadSample",
    "ProgramDetail",
    "ProgramPage",
    "ProgramQuery",
    "RunnerSource",
    "StoreSource",
    "WebServer",
    "build_app",
    "parse_bind",
    "serve",
    "serve_store",
]
