"""ProgramStart: what a ProgramActor starts from, as the supervisor builds it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from actors.program import Program
from actors.schedules import Schedule
from actors.store.abc import StoredProgram
from actors.tree.program_recorder import NullRecorder
from actors.tree.spawn_pool import SpawnNumbers

__all__ = ["ProgramStart"]


@attrs.frozen(kw_only=True)
class ProgramStart:
    """What a ProgramActor starts from (the supervisor builds it).

    Attributes:
        schedule: the program's schedule, anchored at install by the supervisor (the same
            object its timer follows).
        first_fire: when the timer fires first (`None`: never, or only by upstream).
        recorder: its writes to the runner's store (a `NullRecorder` keeps nothing).
        stored: the program as the store held it, when this install adopts it.
    """

    program: Program
    schedule: Schedule
    first_fire: datetime | None
    state: Any
    history: int
    numbers: SpawnNumbers | None = None
    paused: bool = False
    report_success: bool = False
    waiting_for: str | None = None
    recorder: NullRecorder = attrs.field(factory=NullRecorder)
    stored: StoredProgram | None = None
