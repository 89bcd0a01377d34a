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

from actors.policies import Misfire
from actors.runtime import Actor, ActorRef, Alarm, Runtime, handles, post
from actors.schedules import Schedule
from actors.tree.messages import Tick, UpstreamSucceeded, Wake

__all__ = ["Due", "TimerActor"]

logger = logging.getLogger("actors.timer")

_MICROSECOND = timedelta(microseconds=1)

#: A tick delivered more than this long after its time (its jitter aside) is late, even alone.
LATE_AFTER = timedelta(seconds=1)

#: At most this many late ticks are replayed by `coalesce="all"` (the newest); the older ones
#: are counted as missed, so a jump of years cannot flood a program with replays.
REPLAY_LIMIT = 1_000

#: How many of the missed ticks' times a Tick carries, for the program's history.
MISSED_KEPT = 10


class TimerActor(Actor):
    """Sends its ProgramActor a `Tick` at every fire time of the schedule."""

    def __init__(
        self,
        runtime: Runtime,
        program_id: str,
        schedule: Schedule,
        first_fire: datetime | None,
        misfire: Misfire,
        program_ref: ActorRef[Any],
    ) -> None:
        """`schedule` is anchored by the supervisor (the same object the program's actor
        describes), which also says when it fires `first`: its first fire time after install,
        or, for a program a store held, the first after the last it fired (maybe long past:
        the downtime is a clock jump, and `misfire` decides)."""
        super().__init__(runtime)
        self.program_id = program_id
        self.schedule = schedule
        self.misfire = misfire
        self.program_ref = program_ref
        self.first_fire = first_fire
        self._deadline: Alarm | None = None
        self._next_fire: datetime | None = None
        # Deadlines armed by an upstream's success (on_success), beside the schedule's own.
        # Lists once an upstream succeeds; most timers never have one, and share these.
        self._upstream_fires: list[datetime] | tuple[()] = ()
        self._upstream_deadlines: list[Alarm] | tuple[()] = ()

    def on_start(self) -> None:
        self._arm(self.first_fire)

    def on_stop(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        for deadline in self._upstream_deadlines:
            deadline.cancel()

    def _arm(self, fire_at: datetime | None) -> None:
        self._next_fire = fire_at
        if fire_at is None:
            self._deadline = None
            return
        jitter = random.uniform(0, self.schedule.jitter) if self.schedule.jitter else 0.0
        self._deadline = self.runtime.clock.call_at(
            fire_at + timedelta(seconds=jitter),
            functools.partial(post, self._actor_ref, Wake(fire_at, jitter)),
        )

    @handles(UpstreamSucceeded)
    def _upstream_succeeded(self, message: UpstreamSucceeded) -> None:
        fire_at = self.schedule.after_upstream(message.at)
        if fire_at is None:  # rescheduled away from on_success meanwhile
            return
        self._upstream_fires = [*self._upstream_fires, fire_at]
        self._upstream_deadlines = [d for d in self._upstream_deadlines if not d.cancelled]
        self._upstream_deadlines.append(
            self.runtime.clock.call_at(
                fire_at, functools.partial(post, self.actor_ref, Wake(fire_at))
            )
        )

    @handles(Wake)
    def _wake(self, message: Wake) -> None:
        if message.fire_at in self._upstream_fires:
            assert isinstance(self._upstream_fires, list)  # not the shared empty tuple
            self._upstream_fires.remove(message.fire_at)
            tick = Tick(message.fire_at, next_at=self._next_fire)
            self.tell(self.program_ref, tick)
            return
        if message.fire_at != self._next_fire:
            return  # a deadline from before a reschedule
        now = self.runtime.clock.now()
        first = message.fire_at
        following = self.schedule.next_fire(first)
        if following is not None and following <= now:
            following = self.schedule.next_fire(now)
            due = Due(self.schedule, first, now, message.jitter, late_others=True)
        elif not message.jitter and self.misfire.grace is None and now - first <= LATE_AFTER:
            # The common case, one tick on time: what _deliver would send, without a Due.
            self.tell(self.program_ref, Tick(first, next_at=following))
            self._arm(following)
            return
        else:
            due = Due(self.schedule, first, now, message.jitter, late_others=False)
        self._deliver(due, following)
        self._arm(following)

    def _deliver(self, due: Due, next_at: datetime | None) -> None:
        """Apply the misfire policy to the due ticks and send what runs.

        Ticks later than `grace` are missed. A tick is late when others are due with it, or
        when it comes more than `LATE_AFTER` after its time (its jitter aside): of the late
        ticks left, `"latest"` runs the newest, `"all"` replays each (up to `REPLAY_LIMIT`),
        `"skip"` runs none. Everything that does not run is counted as missed.
        """
        run = due.to_run(self.misfire)
        missed = due.total - len(run)
        # Only as many fire times as are kept (an overloaded timer misses one or two a wake).
        wanted = min(missed, MISSED_KEPT) + len(run)
        latest = tuple(t for t in due.latest(wanted) if t not in run)[-MISSED_KEPT:]
        if not run:
            tick = Tick(
                due.newest, missed=missed, missed_latest=latest, runs=False, next_at=next_at
            )
            self.tell(self.program_ref, tick)
            return
        replay = len(run) > 1
        for index, scheduled_at in enumerate(run):
            tick = Tick(
                scheduled_at,
                missed=missed if index == 0 else 0,
                missed_latest=latest if index == 0 else (),
                replay=replay,
                next_at=next_at,
            )
            self.tell(self.program_ref, tick)


class Due:
    """The fire times due at one wake of a timer: `first` (the one it woke for, `jitter`
    seconds late on purpose) and every later one up to `now`, however many; counted, never
    listed, so a clock that jumps a year over `every(1)` costs no more than one that jumps a
    second."""

    def __init__(
        self,
        schedule: Schedule,
        first: datetime,
        now: datetime,
        jitter: float,
        *,
        late_others: bool,
    ) -> None:
        self.schedule = schedule
        self.first = first
        self.now = now
        self.first_lateness = now - (first + timedelta(seconds=jitter))
        self.others = schedule.count_fires(first, now) if late_others else 0
        self.total = 1 + self.others

    @property
    def first_late(self) -> bool:
        """Whether the first tick came more than `LATE_AFTER` after its time."""
        return self.first_lateness > LATE_AFTER

    @property
    def newest(self) -> datetime:
        """The newest due fire time."""
        if not self.others:
            return self.first
        return self.schedule.latest_fires(self.first, self.now, 1)[0]

    def latest(self, n: int) -> list[datetime]:
        """The newest `n` due fire times, oldest first."""
        if n <= 0:
            return []
        others = self.schedule.latest_fires(self.first, self.now, n) if self.others else []
        return ([self.first, *others])[-n:]

    def to_run(self, misfire: Misfire) -> list[datetime]:
        """The fire times that run under `misfire`, oldest first."""
        grace = None if misfire.grace is None else timedelta(seconds=misfire.grace)
        first_within = grace is None or self.first_lateness <= grace
        if grace is None:
            others_within = self.others
        elif self.others:
            # Fire times after `first` that are at most `grace` old: those at or after the cut.
            cut = max(self.first, self.now - grace - _MICROSECOND)
            others_within = self.schedule.count_fires(cut, self.now)
        else:
            others_within = 0
        within = int(first_within) + others_within
        if within == 0:
            return []
        if self.others == 0 and not self.first_late:
            return [self.first]  # one tick, on time
        if misfire.coalesce == "latest":
            return [self.newest]
        if misfire.coalesce == "skip":
            return []
        take = min(within, REPLAY_LIMIT)
        replays = self.latest(take)
        if not first_within and self.first in replays:
            replays.remove(self.first)  # only when `take` reached back to it
        return replays
