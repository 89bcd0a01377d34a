"""`actors web --store PATH|URL`: serve a store's dashboard beside its runners, until Ctrl-C.

Also `web_server(runner, args)`, the dashboard `actors run FILE --web BIND` serves of the
runner it runs. Both need the extra `actors[web]`; without it they say so in one line.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import TYPE_CHECKING

from actors.cli.signals import StopSignals, signals_to_main_thread
from actors.cli.stored import readable_store
from actors.cli.usage import UsageError

if TYPE_CHECKING:
    from actors.runner import Runner
    from actors.web import WebServer

__all__ = ["web_command", "web_server"]


def _web(command: str) -> None:
    """Fail in one line if the dashboard's packages are missing."""
    try:
        import actors.web  # noqa: F401 - its import is the check
    except ImportError as error:
        msg = (
            f"actors {command}: error: the dashboard needs the extra `actors[web]` "
            f"(pip install 'actors[web]'): {error}"
        )
        raise UsageError(msg) from None


def _warnings_to_stderr(command: str) -> None:
    """What the dashboard warns of (`actors.web` logs only warnings), one line each on stderr."""
    log = logging.getLogger("actors.web")
    if not any(getattr(handler, "actors_cli", False) for handler in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"actors {command}: warning: %(message)s"))
        handler.actors_cli = True  # type: ignore[attr-defined] # ours: added once
        log.addHandler(handler)
        log.propagate = False


def _served(server: WebServer, what: str, command: str) -> None:
    """Say where the dashboard is, and whether it takes actions."""
    actions = (
        "actions need its token"
        if server.token is not None
        else "read-only (--token or ACTORS_WEB_TOKEN allows actions)"
    )
    print(f"actors {command}: the dashboard of {what} is at {server.url}: {actions}", flush=True)


def _cannot_listen(command: str, option: str, error: OSError) -> UsageError:
    """`option` (`--bind ADDRESS`) names an address the dashboard cannot listen on."""
    return UsageError(f"actors {command}: error: {option}: {error.strerror or error}")


def web_server(runner: Runner, args: argparse.Namespace) -> WebServer:
    """The dashboard of `runner` on `args.web`, started; it stops with the runner."""
    _web("run")
    from actors.web import serve

    _warnings_to_stderr("run")
    try:
        server = serve(runner, bind=args.web, token=args.token)
    except ValueError as error:
        runner.stop(wait=False)
        raise UsageError(f"actors run: error: --web {args.web}: {error}") from None
    except OSError as error:
        runner.stop(wait=False)
        raise _cannot_listen("run", f"--web {args.web}", error) from None
    _served(server, f"runner {runner.id!r}", "run")
    return server


def web_command(args: argparse.Namespace) -> int:
    """Serve the dashboard of a store until Ctrl-C, SIGTERM or `--for`."""
    _web("web")
    from actors.web import parse_bind, serve_store

    try:
        parse_bind(args.bind)
    except ValueError as error:
        raise UsageError(f"actors web: error: --bind: {error}") from None
    store = readable_store(args.store, "web")
    _warnings_to_stderr("web")
    try:
        with signals_to_main_thread():
            server = serve_store(store, bind=args.bind, token=args.token, lease=args.lease)
    except OSError as error:
        raise _cannot_listen("web", f"--bind {args.bind}", error) from None
    _served(server, store.url, "web")
    deadline = None if args.for_ is None else time.monotonic() + args.for_
    reason = "--for"
    with StopSignals().installed() as signals:
        try:
            while deadline is None or time.monotonic() < deadline:
                left = 0.2 if deadline is None else deadline - time.monotonic()
                time.sleep(min(0.2, max(0.0, left)))
        except KeyboardInterrupt:
            reason = signals.first or "Ctrl-C"
        finally:
            server.stop()
    print(f"actors web: stopped ({reason})", flush=True)
    return 0
