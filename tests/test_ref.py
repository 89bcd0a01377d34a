"""ActorRef: our slotted reference keeps pykka's interface (tell, ask, stop, proxy, is_alive,
actor_urn, the same str) at a fraction of its memory."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pykka
import pytest
from pykka import ActorDeadError

from actors.runtime import Actor, ActorRef, Runtime, handles
from actors.runtime._ref import urn
from tests.conftest import T0

#: How long a test waits for an answer before calling it lost.
WAIT = 5.0


class FixedClock:
    def now(self) -> Any:
        return T0

    def call_at(self, when: Any, callback: Any) -> Any:
        raise NotImplementedError


class Echo(Actor):
    """Answers a pykka ask with its message, and keeps a counter a proxy can read."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.seen = 0

    @handles(str)
    def _echo(self, message: str) -> str:
        self.seen += 1
        return message

    @handles(int)
    def _number(self, message: int) -> None:
        self.seen += message


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    runtime = Runtime("ref-test", FixedClock())
    yield runtime
    runtime.shutdown()


def test_slotted_and_small(runtime: Runtime) -> None:
    """A ref has no instance dict: it costs its slots, not the ~500 bytes of pykka's."""
    ref = Echo.start(runtime)

    assert not hasattr(ref, "__dict__")
    assert sys.getsizeof(ref) < 100


def test_str_and_urn_like_pykka(runtime: Runtime) -> None:
    """str(ref) is 'Class (urn:uuid:...)', as pykka's; each actor's URN is its own and the
    actor and its ref agree on it."""
    first, second = Echo.start(runtime), Echo.start(runtime)

    assert re.fullmatch(r"Echo \(urn:uuid:[0-9a-f-]{36}\)", str(first))
    assert repr(first) == f"<ActorRef for {first}>"
    assert first.actor_urn != second.actor_urn
    assert urn(1) != urn(2)
    assert first.actor_class is Echo


def test_tell_to_a_stopped_actor_raises(runtime: Runtime) -> None:
    """tell() on a ref whose actor stopped raises pykka's ActorDeadError, naming it."""
    ref = Echo.start(runtime)
    ref.stop(timeout=WAIT)

    assert not ref.is_alive()
    with pytest.raises(ActorDeadError, match="Echo"):
        ref.tell(1)


def test_ask_stop_and_proxy_are_pykkas(runtime: Runtime) -> None:
    """ask() answers with the handler's value, a proxy reads the actor's fields, and stop()
    says whether the actor was alive, as pykka's ref does."""
    ref = Echo.start(runtime)

    assert ref.ask("hi", timeout=WAIT) == "hi"
    ref.tell(5)
    assert ref.proxy().seen.get(timeout=WAIT) == 6
    assert ref.stop(timeout=WAIT) is True
    assert ref.stop(timeout=WAIT) is False


def test_refs_hash_by_identity(runtime: Runtime) -> None:
    """A ref is its actor's one handle: equal only to itself, usable as a dict key (the
    runtime's registry of live actors is keyed by ref)."""
    first, second = Echo.start(runtime), Echo.start(runtime)

    assert first != second
    assert {first: 1, second: 2}[first] == 1
    assert runtime.actor_count() == 2


def test_pykka_futures_come_from_the_actor_class(runtime: Runtime) -> None:
    """ask(block=False) hands back the future type the actor class makes (pykka's
    ThreadingFuture), so pykka's future helpers work on our answers."""
    future = Echo.start(runtime).ask("x", block=False)

    assert isinstance(future, pykka.ThreadingFuture)
    assert future.get(timeout=WAIT) == "x"


def test_is_alive_follows_the_stop_flag(runtime: Runtime) -> None:
    """is_alive() reads the actor's stop flag in place: it turns false once the actor stops."""
    ref: ActorRef[Any] = Echo.start(runtime)

    assert ref.is_alive()
    ref.stop(timeout=WAIT)
    assert not ref.is_alive()
