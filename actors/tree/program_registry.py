"""ProgramRegistry: the supervisor's book of installed programs and how they depend.

A plain object, owned by the SupervisorActor and used only from its handlers: each program's
`Registration` (its spec, its schedule anchored once for both of its actors, and the two
actors), the spawn numbering that outlives a reinstall, the `on_success` edges between programs
(refusing a cycle), and the restart intensity of each program's actor. What to tell whom is the
supervisor's business; the registry answers who, so it is tested without actors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from actors.errors import InvalidProgram, ProgramExists, ProgramNotFound
from actors.program import Program
from actors.runtime import ActorRef
from actors.schedules import Schedule
from actors.store.abc import StoredProgram
from actors.tree.restart_intensity import RestartIntensity
from actors.tree.spawn_pool import SpawnNumbers

__all__ = ["ProgramRegistry", "Registration", "exists_error"]

logger = logging.getLogger("actors.supervisor")


def exists_error(program_id: str) -> ProgramExists:
    """The error of installing `program_id` twice."""
    return ProgramExists(f"program {program_id!r} is already installed (use replace=True)")


@attrs.define
class Registration:
    """One installed program: its spec, its schedule (anchored at install, the one object its
    timer and its program actor both follow), and the two actors that serve it."""

    program: Program
    schedule: Schedule
    since: datetime
    program_ref: ActorRef[Any]
    timer_ref: ActorRef[Any]
    epoch: int = 0  # the fencing epoch of this install's writes to the store
    #: Restored from the store at start, not (yet) installed by this process's code: an
    #: install of the same id takes it over instead of failing with ProgramExists.
    restored: bool = False


class ProgramRegistry:
    """Installed programs by id, in install order, and the `on_success` edges between them."""

    def __init__(self, runner_id: str) -> None:
        self.runner_id = runner_id
        self.registrations: dict[str, Registration] = {}
        self._numbers: dict[str, SpawnNumbers] = {}
        self._dependents: dict[str, set[str]] = {}  # upstream id -> ids on_success of it
        self._intensities: dict[str, RestartIntensity] = {}
        self._epochs: dict[str, int] = {}
        #: Programs other runners of the store run (their `on_success` programs here run).
        self.elsewhere: frozenset[str] = frozenset()
        #: Programs this runner gave up or lost to another runner since the membership
        #: last asked (`GetHeld`): it runs them again if it takes them back.
        self.dropped: dict[str, Program] = {}
        #: Programs the store holds that no code has installed: `(stored, error)` by id.
        self.waiting_in_store: dict[str, tuple[StoredProgram, str | None]] = {}

    def __contains__(self, program_id: object) -> bool:
        return program_id in self.registrations

    def __len__(self) -> int:
        return len(self.registrations)

    def get(self, program_id: str) -> Registration | None:
        """The registration of `program_id`, if installed."""
        return self.registrations.get(program_id)

    def lookup(self, program_id: str) -> Registration:
        """The registration of `program_id`.

        Raises:
            ProgramNotFound: it is not installed.
        """
        registration = self.registrations.get(program_id)
        if registration is None:
            msg = f"no program {program_id!r} in runner {self.runner_id!r}"
            raise ProgramNotFound(msg)
        return registration

    def add(self, registration: Registration) -> None:
        """Record an installed program (its `on_success` edge is recorded by `follow`)."""
        self.registrations[registration.program.id] = registration

    def remove(self, program_id: str) -> Registration | None:
        """Forget an installed program; its registration, if it was installed."""
        return self.registrations.pop(program_id, None)

    def numbers(self, program_id: str) -> SpawnNumbers:
        """The spawn numbering of `program_id`, kept across reinstalls: ids are never reused."""
        return self._numbers.setdefault(program_id, SpawnNumbers())

    def next_epoch(
        self, program_id: str, stored: StoredProgram | None, *, claimed: int | None = None
    ) -> int:
        """The fencing epoch of a new install of `program_id`: past any it had here and in the
        store, or the one this runner `claimed` it with."""
        if claimed is not None:
            epoch = claimed
        else:
            epoch = max(self._epochs.get(program_id, 0), stored.row.epoch if stored else 0) + 1
        self._epochs[program_id] = epoch
        return epoch

    def may_restart(self, program_id: str, now: datetime) -> bool:
        """Whether a program actor that died may be restarted (OTP restart intensity)."""
        return self._intensities.setdefault(program_id, RestartIntensity()).allow(now)

    # --- on_success edges -------------------------------------------------------------------

    def check_new(self, programs: Sequence[Program], *, replace: bool) -> None:
        """Refuse a batch of programs to install together if one of them could not be, before
        any is: one installed already (unless `replace`, or it was restored from the store:
        installing it adopts that one), or an `on_success` cycle through any of them.

        Raises:
            ProgramExists, InvalidProgram: as `install` of that program would.
        """
        batch = {program.id: program.schedule for program in programs}
        for program in programs:
            installed = self.registrations.get(program.id)
            if installed is not None and not installed.restored and not replace:
                raise exists_error(program.id)
            self.check_no_cycle(program.id, program.schedule, batch)

    def check_no_cycle(
        self, program_id: str, schedule: Schedule, batch: Mapping[str, Schedule] | None = None
    ) -> None:
        """Refuse an `on_success` chain that leads back to `program_id` (it would tick itself
        forever): `a` on success of `b` on success of `a`, or `a` on success of `a`. The
        schedules of `batch` (programs installed together) count as installed.

        Raises:
            InvalidProgram: naming the cycle.
        """
        chain = [program_id]
        upstream = schedule.upstream
        while upstream is not None:
            chain.append(upstream)
            if upstream == program_id:
                path = " -> ".join(repr(step) for step in chain)
                msg = (
                    f"schedule on_success({schedule.upstream!r}) of program {program_id!r} makes "
                    f"a cycle: {path} (each would tick the next forever)"
                )
                raise InvalidProgram(msg)
            registration = self.registrations.get(upstream)
            upstream_schedule = (batch or {}).get(upstream) or (
                registration.schedule if registration is not None else None
            )
            if upstream_schedule is None or upstream in chain[:-1]:
                return
            upstream = upstream_schedule.upstream

    def waiting_for(self, schedule: Schedule) -> str | None:
        """The upstream an `on_success` schedule waits for, if it is not installed (here, or
        on another runner of the store)."""
        upstream = schedule.upstream
        if upstream is None or upstream in self.registrations or upstream in self.elsewhere:
            return None
        return upstream

    def has_dependents(self, program_id: str) -> bool:
        """Whether any program runs `on_success` of `program_id`."""
        return bool(self._dependents.get(program_id))

    def dependents(self, upstream: str) -> list[Registration]:
        """The installed programs that run `on_success` of `upstream`."""
        found = (self.registrations.get(d) for d in self._dependents.get(upstream, ()))
        return [registration for registration in found if registration is not None]

    def follow(self, program_id: str, schedule: Schedule) -> Registration | None:
        """Record `program_id` as following its schedule's upstream; returns the upstream's
        registration if it was the first follower of an installed upstream (to be told to
        report its successes)."""
        upstream = schedule.upstream
        if upstream is None:
            return None
        if upstream not in self.registrations:
            logger.warning(
                "program %r runs on success of %r, which is not installed: it waits "
                "(status 'waiting') until %r is installed",
                program_id,
                upstream,
                upstream,
            )
        followers = self._dependents.setdefault(upstream, set())
        first = not followers
        followers.add(program_id)
        return self.registrations.get(upstream) if first else None

    def unfollow(self, program_id: str, schedule: Schedule) -> Registration | None:
        """Forget that `program_id` follows its schedule's upstream; returns the upstream's
        registration if it has no follower left (to be told to stop reporting)."""
        upstream = schedule.upstream
        followers = self._dependents.get(upstream) if upstream is not None else None
        if upstream is None or followers is None or program_id not in followers:
            return None
        followers.discard(program_id)
        if followers:
            return None
        del self._dependents[upstream]
        return self.registrations.get(upstream)
