"""The rich console that `actors run` and `actors repl` print their lines and tables on."""

from __future__ import annotations

from typing import TYPE_CHECKING

# rich loads when `run` or `repl` first prints, never for `next`.
if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["stdout_console"]


def stdout_console() -> Console:
    """A console on stdout; off a terminal (a pipe, a log) as wide as the lines need."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=10_000)
