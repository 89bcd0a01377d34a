"""The policies a `Program` takes: `Retry` (how a failed run is tried again) and `Misfire`
(what happens to ticks that come late). Frozen and validated at construction, like `Program`,
and each a JSON-safe *definition* a store keeps (`to_definition()`/`from_definition(d)`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal, TypeVar

import attrs

from actors.errors import InvalidProgram
from actors.validation import as_seconds, integer, number, one_of, seconds

__all__ = ["Coalesce", "Misfire", "Retry", "read_definition", "seconds_or_none"]

Coalesce = Literal["latest", "all", "skip"]

_T = TypeVar("_T", bound=attrs.AttrsInstance)


def seconds_or_none(value: float | timedelta | None) -> float | None:
    """A duration as float seconds, as a definition writes it (`None` stays `None`)."""
    return None if value is None else float(as_seconds(value))


def read_definition(kind: type[_T], what: str, definition: Any) -> _T:
    """`kind(**definition)`, refusing a non-dict or an unknown key; errors say it is `what`."""
    if not isinstance(definition, Mapping):
        msg = f"{what} definition must be a dict, got {definition!r}"
        raise InvalidProgram(msg)
    known = {field.name for field in attrs.fields(kind)}
    unknown = sorted(map(str, set(definition) - known))
    if unknown:
        msg = f"{what} definition: unknown key(s) {', '.join(map(repr, unknown))} in {definition!r}"
        raise InvalidProgram(msg)
    try:
        return kind(**definition)
    except InvalidProgram as error:
        raise type(error)(f"{what} definition: {error}") from error


@attrs.frozen
class Retry:
    """How a failed run is retried.

    Attributes:
        attempts: every try counts, the first included (`attempts=1` means no retry).
        backoff: seconds before the second try.
        factor: each further wait is the previous one times this.
        max_backoff: a ceiling on the wait, in seconds (`None` = none).
        jitter: up to this many seconds of random extra wait.
    """

    attempts: int = attrs.field(default=3, validator=integer(at_least=1))
    backoff: float = attrs.field(default=1.0, converter=as_seconds, validator=seconds())
    factor: float = attrs.field(default=2.0, validator=number())
    max_backoff: float | None = attrs.field(
        default=None, converter=as_seconds, validator=seconds(optional=True)
    )
    jitter: float = attrs.field(default=0.0, converter=as_seconds, validator=seconds())

    def delay(self, attempt: int) -> float:
        """Seconds to wait after try number `attempt` (1-based) failed, before jitter."""
        wait = self.backoff * self.factor ** (attempt - 1)
        return wait if self.max_backoff is None else min(wait, self.max_backoff)

    def to_definition(self) -> dict[str, Any]:
        """This retry as a JSON-safe dict (durations in float seconds)."""
        return {
            "attempts": self.attempts,
            "backoff": float(self.backoff),
            "factor": float(self.factor),
            "max_backoff": seconds_or_none(self.max_backoff),
            "jitter": float(self.jitter),
        }

    @classmethod
    def from_definition(cls, definition: Any) -> Retry:
        """The retry `to_definition` wrote (a missing key takes its default); a non-dict, an
        unknown key or an invalid value raises `InvalidProgram`, naming it."""
        return read_definition(cls, "retry", definition)


@attrs.frozen
class Misfire:
    """What happens to ticks that come late (after a jump, a pause of the machine, a busy clock).

    Attributes:
        grace: a tick later than this many seconds is missed (`None` = no limit).
        coalesce: of the late ticks left, `"latest"` runs the newest once, `"all"` replays each,
            `"skip"` runs none. What does not run is counted as missed.
    """

    grace: float | None = attrs.field(
        default=None, converter=as_seconds, validator=seconds(optional=True)
    )
    coalesce: Coalesce = attrs.field(default="latest", validator=one_of(Coalesce))

    def to_definition(self) -> dict[str, Any]:
        """This policy as a JSON-safe dict (`grace` in float seconds)."""
        return {"grace": seconds_or_none(self.grace), "coalesce": self.coalesce}

    @classmethod
    def from_definition(cls, definition: Any) -> Misfire:
        """The policy `to_definition` wrote (a missing key takes its default); a non-dict, an
        unknown key or an invalid value raises `InvalidProgram`, naming it."""
        return read_definition(cls, "misfire", definition)
