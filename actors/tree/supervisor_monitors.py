"""MonitorSupervision: the SupervisorActor's handling of LoadMonitors (`Runner.autoscale`).

A mixin of `SupervisorActor`: it starts, replaces, halts and answers for the monitors of the
`MonitorRegistry`; the supervisor stops them first when the runner shuts down.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from actors.errors import InvalidProgram, RunnerStopped, SchedulerError
from actors.runtime import Actor, handles, resolve, stop_actor
from actors.tree.monitor_actor import (
    GetMonitorInfo,
    HaltMonitor,
    LoadMonitorActor,
    MonitorStopped,
    StartMonitor,
    StopMonitor,
)

if TYPE_CHECKING:
    from actors.tree.monitor_registry import MonitorRegistry
    from actors.tree.program_registry import ProgramRegistry

__all__ = ["MonitorSupervision"]

logger = logging.getLogger("actors.supervisor")


class MonitorSupervision(Actor):
    """The LoadMonitor handlers of the supervisor (whose registries they use)."""

    runner_id: str
    programs: ProgramRegistry
    monitors: MonitorRegistry
    stopping: bool

    @handles(StartMonitor)
    def _start_monitor(self, message: StartMonitor) -> None:
        spec = message.spec
        if self.stopping:
            raise RunnerStopped(f"runner {self.runner_id!r} is stopping")
        registration = self.programs.lookup(spec.program_id)
        if spec.per_spawn is not None and registration.program.max is None:
            msg = (
                f"autoscale in target mode (per_spawn) needs program {spec.program_id!r} "
                "to have a max, got max=None"
            )
            raise InvalidProgram(msg)
        number = self.monitors.next_number()
        ref = LoadMonitorActor.start(self.runtime, spec, number, self.actor_ref)
        old = self.monitors.start(spec.program_id, number, ref)
        if old is not None:  # one monitor per program: the new one replaces it
            self.tell(old.ref, HaltMonitor())
        logger.debug("monitor #%d of %r started: %s", number, spec.program_id, spec.describe())
        resolve(message.reply, number)

    @handles(StopMonitor)
    def _stop_monitor(self, message: StopMonitor) -> None:
        entry = self.monitors.find(message.program_id, message.number)
        if entry is None:
            resolve(message.reply)  # halted already (stopped, replaced, or its program gone)
            return
        # The monitor answers once halted, after it has sent us MonitorStopped.
        if not self.tell(entry.ref, HaltMonitor(reply=message.reply)):
            resolve(message.reply)

    @handles(MonitorStopped)
    def _monitor_stopped(self, message: MonitorStopped) -> None:
        self.monitors.halted(message.program_id, message.number, message.info)
        stop_actor(message.ref)

    @handles(GetMonitorInfo)
    def _monitor_info(self, message: GetMonitorInfo) -> None:
        entry = self.monitors.find(message.program_id, message.number)
        if entry is not None and self.tell(entry.ref, message):
            return
        halting = self.monitors.halting.get(message.number)
        if halting is not None and self.tell(halting, message):
            return
        info = self.monitors.retired.get(message.number)
        if info is None:
            msg = f"monitor #{message.number} of {message.program_id!r} is no longer known"
            raise SchedulerError(msg)
        resolve(message.reply, info)
