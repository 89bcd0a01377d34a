"""The dispatcher: Mailbox, Dispatcher, StopFlag and reject, with a stand-in actor."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pykka
import pytest
from pykka import ActorDeadError
from pykka._envelope import Envelope
from pykka.messages import _ActorStop

from actors.runtime import Activity, Request
from actors.runtime._dispatcher import BATCH, Dispatcher, Mailbox, StopFlag, reject, runs_actors

#: How long a test waits on an Event, a future or a join before calling it lost.
WAIT = 5.0


@attrs.frozen(kw_only=True)
class Ask(Request):
    """A request: the stand-in actor answers it with its log."""


@attrs.frozen
class Block:
    started: threading.Event = attrs.field(eq=False)
    release: threading.Event = attrs.field(eq=False)


STOP = "stop"


class FakeActor:
    """The three calls a Mailbox makes, recorded; uncounts each message as Actor does."""

    def __init__(self, activity: Activity, log: list[Any] | None = None, name: str = "") -> None:
        self.actor_stopped = StopFlag()
        self.activity = activity
        self.name = name
        self.log: list[Any] = [] if log is None else log
        self.torn_down = threading.Event()
        self.busy = threading.Lock()
        self.overlapped = False

    def dispatch_setup(self) -> None:
        self.log.append((self.name, "setup"))

    def dispatch_envelope(self, envelope: Envelope[Any]) -> None:
        if not self.busy.acquire(blocking=False):
            self.overlapped = True  # two threads in one actor at once
        try:
            message = envelope.message
            if isinstance(message, Block):
                message.started.set()
                message.release.wait(WAIT)
            elif isinstance(message, Ask):
                message.reply.set_result(list(self.log))
            else:
                self.log.append((self.name, message))
            if message == STOP:
                self.actor_stopped.set()
            if envelope.reply_to is not None:
                envelope.reply_to.set("handled")
        finally:
            self.busy.release()
            self.activity.done()

    def dispatch_teardown(self) -> None:
        self.torn_down.set()

    def messages(self) -> list[Any]:
        return [message for name, message in self.log if name == self.name]


class HeldDispatcher:
    """Stands in for a Dispatcher: records what is submitted and runs nothing."""

    def __init__(self) -> None:
        self.submitted: list[tuple[Mailbox, bool]] = []

    def submit(self, mailbox: Mailbox, *, setup: bool = False) -> None:
        self.submitted.append((mailbox, setup))

    def requeue(self, mailbox: Mailbox) -> None:
        self.submitted.append((mailbox, False))


@pytest.fixture
def dispatcher() -> Iterator[Dispatcher]:
    """A two-thread dispatcher, shut down after the test."""
    dispatcher = Dispatcher("test", 2)
    yield dispatcher
    dispatcher.shutdown(WAIT)


@pytest.fixture
def activity() -> Activity:
    return Activity()


def started_mailbox(
    activity: Activity, dispatcher: Dispatcher, **kwargs: Any
) -> tuple[Mailbox, FakeActor]:
    actor = FakeActor(activity, **kwargs)
    mailbox = Mailbox(actor, activity, dispatcher)
    mailbox.start()
    return mailbox, actor


def ask_log(mailbox: Mailbox) -> list[Any]:
    request = Ask()
    mailbox.put(Envelope(request))
    result: list[Any] = request.reply.result(WAIT)
    return result


class TestStopFlag:
    def test_set_once(self) -> None:
        """A StopFlag starts unset and stays set."""
        flag = StopFlag()
        assert not flag.is_set()

        flag.set()
        flag.set()

        assert flag.is_set()


class TestReject:
    def test_ask_answered_with_actor_dead_error(self) -> None:
        """An ask's future gets ActorDeadError naming the message."""
        future = pykka.ThreadingFuture()

        reject(Envelope("hello", reply_to=future))

        with pytest.raises(ActorDeadError, match="hello"):
            future.get(timeout=WAIT)

    def test_stop_answered_with_none(self) -> None:
        """A stop ask is answered as done, as pykka does."""
        future = pykka.ThreadingFuture()

        reject(Envelope(_ActorStop(), reply_to=future))

        assert future.get(timeout=WAIT) is None

    def test_request_reply_answered(self) -> None:
        """A Request told without ask gets ActorDeadError on its own reply future."""
        request = Ask()

        reject(Envelope(request))

        assert isinstance(request.reply.exception(WAIT), ActorDeadError)

    def test_answered_request_left_alone(self) -> None:
        """A Request already answered keeps its answer."""
        request = Ask()
        request.reply.set_result("kept")

        reject(Envelope(request))

        assert request.reply.result(WAIT) == "kept"

    def test_plain_tell_is_dropped_quietly(self) -> None:
        """A plain told message has nobody to answer: reject does nothing and raises nothing."""
        reject(Envelope("fire and forget"))


class TestMailbox:
    def test_setup_runs_first_then_messages_in_order(
        self, activity: Activity, dispatcher: Dispatcher
    ) -> None:
        """start() runs the actor's setup before any message; messages keep their order."""
        mailbox, _ = started_mailbox(activity, dispatcher)
        for n in range(300):
            mailbox.put(Envelope(n))

        assert ask_log(mailbox) == [("", "setup"), *[("", n) for n in range(300)]]

    def test_put_counts_until_handled(self, activity: Activity, dispatcher: Dispatcher) -> None:
        """Every envelope put is counted in the activity until the actor has handled it."""
        mailbox, _ = started_mailbox(activity, dispatcher)
        started, release = threading.Event(), threading.Event()
        mailbox.put(Envelope(Block(started, release)))
        assert started.wait(WAIT)

        mailbox.put(Envelope("a"))
        mailbox.put(Envelope("b"))

        assert activity.count == 3  # the block being handled and two queued
        release.set()
        assert activity.wait_idle(WAIT)

    def test_scheduled_once_however_many_messages(self, activity: Activity) -> None:
        """A mailbox goes on the ready queue once for a burst, not once per message."""
        held = HeldDispatcher()
        mailbox = Mailbox(FakeActor(activity), activity, held)  # type: ignore[arg-type]

        for n in range(5):
            mailbox.put(Envelope(n))

        assert held.submitted == [(mailbox, False)]
        assert activity.count == 5

    def test_get_and_empty(self, activity: Activity) -> None:
        """pykka's inbox interface: get() hands envelopes out in order, then raises Empty."""
        mailbox = Mailbox(FakeActor(activity), activity, HeldDispatcher())  # type: ignore[arg-type]
        assert mailbox.empty()
        mailbox.put(Envelope("x"))
        mailbox.put(Envelope("y"))

        assert not mailbox.empty()
        assert [mailbox.get().message, mailbox.get().message] == ["x", "y"]
        assert mailbox.empty()
        with pytest.raises(queue.Empty):
            mailbox.get()

    def test_run_handles_one_batch_then_requeues(self, activity: Activity) -> None:
        """One run handles at most BATCH messages, then puts the mailbox back in line."""
        held = HeldDispatcher()
        actor = FakeActor(activity)
        mailbox = Mailbox(actor, activity, held)  # type: ignore[arg-type]
        for n in range(BATCH + 10):
            mailbox.put(Envelope(n))
        held.submitted.clear()

        mailbox.run()

        assert actor.messages() == list(range(BATCH))
        assert held.submitted == [(mailbox, False)]
        mailbox.run()
        assert actor.messages() == list(range(BATCH + 10))
        assert held.submitted == [(mailbox, False)]  # drained: not put back again
        assert activity.count == 0

    def test_drained_mailbox_is_scheduled_again_by_the_next_put(self, activity: Activity) -> None:
        """After a run drains it, the next message puts the mailbox back on the ready queue."""
        held = HeldDispatcher()
        actor = FakeActor(activity)
        mailbox = Mailbox(actor, activity, held)  # type: ignore[arg-type]
        mailbox.put(Envelope(1))
        mailbox.run()

        mailbox.put(Envelope(2))

        assert held.submitted == [(mailbox, False), (mailbox, False)]
        mailbox.run()
        assert actor.messages() == [1, 2]

    def test_start_schedules_setup(self, activity: Activity) -> None:
        """start() queues the actor's setup, counted until it has run."""
        held = HeldDispatcher()
        actor = FakeActor(activity)
        mailbox = Mailbox(actor, activity, held)  # type: ignore[arg-type]

        mailbox.start()
        mailbox.put(Envelope("early"))

        assert held.submitted == [(mailbox, True)]  # the message rides on the setup run
        assert activity.count == 2
        mailbox.run(setup=True)
        assert actor.messages() == ["setup", "early"]
        assert activity.count == 0

    def test_one_thread_at_a_time(self, activity: Activity) -> None:
        """Many senders and four dispatcher threads: one actor never runs on two at once."""
        dispatcher = Dispatcher("test", 4)
        mailbox, actor = started_mailbox(activity, dispatcher)

        def send(sender: int) -> None:
            for n in range(500):
                mailbox.put(Envelope((sender, n)))

        senders = [threading.Thread(target=send, args=(s,)) for s in range(4)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(WAIT)
        assert activity.wait_idle(WAIT)
        dispatcher.shutdown(WAIT)

        assert not actor.overlapped
        received = actor.messages()[1:]
        assert len(received) == 2000
        for sender in range(4):
            assert [n for s, n in received if s == sender] == list(range(500))

    def test_stop_closes_and_tears_down(self, activity: Activity, dispatcher: Dispatcher) -> None:
        """Once the actor stops, the mailbox closes, rejects what is left and tears down."""
        mailbox, actor = started_mailbox(activity, dispatcher)
        started, release = threading.Event(), threading.Event()
        mailbox.put(Envelope(Block(started, release)))
        assert started.wait(WAIT)
        mailbox.put(Envelope(STOP))
        left = Ask()
        mailbox.put(Envelope(left))

        release.set()

        assert actor.torn_down.wait(WAIT)
        assert isinstance(left.reply.exception(WAIT), ActorDeadError)
        assert actor.messages() == ["setup", STOP]
        assert activity.wait_idle(WAIT)

    def test_close_answers_queued_asks(self, activity: Activity, dispatcher: Dispatcher) -> None:
        """close() answers every queued ask and Request with ActorDeadError and uncounts them."""
        mailbox, _ = started_mailbox(activity, dispatcher)
        started, release = threading.Event(), threading.Event()
        mailbox.put(Envelope(Block(started, release)))
        assert started.wait(WAIT)
        future = pykka.ThreadingFuture()
        request = Ask()
        mailbox.put(Envelope("asked", reply_to=future))
        mailbox.put(Envelope(request))

        mailbox.close()

        with pytest.raises(ActorDeadError):
            future.get(timeout=WAIT)
        assert isinstance(request.reply.exception(WAIT), ActorDeadError)
        assert activity.count == 1  # only the block still being handled
        release.set()
        assert activity.wait_idle(WAIT)

    def test_put_after_close_refused(self, activity: Activity, dispatcher: Dispatcher) -> None:
        """After close(), a put is answered with ActorDeadError at once and not counted."""
        mailbox, _ = started_mailbox(activity, dispatcher)
        assert activity.wait_idle(WAIT)
        mailbox.close()
        mailbox.close()  # twice is harmless
        future = pykka.ThreadingFuture()
        request = Ask()

        mailbox.put(Envelope("late", reply_to=future))
        mailbox.put(Envelope(request))

        with pytest.raises(ActorDeadError):
            future.get(timeout=WAIT)
        assert isinstance(request.reply.exception(WAIT), ActorDeadError)
        assert activity.count == 0
        assert mailbox.empty()

    def test_busy_mailbox_yields_to_others(self, activity: Activity) -> None:
        """A mailbox with many messages yields its thread after a batch: others are not starved."""
        dispatcher = Dispatcher("test", 1)
        log: list[Any] = []
        blocker, _ = started_mailbox(activity, dispatcher, log=log, name="blocker")
        chatty, _ = started_mailbox(activity, dispatcher, log=log, name="chatty")
        quiet, _ = started_mailbox(activity, dispatcher, log=log, name="quiet")
        started, release = threading.Event(), threading.Event()
        blocker.put(Envelope(Block(started, release)))
        assert started.wait(WAIT)  # the only thread is busy: what follows queues up
        for n in range(10 * BATCH):
            chatty.put(Envelope(n))
        quiet.put(Envelope("hello"))

        release.set()
        assert activity.wait_idle(WAIT)
        dispatcher.shutdown(WAIT)

        handled = [entry for entry in log if entry[1] != "setup"]
        assert handled.index(("quiet", "hello")) <= BATCH
        assert [m for name, m in handled if name == "chatty"] == list(range(10 * BATCH))


class TestDispatcher:
    def test_threads_are_named_daemons(self) -> None:
        """The dispatcher starts its threads at once: named after it, daemons."""
        dispatcher = Dispatcher("named", 3)
        try:
            threads = dispatcher.threads
            assert len(threads) == 3
            assert all(t.daemon and t.is_alive() for t in threads)
            assert all(t.name.startswith("named-dispatch-") for t in threads)
            assert len({t.name for t in threads}) == 3
        finally:
            dispatcher.shutdown(WAIT)

    def test_threads_is_a_copy(self, dispatcher: Dispatcher) -> None:
        """Changing the list returned by `threads` changes nothing in the dispatcher."""
        dispatcher.threads.clear()

        assert len(dispatcher.threads) == 2

    @pytest.mark.parametrize("bad", [0, -1])
    def test_needs_a_thread(self, bad: int) -> None:
        """A dispatcher without threads is refused."""
        with pytest.raises(ValueError, match="threads must be >= 1"):
            Dispatcher("none", bad)

    def test_shutdown_ends_its_threads(self) -> None:
        """shutdown() ends every dispatcher thread."""
        dispatcher = Dispatcher("test", 2)
        threads = dispatcher.threads

        dispatcher.shutdown(WAIT)

        assert not any(t.is_alive() for t in threads)

    def test_shutdown_finishes_what_is_queued(self, activity: Activity) -> None:
        """shutdown() lets the threads finish every message already queued, then exit."""
        dispatcher = Dispatcher("test", 1)
        blocker, _ = started_mailbox(activity, dispatcher, name="blocker")
        chatty, actor = started_mailbox(activity, dispatcher, name="chatty")
        started, release = threading.Event(), threading.Event()
        blocker.put(Envelope(Block(started, release)))
        assert started.wait(WAIT)
        for n in range(3 * BATCH):
            chatty.put(Envelope(n))
        thread = dispatcher.threads[0]

        dispatcher.shutdown(timeout=0)  # asks the thread to exit; it is still busy
        release.set()
        thread.join(WAIT)

        assert not thread.is_alive()
        assert actor.messages() == ["setup", *range(3 * BATCH)]
        assert activity.count == 0

    def test_a_failing_mailbox_does_not_kill_the_thread(
        self, activity: Activity, dispatcher: Dispatcher
    ) -> None:
        """An error escaping a mailbox run is logged; the thread goes on with other mailboxes."""

        class Broken(FakeActor):
            def dispatch_envelope(self, envelope: Envelope[Any]) -> None:
                self.activity.done()
                raise RuntimeError("escaped the actor")

        broken = Mailbox(Broken(activity), activity, dispatcher)
        broken.start()
        broken.put(Envelope("x"))
        mailbox, _ = started_mailbox(activity, dispatcher)

        assert ask_log(mailbox) == [("", "setup")]
        assert all(t.is_alive() for t in dispatcher.threads)


class ThreadRecorder(FakeActor):
    """Records which thread handled each message, and can forward to another mailbox."""

    def __init__(self, activity: Activity, forward_to: Mailbox | None = None) -> None:
        super().__init__(activity)
        self.threads: list[threading.Thread] = []
        self.forward_to = forward_to

    def dispatch_envelope(self, envelope: Envelope[Any]) -> None:
        self.threads.append(threading.current_thread())
        if self.forward_to is not None:
            self.forward_to.put(Envelope(envelope.message))
        super().dispatch_envelope(envelope)


class TestWorkStaysWhereItIsMade:
    def test_runtime_thread_runs_the_mailbox_it_readies(self, activity: Activity) -> None:
        """A runtime thread (clock, worker) handles the message it posts itself, and the
        mailboxes that makes ready, depth first: no dispatcher thread is woken."""
        dispatcher = Dispatcher("inline", 1)
        try:
            last = ThreadRecorder(activity)
            last_box = Mailbox(last, activity, dispatcher)
            first = ThreadRecorder(activity, forward_to=last_box)
            first_box = Mailbox(first, activity, dispatcher)
            seen: list[threading.Thread] = []

            def runtime_thread() -> None:
                runs_actors()
                seen.append(threading.current_thread())
                first_box.put(Envelope("tick"))

            thread = threading.Thread(target=runtime_thread)
            thread.start()
            thread.join(WAIT)
            assert first.threads == last.threads == seen
            assert last.messages() == ["tick"]
            assert activity.count == 0
        finally:
            dispatcher.shutdown(WAIT)

    def test_user_threads_never_run_actors(self, activity: Activity) -> None:
        """A message posted from a user's thread is handled on a dispatcher thread."""
        dispatcher = Dispatcher("user", 1)
        try:
            actor = ThreadRecorder(activity)
            mailbox = Mailbox(actor, activity, dispatcher)
            mailbox.put(Envelope("hello"))
            assert activity.wait_idle(WAIT)
            assert actor.threads == dispatcher.threads
        finally:
            dispatcher.shutdown(WAIT)
