"""StoreWriter: the one thread that writes a store, committing writes in batches.

Writes queue up; the thread takes the first, waits until `flush_interval` has passed since it
came (or the queue is being flushed), takes everything queued meanwhile, and commits it all in
one transaction (group commit): a few milliseconds of latency buy one fsync for hundreds of
writes. Each write's callback then gets its result, on this thread; callbacks must not block
(they post a message to an actor).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from actors.store.abc import Store, Write, WriteResult

__all__ = ["StoreWriter", "WriteCallback"]

logger = logging.getLogger("actors.store")

#: Called with a write's result, or with the error that failed its batch.
WriteCallback = Callable[[WriteResult | BaseException], None]

_FLUSH = object()
_CLOSE = object()


class StoreWriter:
    """One thread writing `store` in batches at most `store.flush_interval` apart."""

    def __init__(self, store: Store, name: str = "actors-store-writer") -> None:
        self.store = store
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._flushed = threading.Condition()
        self._submitted = 0
        self._done = 0
        self.batches = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, write: Write, callback: WriteCallback | None = None) -> None:
        """Queue `write`; `callback(result)` is called once its batch has committed."""
        with self._flushed:
            self._submitted += 1
        self._queue.put((write, callback))

    def flush(self, timeout: float | None = None) -> bool:
        """Commit everything queued now, and wait for it; `False` if `timeout` passed first."""
        with self._flushed:
            target = self._submitted
        self._queue.put(_FLUSH)
        with self._flushed:
            return self._flushed.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then end the thread."""
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
            batch: list[tuple[Write, WriteCallback | None]] = []
            if item is not None and item is not _FLUSH:
                batch.append(item)  # type: ignore[arg-type]
                # Group commit: let more writes join this batch, up to flush_interval.
                deadline = time.monotonic() + self.store.flush_interval
                while True:
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
                    batch.append(more)  # type: ignore[arg-type]
            while True:  # whatever else is queued already joins (a flush or a close asked)
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _CLOSE:
                    closing = True
                elif more is not _FLUSH:
                    batch.append(more)  # type: ignore[arg-type]
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[tuple[Write, WriteCallback | None]]) -> None:
        outcomes: list[WriteResult | BaseException]
        try:
            outcomes = list(self.store.write([write for write, _ in batch]))
        except Exception as error:  # noqa: BLE001 - every write of the batch hears of it
            logger.error("writing %d change(s) to %s failed: %r", len(batch), self.store.url, error)
            outcomes = [error] * len(batch)
        self.batches += 1
        for (_, callback), outcome in zip(batch, outcomes, strict=True):
            if callback is not None:
                try:
                    callback(outcome)
                except Exception:
                    logger.exception("store write callback failed")
        with self._flushed:
            self._done += len(batch)
            self._flushed.notify_all()
