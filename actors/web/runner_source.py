"""RunnerSource: a dashboard of a runner of this process (`actors run FILE --web`).

It reads with the runner's own calls (`status`, `info`, `spawns`, `history`, `next_fires`,
`cluster`) and acts with them too, so an action from the page is the very message the runner
sends for the same call. It subscribes to every event, for the events stream and for the load
chart (`ScaledUp`, `ScaledDown`); the status it reads adds a point to the chart of each
program a LoadMonitor watches, once per new sample.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from actors.events import Event, ScaledDown, ScaledUp
from actors.snapshots import ProgramInfo, RunnerInfo, RunnerStatus
from actors.web.requests import Action
from actors.web.source import DashboardSource, Fresh, LoadSample, ProgramDetail, StillRunning

if TYPE_CHECKING:
    from actors.runner import Runner

__all__ = ["RunnerSource"]


class RunnerSource(DashboardSource):
    """A dashboard of `runner`; `max_age`: how old a status may be when it is shown again
    (seconds: one status a refresh, whoever watches)."""

    def __init__(self, runner: Runner, *, max_age: float = 0.25) -> None:
        super().__init__(max_age)
        self.runner = runner
        self.name = f"runner {runner.id!r}"
        self._status = Fresh(self._read_status, max_age)
        self._subscription = runner.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        self.events.add_event(event)
        if isinstance(event, ScaledUp | ScaledDown):
            point = LoadSample(at=event.at, spawns=event.to_spawns, load=event.sample)
            self.sample(event.program, point)

    def _read_status(self) -> RunnerStatus:
        status = self.runner.status()
        for monitor in status.monitors:
            if monitor.last_sample_at is not None and monitor.spawns is not None:
                point = LoadSample(
                    at=monitor.last_sample_at, spawns=monitor.spawns, load=monitor.last_sample
                )
                self.sample(monitor.program, point)
        return status

    def read_runners(self) -> list[RunnerInfo]:
        return self.runner.cluster()

    def programs(self) -> list[ProgramInfo]:
        return self._status.get().programs

    def read_detail(self, program_id: str, *, history: int) -> ProgramDetail:
        runner = self.runner
        info = runner.info(program_id)
        monitors = [m for m in self._status.get().monitors if m.program == program_id]
        return ProgramDetail(
            info=info,
            spawns=runner.spawns(program_id),
            history=runner.history(program_id, history),
            next_fires=runner.next_fires(program_id, 5),
            now=runner.clock.now(),
            monitor=monitors[0] if monitors else None,
            samples=self.samples(program_id),
        )

    def act(self, action: Action, timeout: float) -> Any:
        runner, program_id = self.runner, action.program_id
        match action.kind:
            case "trigger":
                future: Future[Any] = runner.trigger(program_id, wait=False)
                try:
                    return future.result(timeout)
                except TimeoutError:
                    if future.done():  # the run's own TimeoutError: it failed
                        raise
                    msg = f"the run of {program_id!r} is still going after {timeout:g} s"
                    raise StillRunning(msg) from None
            case "pause":
                return runner.pause(program_id)
            case "resume":
                return runner.resume(program_id)
            case "spawn":
                return runner.spawn(program_id, action.n)
            case "unspawn":
                return runner.unspawn(program_id, action.n, policy=action.policy)
        assert action.spawn_id is not None  # a kill: checked at construction
        return runner.kill_spawn(program_id, action.spawn_id)

    def close(self) -> None:
        self._subscription.cancel()
