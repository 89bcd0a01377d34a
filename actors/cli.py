"""The `actors` command line (also `python -m actors`).

    actors next "CRON" [-n 5] [--tz ZONE] [--from ISO]   the next fire times of an expression

Each subcommand is a function `(args) -> exit status` set as the `handler` of its own subparser,
so `run` and `repl` slot in beside `next`. A mistake the user can fix (a bad expression, an
unknown zone, a bad option) prints ONE line on stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn

from actors.errors import SchedulerError
from actors.schedules import _zone, cron

__all__ = ["main"]

#: The exit status of a usage error or an invalid argument (argparse's own convention).
USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake on the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (`actors next: error: ...`), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        msg = f"must be a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _start_time(text: str | None, tz: str) -> datetime:
    """`--from` as an aware datetime (a naive one is a wall time in `tz`); default: now."""
    if text is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        msg = f"--from must be an ISO-8601 datetime such as 2026-03-29T00:00, got {text!r}"
        raise UsageError(f"actors next: error: {msg}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=_zone(tz))


def _next(args: argparse.Namespace) -> int:
    """Print the next `-n` fire times of a cron expression, one ISO-8601 datetime a line."""
    schedule = cron(args.expr, tz=args.tz)
    when: datetime | None = _start_time(args.from_, args.tz)
    for _ in range(args.n):
        assert when is not None
        when = schedule.next_fire(when)
        if when is None:  # an expression that never fires again (croniter looks 50 years on)
            break
        print(when.isoformat())
    return 0


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
    next_.set_defaults(handler=_next)
    return parser


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
    except SchedulerError as error:  # InvalidSchedule: the message names the field and value
        print(f"actors {args.command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:  # `actors next ... | head -1`: the reader has all it wanted
        # The recipe of Python's signal docs: point stdout at devnull, so that the flush at
        # exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status
