"""Planning a batch of `Write`s: what each write comes to, and the rows that write it.

The rules of `Write` (an epoch that must match, a firing that must be new, parts applied in
order, a `delete` that removes what came before it) are decided here, in Python, for a whole
batch, so that a store writes the batch with a few statements of its own dialect instead of a
few per write, and so that every SQL store keeps the same rules. The plan starts from `Books`:
what the checks need to know of the stored rows (each program's epoch, its newest fired time,
the next install order), which a store reads for the batch's programs inside the batch's
transaction, so the checks hold whichever runners write the store. A batch plans on a `Draft`
of the books.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from actors.store.abc import Write, WriteResult
from actors.store.codec import FIRING_COLUMNS, encode

__all__ = ["Books", "Draft", "RowKind", "Segment", "TrimSchedule", "plan_batch"]

RowKind = Literal["firing", "program", "run"]

_Values = tuple[Any, ...]
_SCHEDULED_AT = FIRING_COLUMNS.index("scheduled_at")


@attrs.define
class Books:
    """What the checks of `Write` need to know of the stored rows.

    Attributes:
        epochs: each stored program's fencing epoch.
        newest_fired: each program's newest fired time (microseconds), where that is known;
            a firing newer than it cannot have been stored.
        next_order: the next free install order.
    """

    epochs: dict[str, int] = attrs.field(factory=dict)
    newest_fired: dict[str, int] = attrs.field(factory=dict)
    next_order: int = 1


class Draft:
    """The books as one batch changes them; `apply` them once the batch has committed."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.epochs: dict[str, int | None] = {}  # None: deleted
        self.newest_fired: dict[str, int | None] = {}
        self.fired: set[tuple[str, int]] = set()  # added by this batch
        self.deleted: set[str] = set()  # its rows stored before the batch are gone
        self.next_order = books.next_order

    def epoch(self, program_id: str) -> int | None:
        if program_id in self.epochs:
            return self.epochs[program_id]
        return self.books.epochs.get(program_id)

    def newest(self, program_id: str) -> int | None:
        if program_id in self.newest_fired:
            return self.newest_fired[program_id]
        return self.books.newest_fired.get(program_id)

    def add_firing(self, program_id: str, at: int) -> None:
        self.fired.add((program_id, at))
        newest = self.newest(program_id)
        self.newest_fired[program_id] = at if newest is None else max(newest, at)

    def delete(self, program_id: str) -> None:
        self.epochs[program_id] = self.newest_fired[program_id] = None
        self.fired = {key for key in self.fired if key[0] != program_id}
        self.deleted.add(program_id)

    def apply(self) -> None:
        """Make the draft the books (its batch committed)."""
        for changes, books in (
            (self.epochs, self.books.epochs),
            (self.newest_fired, self.books.newest_fired),
        ):
            for program_id, value in changes.items():
                if value is None:
                    books.pop(program_id, None)
                else:
                    books[program_id] = value
        self.books.next_order = self.next_order


@attrs.define
class Segment:
    """The rows of consecutive writes with no `delete` between them, to write together, then
    the program to delete, if a `delete` ended the segment.

    Attributes:
        rows: firings, outcomes (both `"firing"`: an upsert, in order) and runs, in order.
        programs: the program rows (`"program"`), the last of each program only (a row
            replaces the whole row), each with its install order as its last value.
        delete: the program whose rows go after these are written.
    """

    rows: list[tuple[RowKind, _Values]] = attrs.field(factory=list)
    programs: dict[str, _Values] = attrs.field(factory=dict)
    delete: str | None = None

    def all_rows(self) -> list[tuple[RowKind, _Values]]:
        """Every row to write: the program rows can go last (tables do not refer to each
        other), so only the order within a table matters."""
        return [*self.rows, *(("program", values) for values in self.programs.values())]


def plan_batch(
    batch: Sequence[Write], draft: Draft, stored: set[tuple[str, int]]
) -> tuple[list[WriteResult], Counter[str], list[Segment]]:
    """Plan `batch` with `Write`'s rules on `draft`, given which of its firings were `stored`
    before it.

    Returns:
        One result per write, in order; how many runs and firings each program gained (0 for
        a program deleted by the batch); the segments of rows to write, in order.

    Raises:
        ValueError, TypeError: a row the store cannot hold (`codec.encode`).
    """
    results: list[WriteResult] = []
    grown: Counter[str] = Counter()
    segments = [Segment()]
    for write in batch:
        segment = segments[-1]
        program_id = write.program_id
        if write.epoch is not None and draft.epoch(program_id) != write.epoch:
            results.append("stale")
            continue
        if write.firing is not None:
            firing = encode(write.firing)
            key = (program_id, firing[_SCHEDULED_AT])
            if key in draft.fired or (key in stored and program_id not in draft.deleted):
                results.append("duplicate")
                continue
            draft.add_firing(*key)
            segment.rows.append(("firing", firing))
            grown[program_id] += 1
        if write.outcome is not None:
            outcome = encode(write.outcome)
            draft.add_firing(program_id, outcome[_SCHEDULED_AT])
            segment.rows.append(("firing", outcome))
        if write.program is not None:
            segment.programs[program_id] = encode(write.program)
            draft.epochs[program_id] = write.program.epoch
        if write.run is not None:
            segment.rows.append(("run", encode(write.run)))
            grown[program_id] += 1
        if write.delete:
            _number(segment, draft)
            segment.delete = program_id
            segments.append(Segment())
            draft.delete(program_id)
            grown[program_id] = 0
        results.append("ok")
    _number(segments[-1], draft)
    return results, grown, [s for s in segments if s.rows or s.programs or s.delete]


def _number(segment: Segment, draft: Draft) -> None:
    """Give each program row of `segment` a fresh install order, so none collides with a kept
    one: a replaced program keeps its own (the update leaves it), a new one goes last."""
    for program_id, values in segment.programs.items():
        segment.programs[program_id] = (*values, draft.next_order)
        draft.next_order += 1


class TrimSchedule:
    """Which programs a batch trims: those that grew by a tenth of `history` rows since their
    last trim. The runs beyond the newest `history` go, and the concluded firings beyond the
    newest `history` firings.

    Trimming a program walks `history` entries of an index, so it is done now and then, not
    per batch: a program holds fewer than `history + history // 10` runs, and reads return
    the newest `history`. Firings go with the same bound (the newest always stays) so a store
    does not grow by a row per tick forever: an older scheduled time cannot fire again anyway,
    as a runner fires only after the stored `last_fire`. Open firings stay until concluded.
    """

    def __init__(self, history: int) -> None:
        self.history = history
        self.since: dict[str, int] = {}  # rows added per program since its last trim

    def due(self, grown: Counter[str]) -> tuple[dict[str, int], list[str]]:
        """The programs to trim with a batch that grew programs by `grown`, and the counts
        since, to keep (`since = ...`) once the batch has committed."""
        since = dict(self.since)
        every = max(1, self.history // 10)
        due = []
        for program_id, added in grown.items():
            if not added:  # deleted in this batch
                since.pop(program_id, None)
                continue
            # A program not trimmed yet since open is trimmed at its first write: what an
            # earlier run (or a larger `history`) left is bounded at once.
            count = since.get(program_id, every) + added
            if count >= every:
                due.append(program_id)
                count = 0
            since[program_id] = count
        return since, due
