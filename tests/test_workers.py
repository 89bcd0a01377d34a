"""WorkerPool: the bounded, reused, self-retiring daemon threads that run user code."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest

from actors.runtime import DEFAULT_MAX_WORKERS, WorkerPool
from tests.helpers import eventually

#: How long a test waits on an Event or a join before calling it lost.
WAIT = 5.0


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    """A worker pool shut down after the test."""
    pool = WorkerPool("test-worker")
    yield pool
    pool.shutdown(WAIT)


def thread_job() -> tuple[threading.Event, list[threading.Thread], Callable[[], None]]:
    """A job that records the thread it ran on, then sets an event."""
    done = threading.Event()
    threads: list[threading.Thread] = []

    def job() -> None:
        threads.append(threading.current_thread())
        done.set()

    return done, threads, job


def blocking_job() -> tuple[threading.Event, threading.Event, Callable[[], None]]:
    """A job that says it started, then waits to be released."""
    started, release = threading.Event(), threading.Event()

    def job() -> None:
        started.set()
        release.wait(WAIT)

    return started, release, job


class TestRunning:
    def test_runs_jobs_on_daemon_threads(self, pool: WorkerPool) -> None:
        """A submitted job runs on a named daemon thread, not the caller's."""
        done, threads, job = thread_job()

        pool.submit(job)

        assert done.wait(WAIT)
        assert threads[0] is not threading.current_thread()
        assert threads[0].daemon
        assert threads[0].name.startswith("test-worker-")

    def test_reuses_an_idle_thread(self, pool: WorkerPool) -> None:
        """A job submitted once a worker is idle runs on that worker, not a new thread."""
        first_done, threads, first = thread_job()
        pool.submit(first)
        assert first_done.wait(WAIT)
        eventually(lambda: pool._idle == 1)  # the worker is back, waiting for work
        second_done, second_threads, second = thread_job()

        pool.submit(second)

        assert second_done.wait(WAIT)
        assert second_threads[0] is threads[0]
        assert pool.threads == 1

    def test_busy_workers_get_company(self, pool: WorkerPool) -> None:
        """Jobs submitted while every worker is busy get a thread each and run at once."""
        release = threading.Event()
        started = threading.Barrier(3, timeout=WAIT)

        def job() -> None:
            started.wait()
            release.wait(WAIT)

        pool.submit(job)
        pool.submit(job)
        started.wait()  # both jobs are running at the same time

        assert pool.threads == 2
        release.set()

    def test_failing_job_is_logged_and_the_thread_goes_on(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A job that raises is logged; the same thread then runs the next job."""
        pool = WorkerPool("test-worker", max_workers=1)  # the next job waits for this thread

        def boom() -> None:
            raise RuntimeError("job exploded")

        done, _, job = thread_job()
        with caplog.at_level(logging.ERROR, logger="actors.workers"):
            pool.submit(boom)
            pool.submit(job)
            assert done.wait(WAIT)

        assert "job exploded" in caplog.text
        assert pool.threads == 1
        assert pool.shutdown(WAIT) == []


class TestBound:
    def test_default_bound(self) -> None:
        """The default bound is DEFAULT_MAX_WORKERS."""
        assert WorkerPool().max_workers == DEFAULT_MAX_WORKERS

    @pytest.mark.parametrize("bad", [0, -1])
    def test_bad_bound_refused(self, bad: int) -> None:
        """max_workers below 1 is refused, naming the value."""
        with pytest.raises(ValueError, match=f"max_workers must be >= 1, got {bad}"):
            WorkerPool(max_workers=bad)

    def test_job_waits_for_a_free_thread_at_the_bound(self) -> None:
        """At the bound a new job queues, and runs on a thread freed by an earlier job."""
        pool = WorkerPool("test-worker", max_workers=1)
        first_started, first_release, first = blocking_job()
        second_done, second_threads, second = thread_job()
        first_threads: list[threading.Thread] = []
        pool.submit(lambda: (first_threads.append(threading.current_thread()), first()))
        assert first_started.wait(WAIT)

        pool.submit(second)

        assert not second_done.wait(0.05)  # no thread to run it yet
        assert pool.threads == 1
        first_release.set()
        assert second_done.wait(WAIT)
        assert second_threads[0] is first_threads[0]
        assert pool.shutdown(WAIT) == []

    def test_backlog_runs_in_order_on_one_thread(self) -> None:
        """With one thread, queued jobs run one after another in the order submitted."""
        pool = WorkerPool("test-worker", max_workers=1)
        order: list[int] = []
        done = threading.Event()
        started, release, blocker = blocking_job()
        pool.submit(blocker)
        assert started.wait(WAIT)
        for n in range(10):
            pool.submit(lambda n=n: order.append(n))  # type: ignore[misc]
        pool.submit(done.set)

        release.set()

        assert done.wait(WAIT)
        assert order == list(range(10))
        assert pool.threads == 1
        assert pool.shutdown(WAIT) == []

    def test_never_more_threads_than_the_bound(self) -> None:
        """200 jobs on a pool of 4 all run, never more than 4 at once, on at most 4 threads."""
        pool = WorkerPool("test-worker", max_workers=4)
        lock = threading.Lock()
        running = [0]
        most = [0]
        threads: set[threading.Thread] = set()
        finished = threading.Semaphore(0)
        gate = threading.Barrier(4, timeout=WAIT)

        def job(n: int) -> None:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
                threads.add(threading.current_thread())
            if n < 4:
                gate.wait()  # the first four overlap, so the bound is actually reached
            with lock:
                running[0] -= 1
            finished.release()

        for n in range(200):
            pool.submit(lambda n=n: job(n))  # type: ignore[misc]
        for _ in range(200):
            assert finished.acquire(timeout=WAIT)

        assert most[0] == 4
        assert len(threads) <= 4
        assert pool.threads <= 4
        assert pool.shutdown(WAIT) == []


class TestShutdown:
    def test_threads_exit_after_shutdown(self) -> None:
        """shutdown() ends every idle worker thread and reports none stuck."""
        pool = WorkerPool("test-worker")
        done, threads, job = thread_job()
        pool.submit(job)
        assert done.wait(WAIT)

        stuck = pool.shutdown(WAIT)

        assert stuck == []
        assert not threads[0].is_alive()
        assert pool.threads == 0

    def test_reports_a_stuck_thread(self) -> None:
        """A worker still in user code after the timeout is returned; it exits once freed."""
        pool = WorkerPool("test-worker")
        running, release, job = blocking_job()
        pool.submit(job)
        assert running.wait(WAIT)

        stuck = pool.shutdown(timeout=0.01)

        assert len(stuck) == 1
        assert stuck[0].is_alive()
        release.set()
        stuck[0].join(WAIT)
        assert not stuck[0].is_alive()
        assert pool.threads == 0

    def test_submit_after_shutdown_refused(self) -> None:
        """A shut-down pool refuses new work."""
        pool = WorkerPool("test-worker")
        pool.shutdown()

        with pytest.raises(RuntimeError, match="shut down"):
            pool.submit(lambda: None)

    def test_shutdown_of_an_unused_pool(self) -> None:
        """An unused pool shuts down at once with nothing to report."""
        assert WorkerPool("test-worker").shutdown(WAIT) == []

    def test_idle_thread_exits_after_idle_timeout(self) -> None:
        """A worker with no work for idle_timeout seconds exits, so idle pools hold no thread."""
        pool = WorkerPool("test-worker", idle_timeout=0.01)
        done, threads, job = thread_job()
        pool.submit(job)
        assert done.wait(WAIT)

        threads[0].join(WAIT)

        assert not threads[0].is_alive()
        assert pool.threads == 0
        assert pool.shutdown(WAIT) == []

    def test_new_thread_after_idle_exit(self) -> None:
        """After idle workers retired, the next job gets a fresh thread and runs."""
        pool = WorkerPool("test-worker", idle_timeout=0.01)
        first_done, first_threads, first = thread_job()
        pool.submit(first)
        assert first_done.wait(WAIT)
        first_threads[0].join(WAIT)
        second_done, second_threads, second = thread_job()

        pool.submit(second)

        assert second_done.wait(WAIT)
        assert second_threads[0] is not first_threads[0]
        assert pool.shutdown(WAIT) == []
