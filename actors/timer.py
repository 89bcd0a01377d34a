"""TimerActor: turns a program's schedule into `Tick` messages.

A timer never sleeps. It asks the runner's clock to wake it at the next fire time (the clock
posts a `Wake` message), then sends a `Tick` to its ProgramActor and arms the next deadline.
When it wakes late (a jump of the clock, a machine that slept), the program's `Misfire` policy
decides which of the late ticks run; the rest are reported as missed.
"""

from __future__ import annotations

import functools
import logging
import random
from datetime import datetime, timedelta
from typing import Any

from pykka import ActorRef

from actors.clock import Deadline
from actors.messages import NextRun, Tick, UpstreamSucceeded, Wake
from actors.program import Misfire
from actors.runtime import Actor, Runtime, handles, post
from actors.schedules import OnSuccess, Schedule

__all__ = ["TimerActor"]

logger = logging.getLogger("actors.timer")

# A clock that jumps years over a one-second interval would otherwise make a timer walk
# millions of fire times; past this many it stops counting and resumes from now.
_CATCH_UP_LIMIT = 10_000


class TimerActor(Actor):
    """Sends its ProgramActor a `Tick` at every fire time of the schedule."""

    def __init__(
        self,
        runtime: Runtime,
        program_id: str,
        schedule: Schedule,
        misfire: Misfire,
        program_ref: ActorRef[Any],
        installed_at: datetime,
    ) -> None:
        super().__init__(runtime)
        self.program_id = program_id
        self.schedule = schedule.anchored(installed_at)
        self.misfire = misfire
        self.program_ref = program_ref
        self.installed_at = installed_at
        self._deadline: Deadline | None = None
        self._next_fire: datetime | None = None
        # Deadlines armed by an upstream's success (on_success), beside the schedule's own.
        self._upstream_fires: list[datetime] = []
        self._upstream_deadlines: list[Deadline] = []
        self._jitter = timedelta(0)

    def on_start(self) -> None:
        self._arm(self.schedule.first_fire(self.installed_at))

    def on_stop(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        for deadline in self._upstream_deadlines:
            deadline.cancel()

    def _arm(self, fire_at: datetime | None, *, announce: bool = True) -> None:
        self._next_fire = fire_at
        if announce:  # a Tick carries the next fire time itself
            self.tell(self.program_ref, NextRun(fire_at, self.schedule))
        if fire_at is None:
            self._deadline = None
            return
        wake_at = fire_at
        if self.schedule.jitter:
            wake_at += timedelta(seconds=random.uniform(0, self.schedule.jitter))
        self._deadline = self.runtime.clock.call_at(
            wake_at, functools.partial(post, self.actor_ref, Wake(fire_at))
        )

    @handles(UpstreamSucceeded)
    def _upstream_succeeded(self, message: UpstreamSucceeded) -> None:
        delay = self.schedule.delay if isinstance(self.schedule, OnSuccess) else 0.0
        fire_at = message.at + timedelta(seconds=delay)
        self._upstream_fires.append(fire_at)
        self._upstream_deadlines = [d for d in self._upstream_deadlines if not d.cancelled]
        self._upstream_deadlines.append(
            self.runtime.clock.call_at(
                fire_at, functools.partial(post, self.actor_ref, Wake(fire_at))
            )
        )

    @handles(Wake)
    def _wake(self, message: Wake) -> None:
        if message.fire_at in self._upstream_fires:
            self._upstream_fires.remove(message.fire_at)
            tick = Tick(message.fire_at, next_at=self._next_fire)
            self.tell(self.program_ref, tick)
            return
        if message.fire_at != self._next_fire:
            return  # a deadline from before a reschedule
        now = self.runtime.clock.now()
        due = [message.fire_at]
        following = self.schedule.next_fire(message.fire_at)
        while following is not None and following <= now and len(due) < _CATCH_UP_LIMIT:
            due.append(following)
            following = self.schedule.next_fire(following)
        if following is not None and following <= now:
            following = self.schedule.next_fire(now)
        self._deliver(due, now, self._jitter, following)
        self._arm(following, announce=False)

    def _deliver(
        self, due: list[datetime], now: datetime, jitter: timedelta, next_at: datetime | None
    ) -> None:
        """Apply the misfire policy to the due ticks and send what runs.

        A tick's lateness counts from when it was meant to run: its fire time plus the jitter
        the timer chose for it (only the tick just woken had one).
        """
        grace = self.misfire.grace
        if grace is None and len(due) == 1:  # the common case: one tick, on time
            self.tell(self.program_ref, Tick(due[0], next_at=next_at))
            return

        def too_late(index: int, scheduled_at: datetime) -> bool:
            intended = scheduled_at + jitter if index == 0 else scheduled_at
            return grace is not None and (now - intended).total_seconds() > grace

        missed = [t for index, t in enumerate(due) if too_late(index, t)]
        left = [t for t in due if t not in missed] if missed else due
        if len(left) <= 1:
            run, not_run = left, []  # on time, or the only one left: it runs
        elif self.misfire.coalesce == "latest":
            run, not_run = left[-1:], left[:-1]
        elif self.misfire.coalesce == "all":
            run, not_run = left, []
        else:
            run, not_run = [], left
        missed_times = tuple(sorted(missed + not_run))
        if not run:
            tick = Tick(due[-1], missed=missed_times, runs=False, next_at=next_at)
            self.tell(self.program_ref, tick)
            return
        replay = len(run) > 1
        for index, scheduled_at in enumerate(run):
            missed_here = missed_times if index == 0 else ()
            tick = Tick(scheduled_at, missed=missed_here, replay=replay, next_at=next_at)
            self.tell(self.program_ref, tick)
