"""Shared fixtures: a deterministic clock and runner, and a guard against leaked threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from actors import ManualClock, Runner

# `actors run` and `actors repl` keep programs in actors.db in the working directory by
# default; the tests (and the child processes they start) keep them in memory unless a test
# gives a store of its own.
os.environ["ACTORS_STORE"] = "memory"

#: Every test's virtual time starts here, so timestamps in assertions are readable.
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail any test that leaves a thread behind once its runners are stopped."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.01)  # sleep-ok: polling thread exit in teardown, not synchronising the test
    assert not leaked, f"threads left behind: {[t.name for t in leaked]}"


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at T0."""
    return ManualClock(T0)


@pytest.fixture
def runner(clock: ManualClock) -> Iterator[Runner]:
    """A runner on the manual clock, stopped after the test."""
    runner = Runner(id="test-runner", clock=clock)
    yield runner
    runner.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server for the whole run, started on first use: the URL of its
    `postgres` database (`tests.postgres_server.create_database` makes one per test)."""
    from tests.postgres_server import throwaway_postgres

    with throwaway_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A local Ray cluster of 2 CPUs for the whole run, started on first use (a few seconds)
    and shut down at the end. Started before the first Ray test's thread check, so Ray's own
    threads are not taken for leaks; one call on an actor warms up the rest of them."""
    pytest.importorskip("ray", reason="Ray is the `ray` extra: make test installs it")
    from actors.runtime import RaySpawnWorker, ray_module

    ray = ray_module()  # as a runner imports it: Ray leaves builtins.print alone
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)

    warm = ray.remote(RaySpawnWorker).remote(abs)
    warm.call.remote(-1).future().result(60)
    ray.kill(warm)
    yield
    ray.shutdown()
