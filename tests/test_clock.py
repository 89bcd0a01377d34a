"""Clocks: ManualClock moves virtual time on request; SystemClock fires real deadlines."""

from __future__ import annotations

import logging
import threading
import time
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from actors import Clock, ManualClock, SystemClock
from actors.clock import Deadline, to_seconds
from tests.conftest import T0
from tests.helpers import eventually

#: How long a test waits for a real-time deadline before calling it lost. Generous: the
#: assertion is that it fired, not how fast.
WAIT = 5.0


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


class Recorder:
    """Callbacks that record (label, clock.now()) when fired."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.fired: list[tuple[str, datetime]] = []

    def __call__(self, label: str) -> Callable[[], None]:
        return lambda: self.fired.append((label, self.clock.now()))

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.fired]


class FakeRunner:
    """Stands in for a Runner attached to a ManualClock: records when it is settled."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.settled_at: list[datetime] = []
        self.timeouts: list[float] = []

    def settle_at_deadline(self, timeout: float, stuck_after: float) -> None:
        self.settled_at.append(self.clock.now())
        self.timeouts.append(timeout)


class TestManualClockNow:
    def test_now_is_the_start(self, clock: ManualClock) -> None:
        """now() is the start time until time is moved."""
        assert clock.now() == T0
        assert clock.now() == T0

    def test_naive_start_taken_as_utc(self) -> None:
        """A naive start is taken as UTC, and now() is aware."""
        clock = ManualClock(datetime(2026, 1, 1, 12, 30))

        assert clock.now() == datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
        assert clock.now().tzinfo is UTC

    def test_aware_start_kept(self) -> None:
        """An aware start in another zone is kept as given."""
        start = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=9)))

        assert ManualClock(start).now() == start

    def test_default_start_is_now(self) -> None:
        """Without a start, the clock starts at the current UTC time."""
        before = datetime.now(UTC)
        clock = ManualClock()
        after = datetime.now(UTC)

        assert before <= clock.now() <= after
        assert clock.now().tzinfo is not None

    @pytest.mark.parametrize("bad", ["2026-01-01", 0, T0.date()])
    def test_bad_start_refused(self, bad: object) -> None:
        """A start that is not a datetime is refused, naming it."""
        with pytest.raises(TypeError, match="start"):
            ManualClock(bad)  # type: ignore[arg-type]

    def test_is_a_clock(self, clock: ManualClock) -> None:
        """ManualClock implements the Clock interface."""
        assert isinstance(clock, Clock)

    def test_repr_shows_the_time(self, clock: ManualClock) -> None:
        """repr shows the virtual time."""
        assert repr(clock) == "ManualClock(2026-01-01T00:00:00+00:00)"

    def test_nothing_fires_until_time_moves(self, clock: ManualClock) -> None:
        """A deadline in the future does not fire until the test moves time."""
        fired = Recorder(clock)
        clock.call_at(T0 + seconds(1), fired("a"))

        assert fired.fired == []
        assert clock.pending() == [T0 + seconds(1)]


class TestManualClockAdvance:
    def test_fires_in_time_order_at_each_deadline(self, clock: ManualClock) -> None:
        """advance fires deadlines earliest first, with now() equal to each one's time."""
        fired = Recorder(clock)
        clock.call_at(T0 + seconds(3), fired("c"))
        clock.call_at(T0 + seconds(1), fired("a"))
        clock.call_at(T0 + seconds(2), fired("b"))

        clock.advance(5)

        assert fired.fired == [
            ("a", T0 + seconds(1)),
            ("b", T0 + seconds(2)),
            ("c", T0 + seconds(3)),
        ]
        assert clock.now() == T0 + seconds(5)

    def test_same_time_fires_in_registration_order(self, clock: ManualClock) -> None:
        """Deadlines at the same time fire in the order they were registered."""
        fired = Recorder(clock)
        for label in "abcde":
            clock.call_at(T0 + seconds(1), fired(label))

        clock.advance(1)

        assert fired.labels == list("abcde")

    def test_deadline_at_target_fires(self, clock: ManualClock) -> None:
        """A deadline exactly at the end of the advance fires."""
        fired = Recorder(clock)
        clock.call_at(T0 + seconds(10), fired("edge"))

        clock.advance(10)

        assert fired.fired == [("edge", T0 + seconds(10))]

    def test_later_deadline_stays_pending(self, clock: ManualClock) -> None:
        """A deadline after the advance's end does not fire and stays pending."""
        fired = Recorder(clock)
        clock.call_at(T0 + seconds(10.001), fired("late"))

        clock.advance(10)

        assert fired.fired == []
        assert clock.pending() == [T0 + seconds(10.001)]

    def test_moves_time_with_nothing_pending(self, clock: ManualClock) -> None:
        """advance moves time even when no deadline is pending."""
        clock.advance(90)

        assert clock.now() == T0 + seconds(90)

    def test_accepts_timedelta(self, clock: ManualClock) -> None:
        """advance takes a timedelta as well as seconds."""
        clock.advance(timedelta(minutes=2))
        clock.advance(0.5)

        assert clock.now() == T0 + seconds(120.5)

    def test_zero_advance(self, clock: ManualClock) -> None:
        """advance(0) moves nothing and fires nothing in the future."""
        fired = Recorder(clock)
        clock.call_at(T0 + seconds(1), fired("a"))

        clock.advance(0)

        assert clock.now() == T0
        assert fired.fired == []

    def test_deadline_set_by_a_callback_fires_in_the_same_advance(self, clock: ManualClock) -> None:
        """A callback that re-arms within the advance sees its next deadline fire too."""
        fired: list[datetime] = []

        def rearm() -> None:
            fired.append(clock.now())
            clock.call_at(clock.now() + seconds(1), rearm)

        clock.call_at(T0 + seconds(1), rearm)
        clock.advance(10)

        assert fired == [T0 + seconds(n) for n in range(1, 11)]
        assert clock.pending() == [T0 + seconds(11)]

    def test_each_deadline_fires_once(self, clock: ManualClock) -> None:
        """A fired deadline is gone: a second advance does not fire it again."""
        fired = Recorder(clock)
        clock.call_at(T0 + seconds(1), fired("a"))

        clock.advance(5)
        clock.advance(5)

        assert fired.labels == ["a"]

    def test_callback_error_does_not_stop_the_advance(
        self, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A callback that raises is logged; later deadlines still fire."""

        def boom() -> None:
            raise RuntimeError("boom")

        fired = Recorder(clock)
        clock.call_at(T0 + seconds(1), boom)
        clock.call_at(T0 + seconds(2), fired("after"))

        with caplog.at_level(logging.ERROR, logger="actors.clock"):
            clock.advance(3)

        assert fired.labels == ["after"]
        assert "boom" in caplog.text

    @pytest.mark.parametrize("bad", [-1, -0.001, timedelta(seconds=-1), float("nan")])
    def test_negative_advance_refused(self, clock: ManualClock, bad: object) -> None:
        """Time never goes backwards: a negative advance is refused and nothing moves."""
        with pytest.raises(ValueError, match="seconds"):
            clock.advance(bad)  # type: ignore[arg-type]

        assert clock.now() == T0

    def test_settles_attached_runners_at_each_deadline(self, clock: ManualClock) -> None:
        """advance settles every attached runner at each deadline before going on."""
        runner = FakeRunner(clock)
        clock.attach(runner)
        for n in (1, 2, 3):
            clock.call_at(T0 + seconds(n), lambda: None)

        clock.advance(5, settle_timeout=7.0)

        assert {T0 + seconds(n) for n in (1, 2, 3)} <= set(runner.settled_at)
        assert runner.settled_at[-1] == T0 + seconds(5)
        assert set(runner.timeouts) == {7.0}

    def test_detached_runner_not_settled(self, clock: ManualClock) -> None:
        """A detached runner is no longer settled."""
        runner = FakeRunner(clock)
        clock.attach(runner)
        clock.detach(runner)

        clock.advance(5)

        assert runner.settled_at == []

    def test_settle_timeout_propagates(self, clock: ManualClock) -> None:
        """A runner that cannot settle makes advance raise its TimeoutError."""

        class Stuck:
            def settle_at_deadline(self, timeout: float, stuck_after: float) -> None:
                raise TimeoutError("did not settle")

        stuck = Stuck()
        clock.attach(stuck)

        with pytest.raises(TimeoutError, match="did not settle"):
            clock.advance(1)


class TestManualClockCallAt:
    def test_past_deadline_fires_at_once(self, clock: ManualClock) -> None:
        """call_at with a time already passed fires inside call_at, at the current time."""
        fired = Recorder(clock)

        clock.call_at(T0 - seconds(60), fired("past"))

        assert fired.fired == [("past", T0)]
        assert clock.pending() == []

    def test_now_deadline_fires_at_once(self, clock: ManualClock) -> None:
        """call_at(now) fires at once."""
        fired = Recorder(clock)

        clock.call_at(T0, fired("now"))

        assert fired.labels == ["now"]

    def test_naive_deadline_taken_as_utc(self, clock: ManualClock) -> None:
        """A naive deadline is taken as UTC."""
        deadline = clock.call_at(datetime(2026, 1, 1, 0, 0, 5), lambda: None)

        assert deadline.when == T0 + seconds(5)
        assert clock.pending() == [T0 + seconds(5)]

    def test_returns_a_deadline(self, clock: ManualClock) -> None:
        """call_at returns the Deadline, with its time and callback."""
        callback = Recorder(clock)("a")

        deadline = clock.call_at(T0 + seconds(1), callback)

        assert isinstance(deadline, Deadline)
        assert (deadline.when, deadline.callback, deadline.cancelled) == (
            T0 + seconds(1),
            callback,
            False,
        )


class TestManualClockCancel:
    def test_cancelled_deadline_never_fires(self, clock: ManualClock) -> None:
        """A cancelled deadline does not fire when its time comes."""
        fired = Recorder(clock)
        deadline = clock.call_at(T0 + seconds(1), fired("cancelled"))
        clock.call_at(T0 + seconds(2), fired("kept"))

        deadline.cancel()
        clock.advance(5)

        assert fired.labels == ["kept"]

    def test_cancelled_deadline_not_pending(self, clock: ManualClock) -> None:
        """pending() leaves out cancelled deadlines."""
        deadline = clock.call_at(T0 + seconds(1), lambda: None)
        clock.call_at(T0 + seconds(2), lambda: None)

        deadline.cancel()

        assert clock.pending() == [T0 + seconds(2)]

    def test_cancel_after_firing_is_a_no_op(self, clock: ManualClock) -> None:
        """Cancelling a fired deadline changes nothing and raises nothing."""
        fired = Recorder(clock)
        deadline = clock.call_at(T0, fired("a"))

        deadline.cancel()
        deadline.cancel()

        assert fired.labels == ["a"]

    def test_cancelled_deadline_not_fired_by_jump(self, clock: ManualClock) -> None:
        """jump skips cancelled deadlines too."""
        fired = Recorder(clock)
        clock.call_at(T0 + seconds(1), fired("cancelled")).cancel()

        clock.jump(5)

        assert fired.fired == []

    def test_deadline_fires_at_most_once(self) -> None:
        """Deadline.fire twice calls the callback once."""
        calls: list[int] = []
        deadline = Deadline(T0, lambda: calls.append(1))

        deadline.fire()
        deadline.fire()

        assert calls == [1]
        assert "cancelled=True" in repr(deadline)


class TestManualClockJump:
    def test_fires_each_passed_deadline_once_at_the_target(self, clock: ManualClock) -> None:
        """jump moves time at once: every passed deadline fires once, seeing the target time."""
        fired = Recorder(clock)
        clock.call_at(T0 + seconds(3), fired("c"))
        clock.call_at(T0 + seconds(1), fired("a"))
        clock.call_at(T0 + seconds(2), fired("b"))

        clock.jump(3600)

        assert fired.fired == [
            ("a", T0 + seconds(3600)),
            ("b", T0 + seconds(3600)),
            ("c", T0 + seconds(3600)),
        ]
        assert clock.now() == T0 + seconds(3600)
        assert clock.pending() == []

    def test_deadline_after_target_stays(self, clock: ManualClock) -> None:
        """A deadline past the jump's target stays pending."""
        fired = Recorder(clock)
        clock.call_at(T0 + seconds(100), fired("later"))

        clock.jump(99)

        assert fired.fired == []
        assert clock.pending() == [T0 + seconds(100)]

    def test_rearm_inside_a_jump_fires_once(self, clock: ManualClock) -> None:
        """A callback re-arming for a time already passed fires once more, not in a loop."""
        fired: list[datetime] = []

        def rearm() -> None:
            fired.append(clock.now())
            if len(fired) < 2:
                clock.call_at(T0 + seconds(2), rearm)

        clock.call_at(T0 + seconds(1), rearm)
        clock.jump(10)

        assert fired == [T0 + seconds(10), T0 + seconds(10)]

    def test_does_not_settle_runners(self, clock: ManualClock) -> None:
        """jump leaves settling to the test (runner.settle())."""
        runner = FakeRunner(clock)
        clock.attach(runner)
        clock.call_at(T0 + seconds(1), lambda: None)

        clock.jump(5)

        assert runner.settled_at == []

    def test_negative_jump_refused(self, clock: ManualClock) -> None:
        """jump cannot go backwards."""
        with pytest.raises(ValueError, match="seconds"):
            clock.jump(-1)

        assert clock.now() == T0


class TestManualClockPending:
    def test_sorted_earliest_first(self, clock: ManualClock) -> None:
        """pending() lists the deadlines not yet fired, earliest first."""
        for n in (5, 1, 3, 1):
            clock.call_at(T0 + seconds(n), lambda: None)

        assert clock.pending() == [T0 + seconds(n) for n in (1, 1, 3, 5)]

    def test_shrinks_as_time_moves(self, clock: ManualClock) -> None:
        """pending() drops what has fired."""
        for n in (1, 2, 3):
            clock.call_at(T0 + seconds(n), lambda: None)

        clock.advance(2)

        assert clock.pending() == [T0 + seconds(3)]

    def test_never_due_after_advance(self, clock: ManualClock) -> None:
        """After an advance nothing is left due: has_due() is False."""
        clock.call_at(T0 + seconds(1), lambda: None)
        clock.call_at(T0 + seconds(10), lambda: None)

        clock.advance(5)

        assert not clock.has_due()


@pytest.fixture
def system_clock() -> Iterator[SystemClock]:
    """A SystemClock whose thread is released after the test."""
    clock = SystemClock()
    yield clock
    with clock._condition:
        for _, _, deadline in clock._heap:
            deadline.cancel()
    clock.release(timeout=WAIT)


def event_callback() -> tuple[threading.Event, Callable[[], None]]:
    event = threading.Event()
    return event, event.set


class TestSystemClock:
    def test_now_is_aware_utc_wall_time(self, system_clock: SystemClock) -> None:
        """now() is the current wall time, aware, in UTC."""
        before = datetime.now(UTC)
        now = system_clock.now()
        after = datetime.now(UTC)

        assert before <= now <= after
        assert now.utcoffset() == timedelta(0)

    def test_call_at_fires(self, system_clock: SystemClock) -> None:
        """A deadline a moment ahead fires, on the clock's own thread."""
        threads: list[threading.Thread] = []
        fired = threading.Event()

        def callback() -> None:
            threads.append(threading.current_thread())
            fired.set()

        system_clock.call_at(system_clock.now() + seconds(0.01), callback)

        assert fired.wait(WAIT)
        assert threads[0] is not threading.current_thread()
        assert threads[0].daemon

    def test_not_before_the_deadline(self, system_clock: SystemClock) -> None:
        """A deadline never fires before its time."""
        fired_at: list[datetime] = []
        done = threading.Event()
        when = system_clock.now() + seconds(0.05)

        def callback() -> None:
            fired_at.append(system_clock.now())
            done.set()

        system_clock.call_at(when, callback)

        assert done.wait(WAIT)
        assert fired_at[0] >= when - seconds(0.005)  # wall vs monotonic rounding

    def test_past_deadline_fires(self, system_clock: SystemClock) -> None:
        """A deadline already passed fires at once."""
        fired, callback = event_callback()

        system_clock.call_at(system_clock.now() - seconds(60), callback)

        assert fired.wait(WAIT)

    def test_naive_deadline_taken_as_utc(self, system_clock: SystemClock) -> None:
        """A naive deadline is taken as UTC, so one just past fires."""
        fired, callback = event_callback()
        naive_now = datetime.now(UTC).replace(tzinfo=None)

        deadline = system_clock.call_at(naive_now, callback)

        assert deadline.when.tzinfo is UTC
        assert fired.wait(WAIT)

    def test_fires_in_time_order(self, system_clock: SystemClock) -> None:
        """Deadlines fire earliest first, whatever order they were registered in."""
        order: list[str] = []
        done = threading.Event()
        now = system_clock.now()
        system_clock.call_at(now + seconds(0.06), lambda: (order.append("c"), done.set()))
        system_clock.call_at(now + seconds(0.02), lambda: order.append("a"))
        system_clock.call_at(now + seconds(0.04), lambda: order.append("b"))

        assert done.wait(WAIT)
        assert order == ["a", "b", "c"]

    def test_callback_may_arm_the_next_deadline(self, system_clock: SystemClock) -> None:
        """A callback can call call_at on its own clock, as a timer re-arming itself does."""
        fired: list[int] = []
        done = threading.Event()

        def rearm() -> None:
            fired.append(len(fired))
            if len(fired) < 3:
                system_clock.call_at(system_clock.now() + seconds(0.001), rearm)
            else:
                done.set()

        system_clock.call_at(system_clock.now(), rearm)

        assert done.wait(WAIT)
        assert fired == [0, 1, 2]

    def test_cancel(self, system_clock: SystemClock) -> None:
        """A cancelled deadline does not fire; a later one still does."""
        cancelled, cancelled_callback = event_callback()
        later, later_callback = event_callback()
        now = system_clock.now()
        deadline = system_clock.call_at(now + seconds(0.1), cancelled_callback)
        system_clock.call_at(now + seconds(0.15), later_callback)

        deadline.cancel()

        assert later.wait(WAIT)
        assert not cancelled.is_set()  # it was due before `later`, which has fired

    def test_callback_error_does_not_kill_the_clock(
        self, system_clock: SystemClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A callback that raises is logged; the next deadline still fires."""

        def boom() -> None:
            raise RuntimeError("boom")

        fired, callback = event_callback()
        now = system_clock.now()
        with caplog.at_level(logging.ERROR, logger="actors.clock"):
            system_clock.call_at(now, boom)
            system_clock.call_at(now + seconds(0.01), callback)

            assert fired.wait(WAIT)

        assert "boom" in caplog.text

    def test_has_due_false_for_a_future_deadline(self, system_clock: SystemClock) -> None:
        """A deadline an hour away is not due."""
        system_clock.call_at(system_clock.now() + seconds(3600), lambda: None)

        assert not system_clock.has_due()

    def test_has_due_true_once_time_passes(
        self, system_clock: SystemClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A deadline whose time has come but that has not fired yet is due; cancelled, not."""
        offset = [0.0]
        fake_time = types.SimpleNamespace(monotonic=lambda: time.monotonic() + offset[0])
        monkeypatch.setattr("actors.clock.time", fake_time)
        deadline = system_clock.call_at(system_clock.now() + seconds(3600), lambda: None)
        running, callback = event_callback()
        system_clock.call_at(system_clock.now(), callback)
        assert running.wait(WAIT)  # the clock thread has been through its loop

        def move_time_while_the_thread_sleeps() -> bool:
            # Holding the lock with no batch in flight, the thread is asleep in wait() for the
            # real hour, so moving the monotonic time now cannot make it fire the deadline.
            with system_clock._condition:
                if system_clock._firing:
                    return False
                assert not system_clock.has_due()
                offset[0] = 7200.0
                return True

        eventually(move_time_while_the_thread_sleeps)

        assert system_clock.has_due()
        deadline.cancel()
        assert not system_clock.has_due()

    def test_has_due_while_a_callback_runs(self, system_clock: SystemClock) -> None:
        """A deadline counts as due until its callback has returned, then no longer."""
        started, release = threading.Event(), threading.Event()

        def callback() -> None:
            started.set()
            release.wait(WAIT)

        system_clock.call_at(system_clock.now(), callback)
        assert started.wait(WAIT)

        assert system_clock.has_due()
        release.set()
        eventually(lambda: not system_clock.has_due())

    def test_release_leaves_no_clock_thread(self) -> None:
        """After its deadlines fired, release() ends the clock's thread."""
        clock = SystemClock()
        threads: list[threading.Thread] = []
        fired = threading.Event()

        def callback() -> None:
            threads.append(threading.current_thread())
            fired.set()

        clock.call_at(clock.now(), callback)
        assert fired.wait(WAIT)

        clock.release(timeout=WAIT)

        assert not threads[0].is_alive()
        assert clock._thread is None

    def test_release_with_cancelled_deadlines_only(self) -> None:
        """Cancelled deadlines do not keep the thread: release() ends it."""
        clock = SystemClock()
        deadline = clock.call_at(clock.now() + seconds(3600), lambda: None)
        thread = clock._thread
        assert thread is not None
        assert thread.is_alive()

        deadline.cancel()
        clock.release(timeout=WAIT)

        assert not thread.is_alive()

    def test_release_keeps_a_thread_with_pending_deadlines(self, system_clock: SystemClock) -> None:
        """release() does not drop deadlines another user of the clock still waits for."""
        fired, callback = event_callback()
        system_clock.call_at(system_clock.now() + seconds(0.05), callback)

        system_clock.release(timeout=0.01)

        assert fired.wait(WAIT)

    def test_usable_after_release(self) -> None:
        """A released clock starts a new thread for the next deadline."""
        clock = SystemClock()
        clock.release()
        fired, callback = event_callback()

        clock.call_at(clock.now(), callback)

        assert fired.wait(WAIT)
        clock.release(timeout=WAIT)
        assert clock._thread is None


class TestToSeconds:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(0, 0.0), (5, 5.0), (0.25, 0.25), (timedelta(minutes=1, milliseconds=500), 60.5)],
    )
    def test_converts(self, value: float | timedelta, expected: float) -> None:
        """Numbers and timedeltas become float seconds."""
        result = to_seconds(value)

        assert result == expected
        assert isinstance(result, float)

    @pytest.mark.parametrize("bad", [-1, -0.5, timedelta(seconds=-1), float("nan"), float("inf")])
    def test_negative_refused(self, bad: float | timedelta) -> None:
        """Negative, infinite and NaN values raise ValueError naming the field and value."""
        with pytest.raises(ValueError, match=r"delay must be a finite number >= 0, got"):
            to_seconds(bad, field="delay")

    @pytest.mark.parametrize("bad", [True, "5", None, [1]])
    def test_wrong_type_refused(self, bad: object) -> None:
        """Anything but a number or timedelta (a bool included) raises TypeError."""
        with pytest.raises(TypeError, match=r"timeout must be a number of seconds"):
            to_seconds(bad, field="timeout")  # type: ignore[arg-type]


class TestSameInstantDeadlines:
    def test_fire_in_the_order_armed_each_settled_before_the_next(self, clock: ManualClock) -> None:
        """Deadlines due at one instant fire one at a time, in the order they were armed, and
        the runner settles after each: the first one's consequences are all done before the
        second fires."""
        runner = FakeRunner(clock)
        clock.attach(runner)
        fired: list[str] = []
        for name in ("first", "second", "third"):
            clock.call_at(T0 + timedelta(seconds=1), lambda name=name: fired.append(name))

        clock.advance(1)

        assert fired == ["first", "second", "third"]
        # one settle before the start, one after each deadline, one at the end
        assert len(runner.settled_at) == 5

    def test_a_same_instant_scenario_gives_one_answer(self) -> None:
        """Two programs ticking at the same instants, whose runs race for one list: fifty
        runs of the scenario, each on a new runner, give the same order every time."""
        from actors import Program, Runner

        answers = set()
        for _ in range(50):
            clock = ManualClock(T0)
            order: list[str] = []
            with Runner(clock=clock) as runner:
                for name in ("a", "b", "c"):
                    runner.install(
                        Program(
                            id=name,
                            interval=1,
                            min=1,
                            main_fn=lambda args, ts, name=name, order=order: order.append(name),
                        )
                    )
                clock.advance(3)
            answers.add(tuple(order))
        assert answers == {("a", "b", "c") * 3}
