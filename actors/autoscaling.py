"""Autoscaling specs: what `Runner.autoscale` asks of a LoadMonitor, validated, and its rule.

The `LoadMonitorActor` (`actors.tree.monitor_actor`) carries a spec out: every `interval`
seconds it samples `metric()`, asks `wanted(sample, current)` and resizes the pool within the
program's `[min, max]`.
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Callable
from typing import Any

import attrs

from actors.errors import InvalidProgram
from actors.snapshots import MonitorMode
from actors.validation import (
    check_callable,
    check_int,
    check_non_empty_str,
    check_number,
    check_seconds,
)

__all__ = ["AutoscaleSpec", "as_sample", "format_number"]


def format_number(value: float) -> str:
    """A number for people: `5`, `0.25`."""
    return f"{value:g}"


@attrs.frozen(kw_only=True)
class AutoscaleSpec:
    """What a LoadMonitor does; build it with `AutoscaleSpec.create`, which validates."""

    program_id: str
    metric: Callable[[], Any] = attrs.field(eq=False, repr=False)
    high: float | None = None
    low: float | None = None
    per_spawn: float | None = None
    interval: float = 1.0
    cooldown: float = 30.0
    step: int = 1

    @classmethod
    def create(
        cls,
        program_id: Any,
        metric: Any,
        *,
        high: Any = None,
        low: Any = None,
        per_spawn: Any = None,
        interval: Any = 1.0,
        cooldown: Any = 30.0,
        step: Any = 1,
    ) -> AutoscaleSpec:
        """Validate the arguments of `Runner.autoscale`.

        Raises:
            InvalidProgram: naming the field and the value: a metric that is not callable, both
                modes or neither, a negative or non-finite number, `low >= high`,
                `per_spawn <= 0`, `interval <= 0`, `step < 1`.
        """
        check_non_empty_str("id", program_id)
        check_callable("metric", metric, hint="a function returning a number")
        threshold = high is not None or low is not None
        if threshold and per_spawn is not None:
            given = ", ".join(
                f"{name}={value!r}"
                for name, value in (("high", high), ("low", low), ("per_spawn", per_spawn))
                if value is not None
            )
            msg = (
                "give high and/or low (threshold mode) or per_spawn (target mode), "
                f"not both; got {given}"
            )
            raise InvalidProgram(msg)
        if not threshold and per_spawn is None:
            msg = (
                "autoscale needs high and/or low (threshold mode) or per_spawn (target mode); "
                "got none of them"
            )
            raise InvalidProgram(msg)
        high_number = check_number("high", high, optional=True)
        low_number = check_number("low", low, optional=True)
        if high_number is not None and low_number is not None and low_number >= high_number:
            msg = f"low must be below high, got low={low!r} and high={high!r}"
            raise InvalidProgram(msg)
        per_spawn_number = check_number("per_spawn", per_spawn, positive=True, optional=True)
        return cls(
            program_id=program_id,
            metric=metric,
            high=high_number,
            low=low_number,
            per_spawn=per_spawn_number,
            step=check_int("step", step, at_least=1),
            interval=check_seconds("interval", interval, positive=True),
            cooldown=check_seconds("cooldown", cooldown),
        )

    @property
    def mode(self) -> MonitorMode:
        """`"target"` (per_spawn) or `"threshold"` (high/low)."""
        return "target" if self.per_spawn is not None else "threshold"

    def describe(self) -> str:
        """The rule for people: `"per_spawn=5 every 0.25s cooldown 1s"`."""
        if self.per_spawn is not None:
            rule = f"per_spawn={format_number(self.per_spawn)}"
        else:
            parts = [
                f"{name}={format_number(value)}"
                for name, value in (("high", self.high), ("low", self.low))
                if value is not None
            ]
            rule = " ".join([*parts, f"step={self.step}"])
        return (
            f"{rule} every {format_number(self.interval)}s cooldown {format_number(self.cooldown)}s"
        )

    def wanted(self, sample: float, current: int) -> int:
        """The pool size this rule asks for, before `[min, max]` is applied."""
        if self.per_spawn is not None:
            return math.ceil(sample / self.per_spawn)
        if self.high is not None and sample > self.high:
            return current + self.step
        if self.low is not None and sample < self.low:
            return current - self.step
        return current


def as_sample(value: Any) -> float:
    """A metric's value as a finite float; `TypeError`/`ValueError` for anything else.

    `bool` is refused: `True` is far more likely a bug than a queue depth of one.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real | decimal.Decimal):
        msg = f"metric returned {value!r}, not a number"
        raise TypeError(msg)
    sample = float(value)
    if not math.isfinite(sample):
        msg = f"metric returned {value!r}, not a finite number"
        raise ValueError(msg)
    return sample
