"""StoreWriter: the one thread that writes a store, committing writes in batches.

Writes queue up; the thread takes the first, waits until `flush_interval` has passed since it
came (or the queue is being flushed), takes everything queued meanwhile, and commits it all in
one transaction (group commit): a few milliseconds of latency buy one commit for hundreds of
writes. An urgent write (one that work waits for: a firing, whose runs start once it is stored)
does not wait out the interval: its batch is what is queued when it comes, and the writes
queued while that batch commits make the next one, so batches still grow under load. Each
write's callback then gets its result, on this thread; callbacks must not block (they post a
message to an actor).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from actors.errors import StoreError
from actors.store.abc import Store, Write, WriteResult

__all__ = ["StoreWriter", "WriteCallback"]

logger = logging.getLogger("actors.store")

#: Called with a write's result, or with the error that failed its batch.
WriteCallback = Callable[[WriteResult | BaseException], None]

_FLUSH = object()
_CLOSE = object()


class _Queued(NamedTuple):
    write: Write
    callback: WriteCallback | None
    urgent: bool


class StoreWriter:
    """One thread writing `store` in batches at most `store.flush_interval` apart."""

    def __init__(self, store: Store, name: str = "actors-store-writer") -> None:
        self.store = store
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._flushed = threading.Condition()
        self._submitted = 0
        self._done = 0
        self._closed = False
        self.batches = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(
        self, write: Write, callback: WriteCallback | None = None, *, urgent: bool = False
    ) -> None:
        """Queue `write`; `callback(result)` is called once its batch has committed (`urgent`:
        commit it as soon as the thread is free, not after `flush_interval`).

        Raises:
            StoreError: the writer is closed (the write would never be written).
        """
        with self._flushed:
            if self._closed:
                msg = f"the writer of {self.store.url} is closed: {write.program_id!r} not written"
                raise StoreError(msg)
            self._submitted += 1
            # Queued under the lock, so no write can slip in behind close()'s marker.
            self._queue.put(_Queued(write, callback, urgent))

    def flush(self, timeout: float | None = None) -> bool:
        """Commit everything queued now, and wait for it; `False` if `timeout` passed first."""
        with self._flushed:
            target = self._submitted
        self._queue.put(_FLUSH)
        with self._flushed:
            return self._flushed.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then end the thread. Idempotent."""
        with self._flushed:
            self._closed = True
            self._queue.put(_CLOSE)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("store writer of %s did not finish within %s s", self.store.url, timeout)

    def _loop(self) -> None:
        closing = False
        while not closing:
            item = self._queue.get()
            if item is _CLOSE:
                closing = True
                item = None
            batch: list[_Queued] = []
            if isinstance(item, _Queued):
                batch.append(item)
                # Group commit: let more writes join this batch, up to flush_interval.
                deadline = time.monotonic() + self.store.flush_interval
                while not batch[-1].urgent:
                    remaining = deadline - time.monotonic()
                    try:
                        more = (
                            self._queue.get(timeout=max(0.0, remaining))
                            if remaining > 0
                            else self._queue.get_nowait()
                        )
                    except queue.Empty:
                        break
                    if more is _FLUSH:
                        break
                    if more is _CLOSE:
                        closing = True
                        break
                    assert isinstance(more, _Queued)
                    batch.append(more)
            while True:  # whatever else is queued already joins (a flush or a close asked)
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _CLOSE:
                    closing = True
                elif isinstance(more, _Queued):
                    batch.append(more)
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[_Queued]) -> None:
        outcomes: list[WriteResult | BaseException]
        try:
            outcomes = list(self.store.write([queued.write for queued in batch]))
            if len(outcomes) != len(batch):
                msg = f"{self.store.url} answered {len(outcomes)} results for {len(batch)} writes"
                raise StoreError(msg)
        except Exception as error:  # noqa: BLE001 - every write of the batch hears of it
            logger.error("writing %d change(s) to %s failed: %r", len(batch), self.store.url, error)
            outcomes = [error] * len(batch)
        self.batches += 1
        for queued, outcome in zip(batch, outcomes, strict=True):
            if queued.callback is not None:
                try:
                    queued.callback(outcome)
                except Exception:
                    logger.exception("store write callback failed")
        with self._flushed:
            self._done += len(batch)
            self._flushed.notify_all()
