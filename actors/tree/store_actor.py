"""StoreActor: the one door to a runner's store, for every actor that writes to it.

Program actors send it `Persist` messages; it hands each write to the store's writer thread,
which commits them in batches (group commit). No actor handler touches the database: the
answer of a write that asked for one comes back as a message, posted when its batch has
committed. Writes in flight count as activity, so `settle()` waits for them: a tick that must
be recorded before it runs has run when settle returns.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import Future
from typing import Any

import attrs

from actors.runtime import Actor, RunTicket, Runtime, handles, resolve
from actors.store.abc import Write, WriteResult
from actors.store.writer import StoreWriter

__all__ = ["Persist", "StoreActor"]

logger = logging.getLogger("actors.store")


@attrs.frozen
class Persist:
    """To the StoreActor: commit `write`; answer `reply` (if any) with its `WriteResult`, or
    with the error that failed its batch, once committed."""

    write: Write
    reply: Future[Any] | None = attrs.field(default=None, eq=False)


class StoreActor(Actor):
    """Hands writes to `writer` (the store's writer thread, which the runner closes after the
    actors have stopped: closing waits for the last commit, which no actor may wait for)."""

    def __init__(self, runtime: Runtime, writer: StoreWriter) -> None:
        super().__init__(runtime)
        self.writer = writer

    def __str__(self) -> str:
        return f"StoreActor({self.writer.store.url})"

    @handles(Persist)
    def _persist(self, message: Persist) -> None:
        # Counted until committed, so settle() waits for the write and what follows from it.
        ticket = RunTicket(f"a write to {self.writer.store.url}")
        self.runtime.activity.issue(ticket)
        callback = functools.partial(_committed, self.runtime, ticket, message.reply)
        # A write with a reply has work waiting on it (a firing's runs): it does not wait for
        # the group commit's interval.
        self.writer.submit(message.write, callback, urgent=message.reply is not None)


def _committed(
    runtime: Runtime,
    ticket: RunTicket,
    reply: Future[Any] | None,
    outcome: WriteResult | BaseException,
) -> None:
    """On the writer thread: answer the write's reply (whose callback posts to its actor),
    then stop counting it."""
    try:
        if reply is not None:
            if isinstance(outcome, BaseException):
                resolve(reply, error=outcome)
            else:
                resolve(reply, outcome)
    finally:
        runtime.activity.end(ticket)
