"""The pykka internals the kernel relies on, one test each.

Our actors keep pykka's programming model but not its thread per actor: `actors/runtime/_actor.py`
builds a `pykka.Actor` without `pykka.Actor.__init__`, with a `Mailbox` of our own
(`actors/runtime/_dispatcher.py`) as the inbox and a slotted `ActorRef` of our own
(`actors/runtime/_ref.py`) that runs pykka's `ask`, `stop` and `ActorProxy` on itself, and runs
pykka's `_handle_receive` on a dispatcher thread. That leans on private parts of pykka: if a
pykka release changes one, the test named for it fails here, instead of the scheduler failing
somewhere downstream.

The tests check pykka itself: signatures, attributes, and small behaviours run on a bare object
carrying only what our `Actor.__init__` sets (`BareActor`), never on pykka's own actors. The
`pykka` pin in `pyproject.toml` covers the releases this file passes on.
"""

from __future__ import annotations

import ast
import inspect
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pykka
import pykka._actor
import pytest
from pykka import ActorDeadError, ActorRef, ThreadingFuture
from pykka._envelope import Envelope
from pykka.messages import ProxyCall, ProxyGetAttr, ProxySetAttr, _ActorStop

from actors.runtime import Actor, Mailbox, StopFlag

#: How long a test waits on a future before calling it lost.
WAIT = 5.0

PYKKA_FOLDER = Path(pykka.__file__).parent

#: `pykka.Actor`, for calling its methods on objects that are not pykka actors (`BareActor`,
#: a `SimpleNamespace`): what pykka's code does with exactly the attributes given, no more.
PykkaActor: Any = pykka.Actor


class Inbox:
    """An actor inbox that keeps what pykka puts in it (our `Mailbox` has the same three calls)."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope[Any]] = []

    def put(self, envelope: Envelope[Any], /) -> None:
        self.envelopes.append(envelope)

    def get(self) -> Envelope[Any]:
        return self.envelopes.pop(0)

    def empty(self) -> bool:
        return not self.envelopes


class BareActor:
    """What pykka sees of our actors: the four attributes `actors.runtime._actor.Actor.__init__`
    sets, in the same order, and nothing inherited from `pykka.Actor` (the rest is what the
    tests call or inspect)."""

    def __init__(self) -> None:
        self.actor_urn = uuid.uuid4().urn
        self.actor_stopped = StopFlag()
        self.actor_inbox = Inbox()
        self._actor_ref: ActorRef[Any] = ActorRef(self)  # type: ignore[type-var] # not an Actor
        self.total = 0
        self.stopped_by: list[str] = []
        self.received: list[Any] = []

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return ThreadingFuture()

    def _stop(self) -> None:
        self.stopped_by.append("_stop")
        self.actor_stopped.set()

    def on_receive(self, message: Any) -> Any:
        self.received.append(message)
        return ("received", message)

    def add(self, n: int) -> int:
        self.total += n
        return self.total


def only_envelope(actor: BareActor) -> Envelope[Any]:
    """The one envelope pykka put in `actor`'s inbox."""
    assert len(actor.actor_inbox.envelopes) == 1, actor.actor_inbox.envelopes
    return actor.actor_inbox.envelopes[0]


def attribute_uses(attribute: str) -> set[str]:
    """Every `<something>.<attribute>.<name>` in pykka's source: which `<name>`s pykka uses of
    the object held in `attribute`."""
    used = set()
    for path in PYKKA_FOLDER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == attribute
            ):
                used.add(node.attr)
    return used


def functions_of(cls: type) -> dict[str, Any]:
    """The plain functions behind each method, classmethod, staticmethod and property of
    `cls`'s own namespace."""
    functions = {}
    for name, value in vars(cls).items():
        if isinstance(value, classmethod | staticmethod):
            value = value.__func__
        elif isinstance(value, property):
            value = value.fget
        if inspect.isfunction(value):
            functions[name] = value
    return functions


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


# --- pykka.messages ---------------------------------------------------------------------------


def test_messages_actor_stop() -> None:
    """`pykka.messages._ActorStop()` builds with no arguments and is recognised by isinstance.

    Relied on by `actors/runtime/_actor.py` (`_STOP`, sent by `stop_actor` and
    `Runtime.stop_all`) and `actors/runtime/_dispatcher.py` (`reject` answers a stop ask with
    None, as pykka does); pykka's `_handle_receive` and `ActorRef.stop` test with isinstance.
    """
    stop = _ActorStop()
    assert isinstance(stop, pykka.messages._ActorStop)
    assert stop == _ActorStop()  # one shared instance is as good as a new one each time
    assert pykka.messages._ActorStop is _ActorStop


def test_messages_proxy_messages() -> None:
    """`ProxyCall(attr_path, args, kwargs)`, `ProxyGetAttr(attr_path)` and
    `ProxySetAttr(attr_path, value)` keep their fields.

    Relied on by `actors/runtime/_actor.py` (`Actor._handle_receive` hands every message that is
    not ours to pykka's `_handle_receive`, which runs these); `runner._system.supervisor.proxy()`
    in the tests sends them.
    """
    assert ProxyCall._fields == ("attr_path", "args", "kwargs")
    assert ProxyGetAttr._fields == ("attr_path",)
    assert ProxySetAttr._fields == ("attr_path", "value")


# --- pykka._envelope.Envelope -----------------------------------------------------------------


def test_envelope_message_and_reply_to() -> None:
    """`Envelope(message, reply_to=None)` has the attributes `message` and `reply_to`.

    Relied on by `actors/runtime/_dispatcher.py` (`Mailbox.put`, `Mailbox.run`, `reject`) and
    `actors/runtime/_actor.py` (`Actor.dispatch_envelope` reads both).
    """
    assert parameters(Envelope) == ["message", "reply_to"]
    assert inspect.signature(Envelope).parameters["reply_to"].default is None
    future: ThreadingFuture[Any] = ThreadingFuture()
    envelope = Envelope("hello", reply_to=future)
    assert envelope.message == "hello"
    assert envelope.reply_to is future
    assert Envelope("hello").reply_to is None


# --- pykka.Actor ------------------------------------------------------------------------------


def test_actor_abstract_methods() -> None:
    """`pykka.Actor`'s abstract methods are at most `_create_actor_inbox`, `_create_future`
    and `_start_actor_loop`, the first two static.

    Relied on by `actors/runtime/_actor.py`: `Actor` overrides those three (and no more) to be
    instantiable; a new abstract method would make every one of our actors fail to build.
    """
    abstract = getattr(pykka.Actor, "__abstractmethods__", frozenset())
    assert abstract <= {"_create_actor_inbox", "_create_future", "_start_actor_loop"}
    assert isinstance(inspect.getattr_static(pykka.Actor, "_create_actor_inbox"), staticmethod)
    assert isinstance(inspect.getattr_static(pykka.Actor, "_create_future"), staticmethod)
    assert parameters(pykka.Actor._start_actor_loop) == ["self"]
    assert not getattr(Actor, "__abstractmethods__", frozenset())  # ours overrides each


def test_actor_init_sets_four_attributes() -> None:
    """`pykka.Actor.__init__` sets exactly `actor_urn`, `actor_inbox`, `actor_stopped` and
    `_actor_ref`, and builds the inbox with `_create_actor_inbox`.

    Relied on by `actors/runtime/_actor.py` (`Actor.__init__` skips pykka's, to spare a
    `threading.Event` and a queue per actor, and sets those four itself): anything else pykka's
    `__init__` set would be missing from our actors.
    """
    inbox = Inbox()

    class Probe(pykka.Actor):
        @staticmethod
        def _create_actor_inbox() -> Any:
            return inbox

        @staticmethod
        def _create_future() -> Any:
            return ThreadingFuture()

        def _start_actor_loop(self) -> None:
            raise AssertionError("not started")

    probe = Probe()
    assert set(vars(probe)) == {"actor_urn", "actor_inbox", "actor_stopped", "_actor_ref"}
    assert probe.actor_inbox is inbox
    assert isinstance(probe._actor_ref, ActorRef)


def test_actor_create_actor_inbox_is_called_only_by_init() -> None:
    """Within pykka, only `Actor.__init__` calls `_create_actor_inbox`, and only
    `Actor.start` calls `_start_actor_loop`.

    Relied on by `actors/runtime/_actor.py`: `Actor._create_actor_inbox` raises (the `Mailbox`
    is built in `__init__`, which skips pykka's) and `Actor.start` (ours) calls
    `_start_actor_loop` itself.
    """
    callers: dict[str, set[str]] = {"_create_actor_inbox": set(), "_start_actor_loop": set()}
    for path in PYKKA_FOLDER.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Attribute) and node.attr in callers:
                    callers[node.attr].add(f"{path.stem}.{function.name}")
    assert callers == {
        "_create_actor_inbox": {"_actor.__init__"},
        "_start_actor_loop": {"_actor.start"},
    }


def test_actor_ref_property() -> None:
    """`pykka.Actor.actor_ref` is a read-only property returning `self._actor_ref`.

    Relied on by `actors/runtime/_actor.py` (`Actor.__init__` sets `_actor_ref`; `Actor.start`,
    `Actor.dispatch_teardown` and every tree actor read `actor_ref`).
    """
    prop = inspect.getattr_static(pykka.Actor, "actor_ref")
    assert isinstance(prop, property)
    assert prop.fset is None
    ref = object()
    assert prop.fget(SimpleNamespace(_actor_ref=ref)) is ref


def test_actor_registry_only_in_overridden_methods() -> None:
    """The `pykka.Actor` methods that use pykka's global `ActorRegistry` are `start`, `_stop`,
    `_handle_failure` and the thread loop `_actor_loop_running`.

    Relied on by `actors/runtime/_actor.py`: our actors live in their runtime's registry, not
    pykka's; `Actor` overrides `start`, `_stop` and `_handle_failure`, and never runs pykka's
    loop. Another method using the registry would register or stop our actors behind our back.
    """
    using = {
        name
        for name, function in functions_of(pykka.Actor).items()
        if "ActorRegistry" in function.__code__.co_names
    }
    assert "start" in using  # the scan sees pykka's own registering, so it can see others
    assert using <= {"start", "_stop", "_handle_failure", "_actor_loop_running"}, using
    ours = functions_of(Actor)
    assert {"start", "_stop", "_handle_failure"} <= set(ours)
    assert "ActorRegistry" not in {n for f in ours.values() for n in f.__code__.co_names}


def test_actor_start_signature() -> None:
    """`pykka.Actor.start` is a classmethod taking the constructor's arguments.

    Relied on by `actors/runtime/_actor.py` (`Actor.start` replaces it with the same shape, so
    `SomeActor.start(runtime, ...)` reads as in pykka).
    """
    assert isinstance(inspect.getattr_static(pykka.Actor, "start"), classmethod)
    assert parameters(pykka.Actor.start) == ["args", "kwargs"]
    assert isinstance(inspect.getattr_static(Actor, "start"), classmethod)


def test_actor_stop_method() -> None:
    """`pykka.Actor.stop()` tells `_ActorStop` to the actor's own `actor_ref`, without a reply.

    Relied on by `actors/tree/program_actor.py` (`ProgramActor._check_done`) and
    `actors/tree/monitor_actor.py` (`LoadMonitorActor._halt`, once the supervisor is gone),
    which call the inherited `self.stop()`.
    """
    actor = BareActor()
    PykkaActor.stop(SimpleNamespace(actor_ref=actor._actor_ref))
    envelope = only_envelope(actor)
    assert isinstance(envelope.message, _ActorStop)
    assert envelope.reply_to is None


def test_actor_handle_receive_stop() -> None:
    """pykka's `_handle_receive` answers `_ActorStop` by calling `self._stop()` and returning
    its result.

    Relied on by `actors/runtime/_actor.py`: `Actor._handle_receive` hands `_ActorStop` to
    pykka's, and `Actor._stop` (ours: no `ActorRegistry`) does the stopping.
    """
    actor = BareActor()
    assert PykkaActor._handle_receive(actor, _ActorStop()) is None
    assert actor.stopped_by == ["_stop"]
    assert actor.actor_stopped.is_set()
    assert actor.received == []


def test_actor_handle_receive_proxy_messages() -> None:
    """pykka's `_handle_receive` runs `ProxyCall`, `ProxyGetAttr` and `ProxySetAttr` on the
    actor by attribute path.

    Relied on by `actors/runtime/_actor.py` (`Actor._handle_receive` hands them to pykka's), so
    `ref.proxy()` works on our actors.
    """
    actor = BareActor()
    handle = PykkaActor._handle_receive
    assert handle(actor, ProxyCall(attr_path=("add",), args=(2,), kwargs={})) == 2
    assert handle(actor, ProxySetAttr(attr_path=("total",), value=40)) is None
    assert handle(actor, ProxyGetAttr(attr_path=("total",))) == 40
    assert actor.received == []


def test_actor_handle_receive_falls_back_to_on_receive() -> None:
    """pykka's `_handle_receive` passes any other message to `self.on_receive` and returns its
    answer.

    Relied on by `actors/runtime/_actor.py`: `Actor._handle_receive` sends messages whose exact
    class has no handler (subclasses, unknown messages) through pykka's, and our `on_receive`
    finds the handler or logs them.
    """
    actor = BareActor()
    assert PykkaActor._handle_receive(actor, "hello") == ("received", "hello")
    assert actor.received == ["hello"]
    assert parameters(pykka.Actor._handle_receive) == ["self", "message"]


def test_actor_hooks() -> None:
    """`on_start()`, `on_stop()`, `on_failure(exception_type, exception_value, traceback)` and
    `on_receive(message)` keep their signatures, and the first three do nothing by default.

    Relied on by `actors/runtime/_actor.py`: `Actor.dispatch_setup` calls `on_start`, `_stop`
    calls `on_stop`, `dispatch_envelope` calls `on_failure(*sys.exc_info())`, and `Actor`
    overrides `on_receive`; most of our actors keep pykka's empty hooks.
    """
    assert parameters(pykka.Actor.on_start) == ["self"]
    assert parameters(pykka.Actor.on_stop) == ["self"]
    assert parameters(pykka.Actor.on_failure) == [
        "self",
        "exception_type",
        "exception_value",
        "traceback",
    ]
    assert parameters(pykka.Actor.on_receive) == ["self", "message"]
    untouched = SimpleNamespace()
    assert PykkaActor.on_start(untouched) is None
    assert PykkaActor.on_stop(untouched) is None
    assert PykkaActor.on_failure(untouched, None, None, None) is None
    assert vars(untouched) == {}


def test_actor_handle_failure_signature() -> None:
    """`_handle_failure(exception_type, exception_value, traceback)` is what pykka calls with
    `*sys.exc_info()`.

    Relied on by `actors/runtime/_actor.py` (`Actor._handle_failure` overrides it with the same
    parameters, and `dispatch_setup`, `dispatch_envelope` and `_stop` call it that way).
    """
    expected = ["self", "exception_type", "exception_value", "traceback"]
    assert parameters(pykka.Actor._handle_failure) == expected
    assert parameters(Actor._handle_failure) == expected


# --- the actor's inbox and stopped flag --------------------------------------------------------


def test_actor_inbox_put_get_empty() -> None:
    """pykka's `ActorInbox` protocol is `put(envelope, /)`, `get()` and `empty()`, and pykka
    calls nothing else on an actor's inbox.

    Relied on by `actors/runtime/_dispatcher.py` (`Mailbox` is the inbox our `Actor.__init__`
    sets: `ActorRef.tell`/`ask` call its `put`).
    """
    protocol = pykka._actor.ActorInbox
    members = {name for name in vars(protocol) if not name.startswith("_")}
    assert members == {"put", "get", "empty"}
    put = inspect.signature(protocol.put).parameters
    assert [p.kind for p in put.values()][1:] == [inspect.Parameter.POSITIONAL_ONLY]
    assert attribute_uses("actor_inbox") <= members, attribute_uses("actor_inbox")
    assert all(callable(getattr(Mailbox, name)) for name in members)


def test_actor_stopped_is_set_and_set() -> None:
    """pykka calls only `is_set()` and `set()` on an actor's `actor_stopped`.

    Relied on by `actors/runtime/_dispatcher.py` (`StopFlag`, a two-method stand-in for the
    `threading.Event` pykka documents, set as `actor_stopped` by `Actor.__init__`).
    """
    used = attribute_uses("actor_stopped")
    assert used <= {"is_set", "set"}, used
    assert "is_set" in used  # ActorRef.is_alive
    assert all(callable(getattr(StopFlag, name)) for name in used)


# --- pykka.ActorRef -----------------------------------------------------------------------------


def test_actor_ref_methods_read_only_what_our_ref_has() -> None:
    """pykka's `ActorRef.ask`, `ActorRef.stop` and `ActorProxy` work on any object carrying
    what our `ActorRef` carries: `actor_class`, `actor_inbox`, `actor_stopped`, `is_alive()`,
    `ask()` and `_actor_weakref()`.

    Relied on by `actors/runtime/_ref.py` (our `ActorRef.ask`, `stop` and `proxy` are pykka's,
    run on our ref).
    """
    actor = BareActor()
    ref: Any = SimpleNamespace(
        actor_class=BareActor,
        actor_inbox=actor.actor_inbox,
        actor_stopped=actor.actor_stopped,
        is_alive=lambda: not actor.actor_stopped.is_set(),
        _actor_weakref=lambda: actor,
    )
    ref.ask = lambda message, **kwargs: ActorRef.ask(ref, message, **kwargs)
    asked = ActorRef.ask(ref, "hello", block=False)
    stopped = ActorRef.stop(ref, block=False)
    pykka.ActorProxy(actor_ref=ref).add(1)
    messages = [envelope.message for envelope in actor.actor_inbox.envelopes]
    assert messages[0] == "hello"
    assert isinstance(messages[1], _ActorStop)
    assert messages[2] == ProxyCall(attr_path=("add",), args=(1,), kwargs={})
    actor.actor_inbox.envelopes[0].reply_to.set("answer")
    actor.actor_inbox.envelopes[1].reply_to.set(None)
    assert asked.get(timeout=WAIT) == "answer"
    assert stopped.get(timeout=WAIT) is True


def test_actor_ref_actor_weakref() -> None:
    """`ActorRef._actor_weakref()` returns the actor (a weak reference, since pykka 4.4).

    Relied on by `actors/runtime/_ref.py` (our ref has an `_actor_weakref()` method because
    pykka's `ActorProxy` reaches the actor through it) and `tests/test_runtime.py`. Before 4.4
    the ref held `_actor`.
    """
    actor = BareActor()
    assert actor._actor_ref._actor_weakref() is actor


def test_actor_ref_ask() -> None:
    """`ActorRef.ask(message, block=False)` makes its future with the actor class's
    `_create_future()`, puts `Envelope(message, reply_to=future)` and returns that future; to a
    stopped actor it puts nothing and the future holds `ActorDeadError`.

    Relied on by `actors/runtime/_actor.py` (`Actor._create_future`; `dispatch_envelope` answers
    `reply_to`) and `actors/runtime/_dispatcher.py` (`reject` answers asks a stopped actor
    still held).
    """
    actor = BareActor()
    future = actor._actor_ref.ask("hello", block=False)
    assert isinstance(future, ThreadingFuture)
    envelope = only_envelope(actor)
    assert envelope.message == "hello"
    assert envelope.reply_to is future
    envelope.reply_to.set("answer")
    assert future.get(timeout=WAIT) == "answer"

    actor.actor_stopped.set()
    late = actor._actor_ref.ask("late", block=False)
    with pytest.raises(ActorDeadError):
        late.get(timeout=WAIT)
    assert len(actor.actor_inbox.envelopes) == 1


@pytest.mark.parametrize(
    ("answer", "stopped"),
    [(None, True), (ActorDeadError("gone"), False)],
    ids=["answered-none", "answered-dead"],
)
def test_actor_ref_stop(answer: Exception | None, stopped: bool) -> None:
    """`ActorRef.stop(block=False)` asks `_ActorStop` and reads the answer: None means "it was
    alive and is now stopped" (True), `ActorDeadError` means "already dead" (False).

    Relied on by `actors/runtime/_actor.py` (`Actor._stop` returns None, which pykka's
    `_handle_receive` passes back) and `actors/runtime/_dispatcher.py` (`reject` answers a stop
    ask with None, any other ask with `ActorDeadError`).
    """
    actor = BareActor()
    result = actor._actor_ref.stop(block=False)
    envelope = only_envelope(actor)
    assert isinstance(envelope.message, _ActorStop)
    assert envelope.reply_to is not None
    if answer is None:
        envelope.reply_to.set(None)
    else:
        envelope.reply_to.set_exception((ActorDeadError, answer, None))
    assert result.get(timeout=WAIT) is stopped


def test_actor_ref_proxy() -> None:
    """`ActorRef.proxy()` reaches the actor through the ref alone and asks
    `ProxyCall` for a method call and `ProxyGetAttr` for an attribute.

    Relied on by `actors/runtime/_ref.py` (our `ActorRef.proxy()` is pykka's `ActorProxy`; the
    tests read the supervisor's state through one).
    """
    actor = BareActor()
    proxy = actor._actor_ref.proxy()
    call = proxy.add(2)
    got = proxy.total
    sent = [envelope.message for envelope in actor.actor_inbox.envelopes]
    assert sent == [
        ProxyCall(attr_path=("add",), args=(2,), kwargs={}),
        ProxyGetAttr(attr_path=("total",)),
    ]
    for envelope in actor.actor_inbox.envelopes:
        assert envelope.reply_to is not None
        envelope.reply_to.set(PykkaActor._handle_receive(actor, envelope.message))
    assert call.get(timeout=WAIT) == 2
    assert got.get(timeout=WAIT) == 2


# --- futures and errors ----------------------------------------------------------------------


def test_threading_future_set() -> None:
    """`ThreadingFuture.set(value)` answers `get(timeout=...)`, and is a `pykka.Future`.

    Relied on by `actors/runtime/_actor.py` (`Actor._create_future`; `dispatch_envelope` sets
    `reply_to`) and `actors/runtime/_dispatcher.py` (`reject` sets None for a stop ask).
    """
    future: ThreadingFuture[Any] = ThreadingFuture()
    assert isinstance(future, pykka.Future)
    future.set("value")
    assert future.get(timeout=WAIT) == "value"


def test_threading_future_set_exception_exc_info() -> None:
    """`ThreadingFuture.set_exception((type, value, None))` makes `get` raise `value`.

    Relied on by `actors/runtime/_dispatcher.py` (`reject` answers an ask to a stopped actor
    with an `ActorDeadError` exc_info tuple).
    """
    future: ThreadingFuture[Any] = ThreadingFuture()
    error = ActorDeadError("stopped before handling")
    future.set_exception((ActorDeadError, error, None))
    with pytest.raises(ActorDeadError) as raised:
        future.get(timeout=WAIT)
    assert raised.value is error


def test_threading_future_set_exception_current() -> None:
    """`ThreadingFuture.set_exception()` with no argument takes the exception being handled.

    Relied on by `actors/runtime/_actor.py` (`Actor.dispatch_envelope` calls it bare, inside
    `except`, to return a handler's error to the asker).
    """
    assert parameters(ThreadingFuture.set_exception) == ["self", "exc_info"]
    future: ThreadingFuture[Any] = ThreadingFuture()
    error = ValueError("from the handler")
    try:
        raise error
    except ValueError:
        future.set_exception()
    with pytest.raises(ValueError, match="from the handler") as raised:
        future.get(timeout=WAIT)
    assert raised.value is error


def test_actor_dead_error() -> None:
    """`pykka.ActorDeadError` is an `Exception` taking a message.

    Relied on by `actors/runtime/_actor.py` (`post`, `stop_actor` and `Actor.tell` suppress it),
    `actors/runtime/_dispatcher.py` (`reject` builds it) and the tree actors, which catch it.
    """
    assert issubclass(ActorDeadError, Exception)
    assert str(ActorDeadError("gone")) == "gone"
    assert pykka.ActorDeadError is ActorDeadError


# --- outside the kernel ----------------------------------------------------------------------


def test_pykka_is_one_folder() -> None:
    """pykka is a package whose modules all live in the folder of `pykka.__file__`.

    Relied on by `actors/_tracebacks.py` (`_INTERNAL_FOLDERS` hides every frame from that
    folder in tracebacks shown to users).
    """
    assert Path(pykka.__file__).name == "__init__.py"
    for module in (pykka._actor, sys.modules["pykka._ref"], sys.modules["pykka._threading"]):
        assert Path(module.__file__ or "").parent == PYKKA_FOLDER
