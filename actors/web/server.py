"""WebServer: the dashboard served by uvicorn on a thread of its own, and how to start one.

`serve(runner)` serves a runner of this process (`actors run FILE --web`); `serve_store(url)`
a store, from outside its runners (`actors web --store`). The server binds to loopback unless
told otherwise (`bind`), and warns when it is asked to listen elsewhere without a token: then
anyone who reaches it can read every program's state. `stop()` (or the runner's own `stop()`,
for `serve`) ends its streams, closes its source and joins its thread.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

import uvicorn

from actors.web.app import build_app
from actors.web.runner_source import RunnerSource
from actors.web.source import DashboardSource

if TYPE_CHECKING:
    from actors.runner import Runner
    from actors.store import Store

__all__ = ["DEFAULT_BIND", "TOKEN_VARIABLE", "WebServer", "parse_bind", "serve", "serve_store"]

logger = logging.getLogger("actors.web")

#: Where a dashboard listens unless told otherwise: loopback only.
DEFAULT_BIND = "127.0.0.1:8470"

#: The environment variable a token is read from when none is given.
TOKEN_VARIABLE = "ACTORS_WEB_TOKEN"

#: The names a request may give its host by when the dashboard listens on loopback.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")

#: How long `start` waits for the server to listen (seconds).
START_TIMEOUT = 10.0


def parse_bind(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`127.0.0.1:8470`, `[::1]:8470`, `0.0.0.0:80`), or `:PORT` for loopback,
    as `(host, port)`; port 0 takes a free one.

    Raises:
        ValueError: not such an address; the message says what was expected.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        msg = f"bind must be HOST:PORT or :PORT with a port 0-65535, got {text!r}"
        raise ValueError(msg)
    host = host.strip("[]") or "127.0.0.1"
    if any(char.isspace() or char in "/[]" for char in host):
        raise ValueError(f"bind has no valid host in {text!r}")
    return host, int(port_text)


def _bound(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, for uvicorn to listen on."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    bound = socket.socket(family, kind, proto)
    try:
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bound.bind(address)
    except BaseException:
        bound.close()
        raise
    return bound


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebServer:
    """A dashboard of `source` served on `host:port` by uvicorn, on a thread of its own.

    Args:
        source: what the dashboard shows; closed when the server stops.
        bind: `HOST:PORT` or `:PORT` (`parse_bind`).
        token: the token actions need; `None`: `$ACTORS_WEB_TOKEN`, and without it read-only.
        refresh: how often live pages are brought up to date (seconds).
        action_timeout: how long an action waits for its answer (a trigger, for its run)
            before it is answered 202, still running (seconds).
    """

    def __init__(
        self,
        source: DashboardSource,
        *,
        bind: str = DEFAULT_BIND,
        token: str | None = None,
        refresh: float = 0.5,
        action_timeout: float = 10.0,
    ) -> None:
        self.host, port = parse_bind(bind)
        # An empty token is none: a dashboard never takes actions without one.
        self.token = (os.environ.get(TOKEN_VARIABLE) if token is None else token) or None
        self.source = source
        self._stopping = threading.Event()
        app = build_app(
            source,
            token=self.token,
            refresh=refresh,
            action_timeout=action_timeout,
            stopping=self._stopping,
            allowed_hosts=LOOPBACK_NAMES if _loopback(self.host) else ("*",),
        )
        config = uvicorn.Config(
            app,
            log_level="warning",
            log_config=None,  # uvicorn's loggers go where the application's logging says
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.port = port

    @property
    def warning(self) -> str | None:
        """What is unwise about where it listens (beyond this machine without a token)."""
        if _loopback(self.host) or self.token is not None:
            return None
        return (
            f"the dashboard listens on {self.host}:{self.port}, beyond this machine, without a "
            "token: it is read-only, but anyone who reaches it sees every program's state"
        )

    @property
    def url(self) -> str:
        """Where the dashboard is, once started (this host's name when it listens on every
        address)."""
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname()
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    @property
    def running(self) -> bool:
        """Whether the server's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> WebServer:
        """Start serving; returns once the server listens. Logs `warning`, if any.

        Raises:
            OSError: it cannot listen there (the port is taken, the address is not ours); the
                message says which and why.
        """
        # The socket is bound here, on the caller's thread: a port in use is an error raised
        # to the caller, and a port 0 is the real one before anything is said about it.
        try:
            listening = _bound(self.host, self.port)
        except OSError as error:
            self.source.close()
            why = error.strerror or str(error)
            raise OSError(error.errno, f"cannot listen on {self.host}:{self.port}: {why}") from None
        self.port = listening.getsockname()[1]
        if self.warning is not None:
            logger.warning("%s", self.warning)
        self._thread = threading.Thread(
            target=self._serve, args=(listening,), name="actors-web", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise OSError(f"the dashboard did not start on {self.host}:{self.port}")
            time.sleep(0.01)  # sleep-ok: uvicorn tells of its start by a flag only
        return self

    def _serve(self, listening: socket.socket) -> None:
        # uvicorn says it could not start by SystemExit, having logged why.
        with contextlib.suppress(SystemExit), listening:
            self._server.run(sockets=[listening])

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: end the live streams, close the source, join the thread. Idempotent."""
        self._stopping.set()
        self._server.should_exit = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.source.close()

    def __enter__(self) -> WebServer:
        return self if self.running else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "serving" if self.running else "stopped"
        return f"<WebServer {self.source.name} at {self.url} {state}>"


def serve(
    runner: Runner, *, bind: str = DEFAULT_BIND, token: str | None = None, refresh: float = 0.5
) -> WebServer:
    """Serve a dashboard of `runner` (started; it stops with the runner, or by its `stop`).

    Raises:
        ValueError: `bind` is not HOST:PORT.
        OSError: it cannot listen there.
    """
    parse_bind(bind)  # a bad address is told before the source subscribes to the runner
    server = WebServer(RunnerSource(runner), bind=bind, token=token, refresh=refresh)
    server.start()
    runner._system.stop_with(server.stop)  # noqa: SLF001 - the runner's own parts
    return server


def serve_store(
    store: Store | str,
    *,
    bind: str = DEFAULT_BIND,
    token: str | None = None,
    refresh: float = 0.5,
    lease: float = 15.0,
) -> WebServer:
    """Serve a dashboard of a store (a `Store`, a path or a URL), beside its runners.

    Raises:
        StoreError: the store cannot be read.
        ValueError: `bind` is not HOST:PORT.
        OSError: it cannot listen there.
    """
    from actors.store import open_store
    from actors.web.store_source import StoreSource

    parse_bind(bind)  # a bad address is told before the store is opened
    source = StoreSource(open_store(store), lease=lease)
    return WebServer(source, bind=bind, token=token, refresh=refresh).start()
