"""Events and subscriptions: what is published, to whom, in what order, and off the hot path."""

from __future__ import annotations

import logging
import threading

import pytest

from actors import InvalidProgram, ManualClock, Program, Retry, Runner
from actors.events import (
    Event,
    ProgramInstalled,
    ProgramUninstalled,
    RunFailed,
    RunMissed,
    RunSkipped,
    RunStarted,
    RunSucceeded,
    SpawnReplaced,
    SpawnStarted,
    SpawnStopped,
    Subscription,
)


def noop(args: object, ts: object) -> None:
    return None


def test_every_event_of_a_run_in_order(runner: Runner, clock: ManualClock) -> None:
    """A subscriber to everything sees install, spawn, start and success, in order."""
    seen: list[Event] = []
    subscription = runner.subscribe(seen.append)
    assert isinstance(subscription, Subscription)
    runner.install(Program(id="p", interval=1, min=1, main_fn=lambda a, t: 42))
    clock.advance(1)
    assert [type(e) for e in seen] == [ProgramInstalled, SpawnStarted, RunStarted, RunSucceeded]
    succeeded = seen[-1]
    assert isinstance(succeeded, RunSucceeded)
    assert (succeeded.program, succeeded.spawn, succeeded.result) == ("p", "p-1", 42)
    assert succeeded.scheduled_at == clock.now()


def test_filter_by_type(runner: Runner, clock: ManualClock) -> None:
    """subscribe(cb, RunFailed) delivers only failures; a retry's tries are not final."""

    def fail(args: object, ts: object) -> None:
        raise ValueError("bad")

    failures: list[Event] = []
    runner.subscribe(failures.append, RunFailed)
    runner.install(Program(id="p", main_fn=fail, retry=Retry(attempts=2, backoff=1)))
    runner.trigger("p", wait=False)
    clock.advance(1)
    assert [(e.attempt, e.final) for e in failures] == [(1, False), (2, True)]  # type: ignore[attr-defined]
    assert all(isinstance(e.error, ValueError) for e in failures)  # type: ignore[attr-defined]


def test_skipped_missed_and_spawn_events(runner: Runner, clock: ManualClock) -> None:
    """Skipped and missed ticks, spawn stops and replacements are published."""
    seen: list[Event] = []
    subscription = runner.subscribe(seen.append, RunSkipped, RunMissed, SpawnStopped, SpawnReplaced)
    runner.install(Program(id="p", interval=1, main_fn=noop))
    clock.advance(1)
    runner.pause("p")
    clock.advance(1)
    runner.resume("p")
    runner.spawn("p", 2)
    runner.unspawn("p")
    runner.kill_spawn("p", "p-1")
    runner.settle()
    subscription.flush()
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["RunSkipped", "RunMissed", "SpawnStopped", "SpawnStopped"]
    assert [e.reason for e in seen if isinstance(e, SpawnStopped)] == ["unspawned", "killed"]


def test_replacement_published(runner: Runner) -> None:
    """A killed spawn that min asks to replace publishes SpawnReplaced."""
    seen: list[Event] = []
    subscription = runner.subscribe(seen.append, SpawnReplaced)
    runner.install(Program(id="p", main_fn=noop, min=1))
    runner.kill_spawn("p", "p-1")
    runner.settle()
    subscription.flush()
    assert [(e.spawn, e.replacement, e.reason) for e in seen] == [("p-1", "p-2", "killed")]  # type: ignore[attr-defined]


def test_uninstall_published(runner: Runner) -> None:
    """Uninstalling publishes ProgramUninstalled."""
    seen: list[Event] = []
    subscription = runner.subscribe(seen.append, ProgramUninstalled)
    runner.install(Program(id="p", main_fn=noop))
    runner.uninstall("p")
    runner.settle()
    subscription.flush()
    assert [e.program for e in seen] == ["p"]


def test_slow_subscriber_never_delays_runs(runner: Runner, clock: ManualClock) -> None:
    """While a subscriber blocks, ticks still run and merge; its events wait for it."""
    release = threading.Event()
    got: list[Event] = []

    def slow(event: Event) -> None:
        release.wait(10)
        got.append(event)

    subscription = runner.subscribe(slow, RunSucceeded)
    runner.install(
        Program(
            id="p", min=1, main_fn=lambda a, t: 1, create_fn=lambda: 0, merge_fn=lambda s, r: s + r
        )
    )
    for expected in range(1, 6):
        assert runner.trigger("p", timeout=5) == 1  # each run merges while events wait
        assert runner.get_state("p") == expected
    assert got == []
    release.set()
    runner.settle()
    subscription.flush()
    assert len(got) == 5


def test_failing_subscriber_is_logged_and_kept(
    runner: Runner, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber that raises is logged and keeps getting later events."""
    calls: list[Event] = []

    def broken(event: Event) -> None:
        calls.append(event)
        raise RuntimeError("subscriber bug")

    subscription = runner.subscribe(broken, RunSucceeded)
    runner.install(Program(id="p", interval=1, min=1, main_fn=noop))
    with caplog.at_level(logging.ERROR, logger="actors"):
        clock.advance(3)
        subscription.flush()
    assert len(calls) == 3
    assert subscription.failed == 3
    assert "subscriber bug" in caplog.text
    assert runner.info("p").runs == 3


def test_cancel_stops_delivery(runner: Runner, clock: ManualClock) -> None:
    """After cancel() no further events reach the subscriber."""
    seen: list[Event] = []
    subscription = runner.subscribe(seen.append, RunSucceeded)
    runner.install(Program(id="p", interval=1, min=1, main_fn=noop))
    clock.advance(2)
    subscription.cancel()
    subscription.cancel()
    clock.advance(2)
    assert len(seen) == 2


def test_nothing_published_without_subscribers(runner: Runner, clock: ManualClock) -> None:
    """With no subscriber, no event is built or sent (the hot path stays lean)."""
    runner.install(Program(id="p", interval=1, min=1, main_fn=noop))
    clock.advance(3)
    assert runner._runtime.subscribers == 0


def test_bad_subscribe_arguments(runner: Runner) -> None:
    """A non-callable or a non-event type is refused with InvalidProgram."""
    with pytest.raises(InvalidProgram, match="callable"):
        runner.subscribe("print")  # type: ignore[arg-type]
    with pytest.raises(InvalidProgram, match="event types"):
        runner.subscribe(print, "RunFailed")  # type: ignore[arg-type]


def test_a_slow_subscriber_does_not_slow_advance(runner: Runner, clock: ManualClock) -> None:
    """Events are off the scheduling path: advance() over a subscriber that blocks finishes
    without waiting for it, and flush() is how a test waits for the subscriber."""
    release = threading.Event()
    got: list[Event] = []

    def blocked(event: Event) -> None:
        release.wait(10)
        got.append(event)

    subscription = runner.subscribe(blocked, RunSucceeded)
    runner.install(Program(id="p", interval=1, min=1, main_fn=lambda a, t: 1))

    clock.advance(5, settle_timeout=2)  # would time out if settling waited for the subscriber

    assert runner.info("p").runs == 5
    assert got == []
    release.set()
    subscription.flush()
    assert len(got) == 5


def test_flush_times_out_with_a_message(runner: Runner) -> None:
    """flush() that runs out says how many events the subscriber still has to handle."""
    release = threading.Event()
    subscription = runner.subscribe(lambda event: release.wait(10), RunSucceeded)
    runner.install(Program(id="p", main_fn=lambda a, t: 1))
    runner.trigger("p")
    try:
        with pytest.raises(TimeoutError, match="1 event"):
            subscription.flush(timeout=0.05)
    finally:
        release.set()
