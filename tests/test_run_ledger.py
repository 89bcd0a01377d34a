"""RunLedger, without actors: runs in flight, final outcomes, retries, dropped ticks, history."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import timedelta
from typing import Any

import pytest

from actors.runtime import Activity
from actors.tree.run_ledger import NOT_RUN_KEPT, RunLedger
from tests.conftest import T0


class Published(list):  # type: ignore[type-arg]
    """Records what the ledger publishes, by event class name."""

    def __call__(self, event_class: type, program_id: str, *args: Any, **kwargs: Any) -> None:
        self.append((event_class.__name__, args, kwargs))


@pytest.fixture
def events() -> Published:
    return Published()


@pytest.fixture
def ledger(events: Published) -> RunLedger:
    return RunLedger("p", 100, events, Activity())


def test_run_ids_count_per_program(ledger: RunLedger) -> None:
    """Runs are numbered p#1, p#2, ... in the order they are opened."""
    assert [ledger.open("p-1", T0).id for _ in range(3)] == ["p#1", "p#2", "p#3"]


def test_take_only_the_current_try(ledger: RunLedger) -> None:
    """take(run, attempt) gives the run once, and nothing for a try that is over."""
    run = ledger.open("p-1", T0)
    ledger.running[run.id] = run
    assert ledger.take(run.id, 2) is None
    assert ledger.take(run.id, 1) is run
    assert ledger.take(run.id, 1) is None


def test_conclude_counts_keeps_publishes_and_answers(ledger: RunLedger, events: Published) -> None:
    """A final outcome is counted, kept in the history, published and answered."""
    waiter: Future[Any] = Future()
    ok = ledger.open("p-1", T0, waiter=waiter)
    ledger.conclude(ok, "completed", 5, None, T0)
    bad = ledger.open("p-1", T0)
    ledger.conclude(bad, "failed", None, ValueError("no"), T0 + timedelta(seconds=1))
    assert (ledger.runs, ledger.succeeded, ledger.failed) == (2, 1, 1)
    assert waiter.result(0) == 5
    assert [name for name, _, _ in events] == ["RunSucceeded", "RunFailed"]
    assert [r.status for r in ledger.history(10)] == ["failed", "completed"]
    assert str(ledger.last_error) == "no"


def test_a_failed_try_waits_for_its_retry_in_the_activity(ledger: RunLedger) -> None:
    """try_failed keeps the try's record, holds the run pending, and counts a backoff until
    end_backoff (settle() on a real clock waits for it)."""
    run = ledger.open("p-1", T0)
    ledger.try_failed(run, ValueError("first"), T0)
    assert (run.attempt, run.status, ledger.activity.backoffs) == (2, "pending", 1)  # type: ignore[union-attr]
    assert [(r.status, r.attempt) for r in ledger.history(10)] == [("pending", 2), ("failed", 1)]
    ledger.end_backoff(run)
    ledger.end_backoff(run)  # counted once
    assert ledger.activity.backoffs == 0  # type: ignore[union-attr]
    assert ledger.runs == 0  # only the final outcome counts


def test_runs_left_counts_those_in_flight(ledger: RunLedger) -> None:
    """max_runs minus finished minus in flight; None without a cap."""
    run = ledger.open("p-1", T0)
    ledger.running[run.id] = run
    assert ledger.runs_left(None) is None
    assert ledger.runs_left(3) == 2


def test_dropped_ticks_are_counted_and_only_the_newest_kept(
    ledger: RunLedger, events: Published
) -> None:
    """A batch of a million missed ticks is one count; the newest few become records, and
    the events' counts add up to the batch."""
    latest = tuple(T0 + timedelta(seconds=s) for s in range(20))
    ledger.count_missed(1_000_000, latest)
    ledger.count_skipped(T0, "p-1")
    assert (ledger.missed, ledger.skipped) == (1_000_000, 1)
    records = ledger.history(1_000)
    assert len(records) == NOT_RUN_KEPT
    assert records[0].status == "skipped"
    counts = [args[1] for name, args, _ in events if name == "RunMissed"]
    assert sum(counts) == 1_000_000
    assert len(counts) == NOT_RUN_KEPT


def test_close_answers_triggers_and_ends_backoffs(ledger: RunLedger) -> None:
    """close(error) answers every waiting trigger with error and ends every backoff."""
    waiter: Future[Any] = Future()
    run = ledger.open("p-1", T0, waiter=waiter)
    ledger.try_failed(run, ValueError("x"), T0)
    ledger.close(RuntimeError("stopped"))
    with pytest.raises(RuntimeError, match="stopped"):
        waiter.result(0)
    assert ledger.activity.backoffs == 0  # type: ignore[union-attr]
