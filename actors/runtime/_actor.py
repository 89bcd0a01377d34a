"""The base class of every actor of ours, and the few ways to talk to one from outside.

Our actors keep pykka's programming model (an `ActorRef` with `tell`, `ask` and `stop`,
`on_start`/`on_stop`/`on_failure`, pykka futures) but not its thread per actor: they run on
their runtime's `Dispatcher`. `Actor.on_receive` dispatches by message class to the methods
marked `@handles(MessageClass)`, and a handler that raises never kills the actor: the error goes
to the message's `reply` future, or to the log.

This module and `_dispatcher` are the only places that touch pykka's internals; each one relied
on is pinned by `tests/test_pykka_contract.py`.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import sys
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import pykka
from pykka import ActorDeadError, ThreadingFuture
from pykka._envelope import Envelope

from actors.runtime._dispatcher import Mailbox, StopFlag
from actors.runtime._ref import ActorRef
from actors.runtime._replies import Request, resolve

if TYPE_CHECKING:
    from actors.runtime._runtime import Runtime

__all__ = ["Actor", "forward_answer", "handles", "post", "stop_actor"]

logger = logging.getLogger("actors")

_actor_numbers = itertools.count(1)


Handler = Callable[[Any, Any], Any]

_STOP = pykka.messages._ActorStop()  # noqa: SLF001 - pykka's own stop message


def post(ref: ActorRef[Any], message: Any) -> None:
    """Tell `ref` a message from outside any actor (a clock callback, a future's callback, a
    worker thread); nothing happens if the actor has stopped meanwhile."""
    try:  # not contextlib.suppress: this is every tick's first step, and that is three calls
        ref.tell(message)
    except ActorDeadError:
        return


def forward_answer(
    ref: ActorRef[Any], wrap: Callable[[Future[Any]], Any]
) -> Callable[[Future[Any]], None]:
    """A done callback for a reply future: post `wrap(future)` to `ref`, so the actor that
    asked hears the answer as a message (never by waiting for it)."""
    return functools.partial(_forward, ref, wrap)


def _forward(ref: ActorRef[Any], wrap: Callable[[Future[Any]], Any], answer: Future[Any]) -> None:
    post(ref, wrap(answer))


def stop_actor(ref: ActorRef[Any]) -> None:
    """Ask an actor to stop after the messages already queued; no-op if it has stopped.

    Like `ref.stop(block=False)` but without building a future nobody reads: stopping a
    hundred thousand actors should not cost a hundred thousand condition variables.
    """
    with contextlib.suppress(ActorDeadError):
        ref.tell(_STOP)


def handles(*message_classes: type) -> Callable[[Handler], Handler]:
    """Mark an actor method as the handler of each of `message_classes` (and subclasses)."""

    def mark(method: Handler) -> Handler:
        method.handles_messages = message_classes  # type: ignore[attr-defined]
        return method

    return mark


class Actor(pykka.Actor):
    """The base class of every actor of ours, run by its runtime's dispatcher.

    Subclasses mark one method per message class with `@handles(MessageClass)`; a message is
    handled by the method for its class or the nearest base class. A handler that raises
    answers the message's `reply` with the error (or logs it) and the actor carries on. Our
    actors are kept in their runtime's registry, not in pykka's global `ActorRegistry`.
    """

    _handlers: dict[type, Handler] = {}
    _direct = True  # a told message goes straight to its @handles handler
    _actor_ref: ActorRef[Any]  # type: ignore[assignment] # ours, not pykka's

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type, Handler] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                for message_class in getattr(value, "handles_messages", ()):
                    handlers[message_class] = value
        cls._handlers = handlers
        # A class that overrides how a message is received gets every message that way.
        cls._direct = all(
            getattr(cls, name) is getattr(Actor, name)
            for name in ("on_receive", "receive", "_handle_receive")
        )

    def __init__(self, runtime: Runtime) -> None:
        # Not pykka.Actor.__init__: it would build a threading.Event and a queue per actor.
        self.runtime = runtime
        stopped = StopFlag()
        self.actor_stopped = stopped  # type: ignore[assignment]
        self.actor_inbox = Mailbox(self, runtime.activity, runtime.dispatcher)
        self._actor_ref = ActorRef(type(self), next(_actor_numbers), self.actor_inbox, stopped)

    @property
    def actor_urn(self) -> str:  # type: ignore[override] # pykka: an attribute; ours: lazy
        """This actor's URN, unique in this process (built when asked for)."""
        return self._actor_ref.actor_urn

    @property
    def actor_ref(self) -> ActorRef[Self]:  # type: ignore[override]
        """The actor's one `ActorRef`."""
        return self._actor_ref

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:  # type: ignore[override]
        """Create the actor (arguments go to its constructor) and schedule its `on_start`."""
        actor = cls(*args, **kwargs)
        actor.runtime.started(actor.actor_ref)
        actor._start_actor_loop()
        return actor.actor_ref

    @staticmethod
    def _create_actor_inbox() -> Any:
        msg = "actors build their Mailbox in __init__"
        raise NotImplementedError(msg)

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return ThreadingFuture()

    def _start_actor_loop(self) -> None:
        assert isinstance(self.actor_inbox, Mailbox)
        self.actor_inbox.start()

    # --- what the dispatcher calls (pykka's actor loop, one envelope at a time) -------------

    def dispatch_setup(self) -> None:
        try:
            self.on_start()
        except Exception:  # noqa: BLE001 - logged, and the actor stops, as in pykka
            self._handle_failure(*sys.exc_info())

    def dispatch_message(self, message: Any) -> None:
        handler = self._handlers.get(type(message))
        if handler is None or not self._direct:  # pykka's (a stop), a subclass of ours, ...
            self.dispatch_envelope(Envelope(message))
            return
        # The common case in one frame (a message of ours, told, with a handler for its very
        # class): what on_receive and receive would do, without their calls.
        try:
            handler(self, message)
        except Exception as error:  # noqa: BLE001 - answered or logged: the actor goes on
            self._handler_failed(message, error)
        except BaseException:  # noqa: BLE001 - as below
            self._stop_everything()
        finally:
            activity = self.runtime.activity
            activity.message_handled()
            if activity.waiters:
                activity.handled_wake()

    def dispatch_envelope(self, envelope: Envelope[Any]) -> None:
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                logger.info("Exception returned from %s to caller:", self, exc_info=True)
                envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:  # noqa: BLE001 - as in pykka
                    self._handle_failure(*sys.exc_info())
        except BaseException:  # noqa: BLE001 - as in pykka
            self._stop_everything()

    def _stop_everything(self) -> None:
        """pykka stops every actor on a BaseException; we stop every actor of this runner."""
        logger.debug("%r in %s: stopping all actors of the runner", sys.exc_info()[1], self)
        self._stop()
        self.runtime.stop_all()

    def dispatch_teardown(self) -> None:
        self.runtime.stopped(self.actor_ref)

    def _stop(self) -> None:
        self.actor_stopped.set()
        try:
            self.on_stop()
        except Exception:  # noqa: BLE001 - as in pykka
            self._handle_failure(*sys.exc_info())

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        logger.error(
            "Unhandled exception in %s:",
            self,
            exc_info=(exception_type, exception_value, traceback),  # type: ignore[arg-type]
        )
        self.actor_stopped.set()
        try:
            self.died(exception_value)
        except Exception:  # a dying actor's last words must not raise; logged
            logger.exception("%s failed to report its death", self)

    def died(self, error: BaseException | None) -> None:
        """Called when this actor stops because of an error, so it can tell its supervisor."""

    def _handle_receive(self, message: Any) -> Any:
        try:
            # Our own messages go straight to on_receive; pykka's (stop, proxy calls) to pykka.
            if type(message) in self._handlers:
                return self.on_receive(message)
            return super()._handle_receive(message)
        finally:
            self.runtime.activity.done()

    # --- our conventions ----------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        try:
            return self.receive(message)
        except Exception as error:  # noqa: BLE001 - answered or logged: the actor goes on
            self._handler_failed(message, error)
            return None

    def _handler_failed(self, message: Any, error: Exception) -> None:
        """A handler raised: the error answers the message's `reply`, else it is logged."""
        if isinstance(message, Request) and not message.reply.done():
            message.reply.set_exception(error)
        else:
            logger.exception("%s failed handling %r", self, message)

    def receive(self, message: Any) -> Any:
        """Handle one message with the handler for its class (or nearest base class)."""
        handlers = self._handlers  # the class's table, shared by its instances
        handler = handlers.get(type(message))
        if handler is None:
            for klass in type(message).__mro__[1:]:
                handler = handlers.get(klass)
                if handler is not None:
                    handlers[type(message)] = handler  # remember the subclass
                    break
            else:
                logger.warning("%s got a message it does not handle: %r", self, message)
                if isinstance(message, Request):
                    resolve(message.reply, error=TypeError(f"{self} does not handle {message!r}"))
                return None
        return handler(self, message)

    def publish(self, event_class: type, program_id: str, *args: Any, **kwargs: Any) -> None:
        """Publish `event_class(program_id, now, *args, **kwargs)`, built only if anyone
        subscribes: with no subscriber, events cost one attribute read."""
        if self.runtime.subscribers:
            now = self.runtime.clock.now()
            self.runtime.publish(event_class(program_id, now, *args, **kwargs))

    def tell(self, ref: ActorRef[Any], message: Any) -> bool:
        """Send `message` to `ref`; `False` (and a debug log) if that actor has stopped."""
        try:
            ref.tell(message)
        except ActorDeadError:
            logger.debug("%s: %r dropped, %s has stopped", self, message, ref)
            return False
        return True
