"""ProcessExecutor: each spawn's calls in a long-lived child process of its own.

`ChildProcess` is the child: a spawn whose program has `executor="process"` runs each
`main_fn` in a child of its own, started once (with the `spawn` start method: never `fork`
from a process with threads, and no `forkserver` left running after the runner stops) and
reused for every run. A call sends the function and its arguments, pickled, down a pipe,
and waits (on the worker thread that runs the spawn's job, never an actor's) for the result
or the error to come back. Killing the child (a timeout, a stop) ends a call in progress at
once with `ChildDied`, as does the child's own death (a segfault, `os._exit`, the OOM
killer).
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from actors.runtime._executor import Executor, ExecutorLost

__all__ = ["ChildDied", "ChildProcess", "ProcessExecutor"]


class ChildDied(ExecutorLost):
    """The child process ended (killed, crashed) before it answered."""


def _context() -> Any:
    return multiprocessing.get_context("spawn")


def serve(conn: Connection) -> None:
    """The child's loop: call each function it is sent, send back `(ok, value)`."""
    while True:
        try:
            request = conn.recv()
        except EOFError:  # the parent is gone
            return
        if request is None:
            return
        function, args = request
        try:
            answer: tuple[bool, Any] = (True, function(*args))
        except BaseException as error:  # noqa: BLE001 - user code: sent back, never fatal
            answer = (False, error)
        try:
            conn.send(answer)
        except Exception as error:  # noqa: BLE001 - a result that does not pickle
            text = f"the result of {getattr(function, '__name__', function)!r} cannot be "
            conn.send((False, TypeError(f"{text}sent back from its child process: {error}")))


class ChildProcess:
    """One child process, started at its first call; `kill` ends it from any thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        self._killed = False

    @property
    def pid(self) -> int | None:
        """The child's pid, once started."""
        return None if self._process is None else self._process.pid

    def _start(self) -> Connection:
        context = _context()
        parent: Connection
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child,), name=self.name, daemon=True)
        with self._lock:
            if self._killed:
                raise ChildDied(f"{self.name} was stopped")
            process.start()
            self._process, self._conn = process, parent
        child.close()
        return parent

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Call `function(*args)` in the child and return its result, or raise its error.

        Raises:
            ChildDied: the child ended before it answered.
            pickle.PicklingError, TypeError: `function` or `args` cannot be sent.
        """
        conn = self._conn if self._conn is not None else self._start()
        try:
            conn.send((function, args))
        except (pickle.PicklingError, TypeError, AttributeError):
            raise
        except (OSError, EOFError) as error:
            raise self._died() from error
        try:
            ok, value = conn.recv()
        except (OSError, EOFError) as error:
            raise self._died() from error
        if not ok:
            raise value
        return value

    def _died(self) -> ChildDied:
        process = self._process
        if process is not None:
            process.join(5.0)  # reaped: no zombie left behind
        code = None if process is None else process.exitcode
        return ChildDied(f"{self.name} (pid {self.pid}) ended with exit code {code}")

    def kill(self) -> None:
        """End the child now (a call in progress raises `ChildDied`); reaped, not waited for
        beyond a moment."""
        with self._lock:
            self._killed = True
            process, conn = self._process, self._conn
        if process is not None and process.is_alive():
            process.kill()
            process.join(2.0)
        if conn is not None:
            conn.close()


class ProcessExecutor(Executor):
    """Calls in a child process of the spawn's own, started at the first call."""

    kind = "process"

    def __init__(self, function: Callable[..., Any], name: str) -> None:
        super().__init__(function, name)
        self.child = ChildProcess(name)

    def call(self, *args: Any) -> Any:
        return self.child.call(self.function, *args)

    def kill(self) -> None:
        self.child.kill()
