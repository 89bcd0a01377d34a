"""Messages: frozen requests with their own reply futures, resolve() and gather()."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError, Future
from typing import Any

import attrs
import pytest

from actors.runtime import Request, gather, resolve
from actors.tree.messages import NO_ARGS, GetState, Tick, Trigger
from tests.conftest import T0

#: How long a test waits on a future before calling it lost.
WAIT = 5.0


class TestRequest:
    def test_each_request_has_its_own_reply(self) -> None:
        """Every request gets a fresh, unanswered reply future."""
        first, second = GetState(program_id="p"), GetState(program_id="p")

        assert isinstance(first.reply, Future)
        assert first.reply is not second.reply
        assert not first.reply.done()

    def test_reply_not_part_of_equality_or_repr(self) -> None:
        """Requests compare and print by their content, not their reply future."""
        first, second = GetState(program_id="p"), GetState(program_id="p")

        assert first == second
        assert "reply" not in repr(first)
        assert GetState(program_id="p") != GetState(program_id="q")

    def test_frozen(self) -> None:
        """Messages cannot be changed in flight."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            GetState(program_id="p").program_id = "q"  # type: ignore[misc]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            Tick(T0).scheduled_at = T0  # type: ignore[misc]

    def test_keyword_only(self) -> None:
        """Requests take keywords only, so a field cannot be passed in the wrong place."""
        with pytest.raises(TypeError):
            GetState("p")  # type: ignore[misc]

    def test_trigger_defaults_to_no_args(self) -> None:
        """A Trigger without args asks for the program's args_fn (NO_ARGS)."""
        assert Trigger(program_id="p").args is NO_ARGS
        assert repr(NO_ARGS) == "NO_ARGS"
        assert Trigger(program_id="p", args=None).args is None

    def test_tick_defaults(self) -> None:
        """A Tick runs, reports no missed ticks and is not a replay unless told."""
        tick = Tick(T0)

        assert (tick.missed, tick.missed_latest, tick.runs, tick.replay) == (0, (), True, False)


class TestResolve:
    def test_sets_the_result(self) -> None:
        """resolve(future, value) answers it with the value."""
        future: Future[Any] = Future()

        resolve(future, 42)

        assert future.result(0) == 42

    def test_default_result_is_none(self) -> None:
        """resolve(future) answers it with None."""
        future: Future[Any] = Future()

        resolve(future)

        assert future.done()
        assert future.result(0) is None

    def test_sets_the_error(self) -> None:
        """resolve(future, error=e) answers it with the error, whatever the result says."""
        future: Future[Any] = Future()
        error = ValueError("bad")

        resolve(future, "ignored", error=error)

        assert future.exception(0) is error

    def test_ignores_an_answered_future(self) -> None:
        """A future already answered keeps its first answer, without an error raised."""
        future: Future[Any] = Future()
        future.set_result("first")

        resolve(future, "second")
        resolve(future, error=RuntimeError("late"))

        assert future.result(0) == "first"

    def test_ignores_a_failed_future(self) -> None:
        """A future already failed keeps its error."""
        future: Future[Any] = Future()
        error = KeyError("first")
        future.set_exception(error)

        resolve(future, "late")

        assert future.exception(0) is error

    def test_ignores_a_cancelled_future(self) -> None:
        """A future its caller cancelled stays cancelled, and resolve raises nothing."""
        future: Future[Any] = Future()
        future.cancel()

        resolve(future, "late")
        resolve(future, error=RuntimeError("late"))

        assert future.cancelled()

    def test_ignores_a_future_answered_meanwhile(self) -> None:
        """If the future is answered between the check and the set, resolve stays quiet."""

        class RacyFuture(Future[Any]):
            def done(self) -> bool:
                return False  # looks unanswered, but set_result will find it answered

        future = RacyFuture()
        Future.set_result(future, "won the race")

        resolve(future, "lost the race")

        assert future.result(0) == "won the race"


class TestGather:
    def test_no_futures(self) -> None:
        """gather([]) is answered at once with []."""
        combined = gather([])

        assert combined.done()
        assert combined.result(0) == []

    def test_answers_in_order(self) -> None:
        """The results come in the order of the futures, not the order they were answered."""
        futures: list[Future[Any]] = [Future() for _ in range(3)]
        combined = gather(futures)

        futures[2].set_result("c")
        futures[0].set_result("a")
        assert not combined.done()
        futures[1].set_result("b")

        assert combined.result(0) == ["a", "b", "c"]

    def test_already_answered_futures(self) -> None:
        """Futures answered before gather() are gathered too."""
        futures: list[Future[Any]] = [Future(), Future()]
        for n, future in enumerate(futures):
            future.set_result(n)

        assert gather(futures).result(0) == [0, 1]

    def test_waits_for_every_future(self) -> None:
        """Until the last future is answered, the gathered future is not."""
        futures: list[Future[Any]] = [Future() for _ in range(3)]
        combined = gather(futures)

        futures[0].set_exception(ValueError("early"))
        futures[1].set_result(1)

        assert not combined.done()
        futures[2].set_result(2)
        assert combined.done()

    def test_answers_with_the_error(self) -> None:
        """One failed future makes the gathered one fail with that error."""
        futures: list[Future[Any]] = [Future() for _ in range(3)]
        combined = gather(futures)
        error = ValueError("boom")

        futures[0].set_result(0)
        futures[1].set_exception(error)
        futures[2].set_result(2)

        assert combined.exception(0) is error

    def test_first_error_in_order(self) -> None:
        """With several failures, the first failed future in the list gives the error."""
        futures: list[Future[Any]] = [Future() for _ in range(3)]
        combined = gather(futures)
        first, second = KeyError("first"), KeyError("second")

        futures[2].set_exception(second)
        futures[1].set_exception(first)
        futures[0].set_result(0)

        assert combined.exception(0) is first

    def test_answered_from_other_threads(self) -> None:
        """Futures answered on many threads at once are all gathered, in order."""
        futures: list[Future[Any]] = [Future() for _ in range(50)]
        combined = gather(futures)
        go = threading.Event()

        def answer(n: int) -> None:
            go.wait(WAIT)
            futures[n].set_result(n)

        threads = [threading.Thread(target=answer, args=(n,)) for n in range(50)]
        for thread in threads:
            thread.start()
        go.set()
        for thread in threads:
            thread.join(WAIT)

        assert combined.result(WAIT) == list(range(50))

    def test_cancelled_future_answers_with_cancelled_error(self) -> None:
        """A cancelled future among them still lets the gathered one be answered, as failed."""
        futures: list[Future[Any]] = [Future(), Future()]
        combined = gather(futures)

        futures[0].cancel()
        futures[1].set_result(1)

        assert combined.done()
        assert isinstance(combined.exception(0), CancelledError)

    def test_request_replies_gather(self) -> None:
        """gather works on the reply futures of requests, as the supervisor uses it."""
        requests: list[Request] = [GetState(program_id=p) for p in "abc"]
        combined = gather([request.reply for request in requests])

        for request in reversed(requests):
            resolve(request.reply, request.program_id)  # type: ignore[attr-defined]

        assert combined.result(0) == ["a", "b", "c"]
