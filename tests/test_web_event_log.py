"""The dashboard's event log (`actors.web.event_log`): the newest events, numbered, read
after a number."""

from __future__ import annotations

from datetime import timedelta

from actors import events as ev
from actors.web.event_log import EVENTS_KEPT, EventLog, describe
from tests.conftest import T0


def test_events_are_numbered_and_read_after_a_number_by_program() -> None:
    """Each event gets the next number; `since(n)` gives those after n, oldest first, of one
    program if asked, and at most `limit` of the newest."""
    log = EventLog()
    for number in range(5):
        log.add(T0 + timedelta(seconds=number), "ab"[number % 2], "Kind", f"event {number}")
    assert [r.seq for r in log.since(0)] == [1, 2, 3, 4, 5]
    assert [r.text for r in log.since(2, "a")] == ["event 2", "event 4"]
    assert [r.seq for r in log.since(0, limit=2)] == [4, 5]


def test_the_log_keeps_the_newest_events_only() -> None:
    """Past EVENTS_KEPT events, the oldest go; numbers go on."""
    log = EventLog()
    for number in range(EVENTS_KEPT + 10):
        log.add(T0, "p", "Kind", str(number))
    kept = log.since(0, limit=EVENTS_KEPT * 2)
    assert len(kept) == EVENTS_KEPT
    assert (kept[0].seq, kept[-1].seq) == (11, EVENTS_KEPT + 10)


def test_a_runner_s_events_are_told_in_words() -> None:
    """A failed run is an error, with its error in the line; a retry is said; scaling says
    from and to; an event with no words of its own is named."""
    failed = ev.RunFailed("p", T0, "p#1", "p-1", T0, ValueError("x"), final=False)
    assert describe(failed) == ("run p#1 failed on p-1: ValueError('x') (a retry follows)", True)
    scaled = ev.ScaledUp("p", T0, from_spawns=1, to_spawns=3, sample=7.5)
    assert describe(scaled) == ("scaled up 1 → 3 (load 7.5)", False)
    log = EventLog()
    log.add_event(ev.RunStarted("p", T0, "p#2", "p-1", T0, attempt=2))
    record = log.since(0)[0]
    assert (record.kind, record.text, record.error) == (
        "RunStarted",
        "run p#2 started on p-1 (try 2)",
        False,
    )
