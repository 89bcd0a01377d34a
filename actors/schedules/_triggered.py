"""Schedules with no fire times of their own: `manual()` and `on_success(program_id)`.

Their ticks do not come from the clock (`timed` is false): a `manual()` program runs when
triggered, an `on_success` one after each successful run of its upstream.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs

from actors.errors import InvalidSchedule
from actors.schedules._base import Schedule, format_duration
from actors.schedules._encoding import Fields, encode_seconds
from actors.validation import as_seconds, check_non_empty_str, check_seconds

__all__ = ["Manual", "OnSuccess", "manual", "on_success"]


@attrs.frozen
class Manual(Schedule):
    """No ticks: the program runs only when triggered."""

    timed: ClassVar[bool] = False

    def next_fire(self, after: datetime) -> datetime | None:
        return None

    def describe(self) -> str:
        return "manual"

    def to_definition(self) -> dict[str, Any]:
        return {"kind": "manual"}

    @classmethod
    def from_definition(cls, definition: Any) -> Manual:
        """The schedule `to_definition` wrote (`schedule_from_definition` reads any kind).

        Raises:
            InvalidSchedule: a malformed definition, naming what is wrong.
        """
        Fields(definition, "manual", ())
        return cls()


def manual() -> Manual:
    """No ticks: the program runs only when triggered."""
    return Manual()


@attrs.frozen
class OnSuccess(Schedule):
    """A tick `delay` seconds after each successful run of the program `upstream`.

    Ticks come from events, not from the clock: `next_fire` is always `None`.
    """

    upstream: str  # a field here, a property (None) on every other schedule
    delay: float = attrs.field(default=0.0, converter=as_seconds)

    timed: ClassVar[bool] = False

    def after_upstream(self, succeeded_at: datetime) -> datetime | None:
        return succeeded_at + timedelta(seconds=self.delay)

    def __attrs_post_init__(self) -> None:
        check_non_empty_str("program_id (the upstream)", self.upstream, error=InvalidSchedule)
        check_seconds("delay", self.delay, error=InvalidSchedule)

    def next_fire(self, after: datetime) -> datetime | None:
        return None

    def describe(self) -> str:
        text = f"on success of {self.upstream!r}"
        return f"{text}, after {format_duration(self.delay)}" if self.delay else text

    def to_definition(self) -> dict[str, Any]:
        return {
            "kind": "on_success",
            "upstream": self.upstream,
            "delay": encode_seconds(self.delay),
        }

    @classmethod
    def from_definition(cls, definition: Any) -> OnSuccess:
        """The schedule `to_definition` wrote (`schedule_from_definition` reads any kind).

        Raises:
            InvalidSchedule: a malformed definition, naming the key and the value.
        """
        fields = Fields(definition, "on_success", ("upstream", "delay"))
        return cls(upstream=fields.text("upstream"), delay=fields.seconds("delay", 0.0))


def on_success(program_id: str, delay: float | timedelta = 0) -> OnSuccess:
    """A tick each time the program `program_id` completes a run successfully.

    Args:
        program_id: the upstream program's id.
        delay: seconds (or a `timedelta`) between that success and this tick.

    Raises:
        InvalidSchedule: an empty or non-str id, a negative or non-numeric delay.
    """
    return OnSuccess(
        upstream=program_id, delay=check_seconds("delay", delay, error=InvalidSchedule)
    )
