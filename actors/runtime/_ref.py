"""ActorRef: how anyone holds an actor of ours, and sends it messages.

pykka's own `ActorRef` keeps five attributes in an instance `__dict__` (about 500 bytes) and
checks liveness through two method calls on every `tell`. A runner holds three actors per
program and sends about four messages per run, so ours is slotted and checks the actor's stop
flag in place. It keeps pykka's interface (`tell`, `ask`, `stop`, `proxy`, `is_alive`,
`actor_urn`, `actor_class`, `actor_inbox`, `actor_stopped`, the same `str`): `ask`, `stop` and
`proxy` are pykka's own, run on this ref.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pykka
from pykka import ActorDeadError

if TYPE_CHECKING:
    from actors.runtime._dispatcher import Mailbox, StopFlag

__all__ = ["ActorRef", "urn"]

A = TypeVar("A")

_URN_PREFIX = uuid.uuid4().hex


def urn(number: int) -> str:
    """The URN of actor `number`: unique in this process and shaped like pykka's UUID URNs,
    without a syscall per actor (and built only when someone asks for it)."""
    return (
        f"urn:uuid:{_URN_PREFIX[:8]}-{_URN_PREFIX[8:12]}-{_URN_PREFIX[12:16]}-"
        f"{(number >> 48) & 0xFFFF:04x}-{number & 0xFFFFFFFFFFFF:012x}"
    )


class ActorRef(Generic[A]):
    """A reference to one of our actors, safe to pass around and to use from any thread.

    Refs compare by identity: an actor has exactly one, made with it.
    """

    __slots__ = ("_number", "actor_class", "actor_inbox", "actor_stopped")

    def __init__(self, actor_class: type[A], number: int, inbox: Mailbox, stopped: StopFlag):
        self.actor_class = actor_class
        self._number = number
        self.actor_inbox = inbox
        self.actor_stopped = stopped

    @property
    def actor_urn(self) -> str:
        """The actor's URN, unique in this process."""
        return urn(self._number)

    def __repr__(self) -> str:
        return f"<ActorRef for {self}>"

    def __str__(self) -> str:
        return f"{self.actor_class.__name__} ({self.actor_urn})"

    def is_alive(self) -> bool:
        """Whether the actor has not stopped yet (it may stop at any moment after)."""
        return not self.actor_stopped.stopped

    def tell(self, message: Any) -> None:
        """Queue `message` for the actor; never waits.

        Raises:
            ActorDeadError: the actor has stopped.
        """
        if self.actor_stopped.stopped:
            msg = f"{self} not found"
            raise ActorDeadError(msg)
        self.actor_inbox.put(message)  # bare: the mailbox knows it from an envelope

    def ask(self, message: Any, *, block: bool = True, timeout: float | None = None) -> Any:
        """pykka's `ActorRef.ask`: send `message` with a reply future; its answer, or (with
        `block=False`) the future."""
        return pykka.ActorRef.ask(self, message, block=block, timeout=timeout)  # type: ignore[call-overload]

    def stop(self, *, block: bool = True, timeout: float | None = None) -> Any:
        """pykka's `ActorRef.stop`: stop after the messages already queued."""
        return pykka.ActorRef.stop(self, block=block, timeout=timeout)  # type: ignore[call-overload]

    def proxy(self) -> pykka.ActorProxy[Any]:
        """pykka's `ActorRef.proxy`: call the actor's methods and read its fields as messages."""
        return pykka.ActorProxy(actor_ref=self)  # type: ignore[arg-type]

    def _actor_weakref(self) -> A:
        """The actor, for pykka's `ActorProxy` (which reads it through pykka's weakref). The
        inbox holds the actor anyway, so this keeps nothing alive that was not already."""
        return self.actor_inbox.actor  # type: ignore[return-value]
