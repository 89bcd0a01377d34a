"""Validation: one set of rules for ints, numbers, seconds, strs, choices and types, each
raising the caller's error class with a message that names the field and the value."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Literal

import attrs
import pytest

from actors import InvalidProgram, InvalidSchedule, Program, Retry, Runner, every
from actors.autoscaling import AutoscaleSpec
from actors.clock import to_seconds
from actors.validation import (
    as_seconds,
    callable_,
    check_aware,
    check_callable,
    check_instance,
    check_int,
    check_non_empty_str,
    check_number,
    check_one_of,
    check_seconds,
    check_tuple_of,
    choices,
    instance_of,
    integer,
    is_int,
    is_number,
    non_empty_str,
    number,
    one_of,
    seconds,
    tuple_of,
)

Color = Literal["red", "green"]


def naming(error: type[Exception], *words: str) -> Any:
    """pytest.raises(error) whose message contains every word, in order."""
    return pytest.raises(error, match=".*".join(re.escape(word) for word in words))


class TestPredicates:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(0, True), (-3, True), (True, False), (False, False), (1.0, False), ("1", False)],
    )
    def test_is_int(self, value: Any, expected: bool) -> None:
        """An int is an int; a bool, a float or a str is not."""
        assert is_int(value) is expected

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (1, True),
            (0.5, True),
            (Fraction(1, 3), True),
            (float("nan"), True),
            (True, False),
            ("1", False),
            (None, False),
            (timedelta(seconds=1), False),
        ],
    )
    def test_is_number(self, value: Any, expected: bool) -> None:
        """Any real number but a bool is a number (finiteness is a separate rule)."""
        assert is_number(value) is expected

    def test_choices_of_a_literal_and_a_tuple(self) -> None:
        """choices() reads a Literal type's values, and takes a tuple as it is."""
        assert choices(Color) == ("red", "green")
        assert choices(("a", "b")) == ("a", "b")


class TestCheckInt:
    def test_returns_the_int(self) -> None:
        """A valid int comes back unchanged."""
        assert check_int("n", 3, at_least=1) == 3

    @pytest.mark.parametrize("bad", [0, -1, True, 1.0, "2", None])
    def test_refused(self, bad: Any) -> None:
        """Below the bound, a bool, a float, a str or None: the message names field and value."""
        with naming(InvalidProgram, "n must be an int >= 1, got", repr(bad)):
            check_int("n", bad, at_least=1)

    def test_no_bound(self) -> None:
        """Without `at_least` any int passes, negative ones too."""
        assert check_int("priority", -5) == -5

    def test_optional(self) -> None:
        """With `optional`, None passes and the message says None is allowed."""
        assert check_int("max", None, at_least=1, optional=True) is None
        with naming(InvalidProgram, "max must be an int >= 1 or None, got 0"):
            check_int("max", 0, at_least=1, optional=True)

    def test_error_class(self) -> None:
        """The caller's error class is raised."""
        with pytest.raises(ValueError, match="width"):
            check_int("width", 0, at_least=1, error=ValueError)


class TestCheckNumber:
    def test_returns_a_float(self) -> None:
        """A number comes back as a float, a Fraction included."""
        assert check_number("high", 3) == 3.0
        assert isinstance(check_number("high", Fraction(1, 2)), float)

    @pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), float("-inf")])
    def test_negative_or_not_finite(self, bad: float) -> None:
        """Negative, nan and infinities are refused as 'a finite number >= 0'."""
        with naming(InvalidProgram, "low must be a finite number >= 0, got", repr(bad)):
            check_number("low", bad)

    @pytest.mark.parametrize("bad", [True, "10", None, timedelta(seconds=1)])
    def test_not_a_number(self, bad: Any) -> None:
        """A bool, a str, None or a timedelta is not a number."""
        with naming(InvalidProgram, "high must be a number, got", repr(bad)):
            check_number("high", bad)

    def test_positive(self) -> None:
        """`positive` refuses 0 too."""
        with naming(InvalidProgram, "per_spawn must be a finite number > 0, got 0"):
            check_number("per_spawn", 0, positive=True)

    def test_signed(self) -> None:
        """`signed` lets negative numbers through, but never a non-finite one."""
        assert check_number("delta", -2, signed=True) == -2.0
        with naming(InvalidProgram, "delta must be a finite number, got nan"):
            check_number("delta", float("nan"), signed=True)


class TestCheckSeconds:
    @pytest.mark.parametrize(
        ("value", "expected"), [(2, 2.0), (0.5, 0.5), (timedelta(minutes=1), 60.0), (0, 0.0)]
    )
    def test_numbers_and_timedeltas(self, value: Any, expected: float) -> None:
        """A number or a timedelta comes back as float seconds."""
        assert check_seconds("timeout", value) == expected

    def test_message_shows_the_value_as_given(self) -> None:
        """A bad timedelta is shown as the timedelta, not as seconds."""
        bad = timedelta(seconds=-1)
        with naming(InvalidProgram, "delay must be a finite number >= 0, got", repr(bad)):
            check_seconds("delay", bad)

    @pytest.mark.parametrize("bad", [True, False, "5", None, [1]])
    def test_wrong_type(self, bad: Any) -> None:
        """A bool is never a number of seconds; nor is a str, None or a list."""
        with naming(
            InvalidSchedule, "jitter must be a number of seconds or a timedelta", repr(bad)
        ):
            check_seconds("jitter", bad, error=InvalidSchedule)

    def test_type_error_class(self) -> None:
        """`type_error` is raised for a wrong type, `error` for a bad value."""
        with pytest.raises(TypeError, match="seconds"):
            check_seconds("seconds", "1", error=ValueError, type_error=TypeError)
        with pytest.raises(ValueError, match="seconds"):
            check_seconds("seconds", -1, error=ValueError, type_error=TypeError)

    def test_optional_and_positive(self) -> None:
        """None passes when optional; 0 fails when positive, and the message says both."""
        assert check_seconds("timeout", None, optional=True) is None
        with naming(InvalidProgram, "timeout must be a finite number > 0 or None, got 0"):
            check_seconds("timeout", 0, positive=True, optional=True)


class TestOtherChecks:
    @pytest.mark.parametrize("bad", ["", 0, None, b"id"])
    def test_non_empty_str(self, bad: Any) -> None:
        """Only a str with a character passes; the message names field and value."""
        assert check_non_empty_str("id", "a") == "a"
        with naming(InvalidProgram, "id must be a non-empty str, got", repr(bad)):
            check_non_empty_str("id", bad)

    def test_non_empty_str_optional(self) -> None:
        """With `optional`, None passes but "" still does not."""
        assert check_non_empty_str("id", None, optional=True) is None
        with naming(InvalidProgram, "id must be a non-empty str or None, got ''"):
            check_non_empty_str("id", "", optional=True)

    def test_callable_with_hint(self) -> None:
        """A non-callable is refused; the hint says what kind of callable."""
        assert check_callable("fn", print) is print
        with naming(InvalidProgram, "metric must be callable (a number source), got 42"):
            check_callable("metric", 42, hint="a number source")

    def test_instance(self) -> None:
        """A wrong type names the class with its article, or the caller's own wording."""
        with naming(InvalidProgram, "count must be an int, got 'x'"):
            check_instance("count", "x", int)
        with naming(InvalidProgram, "retry must be a Retry or None, got 3"):
            check_instance("retry", 3, Retry, optional=True)
        with naming(InvalidProgram, "clock must be a Clock such as ManualClock(), got 'wall'"):
            check_instance("clock", "wall", Spec, what="a Clock such as ManualClock()")

    def test_one_of(self) -> None:
        """A value outside a Literal's choices is refused, listing them."""
        assert check_one_of("color", "red", Color) == "red"
        with naming(InvalidProgram, "color must be one of 'red', 'green', got 'blue'"):
            check_one_of("color", "blue", Color)

    def test_tuple_of(self) -> None:
        """A tuple of the kind passes; a bare str or a mixed tuple does not."""
        assert check_tuple_of("tags", ("a",), str) == ("a",)
        for bad in ("a", ("a", 1), ["a"]):
            with naming(InvalidProgram, "tags must be a tuple of str, got", repr(bad)):
                check_tuple_of("tags", bad, str)

    @pytest.mark.parametrize("bad", [datetime(2026, 1, 1), "2026-01-01"])
    def test_aware(self, bad: Any) -> None:
        """A naive datetime or a non-datetime is refused; an aware one passes."""
        aware = datetime(2026, 1, 1, tzinfo=UTC)
        assert check_aware("start", aware, error=InvalidSchedule) is aware
        assert check_aware("start", None, optional=True) is None
        with naming(InvalidSchedule, "start must be an aware datetime", repr(bad)):
            check_aware("start", bad, error=InvalidSchedule)


@attrs.frozen
class Spec:
    """An attrs class using every validator, as program.py does."""

    name: str = attrs.field(default="a", validator=non_empty_str())
    count: int = attrs.field(default=0, validator=integer(at_least=0))
    ratio: float = attrs.field(default=1.0, validator=number(positive=True))
    wait: float = attrs.field(default=0.0, converter=as_seconds, validator=seconds())
    color: Color = attrs.field(default="red", validator=one_of(Color))
    fn: Callable[[], None] = attrs.field(default=print, validator=callable_())
    when: datetime | None = attrs.field(
        default=None, validator=instance_of(datetime, optional=True)
    )
    tags: tuple[str, ...] = attrs.field(default=(), validator=tuple_of(str))
    limit: int | None = attrs.field(
        default=None, validator=integer(at_least=1, optional=True, error=InvalidSchedule)
    )


class TestAttrsValidators:
    @pytest.mark.parametrize(
        ("field", "bad"),
        [
            ("name", ""),
            ("count", -1),
            ("ratio", 0),
            ("wait", "soon"),
            ("color", "blue"),
            ("fn", 1),
            ("when", "now"),
            ("tags", "a"),
            ("count", True),
        ],
    )
    def test_each_names_its_field(self, field: str, bad: Any) -> None:
        """Each validator raises the error class with the attrs field's name and the value."""
        with naming(InvalidProgram, field, repr(bad)):
            Spec(**{field: bad})

    def test_error_class_per_field(self) -> None:
        """A validator raises the error class it was given."""
        with naming(InvalidSchedule, "limit must be an int >= 1 or None, got 0"):
            Spec(limit=0)

    def test_as_seconds_converter(self) -> None:
        """as_seconds turns a timedelta (and a Fraction) into float seconds before validating."""
        assert Spec(wait=timedelta(minutes=2)).wait == 120.0
        assert Spec(wait=Fraction(1, 4)).wait == 0.25  # type: ignore[arg-type]
        assert Spec(wait=3).wait == 3
        with naming(InvalidProgram, "wait must be a finite number >= 0, got -60.0"):
            Spec(wait=timedelta(minutes=-1))


class TestOneSetOfRules:
    """The same value gets the same answer in every family, each with its own error class."""

    @pytest.mark.parametrize(
        ("call", "error"),
        [
            (lambda v: Program(id="p", main_fn=print, min=v), InvalidProgram),
            (lambda v: Program(id="p", main_fn=print, timeout=v), InvalidProgram),
            (lambda v: Retry(backoff=v), InvalidProgram),
            (lambda v: every(v), InvalidSchedule),
            (lambda v: AutoscaleSpec.create("p", print, per_spawn=v), InvalidProgram),
            (lambda v: Runner(history=v), InvalidProgram),
            (lambda v: to_seconds(v), TypeError),
        ],
    )
    def test_a_bool_is_never_a_number(self, call: Callable[[Any], object], error: type) -> None:
        """True is refused wherever a number or an int is asked for."""
        with pytest.raises(error, match="True"):
            call(True)

    @pytest.mark.parametrize(
        ("call", "error"),
        [
            (lambda v: Program(id="p", main_fn=print, timeout=v), InvalidProgram),
            (lambda v: Retry(jitter=v), InvalidProgram),
            (lambda v: every(v), InvalidSchedule),
            (lambda v: AutoscaleSpec.create("p", print, high=v), InvalidProgram),
            (lambda v: to_seconds(v), ValueError),
        ],
    )
    @pytest.mark.parametrize("bad", [float("nan"), float("inf")])
    def test_non_finite_refused(
        self, call: Callable[[Any], object], error: type, bad: float
    ) -> None:
        """nan and infinity are refused wherever a number is asked for."""
        with pytest.raises(error, match=repr(bad)):
            call(bad)

    def test_timedelta_taken_for_seconds(self) -> None:
        """Every seconds field takes a timedelta, and holds float seconds."""
        minute = timedelta(minutes=1)
        assert Program(id="p", main_fn=print, timeout=minute).timeout == 60.0
        assert Retry(backoff=minute, max_backoff=minute).delay(5) == 60.0
        assert AutoscaleSpec.create("p", print, per_spawn=1, interval=minute).interval == 60.0
        assert to_seconds(minute) == 60.0
        assert every(minute).seconds == 60.0
