"""Executor: where one spawn's runs run, a worker thread, a child process or a Ray actor.

A spawn calls its `main_fn` through an executor, on the worker thread the runtime gives each
run, one run at a time. The thread executor calls it right there (the default, and the fast
path: one method call added to a run). The others send the call elsewhere and wait for its
answer on that worker thread, so a run holds the same place in the activity books and under
`max_concurrent` whatever runs it, and `settle()`, timeouts and `stop()` treat them alike.
What they add is what a thread cannot give: `kill` ends a run in progress at once, and a place
that dies (a crashed child, a lost Ray node) says so with `ExecutorLost`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

__all__ = ["Executor", "ExecutorLost", "ThreadExecutor"]


class ExecutorLost(RuntimeError):
    """The place a spawn's runs run in is gone (a child process died, a Ray actor or its node
    was lost): the spawn is dead, and its run, if one was under way, is cut short."""


class Executor(ABC):
    """Runs one spawn's function, one call at a time, from the runtime's worker threads.

    Args:
        function: what each call calls (`main_fn`), with the call's arguments.
        name: for thread, process and actor names, and messages.
    """

    #: The executor's name, as `Program(executor=...)` spells it.
    kind: ClassVar[str]

    #: Whether `start` may wait (on a cluster): then it runs on a worker thread, else on the
    #: actor's own.
    slow_start: ClassVar[bool] = False

    def __init__(self, function: Callable[..., Any], name: str) -> None:
        self.function = function
        self.name = name

    #: Where the calls run, once known: the Ray node id of a Ray spawn; `None` for this process.
    node: str | None = None

    def start(  # noqa: B027 - threads and child processes need no start: nothing to do
        self, placed: Callable[[str], None], lost: Callable[[ExecutorLost], None]
    ) -> None:
        """Make the place calls run in, ahead of the first call: on a worker thread if it
        takes long (a Ray actor), else (a child process, which starts at its first call, and
        only keeps `lost`) on the spawn actor's own thread, so it must not wait.

        Args:
            placed: called (from any thread) with the node once it is known.
            lost: called (from any thread) if the place dies while no call is under way.
        """

    @abstractmethod
    def call(self, *args: Any) -> Any:
        """`function(*args)` where this executor runs it: its result, or its error raised.

        Raises:
            ExecutorLost: the place it ran in died, or was killed, before it answered.
        """

    def kill(self) -> None:  # noqa: B027 - a thread cannot be killed: nothing to do
        """End the place calls run in, and a call under way, at once; from any thread."""


class ThreadExecutor(Executor):
    """Calls on the worker thread itself (a call under way cannot be killed, only abandoned)."""

    kind = "thread"

    def call(self, *args: Any) -> Any:
        return self.function(*args)
