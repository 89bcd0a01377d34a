"""RunnerLock: one runner at a time on a store, by an OS lock on a file beside it.

The lock is `flock(LOCK_EX | LOCK_NB)` on `<store>-lock`, into which the holder writes its
runner id, pid and host, so that a second runner is told who holds the store. The OS drops
the lock when its holder's process ends however it ends, so a restart right after a `kill -9`
opens at once; and a lock file left behind means nothing. Each open of the file is a lock of
its own, so a second store object in the same process is refused too.

Several runners sharing a store by leases will replace this class.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from actors.errors import StoreError

__all__ = ["RunnerLock"]


class RunnerLock:
    """The exclusive hold of one runner on the store at `store_path`."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.path = store_path.with_name(store_path.name + "-lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self, runner_id: str) -> None:
        """Take the lock for `runner_id`, or fail at once.

        Raises:
            StoreError: another runner holds it (the message names it), or the lock file
                cannot be made (a read-only directory).
        """
        if self._fd is not None:
            return
        try:
            # O_CLOEXEC: a child process started with exec must not keep the lock alive after
            # the runner dies. (A plain fork() child does share it until it exits.)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            where = (
                f"the lock file {self.path} is not writable"
                if self.path.exists()
                else f"its directory {self.path.parent} is read-only"
            )
            msg = (
                f"store {self.store_path} cannot be opened: {where} ({error.strerror}): make it "
                "writable, or give another store path"
            )
            raise StoreError(msg) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder(fd)
            os.close(fd)
            msg = (
                f"store {self.store_path} is in use by {holder}: stop that runner first, or "
                "give this one another store"
            )
            raise StoreError(msg) from None
        except OSError as error:
            os.close(fd)
            msg = f"store {self.store_path}: cannot lock {self.path} ({error.strerror})"
            raise StoreError(msg) from error
        record = {"runner": runner_id, "pid": os.getpid(), "host": socket.gethostname()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (idempotent). The file stays: removing it would race with a runner
        opening it at that moment."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # so the file names no holder once nobody holds it
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @staticmethod
    def _holder(fd: int) -> str:
        """Who the lock file says holds it, for the error."""
        try:
            record = json.loads(os.pread(fd, 4096, 0))
            return f"runner {record['runner']} (pid {record['pid']} on {record['host']})"
        except (OSError, ValueError, KeyError, TypeError):
            # The holder is between taking the lock and writing its name.
            return "another runner"
