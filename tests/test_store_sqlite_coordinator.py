"""SQLiteCoordinator on real files: runners claim fair, disjoint shares of the programs; a
lapsed lease is taken over with a new epoch that fences the old owner's writes; renewals name
the programs lost; a release frees programs at once; a runner id a live process uses is
refused; calls go through the store and are withdrawn when unanswered; and two processes
writing the same firings to one file through `SQLiteStore.write` never both write one.

Times are microseconds, as a runner's membership gives them; no test sleeps to synchronise
(threads meet at barriers, processes at lines of their output).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.errors import StoreError
from actors.store.abc import Write
from actors.store.runner_liveness import this_host
from actors.store.sqlite import SQLiteStore
from actors.store.sqlite_coordinator import SQLiteCoordinator
from tests.helpers import eventually
from tests.store_helpers import install, program

SECOND = 1_000_000  # leases and clocks are microseconds
LEASE = 15 * SECOND
T = 1_000 * SECOND  # "now" for the tests


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A store of 12 programs, p00 ... p11, that no runner holds, and no runner recorded."""
    path = tmp_path / "actors.db"
    store = SQLiteStore(path)
    store.open("seed")
    store.write([install(f"p{n:02d}") for n in range(12)])
    store.close()
    return path


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    """The store, open: what coordinators are made from."""
    store = SQLiteStore(path)
    store.open("tests")
    yield store
    store.close()


@pytest.fixture
def coordinators(store: SQLiteStore) -> Iterator[dict[str, SQLiteCoordinator]]:
    """Coordinators of runners a, b, c and d, each on a connection of its own, not joined."""
    made = {name: store.coordinator(name) for name in "abcd"}
    yield made
    for coordinator in made.values():
        coordinator.close()


def raw(path: Path, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
    """Rows of `sql` read straight from the file."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, parameters).fetchall()


def owners(path: Path) -> dict[str, str | None]:
    """Each program's owner, read straight from the file."""
    return dict(raw(path, "SELECT id, owner FROM actors_programs"))


def gone_pid() -> int:
    """The pid of a process of this host that has ended."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                           capture_output=True, text=True)  # fmt: skip
    return int(child.stdout)


# --- leases ----------------------------------------------------------------------------------


def test_live_runners_claim_fair_disjoint_shares(
    path: Path, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """Three live runners claiming one after another take 4 programs each, none twice, each
    with epoch 1; a second claim by a runner that has its share takes nothing."""
    three = [coordinators[name] for name in "abc"]
    for coordinator in three:
        coordinator.join(now=T, span=LEASE)
    assert [c.share(now=T, span=LEASE) for c in three] == [4, 4, 4]
    taken = {c.runner_id: c.claim(now=T, span=LEASE) for c in three}
    assert [len(ids) for ids in taken.values()] == [4, 4, 4]
    assert coordinators["a"].claim(now=T, span=LEASE) == {}
    assert sorted(map(str, owners(path).values())) == ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    assert all(epoch == 1 for ids in taken.values() for epoch in ids.values())


def test_runners_claiming_at_once_never_take_the_same_program(
    path: Path, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """Four runners claiming at the same moment on four connections take turns on the write
    lock: no program is taken twice, and every one is taken."""
    for coordinator in coordinators.values():
        coordinator.join(now=T, span=LEASE)
    taken: dict[str, dict[str, int]] = {}
    start = threading.Barrier(len(coordinators))

    def claimer(coordinator: SQLiteCoordinator) -> None:
        start.wait()
        taken[coordinator.runner_id] = coordinator.claim(now=T, span=LEASE)

    threads = [threading.Thread(target=claimer, args=(c,)) for c in coordinators.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    claimed = [program_id for ids in taken.values() for program_id in ids]
    assert sorted(claimed) == [f"p{n:02d}" for n in range(12)]
    assert set(owners(path).values()) == set("abcd")


def test_a_lapsed_lease_is_taken_over_and_fences_the_old_owner(
    store: SQLiteStore, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """When runner a stops renewing, runner b (alone alive) takes a's programs after the lease
    with a new epoch; a's renewal then names every program it lost, and a write carrying a's
    epoch is refused as stale (one carrying b's is written)."""
    a, b = coordinators["a"], coordinators["b"]
    a.join(now=T, span=LEASE)
    held = a.claim(now=T, span=LEASE)
    assert len(held) == 12
    b.join(now=T, span=LEASE)
    assert b.claim(now=T + LEASE // 2, span=LEASE) == {}  # a's leases hold
    later = T + LEASE + SECOND
    b.heartbeat(later, LEASE)
    taken = b.claim(now=later, span=LEASE)
    assert set(taken) == set(held)
    assert all(taken[p] == held[p] + 1 for p in held)
    assert a.renew(held, now=later, span=LEASE) == set(held)
    stale = Write(program_id="p00", epoch=held["p00"], program=program("p00", runs=9))
    fresh = Write(program_id="p01", epoch=taken["p01"], program=program("p01", runs=9))
    assert store.write([stale, fresh]) == ["stale", "ok"]


def test_renewal_keeps_programs_and_release_frees_them(
    coordinators: dict[str, SQLiteCoordinator],
) -> None:
    """A renewed lease holds past its first expiry, and a program not stored yet is not
    lost; released programs go to the next claim at once; `runners` lists the runners, the
    most recently heard of first."""
    a, b = coordinators["a"], coordinators["b"]
    a.join(now=T, span=LEASE)
    held = a.claim(now=T, span=LEASE)
    assert a.renew({**held, "new": 1}, now=T + LEASE - SECOND, span=LEASE) == set()
    b.join(now=T + LEASE + SECOND, span=LEASE)
    assert b.claim(now=T + LEASE + SECOND, span=LEASE) == {}
    a.release(sorted(held)[:3])
    assert sorted(b.claim(now=T + LEASE + SECOND, span=LEASE)) == sorted(held)[:3]
    assert [row.id for row in a.runners()] == ["b", "a"]


def test_take_reserve_and_owner_of_follow_the_free_rule(
    path: Path, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """`take` gets a program nobody holds (its epoch), not one a live runner holds, and one
    of a runner declared dead; `reserve` makes a new program's row once, last in install
    order; `owner_of` names the owner and whether it is alive."""
    a, b = coordinators["a"], coordinators["b"]
    a.join(now=T, span=LEASE)
    b.join(now=T, span=LEASE)
    assert a.take("p00", now=T, span=LEASE) == 1
    assert b.take("p00", now=T, span=LEASE) is None
    assert b.take("p00", now=T, span=LEASE, dead=["a"]) == 2
    assert a.owner_of("p00", now=T, span=LEASE) == ("b", True)
    assert a.owner_of("p00", now=T + 2 * LEASE, span=LEASE) == ("b", False)
    assert a.owner_of("missing", now=T, span=LEASE) is None
    assert a.reserve("new", b"null", now=T, span=LEASE) == T
    assert b.reserve("new", b"null", now=T, span=LEASE) is None
    order = raw(path, "SELECT id FROM actors_programs ORDER BY install_order")
    assert order[-1] == ("new",)
    assert a.owner_of("new", now=T, span=LEASE) == ("a", True)


def test_leave_releases_everything_and_heartbeats_forget_the_long_gone(
    path: Path, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """A runner that leaves frees its programs (their epochs move on) and its row goes; a
    heartbeat forgets runners not heard of for many leases."""
    a, b = coordinators["a"], coordinators["b"]
    a.join(now=T, span=LEASE)
    held = a.claim(now=T, span=LEASE)
    a.leave()
    assert set(owners(path).values()) == {None}
    epochs = dict(raw(path, "SELECT id, epoch FROM actors_programs"))
    assert all(epochs[p] == held[p] + 1 for p in held)
    c = coordinators["c"]
    c.join(now=T, span=LEASE)
    b.join(now=T + 100 * LEASE, span=LEASE)
    b.heartbeat(T + 100 * LEASE, LEASE)
    assert [row.id for row in b.runners()] == ["b"]


# --- runner ids ------------------------------------------------------------------------------


def test_join_refuses_an_id_a_live_process_uses(
    path: Path, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """An id recorded by another live process of this host (here the test's parent), heard of
    within the lease, is refused naming that process; once it is unheard of past the lease,
    the id is free again."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO actors_runners (id, pid, host, started_at, heartbeat) "
            "VALUES ('a', ?, ?, ?, ?)",
            (os.getppid(), this_host(), T, T),
        )
    conn.close()
    with pytest.raises(StoreError, match=rf"runner id 'a' is in use by pid {os.getppid()} on "):
        coordinators["a"].join(now=T + SECOND, span=LEASE)
    coordinators["a"].join(now=T + 2 * LEASE, span=LEASE)
    assert [(row.id, row.pid) for row in coordinators["a"].runners()] == [("a", os.getpid())]


def test_join_takes_over_the_id_of_a_process_that_is_gone(
    path: Path, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """An id whose process on this host is gone (a `kill -9`) is free at once, however
    recently it was heard of, and what it held is freed with its epoch moved on."""
    a = coordinators["a"]
    a.join(now=T, span=LEASE)
    held = a.claim(now=T, span=LEASE)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE actors_runners SET pid = ? WHERE id = 'a'", (gone_pid(),))
    conn.close()
    a.join(now=T + SECOND, span=LEASE)
    assert set(owners(path).values()) == {None}
    epochs = dict(raw(path, "SELECT id, epoch FROM actors_programs"))
    assert all(epochs[p] == held[p] + 1 for p in held)


# --- commands --------------------------------------------------------------------------------


def test_a_call_is_taken_by_pending_and_answered(
    path: Path, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """A call from any thread becomes a command that its owner's `pending` takes once; the
    owner's answer comes back to the caller, and the command is gone from the store."""
    owner = coordinators["a"]
    owner.join(now=T, span=LEASE)
    answers: list[tuple[bool, bytes] | None] = []

    def caller() -> None:
        answers.append(
            coordinators["b"].call("a", "p00", "GetState", b"payload", now=T, timeout=10.0)
        )

    thread = threading.Thread(target=caller)
    thread.start()
    (command,) = eventually(owner.pending)
    assert (command.program_id, command.kind, command.payload) == ("p00", "GetState", b"payload")
    assert owner.pending() == []  # taken once
    owner.answer(command.id, True, b"state")
    thread.join(10)
    assert answers == [(True, b"state")]
    assert raw(path, "SELECT COUNT(*) FROM actors_commands") == [(0,)]


def test_an_unanswered_call_is_withdrawn_at_its_timeout(
    path: Path, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """A call nobody answers returns `None` after its timeout, and its command is withdrawn:
    the owner never sees it."""
    coordinators["a"].join(now=T, span=LEASE)
    assert coordinators["b"].call("a", "p00", "Trigger", b"", now=T, timeout=0.1) is None
    assert raw(path, "SELECT COUNT(*) FROM actors_commands") == [(0,)]
    assert coordinators["a"].pending() == []


def test_a_closed_coordinator_refuses_calls_and_a_closed_store_makes_none(
    path: Path, coordinators: dict[str, SQLiteCoordinator]
) -> None:
    """A coordinator used after `close` (which is idempotent) is a StoreError, and so is
    asking a store that is not open for one."""
    a = coordinators["a"]
    a.close()
    a.close()
    with pytest.raises(StoreError, match="closed"):
        a.heartbeat(T, LEASE)
    with pytest.raises(StoreError, match="not open"):
        SQLiteStore(path).coordinator("a")


# --- two processes on one file ---------------------------------------------------------------


def run_together(script: str, argvs: list[list[str]]) -> list[tuple[int, str, str]]:
    """Start one process of `script` per argument list; once every one has printed `ready`,
    tell them all to go at once (a line on their stdin); their exit codes and outputs."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n", child.communicate()[1]
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    return [
        (child.returncode, out, err) for child, (out, err) in zip(children, outputs, strict=True)
    ]


#: A second process: opens the store, says `ready`, waits for a line, then writes the firings
#: of p00 ... p04 at minutes 0 ... 199 (in its own order) in batches of 40, each with its
#: program's row, and prints the result of each firing as JSON.
WRITER = """
import json, random, sys
from datetime import UTC, datetime, timedelta
from actors.store.abc import FiringRow, ProgramRow, Write
from actors.store.sqlite import SQLiteStore

path, seed = sys.argv[1], int(sys.argv[2])
store = SQLiteStore(path)
store.open(f"writer-{seed}")
print("ready", flush=True)
sys.stdin.readline()
t0 = datetime(2026, 1, 1, tzinfo=UTC)
keys = [(f"p{n:02d}", minute) for n in range(5) for minute in range(200)]
random.Random(seed).shuffle(keys)
results = {}
for start in range(0, len(keys), 40):
    chunk = keys[start : start + 40]
    batch = [
        Write(
            program_id=p,
            epoch=0,
            firing=FiringRow(program_id=p, scheduled_at=t0 + timedelta(minutes=m)),
            program=ProgramRow(id=p, definition=None, schedule="{}", since=t0, state=b"{}"),
        )
        for p, m in chunk
    ]
    for (p, m), result in zip(chunk, store.write(batch)):
        results[f"{p}@{m}"] = result
store.close()
print(json.dumps(results), flush=True)
"""


def test_two_processes_writing_the_same_firings_write_each_once(path: Path) -> None:
    """Two processes write the same 1000 firings to one file at once, through
    `SQLiteStore.write`, in batches and in different orders: each firing is `ok` in exactly
    one of them and `duplicate` in the other, and the file holds each once."""
    done = run_together(WRITER, [[str(path), "1"], [str(path), "2"]])
    assert [code for code, _, _ in done] == [0, 0], [err for _, _, err in done]
    first, second = (json.loads(out) for _, out, _ in done)
    assert set(first) == set(second)
    assert len(first) == 1000
    assert all(sorted([first[key], second[key]]) == ["duplicate", "ok"] for key in first)
    assert raw(path, "SELECT COUNT(*) FROM actors_firings") == [(1000,)]


#: A process that opens the store at argv[1] when told to (a line on stdin), installs program
#: argv[2], and prints what that write came to.
OPENER = """
import sys
from actors.store.abc import ProgramRow, Write
from actors.store.sqlite import SQLiteStore
from datetime import UTC, datetime

print("ready", flush=True)
sys.stdin.readline()
store = SQLiteStore(sys.argv[1])
store.open(sys.argv[2])
row = ProgramRow(id=sys.argv[2], definition=None, schedule="{}", since=datetime.now(UTC),
                 state=b"{}")
print(store.write([Write(program_id=sys.argv[2], program=row)])[0], flush=True)
store.close()
"""


def test_processes_opening_a_new_file_at_once_all_open_it(tmp_path: Path) -> None:
    """Four processes opening a file that does not exist yet, at the same moment (workers of
    one server starting), all open it: one makes the schema, and each one's program gets an
    install order of its own."""
    path = tmp_path / "new.db"
    names = [f"worker-{n}" for n in range(4)]
    done = run_together(OPENER, [[str(path), name] for name in names])
    assert [out for _, out, _ in done] == ["ok\n"] * 4, [err for _, _, err in done]
    order = raw(path, "SELECT id FROM actors_programs ORDER BY install_order")
    assert sorted(order) == [(name,) for name in names]
    assert raw(path, "SELECT COUNT(*) FROM actors_meta WHERE key = 'application'") == [(1,)]
