"""A second process for the store tests: `python tests/store_child.py MODE PATH [RUNNER]`.

Modes (each prints one line when it is where the test wants it, then waits for its stdin to
close, so the test synchronises on output and never on time):

- `hold`: open the store at PATH (a file, or a PostgreSQL URL) as runner RUNNER, commit one
  program `from-child`, print `holding <pid>`, wait.
- `lock`: take a write transaction on the file with plain `sqlite3` (not actors), print
  `locked`, wait, roll back.
- `open`: try to open the store as runner `child`, print `opened` or `StoreError: <message>`.
  Run as root, it first drops to uid/gid 65534 (nobody), so that file permissions apply.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from datetime import UTC, datetime

# Everything is imported before `open` drops privileges: the interpreter's own files may not
# be readable by nobody.
from actors.errors import StoreError
from actors.store import SQLiteStore, open_store
from actors.store.abc import ProgramRow, Write

NOBODY = 65534


def hold(path: str, runner_id: str) -> None:
    store = open_store(path)
    store.open(runner_id)
    row = ProgramRow(
        id="from-child", definition=None, schedule="{}", since=datetime.now(UTC), state=b"{}"
    )
    store.write([Write(program_id="from-child", program=row)])
    print(f"holding {os.getpid()}", flush=True)
    sys.stdin.read()
    store.close()


def lock(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # the write lock, held until stdin closes
    print("locked", flush=True)
    sys.stdin.read()
    conn.execute("ROLLBACK")
    conn.close()


def try_open(path: str) -> None:
    if os.getuid() == 0:
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    store = SQLiteStore(path)
    try:
        store.open("child")
    except StoreError as error:
        print(f"StoreError: {error}", flush=True)
        return
    store.close()
    print("opened", flush=True)


if __name__ == "__main__":
    mode, target = sys.argv[1], sys.argv[2]
    if mode == "hold":
        hold(target, sys.argv[3])
    elif mode == "lock":
        lock(target)
    elif mode == "open":
        try_open(target)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
