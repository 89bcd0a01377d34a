"""The worker pool: the threads that run user code (`args_fn`, `main_fn`).

No actor ever runs user code on its own message loop: a SpawnActor hands each run to this
pool and goes back to its mailbox. Threads are created on demand up to a bound, reused while
work keeps coming, and exit after a few idle seconds, so a runner whose jobs are idle holds no
worker thread.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable

from actors.runtime._dispatcher import runs_actors

__all__ = ["DEFAULT_MAX_WORKERS", "WorkerPool"]

logger = logging.getLogger("actors.workers")

#: Default bound on worker threads. Runs beyond it wait their turn in the pool's queue.
DEFAULT_MAX_WORKERS = 64

_thread_numbers = itertools.count(1)


class WorkerPool:
    """Daemon threads that run jobs: created on demand, bounded, reused, gone when idle.

    `shutdown()` asks every thread to exit and reports the ones still stuck in user code: Python
    cannot kill a thread, but they are daemons, so they never keep the interpreter alive.

    Args:
        name: prefix of the threads' names.
        max_workers: at most this many threads; further jobs queue.
        idle_timeout: a thread with no job for this many seconds exits.
    """

    def __init__(
        self,
        name: str = "actors-worker",
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        idle_timeout: float = 5.0,
    ) -> None:
        if max_workers < 1:
            msg = f"max_workers must be >= 1, got {max_workers!r}"
            raise ValueError(msg)
        self._name = name
        self._max_workers = max_workers
        self._idle_timeout = idle_timeout
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        # Books kept under the lock: threads waiting with no job promised to them, and jobs
        # queued with no thread promised to them. At most one of the two is non-zero.
        self._idle = 0
        self._backlog = 0
        self._threads: set[threading.Thread] = set()
        self._closed = False

    @property
    def threads(self) -> int:
        """Worker threads alive now."""
        with self._lock:
            return len(self._threads)

    @property
    def max_workers(self) -> int:
        """The bound on worker threads."""
        return self._max_workers

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` on a worker thread: an idle one, else a new one, else when one frees up.

        Raises:
            RuntimeError: the pool is shut down.
        """
        with self._lock:
            if self._closed:
                msg = "worker pool is shut down"
                raise RuntimeError(msg)
            if self._idle > 0:
                self._idle -= 1
            elif len(self._threads) < self._max_workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{next(_thread_numbers)}", daemon=True
                )
                self._threads.add(thread)
                thread.start()
            else:
                self._backlog += 1
            self._jobs.put(job)

    def _work(self) -> None:
        runs_actors()  # a worker merges the result it produced itself: no thread to wake
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=self._idle_timeout)
                except queue.Empty:
                    with self._lock:
                        if self._idle > 0 or self._closed:
                            self._idle -= 0 if self._closed else 1
                            return
                    continue  # a job was promised to a waiting thread: stay for it
                if job is None:
                    return
                try:
                    job()
                except BaseException:
                    logger.exception("worker job failed")
                with self._lock:
                    if self._closed:
                        return
                    if self._backlog > 0:
                        self._backlog -= 1
                    else:
                        self._idle += 1
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def shutdown(
        self,
        timeout: float = 1.0,
        *,
        abandoned: Callable[[], set[threading.Thread]] | None = None,
    ) -> list[threading.Thread]:
        """Ask every worker to exit; return those still running user code after `timeout`.

        Threads in `abandoned()` (inside a job nobody waits for any more) are not waited for.
        """
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            if abandoned is not None and thread in abandoned():
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
        return [thread for thread in threads if thread.is_alive()]
