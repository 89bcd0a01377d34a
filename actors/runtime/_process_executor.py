"""ProcessExecutor: each spawn's calls in a long-lived child process of its own.

`ChildProcess` is the child: a spawn whose program has `executor="process"` runs each
`main_fn` in a child of its own, started once (with the `spawn` start method: never `fork`
from a process with threads, and no `forkserver` left running after the runner stops) and
reused for every run. A call sends the function and its arguments, pickled, down a pipe,
and waits (on the worker thread that runs the spawn's job, never an actor's) for the result
or the error to come back. Killing the child (a timeout, a stop) ends a call in progress at
once with `ChildDied`, as does the child's own death (a segfault, `os._exit`, the OOM
killer).

Killing never waits: the child's `ChildWatcher` (the runtime's) sends the signal and reaps
it on a thread of its own, and it also notices a child that dies between calls, which it
reports through the executor's `lost` callback: the spawn is dead at once, not at its next
run.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from actors.runtime._children import CHILD_STOP_TIMEOUT, ChildWatcher, Watched, shared_watcher
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
    """One child process, started at its first call; `kill` ends it from any thread, at once.

    Args:
        name: the process's name, and the messages'.
        watcher: what kills, reaps and watches it (default: the one for children of no
            runner).
    """

    def __init__(self, name: str, watcher: ChildWatcher | None = None) -> None:
        self.name = name
        self.watcher = shared_watcher() if watcher is None else watcher
        #: Called (on the watcher's thread) with a `ChildDied` if the child ends while no
        #: call is under way and nobody killed it.
        self.lost: Callable[[ChildDied], None] | None = None
        self._lock = threading.Lock()  # held for book-keeping only, never across a wait
        self._watched: Watched | None = None
        self._conn: Connection | None = None
        self._pid: int | None = None
        self._killed = False
        self._calling = False
        self._exitcode: int | None = None
        self._gone = threading.Event()  # ended and reaped, or killed before it started

    @property
    def pid(self) -> int | None:
        """The child's pid, once started."""
        return self._pid

    def wait(self, timeout: float) -> bool:
        """Wait until the child is gone (ended and reaped, or killed before it started).

        Returns:
            Whether it is gone, `False` if `timeout` seconds passed first.
        """
        return self._gone.wait(timeout)

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Call `function(*args)` in the child and return its result, or raise its error.

        Raises:
            ChildDied: the child ended (or was killed) before it answered.
            pickle.PicklingError, TypeError: `function` or `args` cannot be sent.
        """
        with self._lock:
            if self._killed:
                raise ChildDied(f"{self.name} was stopped")
            if self._gone.is_set():
                raise self._ended_error()
            self._calling = True
            conn = self._conn
        try:
            return self._ask(self._start() if conn is None else conn, function, args)
        finally:
            with self._lock:
                self._calling = False
                # The child ended during the call: the watcher left its pipe to this thread.
                done = self._conn if self._gone.is_set() else None
                if self._killed and self._watched is None:
                    self._gone.set()  # killed before it started: it never will
            if done is not None:
                done.close()

    def _start(self) -> Connection:
        context = _context()
        parent: Connection
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child,), name=self.name, daemon=True)
        if not self.watcher.starting():
            parent.close()
            child.close()
            raise ChildDied(f"{self.name} was not started: its runner is stopping")
        try:
            process.start()  # no lock held: a `kill` meanwhile is seen just below
        except BaseException:
            self.watcher.not_started()
            parent.close()
            raise
        finally:
            child.close()  # the child's end belongs to the child now
        watched = self.watcher.watch(process, self._ended)
        with self._lock:
            self._watched, self._conn, self._pid = watched, parent, process.pid
            killed = self._killed
        if killed:  # killed while it started: it goes at once
            self.watcher.kill(watched)
            raise ChildDied(f"{self.name} was stopped while it started")
        return parent

    def _ask(self, conn: Connection, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        try:
            conn.send((function, args))  # one that does not pickle raises as it is
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
        """The child's pipe broke during a call: it ended; its exit code once reaped."""
        self._gone.wait(CHILD_STOP_TIMEOUT)  # on a worker thread: the watcher reaps it
        return self._ended_error()

    def _ended_error(self) -> ChildDied:
        return ChildDied(f"{self.name} (pid {self._pid}) ended with exit code {self._exitcode}")

    def _ended(self, exitcode: int | None, killed: bool) -> None:
        """On the watcher's thread: the child ended and is reaped."""
        with self._lock:
            self._exitcode = exitcode
            self._gone.set()
            # A call under way hears it from its pipe, and closes that itself.
            conn = None if self._calling else self._conn
            idle_death = not (killed or self._killed or self._calling)
            lost = self.lost
        if conn is not None:
            conn.close()
        if idle_death and lost is not None:
            lost(self._ended_error())

    def kill(self) -> None:
        """End the child (a call in progress raises `ChildDied`). Never waits: the watcher's
        thread kills and reaps it (`wait` waits for that); idempotent, from any thread."""
        with self._lock:
            self._killed = True
            watched = self._watched
            if watched is None and not self._calling:
                self._gone.set()  # never started, and now never will
        if watched is not None:
            self.watcher.kill(watched)


class ProcessExecutor(Executor):
    """Calls in a child process of the spawn's own, started at the first call.

    Args:
        function: what each call calls.
        name: the child's name.
        watcher: what kills, reaps and watches the child (a runner's: `Runtime.children`).
    """

    kind = "process"

    def __init__(
        self, function: Callable[..., Any], name: str, watcher: ChildWatcher | None = None
    ) -> None:
        super().__init__(function, name)
        self.child = ChildProcess(name, watcher)

    def start(self, placed: Callable[[str], None], lost: Callable[[ExecutorLost], None]) -> None:
        """Only keep `lost`, for a child that dies while idle (it starts at the first call):
        cheap enough for an actor's thread."""
        self.child.lost = lost

    def call(self, *args: Any) -> Any:
        return self.child.call(self.function, *args)

    def kill(self) -> None:
        self.child.kill()
