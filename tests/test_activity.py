"""Activity and RunTicket: what is in flight, so settle() can wait for quiet instead of sleeping."""

from __future__ import annotations

import threading

import pytest

from actors.runtime import Activity, RunTicket

#: How long a test waits on an Event or a join before calling it lost.
WAIT = 5.0


class TestActivity:
    def test_starts_idle(self) -> None:
        """A new Activity counts nothing and is idle at once."""
        activity = Activity()

        assert activity.count == 0
        assert activity.runs == 0
        assert activity.wait_idle(0) is True

    def test_add_and_done(self) -> None:
        """add() and done() move the message count, one by default or n at a time."""
        activity = Activity()

        activity.add()
        activity.add(3)
        assert activity.count == 4
        activity.done(2)
        assert activity.count == 2
        activity.done()
        assert activity.count == 1

    def test_runs_count_too(self) -> None:
        """Runs of user code are counted with the messages, and on their own in `runs`."""
        activity = Activity()

        first, second = RunTicket(), RunTicket()
        activity.add()
        activity.issue(first)
        activity.issue(second)

        assert (activity.count, activity.runs) == (3, 2)
        activity.end(first)
        assert (activity.count, activity.runs) == (2, 1)

    def test_wait_idle_times_out_while_busy(self) -> None:
        """wait_idle returns False when work is still in flight after the timeout."""
        activity = Activity()
        activity.add()

        assert activity.wait_idle(0.01) is False

    def test_wait_idle_waits_for_runs(self) -> None:
        """A run in flight keeps wait_idle from returning True."""
        activity, ticket = Activity(), RunTicket()
        activity.issue(ticket)

        assert activity.wait_idle(0.01) is False
        activity.end(ticket)
        assert activity.wait_idle(0) is True

    def test_wait_idle_without_runs(self) -> None:
        """wait_idle(runs=False) only waits for messages; runs may go on."""
        activity = Activity()
        activity.issue(RunTicket())

        assert activity.wait_idle(0, runs=False) is True
        activity.add()
        assert activity.wait_idle(0.01, runs=False) is False

    @pytest.mark.parametrize("last", ["message", "run"])
    def test_wait_idle_wakes_when_work_finishes(self, last: str) -> None:
        """A thread blocked in wait_idle returns True once messages and runs are all done."""
        activity, ticket = Activity(), RunTicket()
        activity.add()
        activity.issue(ticket)
        waiting = threading.Event()
        results: list[bool] = []

        def wait() -> None:
            waiting.set()
            results.append(activity.wait_idle(WAIT))

        waiter = threading.Thread(target=wait)
        waiter.start()
        assert waiting.wait(WAIT)
        if last == "run":
            activity.done()
            activity.end(ticket)
        else:
            activity.end(ticket)
            activity.done()
        waiter.join(WAIT)

        assert results == [True]

    def test_idle_again_after_each_round(self) -> None:
        """The count can go up and down many times; it is idle whenever it is zero."""
        activity = Activity()
        for _ in range(100):
            activity.add()
            assert not activity.wait_idle(0)
            activity.done()
            assert activity.wait_idle(0)


class TestRunTickets:
    def test_a_ticket_counts_until_its_job_ends(self) -> None:
        """A counted ticket is a run in flight from issue to end, counted once."""
        activity, ticket = Activity(), RunTicket("job")
        activity.issue(ticket)
        assert activity.begin(ticket)
        assert (activity.runs, activity.in_flight()) == (1, [ticket])
        assert activity.end(ticket) is True
        assert activity.end(ticket) is False
        assert (activity.runs, activity.wait_idle(0)) == (0, True)

    def test_an_uncounted_ticket_is_never_waited_for(self) -> None:
        """An uncounted ticket (an event delivery) leaves the activity idle."""
        activity, ticket = Activity(), RunTicket("delivery", counted=False)
        activity.issue(ticket)
        activity.begin(ticket)
        assert activity.wait_idle(0)

    def test_abandoned_before_it_starts_it_never_starts(self) -> None:
        """abandon() before begin(): the job is no longer in flight and begin() refuses it."""
        activity, ticket = Activity(), RunTicket("job")
        activity.issue(ticket)
        activity.abandon(ticket)
        assert activity.wait_idle(0)
        assert activity.begin(ticket) is False

    def test_abandoned_while_running_its_thread_is_listed_until_it_returns(self) -> None:
        """A job abandoned on its thread is not waited for; its thread is listed as abandoned
        until the job returns, and it counts once."""
        activity, ticket = Activity(), RunTicket("job")
        activity.issue(ticket)
        activity.begin(ticket)
        activity.abandon(ticket)
        assert activity.wait_idle(0)
        assert threading.current_thread() in activity.abandoned_threads()
        assert activity.end(ticket) is False
        assert activity.abandoned_threads() == set()

    def test_mark_stuck_lets_waits_pass_only_timed_started_jobs(self) -> None:
        """mark_stuck() stops waiting for started jobs that have a timeout, not for others."""
        activity = Activity()
        timed, untimed, waiting = (
            RunTicket("a", timed=True),
            RunTicket("b"),
            RunTicket("c", timed=True),
        )
        for ticket in (timed, untimed, waiting):
            activity.issue(ticket)
        activity.begin(timed)
        activity.begin(untimed)
        assert activity.mark_stuck() == 1
        assert not activity.wait_idle(0)  # the untimed and the unstarted one still count
        activity.end(untimed)
        activity.abandon(waiting)
        assert activity.wait_idle(0)
        activity.end(timed)
        assert activity.runs == 0

    @pytest.mark.parametrize("backoffs", [True, False])
    def test_backoffs_are_waited_for_only_when_asked(self, backoffs: bool) -> None:
        """A retry in its backoff keeps wait_idle(backoffs=True) waiting, not the default."""
        activity = Activity()
        activity.backoff_started()
        assert activity.wait_idle(0, backoffs=backoffs) is not backoffs
        activity.backoff_ended()
        assert activity.wait_idle(0, backoffs=backoffs)
