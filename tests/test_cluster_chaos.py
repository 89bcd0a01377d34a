"""Chaos on a cluster: runner processes share one PostgreSQL store (lease 3 s) and run a dozen
witnessing programs at 4 Hz (`tests.cluster_child`); they are killed with `kill -9`, frozen
with SIGSTOP past their lease and woken, started again, started all at once. Every run leaves
a witness row `(program, scheduled time, runner)` in a table without a unique constraint, so
the rows tell what ran where, twice, on two schedules at once, or not at all.

These are real processes on a real server (about 30 s together): `pytest -m chaos` selects
them, the default run includes them."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from tests.cluster_callables import ensure_witness_table, program_ids
from tests.cluster_child import PERIOD
from tests.postgres_server import create_database

ROOT = Path(__file__).resolve().parents[1]

#: The runners' lease (seconds): a program is taken over within two thirds of it.
LEASE = 3.0
#: What a takeover may take beyond the lease: restoring the program, its first tick.
MARGIN = 1.0
PROGRAMS = program_ids(12)
CHILD = (sys.executable, "-m", "tests.cluster_child")

T = TypeVar("T")


class Child:
    """A runner process (`tests.cluster_child`), its output kept in files."""

    def __init__(self, url: str, runner_id: str, folder: Path) -> None:
        self.runner_id = runner_id
        number = len(list(folder.glob(f"{runner_id}-*.out")))
        self.out = folder / f"{runner_id}-{number}.out"
        self.err = folder / f"{runner_id}-{number}.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [*CHILD, url, runner_id, str(LEASE), str(len(PROGRAMS))],
                cwd=ROOT,
                stdout=out,
                stderr=err,
                text=True,
            )
        self.pid = self.process.pid

    def output(self) -> str:
        return self.out.read_text()

    def log(self) -> str:
        return self.err.read_text()

    def log_since(self, since: float) -> list[str]:
        """The messages it logged from `since` (seconds since the epoch) on."""
        messages = []
        for line in self.log().splitlines():
            stamp, _, message = line.partition(" ")
            with contextlib.suppress(ValueError):
                if float(stamp) >= since:
                    messages.append(message)
        return messages

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_for(
            lambda: self.output().startswith(f"ready {self.runner_id}") or self.exited(),
            timeout,
            f"{self.runner_id} ready",
        )
        assert not self.exited(), f"{self.runner_id} exited: {self.log()[-3000:]}"

    def exited(self) -> bool:
        return self.process.poll() is not None

    def signal(self, number: int) -> None:
        os.kill(self.pid, number)

    def terminate(self, timeout: float = 20.0) -> None:
        """SIGTERM; it stops its runner and exits 0."""
        self.signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        assert code == 0, f"{self.runner_id} exited {code}: {self.log()[-3000:]}"
        assert f"stopped {self.runner_id}" in self.output()

    def kill(self) -> None:
        """Make sure it is gone (woken first, if it was frozen)."""
        if not self.exited():
            with contextlib.suppress(ProcessLookupError):
                self.signal(signal.SIGCONT)
                self.signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


def wait_for(condition: Callable[[], T], timeout: float, what: str | Callable[[], str]) -> T:
    """`condition()` once it is truthy, polled until `timeout` seconds passed (then fail,
    saying `what`, or what `what()` says then)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what if isinstance(what, str) else what()
            pytest.fail(f"not within {timeout:g} s: {said} (last: {value!r})")
        time.sleep(0.05)  # sleep-ok: polling interval


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def owners(url: str) -> dict[str, str | None]:
    """Each program's owner in the store."""
    return dict(query(url, "SELECT id, owner FROM actors_programs"))  # type: ignore[arg-type]


def held(url: str) -> dict[str, int]:
    """How many programs each runner holds."""
    counts: dict[str, int] = {}
    for owner in owners(url).values():
        if owner is not None:
            counts[owner] = counts.get(owner, 0) + 1
    return counts


def balanced(url: str, runners: Iterable[str]) -> bool:
    """Every program has an owner, and each of `runners` holds its fair share."""
    runners = tuple(runners)
    share = math.ceil(len(PROGRAMS) / len(runners))
    counts = held(url)
    return sum(counts.values()) == len(PROGRAMS) and all(
        counts.get(runner) in (share, share - 1) for runner in runners
    )


def witnessed_since(url: str, since: float, runners: Iterable[str]) -> set[str]:
    """The programs one of `runners` ran a scheduled time after `since` (epoch seconds) of."""
    rows = query(
        url,
        "SELECT DISTINCT program_id FROM witness WHERE scheduled_at > to_timestamp(%s) "
        "AND runner_id = ANY(%s)",
        (since, list(runners)),
    )
    return {program_id for (program_id,) in rows}


def not_running(url: str, since: float) -> dict[str, str | None]:
    """The programs no runner ran a scheduled time after `since` of, with their owners."""
    ran = witnessed_since(url, since, ("r1", "r2", "r3"))
    return {program: owner for program, owner in owners(url).items() if program not in ran}


def open_transactions(url: str) -> list[tuple[Any, ...]]:
    """The transactions open for a second or more (a frozen runner's, say: its row locks keep
    the others from claiming its programs): their session's pid, state, wait, age and last
    statement."""
    return query(
        url,
        "SELECT pid, state, wait_event, round(EXTRACT(EPOCH FROM now() - xact_start)::numeric, "
        "1), left(query, 100) FROM pg_stat_activity WHERE datname = current_database() "
        "AND xact_start < now() - interval '1 second' AND pid <> pg_backend_pid()",
    )


def times_run_twice(url: str) -> list[tuple[Any, ...]]:
    """Each (program, scheduled time) witnessed more than once, with the runners."""
    return query(
        url,
        "SELECT program_id, scheduled_at, array_agg(runner_id ORDER BY written_at) FROM "
        "witness GROUP BY program_id, scheduled_at HAVING COUNT(*) > 1 ORDER BY 1, 2",
    )


def largest_gaps(url: str, begun: float, ended: float) -> dict[str, float]:
    """Each program's longest time without a run between `begun` and `ended` (seconds)."""
    times: dict[str, list[float]] = {program: [begun, ended] for program in PROGRAMS}
    for program, scheduled_at in query(
        url,
        "SELECT program_id, scheduled_at FROM witness WHERE scheduled_at BETWEEN "
        "to_timestamp(%s) AND to_timestamp(%s)",
        (begun, ended),
    ):
        times[program].append(scheduled_at.timestamp())
    return {
        program: round(max(b - a for a, b in itertools.pairwise(sorted(seconds))), 3)
        for program, seconds in times.items()
    }


def off_grid(url: str, since: float) -> dict[str, list[tuple[str, int]]]:
    """The programs run on two schedules at once after `since`, with (runner, phase in µs) of
    each run: each owner goes on from the schedule the store holds, so a program's scheduled
    times lie on one grid of PERIOD, unless two runners run it at once on schedules of their
    own."""
    period = round(PERIOD * 1_000_000)
    found = {}
    rows = query(
        url,
        "SELECT program_id, (EXTRACT(EPOCH FROM scheduled_at) * 1000000)::bigint, runner_id "
        "FROM witness WHERE scheduled_at > to_timestamp(%s) ORDER BY 1, 2",
        (since,),
    )
    for program, runs in itertools.groupby(rows, key=lambda row: row[0]):
        ticks = [(runner, at) for _, at, runner in runs]
        first = ticks[0][1]
        if any((at - first + 2) % period > 4 for _, at in ticks):  # 2 µs of rounding
            found[program] = [(runner, at % period) for runner, at in ticks][:12]
    return found


@pytest.fixture
def children() -> Iterator[list[Child]]:
    """The runner processes a test starts: none is left behind, whatever happens."""
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()


@pytest.fixture
def url(postgres_server: str) -> str:
    """A fresh database with an empty witness table."""
    url = create_database(postgres_server, f"chaos_{uuid.uuid4().hex[:12]}")
    ensure_witness_table(url)
    return url


@pytest.mark.chaos
@pytest.mark.timeout(120)
def test_kill_9_and_sigstop_never_run_a_time_twice_and_take_over_within_the_lease(
    url: str, children: list[Child], tmp_path: Path
) -> None:
    """Three runners (lease 3 s, started one after another) share 12 programs at 4 Hz, 4
    each. r1 is killed with kill -9: r2 and r3 run its programs. r2 is frozen (SIGSTOP) for
    its lease and more: r3 runs every program; woken, r2 finds the programs it held lost (its
    log says so), runs none of the ticks it slept through, and holds no more than its share.
    r1 starts again, the shares even out, and all stop by SIGTERM (exit 0). Then the witness
    rows show no (program, scheduled time) run twice, for every program no gap between runs
    of a lease plus a margin, and no program run by two runners at once."""
    everyone = ("r1", "r2", "r3")
    runners: dict[str, Child] = {}
    for runner_id in everyone:
        runners[runner_id] = Child(url, runner_id, tmp_path)
        children.append(runners[runner_id])
        runners[runner_id].wait_ready()
    wait_for(lambda: balanced(url, everyone), 5 * LEASE, lambda: f"4 programs each: {held(url)}")
    begun = time.time()
    wait_for(
        lambda: witnessed_since(url, begun, everyone) == set(PROGRAMS),
        LEASE + MARGIN,
        lambda: f"every program runs; not: {not_running(url, begun)}",
    )

    # kill -9 r1: its programs go to r2 and r3 (the pid check: at once).
    killed = time.time()
    runners["r1"].signal(signal.SIGKILL)
    assert runners["r1"].process.wait(10) == -signal.SIGKILL
    wait_for(
        lambda: witnessed_since(url, killed, ("r2", "r3")) == set(PROGRAMS),
        LEASE + MARGIN,
        lambda: f"r2 and r3 run every program after r1's kill -9; not: {not_running(url, killed)}",
    )

    # SIGSTOP r2 past its lease: r3 takes over everything.
    frozen_held = {program for program, owner in owners(url).items() if owner == "r2"}
    assert frozen_held, "r2 holds programs when it is frozen"
    frozen = time.time()
    runners["r2"].signal(signal.SIGSTOP)
    wait_for(
        lambda: witnessed_since(url, frozen, ("r3",)) == set(PROGRAMS),
        LEASE + MARGIN,
        lambda: (
            f"r3 runs every program while r2 is frozen; not: {not_running(url, frozen)}; "
            f"transactions left open: {open_transactions(url)}"
        ),
    )
    time.sleep(max(0.0, frozen + LEASE + 1.0 - time.time()))  # sleep-ok: r2 stays frozen
    woken = time.time()
    runners["r2"].signal(signal.SIGCONT)

    # Woken, r2 finds out it lost each program it held: by its renewal ("lost 'c03'"), or by
    # the refused firing of a late tick ("... does not run: the store answered 'stale'",
    # which does not name the program), and drops it; it keeps no more than its share of two.
    def told_lost() -> int:
        named, stale = set(), 0
        for message in runners["r2"].log_since(woken):
            named |= {program for program in frozen_held if f"lost '{program}'" in message}
            stale += "answered 'stale'" in message
        return len(named) + stale

    wait_for(
        lambda: told_lost() >= len(frozen_held),
        5.0,
        lambda: f"r2 says it lost its {len(frozen_held)} programs: {runners['r2'].log()[-3000:]}",
    )
    wait_for(lambda: held(url).get("r2", 0) <= len(PROGRAMS) // 2, 2.0, "r2 holds its share")

    # r1 again (same id): the shares even out; all run a few seconds more, and stop.
    runners["r1"] = Child(url, "r1", tmp_path)
    children.append(runners["r1"])
    runners["r1"].wait_ready()
    wait_for(
        lambda: balanced(url, everyone),
        4 * LEASE,
        lambda: f"4 programs each again: {held(url)}",
    )
    time.sleep(2.0)  # sleep-ok: the evened-out cluster runs a while
    ended = time.time()
    for runner_id in everyone:
        runners[runner_id].terminate()

    twice = times_run_twice(url)
    assert not twice, f"scheduled times run twice: {twice[:20]}"
    gaps = largest_gaps(url, begun, ended)
    assert max(gaps.values()) < LEASE + MARGIN, f"largest gaps (s): {gaps}"
    two_at_once = off_grid(url, begun)
    assert not two_at_once, f"run on two schedules at once (runner, phase µs): {two_at_once}"
    # Frozen, r2 ran nothing; woken, none of the times it slept through (only a late tick
    # fired as it woke could be one, and its firing is refused).
    slept_through = query(
        url,
        "SELECT program_id, scheduled_at FROM witness WHERE runner_id = 'r2' AND scheduled_at "
        "BETWEEN to_timestamp(%s) AND to_timestamp(%s)",
        (frozen + PERIOD, woken - PERIOD),
    )
    assert not slept_through, f"r2 ran times it slept through: {slept_through}"
    # Every runner process ran programs, the restarted r1 too.
    pids = dict(query(url, "SELECT pid, MIN(runner_id) FROM witness GROUP BY pid"))
    for child in children:
        assert pids.get(child.pid) == child.runner_id, f"{child.runner_id} ran nothing"


@pytest.mark.chaos
@pytest.mark.timeout(120)
def test_runners_starting_at_once_run_every_program_on_one_runner(
    url: str, children: list[Child], tmp_path: Path
) -> None:
    """Three runners start at once, each installing the same 12 new programs: within a few
    leases the shares even out and every program runs; no program ever runs on two runners
    at once (on schedules of their own), and no scheduled time runs twice."""
    everyone = ("r1", "r2", "r3")
    runners = {runner_id: Child(url, runner_id, tmp_path) for runner_id in everyone}
    children.extend(runners.values())
    for child in runners.values():
        child.wait_ready()
    started = time.time()
    wait_for(
        lambda: balanced(url, everyone) and not not_running(url, time.time() - 4 * PERIOD),
        4 * LEASE,
        lambda: (
            f"4 programs each, all running: {held(url)}; not running (with owners): "
            f"{not_running(url, time.time() - 4 * PERIOD)}"
        ),
    )
    time.sleep(1.0)  # sleep-ok: the cluster runs a while
    for child in runners.values():
        child.terminate()

    twice = times_run_twice(url)
    assert not twice, f"scheduled times run twice: {twice[:20]}"
    two_at_once = off_grid(url, started - 5.0)
    assert not two_at_once, f"run on two schedules at once (runner, phase µs): {two_at_once}"
