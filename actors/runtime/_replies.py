"""Replies: how an actor answers a request without anyone waiting on an actor.

A message that expects an answer is a `Request`: it carries its own `reply` future (a
`concurrent.futures.Future`). Whoever handles it, however far it was forwarded, sets the answer
there, and only the caller (the `Runner`, on its own thread) waits on it.
"""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError, Future
from typing import Any

import attrs

__all__ = ["Request", "gather", "resolve"]


def _future() -> Future[Any]:
    return Future()


@attrs.frozen(kw_only=True)
class Request:
    """A message whose handler answers through `reply`."""

    reply: Future[Any] = attrs.field(factory=_future, eq=False, repr=False)


def resolve(future: Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    """Answer `future` unless it is already answered or was cancelled by its caller."""
    if future.done():
        return
    try:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    except Exception:  # noqa: BLE001 - InvalidStateError: the caller cancelled it meanwhile
        return


def gather(futures: list[Future[Any]]) -> Future[list[Any]]:
    """A future answered with every result of `futures` (in order) once all are answered.

    The first error among them answers it instead. Nobody blocks: completion is driven by the
    callbacks of the futures themselves.
    """
    combined: Future[list[Any]] = Future()
    if not futures:
        combined.set_result([])
        return combined
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: Future[Any]) -> None:
        with lock:  # callbacks run on whichever threads answer the futures
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            errors: list[BaseException] = [
                CancelledError() if f.cancelled() else f.exception()  # type: ignore[misc]
                for f in futures
                if f.cancelled() or f.exception() is not None
            ]
            if errors:
                resolve(combined, error=errors[0])
            else:
                resolve(combined, [f.result() for f in futures])

    for future in futures:
        future.add_done_callback(one_done)
    return combined
