"""The runtime: Activity, the Actor base class, and Runtime (actors, user code, shutdown)."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import attrs
import pykka
import pytest
from pykka import ActorDeadError

from actors import ManualClock
from actors.runtime import Actor, Request, Runtime, handles
from tests.conftest import T0
from tests.helpers import eventually

#: How long a test waits on an Event, a future or a join before calling it lost.
WAIT = 5.0


# --- test actors -----------------------------------------------------------------------------


@attrs.frozen
class Append:
    value: Any


@attrs.frozen
class Block:
    started: threading.Event = attrs.field(eq=False)
    release: threading.Event = attrs.field(eq=False)


@attrs.frozen(kw_only=True)
class GetLog(Request):
    pass


@attrs.frozen(kw_only=True)
class Explode(Request):
    pass


@attrs.frozen
class ExplodeQuietly:
    pass


@attrs.frozen
class Where:
    threads: list[threading.Thread] = attrs.field(eq=False)
    done: threading.Event = attrs.field(eq=False)


class LogActor(Actor):
    """Keeps a log of what it was told; a functools.singledispatchmethod `receive`."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.log: list[Any] = []

    def on_start(self) -> None:
        self.log.append("started")

    def on_stop(self) -> None:
        self.log.append("stopped")

    @functools.singledispatchmethod
    def receive(self, message: Any) -> Any:
        return super().receive(message)

    @receive.register
    def _append(self, message: Append) -> None:
        self.log.append(message.value)

    @receive.register
    def _text(self, message: str) -> str:
        self.log.append(f"str:{message}")
        return message.upper()

    @receive.register
    def _block(self, message: Block) -> None:
        message.started.set()
        message.release.wait(WAIT)

    @receive.register
    def _get_log(self, message: GetLog) -> None:
        message.reply.set_result(list(self.log))

    @receive.register
    def _explode(self, message: Explode) -> None:
        raise ValueError("handler exploded")

    @receive.register
    def _explode_quietly(self, message: ExplodeQuietly) -> None:
        raise ValueError("told, not asked")

    @receive.register
    def _where(self, message: Where) -> None:
        message.threads.append(threading.current_thread())
        message.done.set()


@attrs.frozen
class Base:
    value: int


@attrs.frozen
class Derived(Base):
    pass


@attrs.frozen
class MoreDerived(Derived):
    pass


class HandlesActor(Actor):
    """The house style: one method per message class, marked with @handles."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.log: list[Any] = []

    @handles(Base)
    def _base(self, message: Base) -> None:
        self.log.append(("base", message.value))

    @handles(Derived)
    def _derived(self, message: Derived) -> None:
        self.log.append(("derived", message.value))

    @handles(GetLog)
    def _get_log(self, message: GetLog) -> None:
        message.reply.set_result(list(self.log))

    @handles(Explode)
    def _explode(self, message: Explode) -> None:
        raise KeyError("boom")


class SubHandlesActor(HandlesActor):
    """Inherits its parent's handlers and replaces one."""

    @handles(Base)
    def _base_again(self, message: Base) -> None:
        self.log.append(("sub-base", message.value))


class FailingStart(Actor):
    """An actor whose on_start raises."""

    def on_start(self) -> None:
        raise RuntimeError("cannot start")


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """A runtime on a manual clock, shut down after the test."""
    runtime = Runtime("test", ManualClock(T0))
    yield runtime
    runtime.shutdown()


def log_of(ref: pykka.ActorRef[Any]) -> list[Any]:
    """Ask an actor for its log through a Request's own reply future."""
    request = GetLog()
    ref.tell(request)
    result: list[Any] = request.reply.result(WAIT)
    return result


# --- Actor -------------------------------------------------------------------------------------


class TestSingleDispatchReceive:
    def test_dispatches_by_message_type(self, runtime: Runtime) -> None:
        """Each message goes to the handler registered for its class."""
        ref = LogActor.start(runtime)

        ref.tell(Append(1))
        ref.tell("hello")
        ref.tell(Append(2))

        assert log_of(ref) == ["started", 1, "str:hello", 2]

    def test_ask_returns_the_handlers_value(self, runtime: Runtime) -> None:
        """A pykka ask gets the handler's return value."""
        ref = LogActor.start(runtime)

        assert ref.ask("hi", timeout=WAIT) == "HI"

    def test_unknown_message_logged_and_ignored(
        self, runtime: Runtime, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A message with no handler is logged as unhandled; the actor carries on."""
        ref = LogActor.start(runtime)

        with caplog.at_level(logging.WARNING, logger="actors"):
            ref.tell(12345)
            assert log_of(ref) == ["started"]

        assert "does not handle" in caplog.text
        assert "12345" in caplog.text

    def test_raising_handler_answers_the_request(self, runtime: Runtime) -> None:
        """A handler that raises answers the Request's reply with that error."""
        ref = LogActor.start(runtime)
        request = Explode()

        ref.tell(request)

        with pytest.raises(ValueError, match="handler exploded"):
            request.reply.result(WAIT)

    def test_actor_survives_a_raising_handler(self, runtime: Runtime) -> None:
        """After a handler raised, the actor handles later messages as before."""
        ref = LogActor.start(runtime)

        ref.tell(Append(1))
        ref.tell(Explode())
        ref.tell(Append(2))

        assert log_of(ref) == ["started", 1, 2]
        assert ref.is_alive()

    def test_raising_handler_of_a_plain_message_is_logged(
        self, runtime: Runtime, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A handler that raises with nobody to answer logs the error; the actor lives on."""
        ref = LogActor.start(runtime)

        with caplog.at_level(logging.ERROR, logger="actors"):
            ref.tell(ExplodeQuietly())
            ref.tell(Append("after"))
            assert log_of(ref) == ["started", "after"]

        assert "told, not asked" in caplog.text
        assert ref.is_alive()

    def test_message_order_preserved(self, runtime: Runtime) -> None:
        """1,000 messages told in order are handled in that order."""
        ref = LogActor.start(runtime)

        for n in range(1000):
            ref.tell(Append(n))

        assert log_of(ref) == ["started", *range(1000)]

    def test_order_preserved_per_sender(self, runtime: Runtime) -> None:
        """Messages from several threads keep each sender's order."""
        ref = LogActor.start(runtime)

        def send(sender: int) -> None:
            for n in range(250):
                ref.tell(Append((sender, n)))

        senders = [threading.Thread(target=send, args=(s,)) for s in range(4)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(WAIT)

        log = log_of(ref)[1:]
        assert len(log) == 1000
        for sender in range(4):
            assert [n for s, n in log if s == sender] == list(range(250))


class TestHandlesDecorator:
    def test_dispatches_by_exact_class(self, runtime: Runtime) -> None:
        """A message goes to the method marked for its class."""
        ref = HandlesActor.start(runtime)

        ref.tell(Base(1))
        ref.tell(Derived(2))

        assert log_of(ref) == [("base", 1), ("derived", 2)]

    def test_nearest_base_class_handles_a_subclass(self, runtime: Runtime) -> None:
        """A message with no handler of its own goes to its nearest base class's handler."""
        ref = HandlesActor.start(runtime)

        ref.tell(MoreDerived(3))
        ref.tell(MoreDerived(4))  # the remembered lookup gives the same answer

        assert log_of(ref) == [("derived", 3), ("derived", 4)]

    def test_subclass_inherits_and_overrides(self, runtime: Runtime) -> None:
        """A subclass keeps its parent's handlers and replaces those it marks again."""
        ref = SubHandlesActor.start(runtime)

        ref.tell(Base(1))
        ref.tell(Derived(2))

        assert log_of(ref) == [("sub-base", 1), ("derived", 2)]

    def test_subclass_table_does_not_leak_into_parent(self, runtime: Runtime) -> None:
        """Overriding in a subclass leaves the parent class's dispatch alone."""
        sub = SubHandlesActor.start(runtime)
        parent = HandlesActor.start(runtime)

        sub.tell(Base(1))
        parent.tell(Base(2))

        assert log_of(sub) == [("sub-base", 1)]
        assert log_of(parent) == [("base", 2)]

    def test_raising_handler_answers_the_request(self, runtime: Runtime) -> None:
        """A marked handler that raises answers the Request's reply with the error."""
        ref = HandlesActor.start(runtime)
        request = Explode()

        ref.tell(request)
        ref.tell(Base(1))

        with pytest.raises(KeyError, match="boom"):
            request.reply.result(WAIT)
        assert log_of(ref) == [("base", 1)]

    def test_unhandled_class_logged(
        self, runtime: Runtime, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A message no marked method handles is logged and dropped."""
        ref = HandlesActor.start(runtime)

        with caplog.at_level(logging.WARNING, logger="actors"):
            ref.tell("not a message class we know")
            assert log_of(ref) == []

        assert "does not handle" in caplog.text


class TestActorLifecycle:
    def test_on_start_runs_before_any_message(self, runtime: Runtime) -> None:
        """on_start runs first, even for messages told straight after start()."""
        ref = LogActor.start(runtime)
        ref.tell(Append(1))

        assert log_of(ref)[:2] == ["started", 1]

    def test_failing_on_start_stops_the_actor(
        self, runtime: Runtime, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An on_start that raises is logged and the actor stops; its requests are answered."""
        with caplog.at_level(logging.ERROR, logger="actors"):
            ref = FailingStart.start(runtime)
            request = GetLog()
            try:
                ref.tell(request)
            except ActorDeadError:
                request.reply.set_exception(ActorDeadError("already stopped"))

            assert isinstance(request.reply.exception(WAIT), ActorDeadError)

        assert "cannot start" in caplog.text
        assert runtime.activity.wait_idle(WAIT)
        assert not ref.is_alive()
        assert runtime.actor_count() == 0

    def test_on_stop_runs_on_stop(self, runtime: Runtime) -> None:
        """stop() runs on_stop after the messages already queued, and forgets the actor."""
        actor = LogActor(runtime)
        ref = runtime_start(actor)
        ref.tell(Append(1))

        ref.stop(timeout=WAIT)

        assert actor.log == ["started", 1, "stopped"]
        assert not ref.is_alive()
        assert runtime.actor_count() == 0

    def test_handlers_run_on_dispatcher_threads(self, runtime: Runtime) -> None:
        """Handlers run on the runtime's dispatcher threads, never the caller's."""
        ref = LogActor.start(runtime)
        threads: list[threading.Thread] = []
        done = threading.Event()

        ref.tell(Where(threads, done))

        assert done.wait(WAIT)
        assert threads[0] in runtime.dispatcher.threads
        assert threads[0] is not threading.current_thread()
        assert threads[0].daemon

    def test_idle_actors_hold_no_thread(self, runtime: Runtime) -> None:
        """Starting many actors starts no thread: they share the dispatcher's."""
        before = threading.active_count()

        refs = [HandlesActor.start(runtime) for _ in range(200)]
        for n, ref in enumerate(refs):
            ref.tell(Base(n))
        assert runtime.activity.wait_idle(WAIT)

        assert threading.active_count() == before
        assert runtime.actor_count() == 200

    def test_queued_request_answered_when_actor_stops(self, runtime: Runtime) -> None:
        """A Request still queued behind a stop is answered with ActorDeadError."""
        ref = LogActor.start(runtime)
        started, release = threading.Event(), threading.Event()
        ref.tell(Block(started, release))
        assert started.wait(WAIT)
        stopped = ref.stop(block=False)
        request = GetLog()
        ref.tell(request)  # queued behind the stop

        release.set()

        assert isinstance(request.reply.exception(WAIT), ActorDeadError)
        assert stopped.get(timeout=WAIT) is True  # pykka: "it was alive and is now stopped"
        assert runtime.activity.wait_idle(WAIT)

    def test_tell_after_stop_raises(self, runtime: Runtime) -> None:
        """pykka's tell to a stopped actor raises ActorDeadError."""
        ref = LogActor.start(runtime)
        ref.stop(timeout=WAIT)

        with pytest.raises(ActorDeadError):
            ref.tell(Append(1))


def runtime_start(actor: Actor) -> pykka.ActorRef[Any]:
    """Start an actor built by the test, keeping a handle on the instance (what start() does)."""
    actor.runtime.started(actor.actor_ref)
    actor._start_actor_loop()
    return actor.actor_ref


class TestActorTell:
    def test_tell_to_live_actor(self, runtime: Runtime) -> None:
        """Actor.tell delivers to a live actor and says so."""
        sender = LogActor(runtime)  # never started: only its tell() is used
        target = LogActor.start(runtime)

        assert sender.tell(target, Append("x")) is True
        assert log_of(target) == ["started", "x"]

    def test_tell_to_stopped_actor(self, runtime: Runtime) -> None:
        """Actor.tell to a stopped actor returns False instead of raising."""
        sender = LogActor(runtime)
        target = LogActor.start(runtime)
        target.stop(timeout=WAIT)

        assert sender.tell(target, Append("x")) is False


# --- Runtime -----------------------------------------------------------------------------------


class TestRuntimeActivity:
    def test_message_counts_until_handled(self, runtime: Runtime) -> None:
        """A message in flight keeps the runtime busy until its handler returns."""
        ref = LogActor.start(runtime)
        started, release = threading.Event(), threading.Event()

        ref.tell(Block(started, release))
        assert started.wait(WAIT)

        assert runtime.activity.wait_idle(0.01) is False
        release.set()
        assert runtime.activity.wait_idle(WAIT) is True
        assert runtime.activity.count == 0

    def test_idle_after_many_messages(self, runtime: Runtime) -> None:
        """Once every message is handled, the count is back to zero."""
        ref = LogActor.start(runtime)
        for n in range(100):
            ref.tell(Append(n))
        ref.tell(Explode())

        assert runtime.activity.wait_idle(WAIT)
        assert runtime.activity.count == 0

    def test_user_code_counts_until_it_returns(self, runtime: Runtime) -> None:
        """run_user_code keeps the runtime busy while the job runs, not after."""
        running, release = threading.Event(), threading.Event()

        def job() -> None:
            running.set()
            release.wait(WAIT)

        runtime.run_user_code(job)
        assert running.wait(WAIT)

        assert runtime.activity.runs == 1
        assert runtime.activity.wait_idle(0, runs=False)
        release.set()
        assert runtime.activity.wait_idle(WAIT)

    def test_user_code_runs_on_a_worker_thread(self, runtime: Runtime) -> None:
        """User code runs on the runtime's worker pool, not a dispatcher thread."""
        threads: list[threading.Thread] = []
        done = threading.Event()

        runtime.run_user_code(lambda: (threads.append(threading.current_thread()), done.set()))

        assert done.wait(WAIT)
        assert threads[0] not in runtime.dispatcher.threads
        assert threads[0].name.startswith("actors-test-worker")

    def test_user_code_error_still_uncounted(self, runtime: Runtime) -> None:
        """A job that raises is uncounted all the same."""

        def boom() -> None:
            raise RuntimeError("boom")

        runtime.run_user_code(boom)

        assert runtime.activity.wait_idle(WAIT)

    def test_user_code_after_shutdown_refused_and_uncounted(self) -> None:
        """run_user_code on a shut-down runtime raises and leaves the count at zero."""
        runtime = Runtime("test", ManualClock(T0))
        runtime.shutdown()

        with pytest.raises(RuntimeError):
            runtime.run_user_code(lambda: None)
        assert runtime.activity.count == 0


class TestRuntimeShutdown:
    def test_stops_every_actor_and_leaves_no_thread(self) -> None:
        """shutdown stops every actor, then the dispatcher and worker threads."""
        runtime = Runtime("test", ManualClock(T0))
        refs = [LogActor.start(runtime) for _ in range(3)]
        workers: list[threading.Thread] = []
        ran = threading.Event()
        runtime.run_user_code(lambda: (workers.append(threading.current_thread()), ran.set()))
        assert ran.wait(WAIT)
        for ref in refs:
            ref.tell(Append(1))
        ours = [*runtime.dispatcher.threads, *workers]
        assert all(thread.is_alive() for thread in ours)

        runtime.shutdown()

        assert runtime.actor_count() == 0
        assert not any(ref.is_alive() for ref in refs)
        assert [t.name for t in ours if t.is_alive()] == []
        assert runtime.workers.threads == 0

    def test_waits_for_user_code_until_the_work_deadline(self) -> None:
        """User code still running when shutdown starts is waited for, up to work_deadline."""
        runtime = Runtime("test", ManualClock(T0))
        running, finished = threading.Event(), threading.Event()
        release = threading.Event()

        class ReleaseOnStop(LogActor):
            def on_stop(self) -> None:
                release.set()  # the job is freed only once shutdown is under way

        ReleaseOnStop.start(runtime)

        def job() -> None:
            running.set()
            release.wait(WAIT)
            finished.set()

        runtime.run_user_code(job)
        assert running.wait(WAIT)

        runtime.shutdown(work_deadline=time.monotonic() + WAIT)

        assert finished.is_set()
        assert runtime.workers.threads == 0

    def test_abandons_stuck_user_code_by_default(self, caplog: pytest.LogCaptureFixture) -> None:
        """Without a work deadline, user code still running is abandoned and reported."""
        runtime = Runtime("test", ManualClock(T0))
        workers: list[threading.Thread] = []
        running, release = threading.Event(), threading.Event()

        def job() -> None:
            workers.append(threading.current_thread())
            running.set()
            release.wait(WAIT)

        runtime.run_user_code(job)
        assert running.wait(WAIT)

        with caplog.at_level(logging.WARNING, logger="actors"):
            runtime.shutdown()

        assert "still running user code" in caplog.text
        assert workers[0].is_alive()
        release.set()
        workers[0].join(WAIT)
        assert not workers[0].is_alive()

    def test_stop_all_runs_each_on_stop(self, runtime: Runtime) -> None:
        """stop_all asks every actor to stop after the messages already queued."""
        actors = [LogActor(runtime) for _ in range(3)]
        refs = [runtime_start(actor) for actor in actors]
        for ref in refs:
            ref.tell(Append("last"))

        runtime.stop_all()

        assert runtime.activity.wait_idle(WAIT)
        assert [actor.log for actor in actors] == [["started", "last", "stopped"]] * 3
        assert runtime.actor_count() == 0

    def test_answers_queued_requests(self) -> None:
        """Requests queued behind a busy handler at shutdown are answered, not left hanging."""
        runtime = Runtime("test", ManualClock(T0))
        ref = LogActor.start(runtime)
        started, release = threading.Event(), threading.Event()
        ref.tell(Block(started, release))
        assert started.wait(WAIT)
        request = GetLog()
        ref.tell(request)
        release.set()

        runtime.shutdown()

        assert request.reply.done()
        assert runtime.actor_count() == 0

    def test_with_nothing_started(self) -> None:
        """Shutting down an unused runtime ends its dispatcher threads."""
        runtime = Runtime("test", ManualClock(T0))
        threads = runtime.dispatcher.threads

        runtime.shutdown()

        assert runtime.actor_count() == 0
        assert runtime.workers.threads == 0
        assert not any(thread.is_alive() for thread in threads)

    def test_dispatcher_threads_are_daemons(self, runtime: Runtime) -> None:
        """The runtime's threads never keep the interpreter alive."""
        assert runtime.dispatcher.threads
        assert all(thread.daemon for thread in runtime.dispatcher.threads)


# --- pykka's programming model, as pykka documents it ---------------------------------------


class PlainPykkaActor(Actor):
    """An actor written the pykka way: on_receive and methods, no @handles."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.total = 0
        self.failures: list[BaseException | None] = []

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom")
        if isinstance(message, int):
            self.total += message
        return self.total

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self.failures.append(exception_value)

    def add(self, n: int) -> int:
        self.total += n
        return self.total


class Receiver(Actor):
    """Marks a handler, yet overrides on_receive: every message goes through on_receive."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.seen: list[str] = []

    def on_receive(self, message: Any) -> Any:
        self.seen.append(f"on_receive:{message!r}")
        return super().on_receive(message)

    @handles(Append)
    def _append(self, message: Append) -> None:
        self.seen.append("handler")


def test_overridden_on_receive_sees_told_messages(runtime: Runtime) -> None:
    """A subclass that overrides on_receive gets told messages through it too, not only asks:
    the handler is reached the way the subclass says."""
    ref = Receiver.start(runtime)
    ref.tell(Append(1))
    runtime.activity.wait_idle(WAIT)

    assert ref.proxy().seen.get(timeout=WAIT) == ["on_receive:Append(value=1)", "handler"]


class TestPykkaSemantics:
    def test_ask_returns_the_answer(self, runtime: Runtime) -> None:
        """ask() blocks for on_receive's return value; ask(block=False) gives a pykka Future."""
        ref = PlainPykkaActor.start(runtime)
        assert ref.ask(5) == 5
        future = ref.ask(2, block=False)
        assert isinstance(future, pykka.Future)
        assert future.get(timeout=WAIT) == 7

    def test_ask_reraises_the_handlers_exception(self, runtime: Runtime) -> None:
        """An exception raised answering an ask goes to the caller; the actor lives on."""
        ref = PlainPykkaActor.start(runtime)
        with pytest.raises(ValueError, match="boom"):
            ref.ask("boom", timeout=WAIT)
        assert ref.is_alive()
        assert ref.ask(1, timeout=WAIT) == 1

    def test_failing_tell_stops_the_actor_and_calls_on_failure(self, runtime: Runtime) -> None:
        """As in pykka, an exception from a told message stops the actor after on_failure."""
        ref = PlainPykkaActor.start(runtime)
        actor = ref._actor_weakref()
        ref.tell("boom")
        assert eventually_dead(ref)
        assert isinstance(actor.failures[0], ValueError)
        with pytest.raises(ActorDeadError):
            ref.tell(1)
        with pytest.raises(ActorDeadError):
            ref.ask(1)

    def test_stop_returns_true_then_false(self, runtime: Runtime) -> None:
        """stop() processes queued messages first, returns True, and False once dead."""
        ref = PlainPykkaActor.start(runtime)
        for n in range(10):
            ref.tell(n)
        answer = ref.ask(0, block=False)
        assert ref.stop(timeout=WAIT) is True
        assert answer.get(timeout=WAIT) == 45
        assert ref.stop(timeout=WAIT) is False
        assert not ref.is_alive()

    def test_proxy_calls_methods(self, runtime: Runtime) -> None:
        """A pykka proxy calls the actor's methods through its mailbox."""
        ref = PlainPykkaActor.start(runtime)
        proxy = ref.proxy()
        assert proxy.add(3).get(timeout=WAIT) == 3
        assert proxy.total.get(timeout=WAIT) == 3

    def test_not_in_pykkas_global_registry(self, runtime: Runtime) -> None:
        """Our actors live in their runtime's registry, so pykka's stop_all leaves them be."""
        ref = PlainPykkaActor.start(runtime)
        assert ref not in pykka.ActorRegistry.get_all()
        assert runtime.actor_count() == 1


def eventually_dead(ref: pykka.ActorRef[Any]) -> bool:
    return bool(eventually(lambda: not ref.is_alive(), WAIT))


class TestScale:
    def test_fifty_thousand_actors_on_two_threads(self) -> None:
        """50,000 actors run on the dispatcher's few threads, each gets its messages in order,
        and shutdown leaves no thread."""
        before = set(threading.enumerate())
        runtime = Runtime("scale", ManualClock(T0))
        refs = [PlainPykkaActor.start(runtime) for _ in range(50_000)]
        assert runtime.actor_count() == 50_000
        ours = set(threading.enumerate()) - before
        assert len(ours) == len(runtime.dispatcher.threads) <= 4
        for ref in refs:
            ref.tell(1)
            ref.tell(2)
        futures = [ref.ask(0, block=False) for ref in refs]
        assert all(future.get(timeout=30) == 3 for future in futures)
        runtime.shutdown()
        assert runtime.actor_count() == 0
        assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []
