"""`actors run TARGET`: run a runner with a live status table until Ctrl-C, SIGTERM or `--for`.

Stopping is a wind-down, not a cut: the runner is paused, running work gets up to `--grace`
seconds to finish, a last status table is printed, and only then is the runner stopped. A
second stop signal while winding down abandons the work (exit status 130). The last line says
how long it ran, why it stopped and what became of the running work.
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING

import attrs

from actors.cli.loading import load_target
from actors.cli.output import stdout_console
from actors.cli.signals import StopSignals, signals_to_main_thread
from actors.errors import RunnerStopped

# The runner (and pykka) and rich load inside `run_command`, never for `actors next`.
if TYPE_CHECKING:
    from actors.runner import Runner
    from actors.snapshots import RunnerStatus

__all__ = ["REFRESH_SECONDS", "run_command"]

#: How often `actors run` redraws its table (the live display's refresh rate is ~2/s).
REFRESH_SECONDS = 0.5


def run_command(args: argparse.Namespace) -> int:
    """Load the target, run it with a live status table until Ctrl-C (or --for), stop it.

    The last line says how long it ran, why it stopped (`Ctrl-C`, `SIGTERM`, `--for`, `stopped
    by its programs`) and what became of the running work: it finished, or N runs were
    abandoned once `--grace` ran out.
    """
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    with signals_to_main_thread():
        loaded = load_target(args.target, command="run", store=args.store)
    runner = loaded.runner
    if args.web is not None:
        from actors.cli.web import web_server

        web_server(runner, args)  # it stops with the runner
    console = stdout_console()
    started = time.monotonic()
    deadline = None if args.for_ is None else started + args.for_
    ending = "Ctrl-C stops it" if deadline is None else f"stops after {args.for_:g}s (or on Ctrl-C)"
    # Transient: the live table is cleared when it stops, and the final one printed for good.
    live = (
        Live(console=console, auto_refresh=False, transient=True)
        if args.live and console.is_terminal
        else None
    )
    reason = "--for"
    with StopSignals().installed() as signals:
        try:
            try:
                ids = ", ".join(info.id for info in runner.programs()) or "(none)"
                console.print(
                    f"actors run: {loaded.source}: runner {runner.id!r} with programs {ids}; "
                    f"{ending}",
                    highlight=False,
                )
                with live if live is not None else nullcontext():
                    while True:
                        if live is not None:
                            table = Group(runner.status(), Text(ending, style="dim"))
                            live.update(table, refresh=True)
                        else:
                            runner.status()  # notices a runner stopped by its own programs
                        if not _wait(deadline):
                            break
            except KeyboardInterrupt:
                reason = signals.first or "Ctrl-C"
                console.print(
                    f"{reason}: stopping runner {runner.id!r} gracefully: running work gets up "
                    f"to {args.grace:g}s to finish ({_again(reason)} abandons it)",
                    highlight=False,
                )
            except RunnerStopped:
                reason = "stopped by its programs"
            wound = _wind_down(runner, args.grace)
            if wound.status is not None:
                console.print(wound.status)
            if wound.abandoned:
                runner.stop(wait=False)  # the work had its grace period
            else:
                runner.stop(timeout=1.0)  # nothing is running: this is quick
        except KeyboardInterrupt:  # a second signal while stopping
            runner.stop(wait=False)
            console.print(
                f"stopped runner {runner.id!r} at once after {time.monotonic() - started:.1f}s "
                f"({signals.last or 'Ctrl-C'} while stopping): running work abandoned",
                highlight=False,
            )
            return 130
    outcome = wound.outcome(args.grace)
    console.print(
        f"stopped runner {runner.id!r} after {time.monotonic() - started:.1f}s ({reason})"
        f"{': ' + outcome if outcome else ''}{_totals(wound.status)}",
        highlight=False,
    )
    return 0


def _wait(deadline: float | None) -> bool:
    """Sleep until the next redraw; False once `deadline` has passed."""
    if deadline is None:
        time.sleep(REFRESH_SECONDS)
        return True
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    time.sleep(min(REFRESH_SECONDS, remaining))
    return True


def _again(reason: str) -> str:
    """What abandons the work after the stop signal `reason`, in words."""
    return "Ctrl-C again" if reason == "Ctrl-C" else f"another {reason} or Ctrl-C"


# --- the wind-down and the last line -----------------------------------------------------------


@attrs.frozen
class _WindDown:
    """How `_wind_down` went: the last status (None: the runner was already stopped) and how
    many runs were still running when the grace period ran out (0: all finished)."""

    status: RunnerStatus | None
    abandoned: int = 0

    def outcome(self, grace: float) -> str:
        """What became of the running work, in words (empty when it is not known)."""
        if self.status is None:
            return ""
        if self.abandoned:
            runs = "run" if self.abandoned == 1 else "runs"
            return f"{self.abandoned} {runs} abandoned after {grace:g}s"
        return "running work finished"


def _wind_down(runner: Runner, grace: float) -> _WindDown:
    """Pause the runner and give its running work up to `grace` seconds to finish, then take a
    last status (which `stop()` would leave no way to see)."""
    try:
        runner.pause()
        try:
            runner.settle(timeout=grace)
        except TimeoutError:  # work still running: the caller abandons it
            status = runner.status()
            return _WindDown(status, sum(info.running for info in status.programs))
        return _WindDown(runner.status())
    except RunnerStopped:
        return _WindDown(None)


def _totals(status: RunnerStatus | None) -> str:
    """A status's totals in words (empty without a status)."""
    if status is None:
        return ""
    totals = status.totals
    return (
        f"; {totals['programs']} programs, {totals['spawns']} spawns, "
        f"{totals['runs']} runs, {totals['failed']} failed"
    )
