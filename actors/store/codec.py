"""How the rows of a store become column values, and back.

A column has the name of the row's field. Datetimes are integer microseconds since the Unix
epoch (UTC): exact, ordered, and the same in SQLite and PostgreSQL; they come back as aware
UTC datetimes, the same instants whatever offset they were written with. Booleans are 0/1.
A naive datetime is refused: which instant it means is a guess.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs

from actors.store.abc import FiringRow, ProgramRow, RunRow

__all__ = [
    "FIRING_COLUMNS",
    "PROGRAM_COLUMNS",
    "PROGRAM_UPDATED",
    "RUN_COLUMNS",
    "decode",
    "encode",
    "from_micros",
    "to_micros",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

#: The fields kept as microseconds, and as 0/1.
_DATETIMES = frozenset(
    {
        "finished_at",
        "last_fire",
        "last_run",
        "lease_expires",
        "next_fire",
        "scheduled_at",
        "since",
        "started_at",
        "updated_at",
    }
)
_BOOLEANS = frozenset({"paused"})

_Row = TypeVar("_Row", ProgramRow, RunRow, FiringRow)


def _names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(field.name for field in attrs.fields(cls))


#: The columns of each row kind, in the order `encode` gives the values.
PROGRAM_COLUMNS = _names(ProgramRow)
#: The columns a program write replaces in a stored row: all but its key, and the lease, which
#: only the heartbeat moves (a write carries the program's books, not how long it is held).
PROGRAM_UPDATED = tuple(name for name in PROGRAM_COLUMNS if name not in ("id", "lease_expires"))
RUN_COLUMNS = _names(RunRow)
FIRING_COLUMNS = _names(FiringRow)


def to_micros(value: datetime, field: str = "datetime") -> int:
    """Microseconds from the Unix epoch to `value` (an aware datetime), exactly.

    Raises:
        ValueError: `value` is naive.
    """
    if value.utcoffset() is None:
        msg = f"{field} must be an aware datetime, got the naive {value!r}"
        raise ValueError(msg)
    # Integer division of timedeltas is exact, before 1970 too.
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The aware UTC datetime `value` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=value)


def encode(row: ProgramRow | RunRow | FiringRow) -> tuple[Any, ...]:
    """The column values of `row`, in the order of its fields.

    Raises:
        ValueError: a naive datetime.
        TypeError: a state that is not bytes.
    """
    cls = type(row)
    names, datetimes, booleans = _LAYOUTS[cls]
    values = list(_GETTERS[cls](row))
    for index in datetimes:
        if values[index] is not None:
            values[index] = to_micros(values[index], f"{cls.__name__}.{names[index]}")
    for index in booleans:
        values[index] = 1 if values[index] else 0
    if cls is ProgramRow:
        state = values[_STATE]
        if not isinstance(state, bytes | bytearray | memoryview):
            msg = f"ProgramRow.state must be bytes, got {type(state).__name__}"
            raise TypeError(msg)
        values[_STATE] = bytes(state)
    return tuple(values)


def decode(cls: type[_Row], values: Sequence[Any]) -> _Row:
    """The row of kind `cls` whose columns hold `values` (in the order of its fields)."""
    names, datetimes, booleans = _LAYOUTS[cls]
    row = list(values)
    for index in datetimes:
        if row[index] is not None:
            row[index] = _EPOCH + timedelta(microseconds=row[index])
    for index in booleans:
        row[index] = bool(row[index])
    return cls(**dict(zip(names, row, strict=True)))


def _layout(cls: type[Any]) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    names = _names(cls)
    return (
        names,
        tuple(index for index, name in enumerate(names) if name in _DATETIMES),
        tuple(index for index, name in enumerate(names) if name in _BOOLEANS),
    )


# Worked out once: a store of many programs decodes hundreds of thousands of rows at start.
_LAYOUTS = {cls: _layout(cls) for cls in (ProgramRow, RunRow, FiringRow)}
# A row's values in one C call: encoding runs on the writer thread for every row of a batch.
_GETTERS = {cls: operator.attrgetter(*_names(cls)) for cls in _LAYOUTS}
_STATE = PROGRAM_COLUMNS.index("state")
