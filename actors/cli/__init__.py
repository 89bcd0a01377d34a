"""The `actors` command line (also `python -m actors`): one module per command.

    actors run TARGET [--for SECONDS] [--grace SECONDS] [--no-live]  run programs, live table
    actors repl TARGET [--console NAME] [--grace SECONDS]           the same, with a console
    actors next "CRON" [-n 5] [--tz ZONE] [--from ISO]              next fire times of an expression
    actors status [--store PATH]                                    a store's programs, as a table
    actors history PROGRAM [--store PATH] [-n 20]                   a stored program's recent runs
    actors web [--store PATH|URL] [--bind HOST:PORT] [--token T]    a store's live dashboard

TARGET is FILE.py, module or module:attr (`loading.py` says how it is loaded).

```
__init__.py  main, build_parser: the subcommands and their options
usage.py     UsageError: a mistake on the command line, one line and exit status 2
next.py      `actors next`: the next fire times of a cron expression
loading.py   load_target, Loaded: the runner of a FILE.py, module or module:attr
run.py       `actors run`: the live table, the wind-down, the last line
repl.py      `actors repl`: picking a console and opening it
stored.py    `actors status` and `actors history`: a store, read without running anything
web.py       `actors web`, and the dashboard of `actors run --web`
signals.py   SIGINT and SIGTERM while `run` or `repl` has a runner going
output.py    the rich console that `run` and `repl` print on
```

Each subcommand is a function `(args) -> exit status` set as the `handler` of its own subparser.
A mistake the user can fix (a bad expression, an unknown zone, a bad option, a file that is
missing, fails to import or holds no programs) prints ONE line on stderr and exits with status
2; no traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from actors.cli.loading import Loaded, load_target
from actors.cli.next import next_command
from actors.cli.stored import default_store, history_command, status_command
from actors.cli.usage import USAGE_ERROR, UsageError
from actors.errors import SchedulerError

# `next` needs only the schedules: `run` and `repl` (and with them the runner, pykka and rich)
# are imported when one of them is the command, so that `actors next` starts fast. Importing
# `actors.cli.next` binds `next` in this module to it: the builtin is `builtins.next` here.

__all__ = ["Loaded", "UsageError", "build_parser", "load_target", "main"]

#: How long running work gets to finish when `run` or `repl` stops the runner (`--grace`).
STOP_TIMEOUT = 10.0


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (`actors next: error: ...`), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        msg = f"must be a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        msg = f"must be a number of seconds > 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def _grace(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        msg = f"must be a number of seconds >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def _run(args: argparse.Namespace) -> int:
    """`actors run` (see `actors.cli.run`), imported only when it is the command."""
    from actors.cli.run import run_command

    return run_command(args)


def _web(args: argparse.Namespace) -> int:
    """`actors web` (see `actors.cli.web`), imported only when it is the command."""
    from actors.cli.web import web_command

    return web_command(args)


def _repl(args: argparse.Namespace) -> int:
    """`actors repl` (see `actors.cli.repl`), imported only when it is the command."""
    from actors.cli.repl import repl_command

    return repl_command(args)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `actors` and its subcommands."""
    parser = _Parser(
        prog="actors",
        description="An actor-model job scheduler: programs, spawns and a runner.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    next_ = commands.add_parser(
        "next",
        help="print the next fire times of a cron expression",
        description=(
            "Print the next fire times of a cron expression, one ISO-8601 datetime a line, "
            "read in --tz with Debian cron's daylight-saving rule. Fields: minute hour "
            "day-of-month month day-of-week [second]; or @hourly, @daily, @weekly, @monthly, "
            "@yearly, @annually, @midnight."
        ),
    )
    next_.add_argument("expr", metavar="EXPR", help='a cron expression, such as "0 3 * * *"')
    next_.add_argument(
        "-n", type=_positive_int, default=5, metavar="N", help="how many (default: 5)"
    )
    next_.add_argument(
        "--tz", default="UTC", metavar="ZONE", help="IANA time zone, such as Europe/Berlin"
    )
    next_.add_argument(
        "--from",
        dest="from_",
        metavar="ISO",
        help="start after this datetime instead of now (naive: a wall time in --tz)",
    )
    next_.set_defaults(handler=next_command)

    target_help = (
        "FILE.py (its `if __name__ == '__main__':` block does not run), module, or "
        "module:attr; it must hold a `runner` (an actors.Runner) or `programs` (Program "
        "objects or dicts)"
    )
    store_help = (
        "where programs made from `programs` are kept: a path, sqlite:///PATH, or memory "
        "(default: $ACTORS_STORE, else actors.db in the working directory); a `runner` the "
        "target makes keeps its own store"
    )
    token_help = (
        "the token the dashboard's actions need (sent in the X-Actors-Token header); default: "
        "$ACTORS_WEB_TOKEN; without one the dashboard is read-only"
    )
    run = commands.add_parser(
        "run",
        help="run the programs of a file or module, with a live status table",
        description=(
            "Load a runner (or programs) from a file or module, run it and show its status "
            "table, redrawn twice a second, until Ctrl-C (or SIGTERM): then stop it "
            "gracefully, letting running work finish (for up to --grace seconds), and exit "
            "with status 0."
        ),
    )
    run.add_argument("target", metavar="TARGET", help=target_help)
    run.add_argument("--store", default=None, metavar="PATH", help=store_help)
    run.add_argument(
        "--for",
        dest="for_",
        type=_seconds,
        metavar="SECONDS",
        help="stop by itself after this many seconds",
    )
    run.add_argument(
        "--grace",
        type=_grace,
        default=STOP_TIMEOUT,
        metavar="SECONDS",
        help=(
            f"on stopping, how long running work gets to finish before it is abandoned "
            f"(default: {STOP_TIMEOUT:g})"
        ),
    )
    run.add_argument(
        "--no-live",
        dest="live",
        action="store_false",
        help="print the table once, at the end, instead of a live display (for logs, CI)",
    )
    run.add_argument(
        "--web",
        default=None,
        metavar="HOST:PORT",
        help="also serve the runner's live dashboard there (`:8470`: on loopback; needs "
        "actors[web])",
    )
    run.add_argument("--token", default=None, metavar="TOKEN", help=token_help)
    run.set_defaults(handler=_with_store(_run))

    repl = commands.add_parser(
        "repl",
        help="run the programs of a file or module and open a Python console",
        description=(
            "Load a runner (or programs) from a file or module, start it, and open an "
            "interactive console with `runner`, `actors` and the loaded names in scope: "
            "IPython if installed, else ptpython, else Python's own. Leaving the console "
            "(exit() or Ctrl-D) stops the runner."
        ),
    )
    repl.add_argument("target", metavar="TARGET", help=target_help)
    repl.add_argument("--store", default=None, metavar="PATH", help=store_help)
    repl.add_argument(
        "--console",
        choices=["auto", "ipython", "ptpython", "python"],
        default="auto",
        help="which console (default: auto, the first installed of ipython, ptpython, python)",
    )
    repl.add_argument(
        "--grace",
        type=_grace,
        default=STOP_TIMEOUT,
        metavar="SECONDS",
        help=(
            f"on leaving, how long running work gets to finish before it is abandoned "
            f"(default: {STOP_TIMEOUT:g})"
        ),
    )
    repl.set_defaults(handler=_with_store(_repl))

    read_help = (
        "the store to read: a path or sqlite:///PATH (default: $ACTORS_STORE, else actors.db)"
    )
    status = commands.add_parser(
        "status",
        help="print the status table of a store's programs, without running anything",
        description=(
            "Print the status table of the programs a store holds, read without running "
            "anything and without locking it, so also while a runner runs on it."
        ),
    )
    status.add_argument("--store", default=None, metavar="PATH", help=read_help)
    status.set_defaults(handler=_with_store(status_command))
    history = commands.add_parser(
        "history",
        help="print a stored program's recent runs, newest first",
        description="Print the recent runs of one program of a store, newest first.",
    )
    history.add_argument("program", metavar="PROGRAM", help="the program's id")
    history.add_argument("--store", default=None, metavar="PATH", help=read_help)
    history.add_argument(
        "-n", type=_positive_int, default=20, metavar="N", help="how many (default: 20)"
    )
    history.set_defaults(handler=_with_store(history_command))

    web = commands.add_parser(
        "web",
        help="serve a live dashboard of a store's programs, beside its runners",
        description=(
            "Serve a live web dashboard of the programs a store holds (SQLite or a whole "
            "PostgreSQL cluster), read beside the runners that run them: runners and their "
            "heartbeats, programs, spawns, runs, events. Actions (trigger, pause, resume, "
            "spawn, unspawn, kill a spawn) go to the runner that owns the program, and need "
            "--token. Needs the extra actors[web]. Ctrl-C stops it."
        ),
    )
    web.add_argument(
        "--store",
        default=None,
        metavar="PATH|URL",
        help=(
            "the store: a path, sqlite:///PATH or postgresql://... (default: $ACTORS_STORE, "
            "else actors.db)"
        ),
    )
    web.add_argument(
        "--bind",
        default="127.0.0.1:8470",
        metavar="HOST:PORT",
        help="where to listen (default: 127.0.0.1:8470, this machine only; :PORT is loopback)",
    )
    web.add_argument("--token", default=None, metavar="TOKEN", help=token_help)
    web.add_argument(
        "--lease",
        type=_seconds,
        default=15.0,
        metavar="SECONDS",
        help="the runners' lease: one not heard of for half of it is shown dead (default: 15)",
    )
    web.add_argument(
        "--for",
        dest="for_",
        type=_seconds,
        metavar="SECONDS",
        help="stop by itself after this many seconds",
    )
    web.set_defaults(handler=_with_store(_web))
    return parser


def _with_store(
    command: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """`command`, with `--store` defaulting to $ACTORS_STORE or actors.db."""

    def run(args: argparse.Namespace) -> int:
        if args.store is None:
            args.store = default_store()
        return command(args)

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 a mistake on the command line)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        print(error, file=sys.stderr)
        return USAGE_ERROR
    except SystemExit as done:  # --help: argparse has printed it and asks to exit
        return done.code if isinstance(done.code, int) else 0
    try:
        status: int = args.handler(args)
    except UsageError as error:
        print(error, file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:  # Ctrl-C while a file or module was still loading
        print(f"actors {args.command}: interrupted", file=sys.stderr)
        return 130
    except SchedulerError as error:  # InvalidSchedule: the message names the field and value
        print(f"actors {args.command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:  # `actors next ... | head -1`: the reader has all it wanted
        # The recipe of Python's signal docs: point stdout at devnull, so that the flush at
        # exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status
