"""SIGINT and SIGTERM while `actors run` or `actors repl` has a runner going.

`StopSignals` turns either signal into a `KeyboardInterrupt` and remembers which came first, so
that `run` can say why it stopped and tell a second request from the first one delivered twice.
`signals_to_main_thread` keeps both signals off the runner's threads, so that they reach the
main thread at once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["REPEAT_WINDOW", "StopSignals", "signals_to_main_thread"]

#: A second stop signal this soon (seconds) after the first is taken as the same one, not as
#: "again, abandon the work": GNU `timeout -s INT` sends its signal to the process and then to
#: its process group, so the process gets it twice, microseconds apart. A person reading
#: "Ctrl-C again abandons it" takes longer than this to press it again.
REPEAT_WINDOW = 0.5

_SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class StopSignals:
    """SIGINT and SIGTERM as a `KeyboardInterrupt`, remembering which came first and when.

    The first signal raises; one that repeats it within `REPEAT_WINDOW` is dropped; any later
    one raises again (the caller then abandons the work).
    """

    def __init__(self) -> None:
        self.first: str | None = None  # "Ctrl-C" or "SIGTERM"
        self.first_at = 0.0
        self.last: str | None = None

    def handle(self, signum: int, frame: object) -> None:
        now = time.monotonic()
        name = _SIGNAL_NAMES.get(signal.Signals(signum), signal.Signals(signum).name)
        if self.first is None:
            self.first, self.first_at = name, now
        elif now - self.first_at < REPEAT_WINDOW:
            return  # the first signal delivered twice, not a second request
        self.last = name
        raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """While inside, both signals go to `handle` (main thread only: elsewhere, no change)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {signum: signal.signal(signum, self.handle) for signum in _SIGNAL_NAMES}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


@contextmanager
def signals_to_main_thread() -> Iterator[None]:
    """Threads started inside (the runner's dispatcher, clock and worker threads, and the
    threads they start in turn) block SIGINT and SIGTERM, so the kernel delivers those to the
    main thread. Otherwise a Ctrl-C that lands on another thread is noticed only once the main
    thread next runs Python code: a console waiting in `input()` would miss it until a key."""
    if not hasattr(signal, "pthread_sigmask") or (
        threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
