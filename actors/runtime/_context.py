"""What the current thread is doing for a runner: a worker's job, or user code in a handler.

A call on the `Runner` reads this to refuse, at once and with a message that says why, a wait
that would wait on itself (a `merge_fn` asking the runner for an answer, a run settling the
runner that waits for that run).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors.runtime._dispatcher import in_handler

if TYPE_CHECKING:
    from actors.runtime._activity import RunTicket
    from actors.runtime._runtime import Runtime

__all__ = ["call_user_code", "here", "in_handler", "inside_user_code_of", "user_code_label"]


class _Here(threading.local):
    """What the current thread is doing for us, if anything.

    `runtime` and `ticket`: the runtime and job of user code this worker thread is running.
    `label`: the user function running inside an actor's handler (`merge_fn`), for messages.
    """

    runtime: Runtime | None = None
    ticket: RunTicket | None = None
    label: str | None = None


here = _Here()


def call_user_code(label: str, function: Callable[..., Any], *args: Any) -> Any:
    """Call `function(*args)`, known meanwhile as `label` (`"merge_fn of program 'x'"`), so a
    runner call it makes can say where it came from."""
    previous = here.label
    here.label = label
    try:
        return function(*args)
    finally:
        here.label = previous


def user_code_label() -> str | None:
    """The user function this thread is inside (see `call_user_code`), or the job it runs."""
    if here.label is not None:
        return here.label
    return None if here.ticket is None else here.ticket.label


def inside_user_code_of(runtime: Runtime) -> RunTicket | None:
    """The job of `runtime` this thread is running (a worker thread inside user code)."""
    return here.ticket if here.runtime is runtime else None
