"""StoreWriter: one thread committing writes in batches (group commit) to a real SQLiteStore.

The store is an SQLiteStore that counts its `write` calls (and can hold the first one), so
the batching is seen where it happens, not guessed from timings.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest

from actors.errors import StoreError
from actors.store import SQLiteStore
from actors.store.abc import Write, WriteResult
from actors.store.writer import StoreWriter
from tests.store_helpers import firing, install, program

Outcome = WriteResult | BaseException
_Store = TypeVar("_Store", bound=SQLiteStore)


class CountingStore(SQLiteStore):
    """An SQLiteStore that records the size of each batch, and can hold the first batch
    until `release` is set (telling `entered` once it is held)."""

    def __init__(self, path: Path, *, hold: bool = False, flush_interval: float = 0.01) -> None:
        super().__init__(path, flush_interval=flush_interval)
        self.calls: list[int] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        self.calls.append(len(batch))
        self.entered.set()
        assert self.release.wait(10), "the test never released the first batch"
        return super().write(batch)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "actors.db"


@contextlib.contextmanager
def opened(store: _Store) -> Iterator[_Store]:
    """`store`, open for the block."""
    store.open("runner-1")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def writers() -> Iterator[list[StoreWriter]]:
    """Writers the test makes, closed after it (so no thread is left behind)."""
    made: list[StoreWriter] = []
    yield made
    for writer in made:
        writer.close()


def test_writes_that_queue_while_a_batch_commits_form_one_batch(
    path: Path, writers: list[StoreWriter]
) -> None:
    """Group commit: the 299 writes submitted while the first batch is being written are
    committed together, in one more `write` call; each callback gets its write's result."""
    with opened(CountingStore(path, hold=True)) as store:
        writer = StoreWriter(store)
        writers.append(writer)
        results: list[Outcome] = []
        writer.submit(install("p0"), results.append)
        assert store.entered.wait(5)
        for number in range(1, 300):
            writer.submit(install(f"p{number}"), results.append)
        store.release.set()
        assert writer.flush(timeout=10)
        assert store.calls == [1, 299]
        assert writer.batches == 2
        assert results == ["ok"] * 300
        assert len(store.load()) == 300


def test_many_submits_from_many_threads_take_few_batches(
    path: Path, writers: list[StoreWriter]
) -> None:
    """400 writes submitted at once from 8 threads commit in far fewer `write` calls than
    writes (each batch waits `flush_interval` for more), and every one is written."""
    with opened(CountingStore(path, flush_interval=0.05)) as store:
        writer = StoreWriter(store)
        writers.append(writer)
        start = threading.Barrier(8)

        def submit(thread: int) -> None:
            start.wait()
            for number in range(50):
                writer.submit(install(f"t{thread}-{number}"))

        threads = [threading.Thread(target=submit, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert writer.flush(timeout=10)
        assert sum(store.calls) == 400
        assert len(store.calls) <= 40, store.calls
        assert len(store.load()) == 400


def test_flush_commits_at_once(path: Path, writers: list[StoreWriter]) -> None:
    """`flush` commits what is queued without waiting out `flush_interval` (30 s here), and
    returns once it is written."""
    with opened(CountingStore(path, flush_interval=30.0)) as store:
        writer = StoreWriter(store)
        writers.append(writer)
        for name in ("a", "b", "c"):
            writer.submit(install(name))
        assert writer.flush(timeout=5)
        assert [p.row.id for p in store.load()] == ["a", "b", "c"]
        assert store.calls == [3]


def test_an_urgent_write_commits_without_waiting_out_the_interval(
    path: Path, writers: list[StoreWriter]
) -> None:
    """An urgent write (work waits for it) commits as soon as the thread is free, taking the
    writes queued before it along, though `flush_interval` is 30 s; a later plain write waits
    for its interval again."""
    with opened(CountingStore(path, flush_interval=30.0)) as store:
        writer = StoreWriter(store)
        writers.append(writer)
        committed = threading.Event()
        writer.submit(install("a"))
        writer.submit(install("b"), lambda outcome: committed.set(), urgent=True)
        assert committed.wait(5)
        assert store.calls == [2]
        later = threading.Event()
        writer.submit(install("c"), lambda outcome: later.set())
        assert not later.wait(0.2)  # sleep-ok: a while in which nothing may commit
        assert store.calls == [2]
        assert writer.flush(timeout=5)
        assert store.calls == [2, 1]


def test_close_commits_what_is_queued_and_ends_the_thread(
    path: Path, writers: list[StoreWriter]
) -> None:
    """`close` commits the queued writes, ends the writer's thread, and is idempotent; a
    write submitted after it raises StoreError instead of being lost unseen."""
    with opened(CountingStore(path, flush_interval=30.0)) as store:
        writer = StoreWriter(store)
        results: list[Outcome] = []
        for number in range(5):
            writer.submit(install(f"p{number}"), results.append)
        writer.close(timeout=5)
        assert not writer._thread.is_alive()
        assert results == ["ok"] * 5
        assert len(store.load()) == 5
        writer.close()
        with pytest.raises(StoreError, match="is closed"):
            writer.submit(install("late"))
        assert writer.flush(timeout=1)  # nothing pending: a flush after close returns


def test_a_failing_batch_reports_its_error_to_every_callback(
    path: Path, writers: list[StoreWriter], caplog: pytest.LogCaptureFixture
) -> None:
    """When a batch fails, each of its writes' callbacks gets the same StoreError, none of
    them is written, the failure is logged, and the next batch is written."""
    with opened(CountingStore(path, flush_interval=30.0)) as store:
        writer = StoreWriter(store)
        writers.append(writer)
        results: list[Outcome] = []
        naive = datetime(2026, 1, 1)  # refused by the store: it fails the batch
        writer.submit(install("a"), results.append)
        writer.submit(Write(program_id="b", program=program("b", last_run=naive)), results.append)
        writer.submit(install("c"), results.append)
        with caplog.at_level(logging.ERROR, logger="actors.store"):
            assert writer.flush(timeout=5)
        assert len(results) == 3
        assert isinstance(results[0], StoreError)
        assert all(result is results[0] for result in results)
        assert "none of the 3 change(s)" in str(results[0])
        assert store.load() == []
        assert "writing 3 change(s) to sqlite:///" in caplog.text
        after: list[Outcome] = []
        writer.submit(install("d"), after.append)
        assert writer.flush(timeout=5)
        assert after == ["ok"]


def test_each_callback_gets_its_own_writes_result(path: Path, writers: list[StoreWriter]) -> None:
    """In one batch, each write's callback hears its own result: ok, duplicate, stale."""
    with opened(CountingStore(path, flush_interval=30.0)) as store:
        writer = StoreWriter(store)
        writers.append(writer)
        heard: dict[str, Outcome] = {}
        writer.submit(install("p"), lambda r: heard.__setitem__("install", r))
        fire = Write(program_id="p", firing=firing(minute=1))
        writer.submit(fire, lambda r: heard.__setitem__("first", r))
        writer.submit(fire, lambda r: heard.__setitem__("again", r))
        stale = Write(program_id="p", epoch=5, program=program(epoch=5))
        writer.submit(stale, lambda r: heard.__setitem__("stale", r))
        assert writer.flush(timeout=5)
        assert heard == {"install": "ok", "first": "ok", "again": "duplicate", "stale": "stale"}
        assert store.calls == [4]


def test_a_callback_that_raises_does_not_stop_the_writer(
    path: Path, writers: list[StoreWriter], caplog: pytest.LogCaptureFixture
) -> None:
    """A callback's exception is logged; the other callbacks of its batch, and later batches,
    are still served."""
    with opened(CountingStore(path, flush_interval=30.0)) as store:
        writer = StoreWriter(store)
        writers.append(writer)
        results: list[Outcome] = []

        def broken(result: Outcome) -> None:
            raise RuntimeError("callback broke")

        with caplog.at_level(logging.ERROR, logger="actors.store"):
            writer.submit(install("a"), broken)
            writer.submit(install("b"), results.append)
            assert writer.flush(timeout=5)
        writer.submit(install("c"), results.append)
        assert writer.flush(timeout=5)
        assert results == ["ok", "ok"]
        assert "store write callback failed" in caplog.text


def test_a_store_answering_the_wrong_number_of_results_fails_the_batch(
    path: Path, writers: list[StoreWriter]
) -> None:
    """When a store's `write` answers fewer results than writes, every callback of that
    batch hears a StoreError saying so, rather than some being left unanswered."""

    class Forgetful(SQLiteStore):
        def write(self, batch: Sequence[Write]) -> list[WriteResult]:
            return super().write(batch)[:-1]

    with opened(Forgetful(path, flush_interval=30.0)) as store:
        writer = StoreWriter(store)
        writers.append(writer)
        results: list[Outcome] = []
        writer.submit(install("a"), results.append)
        writer.submit(install("b"), results.append)
        assert writer.flush(timeout=5)
        assert len(results) == 2
        assert all(
            isinstance(r, StoreError) and "answered 1 results for 2" in str(r) for r in results
        )
