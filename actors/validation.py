"""Validation: the one set of rules every public constructor checks its arguments by.

The rules:

- A whole number is an `int`, and a number is any real number (an `int`, a `float`, a
  `Fraction`, a numpy scalar). A `bool` is never either: `True` for a pool size or a timeout is
  far more likely a bug than a 1.
- A number must be finite: `nan` and infinities are refused wherever a number is.
- Seconds are a number or a `timedelta`, and come back as float seconds.
- A message names the field and the value as given: `timeout must be a finite number > 0 or
  None, got -1`.
- Each caller raises its own family's error, passed in as `error`: `InvalidProgram` (the
  default) for programs, the runner and autoscaling; `InvalidSchedule` for schedules; the
  builtin `TypeError`/`ValueError` where the API promised those (`to_seconds`, `ManualClock`).

Each rule comes twice: a plain check, `check_x(field, value, ...)`, that returns the value
(converted, for seconds) or raises; and, for attrs classes, a validator factory `x(...)` built
on it (`attrs.field(validator=integer(at_least=0))`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeAlias, get_args, overload

from actors.errors import InvalidProgram

if TYPE_CHECKING:
    import attrs

__all__ = [
    "MICROSECOND",
    "Validator",
    "as_seconds",
    "callable_",
    "check_aware",
    "check_callable",
    "check_instance",
    "check_int",
    "check_non_empty_str",
    "check_number",
    "check_one_of",
    "check_seconds",
    "check_tuple_of",
    "choices",
    "instance_of",
    "integer",
    "is_int",
    "is_number",
    "non_empty_str",
    "number",
    "one_of",
    "seconds",
    "tuple_of",
]

#: An attrs validator: called with the instance, the field and the value; raises if bad.
Validator: TypeAlias = "Callable[[Any, attrs.Attribute[Any], Any], None]"

_Error: TypeAlias = type[Exception]


def _fail(error: _Error, field: str, expected: str, value: Any, optional: bool = False) -> NoReturn:
    or_none = " or None" if optional else ""
    raise error(f"{field} must be {expected}{or_none}, got {value!r}")


def _article(kind: type) -> str:
    name = kind.__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


#: The finest duration a `timedelta` holds, in seconds: a finer one would round to another.
MICROSECOND = 1e-6


# --------------------------------------------------------------------------------------------
# The rules, as predicates
# --------------------------------------------------------------------------------------------


def is_int(value: Any) -> bool:
    """Whether `value` is an `int` and not a `bool`."""
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def is_number(value: Any) -> bool:
    """Whether `value` is a real number and not a `bool` (finite or not)."""
    kind = type(value)
    if kind is float or kind is int:  # the usual answer, without the ABC's slow isinstance
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def choices(options: Any) -> tuple[Any, ...]:
    """The values a `Literal[...]` type allows (a tuple or list is taken as it is)."""
    return get_args(options) or tuple(options)


# --------------------------------------------------------------------------------------------
# Plain checks: return the value or raise `error` naming the field and the value
# --------------------------------------------------------------------------------------------


@overload
def check_int(
    field: str,
    value: Any,
    *,
    at_least: int | None = None,
    at_most: int | None = None,
    optional: Literal[False] = False,
    error: _Error = InvalidProgram,
) -> int: ...
@overload
def check_int(
    field: str,
    value: Any,
    *,
    at_least: int | None = None,
    at_most: int | None = None,
    optional: bool,
    error: _Error = InvalidProgram,
) -> int | None: ...
def check_int(
    field: str,
    value: Any,
    *,
    at_least: int | None = None,
    at_most: int | None = None,
    optional: bool = False,
    error: _Error = InvalidProgram,
) -> int | None:
    """`value` if it is an int (not a bool) within `[at_least, at_most]`; `None` if
    `optional`. The message names the bound that was passed."""
    if value is None and optional:
        return None
    if not is_int(value) or (at_least is not None and value < at_least):
        bound = "" if at_least is None else f" >= {at_least}"
        _fail(error, field, f"an int{bound}", value, optional)
    if at_most is not None and value > at_most:
        _fail(error, field, f"an int <= {at_most}", value, optional)
    result: int = value
    return result


def _real(
    field: str,
    value: Any,
    number: Any,
    *,
    kind: str,
    positive: bool,
    signed: bool,
    optional: bool,
    error: _Error,
    type_error: _Error,
) -> float:
    """`number` as a float after the type, finiteness and sign rules; messages show `value`."""
    if not is_number(number):
        _fail(type_error, field, kind, value, optional)
    result = float(number)
    too_small = False if signed else (result <= 0 if positive else result < 0)
    if not math.isfinite(result) or too_small:
        bound = "" if signed else (" > 0" if positive else " >= 0")
        _fail(error, field, f"a finite number{bound}", value, optional)
    return result


@overload
def check_number(
    field: str,
    value: Any,
    *,
    positive: bool = False,
    signed: bool = False,
    optional: Literal[False] = False,
    error: _Error = InvalidProgram,
) -> float: ...
@overload
def check_number(
    field: str,
    value: Any,
    *,
    positive: bool = False,
    signed: bool = False,
    optional: bool,
    error: _Error = InvalidProgram,
) -> float | None: ...
def check_number(
    field: str,
    value: Any,
    *,
    positive: bool = False,
    signed: bool = False,
    optional: bool = False,
    error: _Error = InvalidProgram,
) -> float | None:
    """`value` as a float: a finite real number, not a bool, >= 0 (> 0 if `positive`; any sign
    if `signed`); `None` passes if `optional`."""
    if value is None and optional:
        return None
    return _real(
        field,
        value,
        value,
        kind="a number",
        positive=positive,
        signed=signed,
        optional=optional,
        error=error,
        type_error=error,
    )


@overload
def check_seconds(
    field: str,
    value: Any,
    *,
    positive: bool = False,
    signed: bool = False,
    optional: Literal[False] = False,
    error: _Error = InvalidProgram,
    type_error: _Error | None = None,
) -> float: ...
@overload
def check_seconds(
    field: str,
    value: Any,
    *,
    positive: bool = False,
    signed: bool = False,
    optional: bool,
    error: _Error = InvalidProgram,
    type_error: _Error | None = None,
) -> float | None: ...
def check_seconds(
    field: str,
    value: Any,
    *,
    positive: bool = False,
    signed: bool = False,
    optional: bool = False,
    error: _Error = InvalidProgram,
    type_error: _Error | None = None,
) -> float | None:
    """`value` (a number of seconds or a `timedelta`) as float seconds, by the number rules.

    Args:
        field: the name the message gives.
        value: what the caller passed.
        positive: refuse 0 too.
        signed: allow negative values (the caller words its own sign rule).
        optional: let `None` through (returned as `None`).
        error: the class raised for a bad value.
        type_error: the class raised for a value of the wrong type (default: `error`).
    """
    if value is None and optional:
        return None
    number = value.total_seconds() if isinstance(value, timedelta) else value
    return _real(
        field,
        value,
        number,
        kind="a number of seconds or a timedelta",
        positive=positive,
        signed=signed,
        optional=optional,
        error=error,
        type_error=error if type_error is None else type_error,
    )


def check_non_empty_str(
    field: str, value: Any, *, optional: bool = False, error: _Error = InvalidProgram
) -> Any:
    """`value` if it is a str with at least one character (or `None`, if `optional`)."""
    if (value is not None or not optional) and (not isinstance(value, str) or not value):
        _fail(error, field, "a non-empty str", value, optional)
    return value


def check_callable(
    field: str, value: Any, *, hint: str = "", error: _Error = InvalidProgram
) -> Any:
    """`value` if it is callable; `hint` says what kind of callable, for the message."""
    if not callable(value):
        _fail(error, field, f"callable ({hint})" if hint else "callable", value)
    return value


def check_instance(
    field: str,
    value: Any,
    kind: type,
    *,
    what: str | None = None,
    optional: bool = False,
    error: _Error = InvalidProgram,
) -> Any:
    """`value` if it is a `kind` (or `None`, if `optional`); `what` words the expectation
    (default: "a Kind")."""
    if (value is not None or not optional) and not isinstance(value, kind):
        _fail(error, field, what or _article(kind), value, optional)
    return value


def check_one_of(field: str, value: Any, options: Any, *, error: _Error = InvalidProgram) -> Any:
    """`value` if it is one of `options` (a `Literal[...]` type, or a tuple of values)."""
    allowed = options if type(options) is tuple else choices(options)
    if value not in allowed:
        _fail(error, field, "one of " + ", ".join(map(repr, allowed)), value)
    return value


def check_tuple_of(field: str, value: Any, kind: type, *, error: _Error = InvalidProgram) -> Any:
    """`value` if it is a tuple whose every item is a `kind`."""
    if not isinstance(value, tuple) or not all(isinstance(item, kind) for item in value):
        _fail(error, field, f"a tuple of {kind.__name__}", value)
    return value


def check_aware(
    field: str, value: Any, *, optional: bool = False, error: _Error = InvalidProgram
) -> Any:
    """`value` if it is an aware `datetime` (one with a UTC offset), or `None` if `optional`."""
    if value is None and optional:
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        _fail(error, field, "an aware datetime (with tzinfo)", value)
    return value


# --------------------------------------------------------------------------------------------
# attrs validators and converters, built on the checks (the field's name goes in the message)
# --------------------------------------------------------------------------------------------


def as_seconds(value: float | timedelta | None) -> Any:
    """An attrs converter: a `timedelta` becomes float seconds; anything else is left for the
    validator (`seconds(...)`) to judge. A real number that is not an int or a float (a
    `Fraction`) becomes a float, so the field always holds something `timedelta` accepts."""
    given: Any = value  # typed for callers; at run time it may be anything
    if isinstance(given, timedelta):
        return given.total_seconds()
    if is_number(given) and not isinstance(given, int | float):
        return float(given)
    return given


def _validator(check: Callable[..., Any], *args: Any, **rules: Any) -> Validator:
    """An attrs validator that runs `check(field name, value, *args, **rules)`."""

    if not args:  # most validators: no arguments to unpack on every check

        def validate_by_rules(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
            check(attribute.name, value, **rules)

        return validate_by_rules

    def validate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        check(attribute.name, value, *args, **rules)

    return validate


def integer(
    *,
    at_least: int | None = None,
    at_most: int | None = None,
    optional: bool = False,
    error: _Error = InvalidProgram,
) -> Validator:
    """An int (not a bool), within `[at_least, at_most]` where given; `None` too if
    `optional`."""
    return _validator(check_int, at_least=at_least, at_most=at_most, optional=optional, error=error)


def number(
    *, positive: bool = False, optional: bool = False, error: _Error = InvalidProgram
) -> Validator:
    """A finite real number (not a bool), >= 0 (> 0 if `positive`); `None` too if `optional`."""
    return _validator(check_number, positive=positive, optional=optional, error=error)


def seconds(
    *, positive: bool = False, optional: bool = False, error: _Error = InvalidProgram
) -> Validator:
    """Seconds as `check_seconds` takes them; with `converter=as_seconds` the field holds float
    seconds."""
    return _validator(check_seconds, positive=positive, optional=optional, error=error)


def non_empty_str(*, optional: bool = False, error: _Error = InvalidProgram) -> Validator:
    """A str with at least one character; `None` too if `optional`."""
    return _validator(check_non_empty_str, optional=optional, error=error)


def one_of(options: Any, *, error: _Error = InvalidProgram) -> Validator:
    """One of the values of a `Literal[...]` type (or of a tuple): `one_of(Policy)`."""
    return _validator(check_one_of, choices(options), error=error)


def callable_(*, error: _Error = InvalidProgram) -> Validator:
    """Anything callable."""
    return _validator(check_callable, error=error)


def instance_of(
    kind: type, *, what: str | None = None, optional: bool = False, error: _Error = InvalidProgram
) -> Validator:
    """An instance of `kind` (`what` words it for the message); `None` too if `optional`."""
    return _validator(check_instance, kind, what=what, optional=optional, error=error)


def tuple_of(kind: type, *, error: _Error = InvalidProgram) -> Validator:
    """A tuple of `kind` instances (pair it with a converter that makes lists into tuples)."""
    return _validator(check_tuple_of, kind, error=error)
