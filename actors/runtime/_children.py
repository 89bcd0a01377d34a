"""ChildWatcher: the one thread that kills, reaps and watches a runtime's child processes.

A spawn with `executor="process"` has a child process; its SpawnActor must never wait for
it (stopping the actor kills the child from the dispatcher's thread), and a child that dies
while idle must be noticed then, not at its next run. So every child, once started, is
handed to a watcher: one daemon thread that waits (`multiprocessing.connection.wait`) on the
sentinels of the children it watches and on a wake-up pipe. `kill` only marks the child and
wakes the thread, which sends the signal; when a child ends, the thread reaps it and calls
its `ended` callback, saying whether it was killed. Signalling and reaping on the same thread
means a pid is never signalled after it was reaped (and perhaps reused).

The thread runs only while there are children to watch. A runtime's `shutdown` closes its
watcher: the children still alive are killed, starts still under way are waited for (and
their children killed), and it returns once all are reaped, or at a deadline.

`multiprocessing`'s `spawn` start method also starts its resource tracker, a process of its
own that outlives every child. The watchers of runners hold it; when the last of them
closes, it is stopped, if a child of ours started it and no other child of this process is
alive (it would still hold the tracker's pipe).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from multiprocessing import resource_tracker
from multiprocessing.connection import wait
from typing import Any

__all__ = ["CHILD_STOP_TIMEOUT", "ChildWatcher", "Watched", "shared_watcher"]

logger = logging.getLogger("actors.process")

#: How long closing a watcher waits for its children to be killed and reaped, and for the
#: resource tracker to stop. A killed child ends in milliseconds; only a start under way (a
#: tenth of a second or so) or a process stuck in the kernel takes longer.
CHILD_STOP_TIMEOUT = 5.0


class Watched:
    """One child under watch: what `ChildWatcher.kill` is given.

    Args:
        process: the started `multiprocessing.Process`.
        ended: called on the watcher's thread once the child is reaped, with its exit code
            and whether it was killed (by `kill`, or by closing the watcher).
    """

    __slots__ = ("ended", "kill", "process", "reaped", "sentinel", "signalled")

    def __init__(self, process: Any, ended: Callable[[int | None, bool], None]) -> None:
        self.process = process
        self.ended = ended
        self.sentinel: int = process.sentinel
        self.kill = False  # asked for, under the watcher's lock
        self.signalled = False  # only the watcher's thread reads or writes it
        self.reaped = False  # out of the watcher's books (being reaped, or reaped)


class ChildWatcher:
    """Kills, reaps and watches child processes on one thread of its own, running only while
    it has children. Every method returns at once but `close`.

    Args:
        name: the thread's name.
        holds_tracker: whether it holds multiprocessing's resource tracker once it has
            started a child, until it is closed (a runner's watcher does).
    """

    def __init__(self, name: str, *, holds_tracker: bool = False) -> None:
        self.name = name
        self._holds_tracker = holds_tracker
        self._holding = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._watched: dict[int, Watched] = {}  # by sentinel
        self._starting = 0
        self._closed = False
        self._thread: threading.Thread | None = None  # while it runs
        self._last_thread: threading.Thread | None = None  # for `close` to join
        self._wake: int | None = None  # the running thread's wake-up pipe (write end)

    def starting(self) -> bool:
        """Say a child is about to start (`close` waits for it to be watched); `False` once
        the watcher is closed: then start none. Follow with `watch` or `not_started`."""
        with self._lock:
            if self._closed:
                return False
            self._starting += 1
            hold = self._holds_tracker and not self._holding
            self._holding = self._holding or hold
        _tracker_starting(hold)
        return True

    def not_started(self) -> None:
        """The start `starting` announced failed."""
        with self._lock:
            self._starting -= 1
            self._changed.notify_all()

    def watch(self, process: Any, ended: Callable[[int | None, bool], None]) -> Watched:
        """Watch a child just started (after `starting`): `ended` is called once it is reaped.
        A watcher closed meanwhile kills it at once."""
        watched = Watched(process, ended)
        with self._lock:
            self._starting -= 1
            watched.kill = self._closed
            self._watched[watched.sentinel] = watched
            self._wake_locked()
        return watched

    def kill(self, watched: Watched) -> None:
        """Have the child killed (and then reaped) by the watcher's thread; idempotent."""
        with self._lock:
            if watched.kill or watched.reaped:
                return
            watched.kill = True
            self._wake_locked()

    def close(self, timeout: float = CHILD_STOP_TIMEOUT) -> bool:
        """Kill every child still watched, refuse new ones, and wait (up to `timeout`) until
        all are reaped, starts under way included; then let go of the resource tracker.
        Returns whether all were reaped in time."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
            for watched in self._watched.values():
                watched.kill = True
            if self._watched:
                self._wake_locked()
            done = self._changed.wait_for(
                lambda: self._thread is None and not self._starting, timeout
            )
            left = len(self._watched) + self._starting
            thread, hold = self._last_thread, self._holding
            self._holding = False
        if thread is not None:  # it has said it is done: only its last steps remain
            thread.join(max(0.0, deadline - time.monotonic()))
        if not done:
            logger.warning(
                "%d child process(es) of %s not reaped in %s s", left, self.name, timeout
            )
        if hold:
            _tracker_release(max(1.0, deadline - time.monotonic()))
        return done

    def _wake_locked(self) -> None:
        if self._thread is None:
            read, write = os.pipe()
            os.set_blocking(write, False)  # a wake-up never waits: a full pipe wakes it anyway
            thread = threading.Thread(
                target=self._run, args=(read, write), name=self.name, daemon=True
            )
            self._thread = self._last_thread = thread
            self._wake = write
            thread.start()
        elif self._wake is not None:
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake, b"!")

    def _run(self, read: int, write: int) -> None:
        while True:
            with self._lock:
                if not self._watched:  # nothing to watch: the next `watch` starts a thread
                    self._thread = self._wake = None
                    os.close(read)
                    os.close(write)
                    self._changed.notify_all()
                    return
                kills = [w for w in self._watched.values() if w.kill and not w.signalled]
                sentinels = list(self._watched)
            for watched in kills:
                watched.signalled = True
                try:
                    watched.process.kill()
                except Exception:  # noqa: BLE001 - reaped already: nothing left to kill
                    logger.debug("%s: killing %r failed", self.name, watched.process)
            try:
                ready = wait([read, *sentinels])
            except OSError:
                logger.exception("%s: waiting for child processes failed", self.name)
                continue
            if read in ready:
                os.read(read, 65536)
            self._reap([s for s in ready if s != read])

    def _reap(self, sentinels: list[Any]) -> None:
        """Reap the children whose sentinels are ready (they ended), then say so."""
        with self._lock:
            # Out of the books before the sentinel is closed: a child started next may get
            # the same descriptor number.
            ended = [self._watched.pop(sentinel) for sentinel in sentinels]
            for watched in ended:
                watched.reaped = True  # a `kill` from now on has nothing to do
            killed = [watched.kill for watched in ended]
        for watched, was_killed in zip(ended, killed, strict=True):
            process = watched.process
            process.join()  # its sentinel is ready: it has ended, this only reaps it
            code = process.exitcode
            # Reaped elsewhere (SIGCHLD ignored, say), it cannot be closed: its finalizer will.
            with contextlib.suppress(ValueError):
                process.close()
            try:
                watched.ended(code, was_killed)
            except Exception:
                logger.exception("%s: a child's end callback failed", self.name)


_shared: ChildWatcher | None = None
_shared_lock = threading.Lock()


def shared_watcher() -> ChildWatcher:
    """The watcher of children that no runner owns (a `ChildProcess` made on its own)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ChildWatcher("actors-children")
        return _shared


# --- multiprocessing's resource tracker ------------------------------------------------------

_tracker_lock = threading.Lock()
_tracker_holders = 0  # runners' watchers that have started a child and not closed
_tracker_ours = False  # a child of ours started it (it was not running before)


def _tracker() -> Any:
    return getattr(resource_tracker, "_resource_tracker", None)


def _tracker_starting(hold: bool) -> None:
    """A child is about to start: note whether that starts the tracker; `hold` it."""
    global _tracker_holders, _tracker_ours
    with _tracker_lock:
        _tracker_holders += 1 if hold else 0
        if getattr(_tracker(), "_fd", None) is None:
            _tracker_ours = True


def _tracker_release(timeout: float) -> None:
    """A runner's watcher is closed: the last one stops the tracker, if it is ours and no
    child process (which would hold its pipe open) is left."""
    global _tracker_holders, _tracker_ours
    with _tracker_lock:  # held throughout: a child starting meanwhile finds it stopped
        _tracker_holders -= 1
        if _tracker_holders or not _tracker_ours or multiprocessing.active_children():
            return
        _tracker_ours = False
        stop = getattr(_tracker(), "_stop", None)  # CPython's; absent, the tracker stays
        if stop is None:
            return
        # `_stop` waits for the tracker to exit, which it does once every copy of its pipe
        # is closed: a grandchild that outlived its killed parent would hold one forever.
        stopper = threading.Thread(
            target=_stop_tracker, args=(stop,), name="actors-resource-tracker-stop", daemon=True
        )
        stopper.start()
        stopper.join(timeout)
    if stopper.is_alive():
        logger.warning(
            "multiprocessing's resource tracker did not stop in %s s: a process started by "
            "a child process (and outliving it) still holds it",
            timeout,
        )


def _stop_tracker(stop: Callable[[], None]) -> None:
    try:
        stop()
    except Exception:
        logger.exception("stopping multiprocessing's resource tracker failed")
