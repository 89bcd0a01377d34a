"""Handles: a program (`runner["worker"]`) or a LoadMonitor (`runner.autoscale`) to hold on to.

A `ProgramHandle` is the runner's calls bound to one program, for the REPL. An
`AutoscaleHandle` is what `Runner.autoscale` returns: the monitor's `info()` and its `stop()`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from actors._tracebacks import user_facing
from actors.autoscaling import AutoscaleSpec
from actors.runtime import Request
from actors.schedules import Schedule
from actors.snapshots import MonitorInfo, ProgramInfo, RunRecord, SpawnInfo
from actors.timeline import Timeline
from actors.tree.messages import NO_ARGS
from actors.tree.monitor_actor import GetMonitorInfo, StopMonitor

if TYPE_CHECKING:
    from actors.runner import Runner

__all__ = ["AutoscaleHandle", "ProgramHandle"]


@user_facing
class ProgramHandle:
    """One program of a runner, with the runner's calls bound to it (`runner["worker"]`)."""

    def __init__(self, runner: Runner, program_id: str) -> None:
        self.runner = runner
        self.id = program_id

    def __repr__(self) -> str:
        try:
            return repr(self.info())
        except Exception:  # noqa: BLE001 - a repr must not raise
            return f"<ProgramHandle {self.id!r}>"

    def info(self) -> ProgramInfo:
        """A snapshot of the program."""
        return self.runner.info(self.id)

    def spawn(self, n: int = 1) -> list[str]:
        """Start `n` spawns; see `Runner.spawn`."""
        return self.runner.spawn(self.id, n)

    def unspawn(self, n: int = 1, *, policy: str | None = None) -> list[str]:
        """Stop `n` spawns gracefully; see `Runner.unspawn`."""
        return self.runner.unspawn(self.id, n, policy=policy)

    def trigger(
        self, args: Any = NO_ARGS, *, wait: bool = True, timeout: float | None = None
    ) -> Any:
        """Run `main_fn` once now; see `Runner.trigger`."""
        return self.runner.trigger(self.id, args, wait=wait, timeout=timeout)

    def get_state(self) -> Any:
        """The program's merged state."""
        return self.runner.get_state(self.id)

    def set_state(self, value: Any) -> None:
        """Replace the program's state."""
        self.runner.set_state(self.id, value)

    @property
    def state(self) -> Any:
        """The program's merged state (same as `get_state()`)."""
        return self.get_state()

    def spawns(self) -> list[SpawnInfo]:
        """The program's spawns not yet stopped, oldest first."""
        return self.runner.spawns(self.id)

    def history(self, limit: int = 50) -> list[RunRecord]:
        """The program's most recent runs, newest first."""
        return self.runner.history(self.id, limit)

    def next_fires(self, n: int = 5) -> list[datetime]:
        """The program's next `n` fire times, soonest first."""
        return self.runner.next_fires(self.id, n)

    def timeline(self, *, width: int = 60) -> Timeline:
        """The program's recent runs per spawn; see `Runner.timeline`."""
        return self.runner.timeline(self.id, width=width)

    def kill_spawn(self, spawn_id: str) -> None:
        """Hard-stop one of the program's spawns; see `Runner.kill_spawn`."""
        self.runner.kill_spawn(self.id, spawn_id)

    def uninstall(self) -> None:
        """Uninstall the program; see `Runner.uninstall`."""
        self.runner.uninstall(self.id)

    def pause(self) -> None:
        """Pause the program; see `Runner.pause`."""
        self.runner.pause(self.id)

    def resume(self) -> None:
        """Resume the program; see `Runner.resume`."""
        self.runner.resume(self.id)

    def reschedule(self, schedule: Schedule) -> None:
        """Give the program a new schedule; see `Runner.reschedule`."""
        self.runner.reschedule(self.id, schedule)

    def autoscale(self, metric: Callable[[], Any], **options: Any) -> AutoscaleHandle:
        """Resize the program's pool from `metric()`; see `Runner.autoscale`."""
        return self.runner.autoscale(self.id, metric, **options)

    def set_interval(self, seconds: float | timedelta) -> None:
        """Shorthand for `reschedule(every(seconds))`."""
        self.runner.set_interval(self.id, seconds)


@user_facing
class AutoscaleHandle:
    """A LoadMonitor started by `Runner.autoscale`: `info()` for a snapshot, `stop()` to end it.

    Also a context manager that stops the monitor on exit.
    """

    def __init__(
        self,
        runner: Runner,
        spec: AutoscaleSpec,
        number: int,
        call: Callable[[Request], Any],
    ) -> None:
        self.runner = runner
        self.spec = spec
        self.number = number
        self._call = call

    @property
    def program(self) -> str:
        """The id of the program this monitor resizes."""
        return self.spec.program_id

    def __repr__(self) -> str:
        return f"<AutoscaleHandle {self.program} {self.spec.mode} {self.spec.describe()}>"

    def __enter__(self) -> AutoscaleHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def info(self) -> MonitorInfo:
        """A snapshot of the monitor; `active` is false once it has stopped.

        Raises:
            RunnerStopped: the runner is stopped.
        """
        request = GetMonitorInfo(program_id=self.program, number=self.number)
        result: MonitorInfo = self._call(request)
        return result

    @property
    def active(self) -> bool:
        """Whether the monitor is still sampling."""
        return not self.runner.stopped and self.info().active

    def stop(self) -> None:
        """Stop the monitor: no more samples or changes (a change already sent may still land).

        Does nothing if it has stopped already, or the runner has.
        """
        if self.runner.stopped:
            return
        self._call(StopMonitor(program_id=self.program, number=self.number))
