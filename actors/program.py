"""Program specs and their validation: `Program`, `Retry` and `Misfire`.

A `Program` is a job definition. It is frozen and validated at construction, so a bad spec fails
where it is written, with an `InvalidProgram` that names the field and the value, before anything
starts. The rules (what a number, a number of seconds, an int is) are `actors.validation`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal, get_args

import attrs

from actors.errors import InvalidProgram
from actors.schedules import Manual, Schedule, every
from actors.validation import (
    MICROSECOND,
    as_seconds,
    callable_,
    check_seconds,
    instance_of,
    integer,
    non_empty_str,
    number,
    one_of,
    seconds,
    tuple_of,
)

__all__ = ["Misfire", "Program", "Retry", "default_merge"]

Policy = Literal["last", "first", "idle"]
Overlap = Literal["skip", "queue"]
Coalesce = Literal["latest", "all", "skip"]

POLICIES: tuple[str, ...] = get_args(Policy)
OVERLAPS: tuple[str, ...] = get_args(Overlap)
COALESCES: tuple[str, ...] = get_args(Coalesce)

#: The finest interval a `timedelta` holds, in seconds: `every()` refuses anything finer.


def default_merge(state: Any, result: Any) -> Any:
    """The default `merge_fn`: dict-merge two mappings; `None` keeps the state; else replace."""
    if result is None:
        return state
    if isinstance(state, Mapping) and isinstance(result, Mapping):
        return {**state, **result}
    return result


def _none() -> None:
    return None


def _to_tags(value: Any) -> Any:
    if isinstance(value, list | set | frozenset):
        return tuple(value)
    return value


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


def _at_least_a_microsecond(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # A timedelta holds whole microseconds: every() would refuse anything finer, and the
    # message should name the program's field, not every()'s.
    if value is not None and check_seconds(attribute.name, value) < MICROSECOND:
        msg = f"{attribute.name} must be at least 1 microsecond, got {value!r}"
        raise InvalidProgram(msg)


@attrs.frozen
class Program:
    """A job definition: what runs (`main_fn`), when (`schedule`), and the state it builds.

    See the field table in the README. Every field is validated at construction and raises
    `InvalidProgram` naming the field and the value.

    `interval=x` is shorthand for `schedule=every(x)`; giving both is an `InvalidProgram`. The
    program keeps `interval` as given and `schedule` as the `every(x)` made from it, and it
    remembers (in `_interval_schedule`, not part of equality) which schedule it made, so that
    `attrs.evolve`, which passes every field back in, still works: `attrs.evolve(p, min=2)`
    keeps the schedule, `attrs.evolve(p, interval=10)` makes a new one, and
    `attrs.evolve(p, schedule=cron(...), interval=None)` swaps the interval for a schedule.
    """

    id: str = attrs.field(validator=non_empty_str())
    main_fn: Callable[[Any, Any], Any] = attrs.field(validator=callable_())
    schedule: Schedule = attrs.field(
        default=None,
        validator=instance_of(
            Schedule, what="a Schedule such as every(60) or manual()", optional=True
        ),
    )
    interval: float | timedelta | None = attrs.field(
        default=None,
        validator=[seconds(positive=True, optional=True), _at_least_a_microsecond],
    )
    create_fn: Callable[[], Any] = attrs.field(default=_none, validator=callable_())
    args_fn: Callable[[], Any] = attrs.field(default=_none, validator=callable_())
    merge_fn: Callable[[Any, Any], Any] = attrs.field(default=default_merge, validator=callable_())
    min: int = attrs.field(default=0, validator=integer(at_least=0))
    max: int | None = attrs.field(default=None, validator=integer(at_least=1, optional=True))
    policy: Policy = attrs.field(default="last", validator=one_of(Policy))
    overlap: Overlap = attrs.field(default="skip", validator=one_of(Overlap))
    max_runs: int | None = attrs.field(default=None, validator=integer(at_least=1, optional=True))
    timeout: float | None = attrs.field(
        default=None, converter=as_seconds, validator=seconds(positive=True, optional=True)
    )
    retry: Retry | None = attrs.field(default=None, validator=instance_of(Retry, optional=True))
    priority: int = attrs.field(default=0, validator=integer())
    misfire: Misfire = attrs.field(factory=Misfire, validator=instance_of(Misfire))
    name: str = attrs.field(default=None, validator=instance_of(str, optional=True))
    tags: tuple[str, ...] = attrs.field(default=(), converter=_to_tags, validator=tuple_of(str))
    # The schedule this program made from `interval` (None: the schedule was given, or manual).
    # An init argument only so that attrs.evolve hands it to the new program, which can then
    # tell "the schedule came from the interval" from "both were given".
    _interval_schedule: Schedule | None = attrs.field(
        default=None, alias="_interval_schedule", kw_only=True, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        self._resolve_schedule()
        if self.max is not None and self.min > self.max:
            msg = f"min must be <= max, got min={self.min!r}, max={self.max!r}"
            raise InvalidProgram(msg)
        if self.name is None:
            object.__setattr__(self, "name", self.id)

    def _resolve_schedule(self) -> None:
        """Set `schedule` from `interval` (or to `manual()`); refuse both given."""
        made = self._interval_schedule
        if self.interval is None:
            if self.schedule is None:
                object.__setattr__(self, "schedule", Manual())
            object.__setattr__(self, "_interval_schedule", None)
            return
        # A schedule equal to the one made from an interval was passed back by attrs.evolve:
        # the interval (perhaps a new one) still decides.
        if self.schedule is not None and (made is None or self.schedule != made):
            hint = " (to replace the interval, pass interval=None too)" if made is not None else ""
            msg = (
                f"give schedule or interval, not both: schedule={self.schedule!r}, "
                f"interval={self.interval!r}{hint}"
            )
            raise InvalidProgram(msg)
        shorthand = every(self.interval)
        object.__setattr__(self, "schedule", shorthand)
        object.__setattr__(self, "_interval_schedule", shorthand)

    @classmethod
    def from_mapping(cls, spec: Program | Mapping[str, Any]) -> Program:
        """Build a program from a plain dict with the same keys (map style).

        Raises:
            InvalidProgram: an unknown key, a missing required key, or an invalid value.
        """
        if isinstance(spec, Program):
            return spec
        if not isinstance(spec, Mapping):
            msg = f"program must be a Program or a dict, got {spec!r}"
            raise InvalidProgram(msg)
        known = {field.name for field in attrs.fields(cls) if not field.name.startswith("_")}
        unknown = sorted(set(spec) - known)
        if unknown:
            msg = f"unknown program field(s) {', '.join(map(repr, unknown))} in {dict(spec)!r}"
            raise InvalidProgram(msg)
        for required in ("id", "main_fn"):
            if required not in spec:
                msg = f"{required} is required, got a dict without it: {dict(spec)!r}"
                raise InvalidProgram(msg)
        return cls(**spec)
