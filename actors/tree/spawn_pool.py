"""SpawnPool: a program's spawns, as its ProgramActor keeps them, within `[min, max]`.

A plain object, owned by one ProgramActor and used only from its handlers: which spawns exist,
which are idle, running or stopping, the ticks each has queued, how they are numbered, which
`unspawn` picks, and when a lost spawn is replaced (within the restart intensity). Starting and
stopping the spawns' actors, and what a dropped tick means, are left to its `SpawnHost` (the
ProgramActor), so the pool is tested without actors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from actors import events
from actors.errors import SpawnLimitError
from actors.program import Policy
from actors.runtime import ActorRef, stop_actor
from actors.snapshots import SpawnInfo, SpawnStatus
from actors.tree.messages import Tick
from actors.tree.restart_intensity import MAX_RESTARTS, RESTART_PERIOD, RestartIntensity
from actors.tree.spawn_actor import SpawnActor
from actors.validation import check_int, check_one_of

if TYPE_CHECKING:
    from actors.tree.program_actor import ProgramActor

__all__ = ["ActorSpawnHost", "SpawnHost", "SpawnNumbers", "SpawnPool", "SpawnSlot"]

logger = logging.getLogger("actors.program")


@attrs.define
class SpawnNumbers:
    """The last spawn numbers given out under one program id.

    Owned by the supervisor and handed to each ProgramActor installed under that id, so that
    spawn ids are never reused, even across `uninstall` and `install(replace=True)`.
    """

    regular: int = 0
    temporary: int = 0


@attrs.define
class SpawnSlot:
    """What a ProgramActor knows about one of its spawns."""

    id: str
    ref: ActorRef[Any]
    started_at: datetime
    temporary: bool = False
    running: bool = False
    awaiting: bool = False  # held for a tick whose firing the store is committing
    stopping: bool = False
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    last_error: BaseException | None = None
    node: str | None = None  # a Ray spawn's node, once its actor says where it lives
    queued: list[Tick] = attrs.field(factory=list)  # a list: idle pools hold many of these

    @property
    def busy(self) -> bool:
        """Running, or held for a tick about to run: a new tick or trigger does not get it."""
        return self.running or self.awaiting

    @property
    def in_pool(self) -> bool:
        """Counted in the pool: takes ticks and counts towards `[min, max]`."""
        return not self.temporary and not self.stopping

    def info(self, program_id: str) -> SpawnInfo:
        status: SpawnStatus = "stopping" if self.stopping else "running" if self.busy else "idle"
        return SpawnInfo(
            id=self.id,
            program=program_id,
            status=status,
            started_at=self.started_at,
            runs=self.runs,
            succeeded=self.succeeded,
            failed=self.failed,
            last_error=self.last_error,
            node=self.node,
        )


class SpawnHost(Protocol):
    """What a `SpawnPool` asks of the actor that owns it."""

    def launch_spawn(self, spawn_id: str) -> ActorRef[Any]:
        """Start the actor of a new spawn."""

    def halt_spawn(self, ref: ActorRef[Any]) -> None:
        """Stop a spawn's actor (after the messages it already has)."""

    def drop_tick(self, tick: Tick, spawn_id: str) -> None:
        """A tick queued on a spawn will not run (the spawn stopped, the program finished)."""

    def now(self) -> datetime:
        """The runner's clock."""

    def publish(self, event_class: type, program_id: str, *args: Any, **kwargs: Any) -> None:
        """Publish an event about the program."""


class ActorSpawnHost:
    """A ProgramActor as its SpawnPool sees it: each spawn a SpawnActor of the program."""

    def __init__(self, actor: ProgramActor) -> None:
        self.actor = actor

    def launch_spawn(self, spawn_id: str) -> ActorRef[Any]:
        actor = self.actor
        return SpawnActor.start(actor.runtime, actor.program, spawn_id, actor.actor_ref)

    def halt_spawn(self, ref: ActorRef[Any]) -> None:
        stop_actor(ref)

    def drop_tick(self, tick: Tick, spawn_id: str) -> None:
        self.actor.ledger.count_skipped(tick.scheduled_at, spawn_id)
        self.actor.recorder.dropped(self.actor, tick.scheduled_at)

    def now(self) -> datetime:
        now: datetime = self.actor.runtime.clock.now()
        return now

    def publish(self, event_class: type, program_id: str, *args: Any, **kwargs: Any) -> None:
        self.actor.publish(event_class, program_id, *args, **kwargs)


class SpawnPool:
    """The spawns of one program: oldest first, numbered, replaced within the intensity."""

    def __init__(
        self, program_id: str, host: SpawnHost, numbers: SpawnNumbers | None = None
    ) -> None:
        self.program_id = program_id
        self.host = host
        self.numbers = numbers if numbers is not None else SpawnNumbers()
        self.slots: dict[str, SpawnSlot] = {}  # insertion order: oldest first
        #: More deaths than the restart intensity allows: lost spawns are no longer replaced.
        self.failed = False
        self._intensity: RestartIntensity | None = None  # made on first use
        self._said_empty = False

    # --- looking ----------------------------------------------------------------------------

    def members(self) -> list[SpawnSlot]:
        """The spawns that take ticks and count towards `[min, max]`, oldest first."""
        return [slot for slot in self.slots.values() if slot.in_pool]

    def stop_awaiting(self, spawn_ids: Iterable[str]) -> None:
        """The spawns `spawn_ids` no longer wait for a firing to be stored."""
        for spawn_id in spawn_ids:
            if (slot := self.slots.get(spawn_id)) is not None:
                slot.awaiting = False

    def idle_member(self) -> SpawnSlot | None:
        """The oldest member that is not running."""
        return next((slot for slot in self.slots.values() if slot.in_pool and not slot.busy), None)

    def placed(self, spawn_id: str, node: str) -> None:
        """Spawn `spawn_id`'s Ray actor lives on `node`."""
        slot = self.slots.get(spawn_id)
        if slot is not None:
            slot.node = node

    def infos(self) -> list[SpawnInfo]:
        """Every spawn not yet stopped but the temporary ones, oldest first."""
        return [slot.info(self.program_id) for slot in self.slots.values() if not slot.temporary]

    def has_queued(self) -> bool:
        """Whether any spawn holds a queued tick."""
        return any(slot.queued for slot in self.slots.values())

    def say_empty(self) -> None:
        """A tick found no spawn: say so, once per install, with what to do."""
        if not self._said_empty:
            self._said_empty = True
            logger.warning(
                "program %r has no spawns, so its ticks pass without running "
                "(spawn one with runner.spawn(%r), or set min=1)",
                self.program_id,
                self.program_id,
            )

    def choose(self, policy: str, n: int) -> list[SpawnSlot]:
        """The `n` members `unspawn` stops, in the order it stops them: `"first"` oldest first,
        `"last"` newest first, `"idle"` the idle ones newest first, then the busy ones."""
        members = self.members()
        if policy == "first":
            return members[:n]
        newest_first = members[::-1]
        if policy == "idle":
            newest_first.sort(key=lambda slot: slot.busy)  # stable: idle ones first
        return newest_first[:n]

    # --- changing ---------------------------------------------------------------------------

    def start(self, *, temporary: bool = False) -> SpawnSlot:
        """Start a spawn: a member, or a temporary one that takes no ticks and stops after its
        one run."""
        if temporary:
            self.numbers.temporary += 1
            spawn_id = f"{self.program_id}-temp-{self.numbers.temporary}"
        else:
            self.numbers.regular += 1
            spawn_id = f"{self.program_id}-{self.numbers.regular}"
        slot = SpawnSlot(spawn_id, self.host.launch_spawn(spawn_id), self.host.now(), temporary)
        self.slots[spawn_id] = slot
        self.host.publish(events.SpawnStarted, self.program_id, spawn_id)
        return slot

    def stop(self, slot: SpawnSlot, reason: str = "unspawned") -> None:
        """Stop a spawn now; the ticks it had queued are dropped."""
        del self.slots[slot.id]
        for tick in slot.queued:
            self.host.drop_tick(tick, slot.id)
        slot.queued.clear()
        self.host.halt_spawn(slot.ref)
        self.host.publish(events.SpawnStopped, self.program_id, slot.id, reason)

    def retire(self, slot: SpawnSlot) -> None:
        """Stop a spawn now if it is idle, else once its run has finished."""
        slot.stopping = True
        if not slot.running:
            self.stop(slot)

    def grow(self, n: Any, most: int | None) -> list[str]:
        """Start `n` members, within `most`; returns their ids.

        Raises:
            InvalidProgram: `n` is not an int >= 1.
            SpawnLimitError: that would pass `most` (nothing is started).
        """
        n = check_int("n", n, at_least=1)
        count = len(self.members())
        if most is not None and count + n > most:
            msg = (
                f"cannot spawn {n} more of {self.program_id!r}: it has {count} spawn(s) "
                f"and max={most}"
            )
            raise SpawnLimitError(msg)
        return [self.start().id for _ in range(n)]

    def shrink(self, n: Any, least: int, policy: str, *, gently: bool = False) -> list[str]:
        """Retire `n` members chosen by `policy` (a running one stops after its run); returns
        their ids. `gently` (a LoadMonitor's shrink) never refuses: it retires at most as many
        as `least` allows, idle ones first, then busy ones, so shrinking never starves when
        ticks keep every spawn busy at the moment the monitor looks.

        Raises:
            InvalidProgram: `n` is not an int >= 1, or `policy` is unknown.
            SpawnLimitError: that would go below `least` (nothing is stopped).
        """
        n = check_int("n", n, at_least=1)
        check_one_of("policy", policy, Policy)
        count = len(self.members())
        if gently:
            n, policy = max(0, min(n, count - least)), "idle"
        elif count - n < least:
            msg = (
                f"cannot unspawn {n} of {self.program_id!r}: it has {count} spawn(s) "
                f"and min={least}"
            )
            raise SpawnLimitError(msg)
        chosen = self.choose(policy, n)
        for slot in chosen:
            self.retire(slot)
        return [slot.id for slot in chosen]

    def run_ended(self, slot: SpawnSlot, error: BaseException | None) -> Tick | None:
        """A spawn's run ended: count it, stop the spawn if it was leaving, and return the tick
        it had queued, if any, for the caller to offer it."""
        slot.running = False
        slot.runs += 1
        if error is None:
            slot.succeeded += 1
        else:
            slot.failed += 1
            slot.last_error = error
        if slot.stopping or slot.temporary:
            self.stop(slot)
            return None
        return slot.queued.pop(0) if slot.queued else None

    def drop_queued(self) -> None:
        """Drop every queued tick (the program has finished)."""
        for slot in self.slots.values():
            for tick in slot.queued:
                self.host.drop_tick(tick, slot.id)
            slot.queued.clear()

    def lose(
        self,
        slot: SpawnSlot,
        reason: str,
        *,
        minimum: int,
        keep_size: bool,
        death: bool,
        replace: bool = True,
    ) -> SpawnSlot | None:
        """Drop a spawn at once (killed, timed out, dead; a run it was in counts as failed)
        and replace it where allowed.

        `keep_size` replaces any member (a timeout keeps the pool at its size); otherwise a
        replacement only comes below `minimum`; none comes without `replace` (the program is
        draining). Only a `death` (a spawn that died, or hung until its run timed out) counts
        towards the restart intensity: a kill is a choice. Returns the replacement, if any.
        """
        if slot.running:
            slot.running = False
            slot.runs += 1
            slot.failed += 1
        was_member = slot.in_pool
        self.stop(slot, reason)
        if not replace or not was_member or self.failed:
            return None
        if not keep_size and len(self.members()) >= minimum:
            return None
        if death and not self._may_restart():
            return None
        replacement = self.start()
        self.host.publish(events.SpawnReplaced, self.program_id, slot.id, replacement.id, reason)
        return replacement

    def recover(self, minimum: int) -> int:
        """Bring a failed pool back: forget its deaths and start members up to `minimum`.
        Returns how many were started."""
        self.failed = False
        self._intensity = None
        missing = max(0, minimum - len(self.members()))
        for _ in range(missing):
            self.start()
        logger.info(
            "program %r resumed after failing; %d spawn(s) started", self.program_id, missing
        )
        return missing

    def _may_restart(self) -> bool:
        if self._intensity is None:
            self._intensity = RestartIntensity()
        if self._intensity.allow(self.host.now()):
            return True
        self.failed = True
        logger.error(
            "program %r needed more than %d spawn restarts in %s s; it is marked failed "
            "and its spawns are no longer replaced",
            self.program_id,
            MAX_RESTARTS,
            RESTART_PERIOD,
        )
        return False
