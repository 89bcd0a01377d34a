"""One measurement in a fresh process: `python bench_workloads.py SCHEDULER WORKLOAD PARAMS`.

The parent (`python -m tests.bench`) starts this file once per (scheduler, workload, repeat), so
threads and memory never leak from one measurement into the next. It prints one line,
`BENCH-RESULT {json}`, and leaves with `os._exit` (tearing down 100,000 jobs is not what is
measured).

Schedulers, each driven the way its users drive it:

- `actors`: `Runner()` (SystemClock); one `Program(min=1, schedule=every(...))` per job.
- `actors-sqlite`: the same with `Runner(store=...)`, an SQLite file in `$ACTORS_BENCH_DIR`
  (a fresh temporary folder per measurement): every firing, outcome and state is committed.
- `apscheduler`: APScheduler 3.11 `BackgroundScheduler` with its default executor (a
  `ThreadPoolExecutor` of 10 threads) and job defaults; one `IntervalTrigger` job per job.
- `schedule`: `schedule` 1.2; jobs run inline by `run_pending()` on one loop thread that waits
  `idle_seconds()` between rounds.

Every job records `time.time()` as its first statement into a preallocated list, plus which job
it is and (where the scheduler says) which scheduled time it serves; all the arithmetic happens
afterwards, outside the measured window.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import logging
import math
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from typing import Any

import psutil

RESULT_PREFIX = "BENCH-RESULT "


# --- the recorder ---------------------------------------------------------------------------


class Recorder:
    """Preallocated lists that a job writes with three stores and one `next()`."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.times: list[float] = [0.0] * capacity  # time.time() at the start of the job
        self.keys: list[Any] = [None] * capacity  # the scheduled time, where the job is told it
        self.jobs: list[int] = [0] * capacity  # which job ran
        self.counter = itertools.count()
        self.overflow = 0

    def count(self) -> int:
        """How many entries were written so far (reads the counter without a run)."""
        # itertools.count has no peek; its repr is "count(N)".
        return min(int(repr(self.counter)[6:-1]), self.capacity)


# --- the schedulers -------------------------------------------------------------------------


class Adapter:
    """What every scheduler offers the workloads."""

    name = "?"

    def add_timed(self, i: int, interval: float, origin: float, rec: Recorder) -> None:
        """A job on the grid `origin + k * interval` that records each start."""
        raise NotImplementedError

    def add_many(self, count: int, interval: float, origin: float, rec: Recorder) -> None:
        """`count` jobs as `add_timed` adds them, at once where the scheduler can."""
        for i in range(count):
            self.add_timed(i, interval, origin, rec)

    def start(self) -> None:
        """Called once every job is added (the `schedule` loop starts here)."""

    def settle(self) -> None:
        """Wait until what `add_timed` started is in place."""

    def scheduled(self, rec: Recorder, j: int, grids: dict[int, tuple[float, float]]) -> float:
        """The scheduled time (epoch seconds) of record `j`."""
        raise NotImplementedError

    def extra(self) -> dict[str, Any]:
        """Scheduler-specific counters for the report (skipped, missed, ...)."""
        return {}


class ActorsAdapter(Adapter):
    name = "actors"

    def __init__(self, store: str | None = None) -> None:
        from actors import Program, Runner, every

        self._program, self._every = Program, every
        self.runner = Runner(id="bench", store=store)

    def add_timed(self, i: int, interval: float, origin: float, rec: Recorder) -> None:
        self.runner.install(self._timed(i, interval, origin, rec))

    def _timed(self, i: int, interval: float, origin: float, rec: Recorder) -> Any:
        """The Program of job `i`."""
        times, keys, jobs, counter, cap = rec.times, rec.keys, rec.jobs, rec.counter, rec.capacity

        def main_fn(args: Any, timestamp: datetime) -> None:
            t = time.time()
            j = next(counter)
            if j < cap:
                times[j] = t
                keys[j] = timestamp
                jobs[j] = i

        start = datetime.fromtimestamp(origin, UTC)
        schedule = self._every(interval, start=start)
        return self._program(id=f"p{i}", schedule=schedule, min=1, main_fn=main_fn)

    def add_many(self, count: int, interval: float, origin: float, rec: Recorder) -> None:
        self.runner.install_many([self._timed(i, interval, origin, rec) for i in range(count)])

    def settle(self) -> None:
        self.runner.settle(timeout=600)

    def scheduled(self, rec: Recorder, j: int, grids: dict[int, tuple[float, float]]) -> float:
        stamp: datetime = rec.keys[j]
        return stamp.timestamp()

    def extra(self) -> dict[str, Any]:
        try:
            totals = self.runner.status().totals
        except Exception as error:  # the figures matter more than this detail
            return {"status_error": repr(error)}
        return {"skipped": totals.get("skipped", 0), "missed": totals.get("missed", 0)}


class ActorsSQLiteAdapter(ActorsAdapter):
    name = "actors-sqlite"

    def __init__(self) -> None:
        folder = os.environ.get("ACTORS_BENCH_DIR") or tempfile.mkdtemp(prefix="actors-bench-")
        super().__init__(store=os.path.join(folder, "bench.db"))


class APSchedulerAdapter(Adapter):
    name = "apscheduler"

    def __init__(self) -> None:
        from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        # Its per-run INFO lines are off by default; its per-miss WARNINGs would otherwise be
        # written to stderr, which costs CPU that is not scheduling. They are counted instead.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self._trigger = IntervalTrigger
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.missed = 0
        self.max_instances = 0

        def listener(event: Any) -> None:
            if event.code == EVENT_JOB_MISSED:
                self.missed += 1
            else:
                self.max_instances += 1

        self.scheduler.add_listener(listener, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start()

    def add_timed(self, i: int, interval: float, origin: float, rec: Recorder) -> None:
        times, jobs, counter, cap = rec.times, rec.jobs, rec.counter, rec.capacity

        def job() -> None:
            t = time.time()
            j = next(counter)
            if j < cap:
                times[j] = t
                jobs[j] = i

        # An IntervalTrigger fires at start_date itself; start one interval on, so that (as with
        # every() and schedule) the first run comes one interval after the origin.
        start = datetime.fromtimestamp(origin + interval, UTC)
        trigger = self._trigger(seconds=interval, start_date=start, timezone=UTC)
        self.scheduler.add_job(job, trigger, id=f"p{i}")

    def scheduled(self, rec: Recorder, j: int, grids: dict[int, tuple[float, float]]) -> float:
        # APScheduler does not tell the job its scheduled time. Its defaults (coalesce=True,
        # max_instances=1) run the latest due grid point, so the latest grid point at or before
        # the start is the one served (a run later than one interval would be under-counted;
        # its misfire_grace_time of 1 s drops those at 1 Hz anyway).
        origin, interval = grids[rec.jobs[j]]
        k = math.floor((rec.times[j] - origin) / interval + 1e-6)
        return origin + k * interval

    def extra(self) -> dict[str, Any]:
        return {"missed": self.missed, "max_instances": self.max_instances}


class ScheduleAdapter(Adapter):
    name = "schedule"

    def __init__(self) -> None:
        import schedule

        self.scheduler = schedule.Scheduler()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_timed(self, i: int, interval: float, origin: float, rec: Recorder) -> None:
        times, keys, jobs, counter, cap = rec.times, rec.keys, rec.jobs, rec.counter, rec.capacity
        holder: list[Any] = []

        def job() -> None:
            t = time.time()
            j = next(counter)
            if j < cap:
                times[j] = t
                keys[j] = holder[0].next_run  # the time schedule meant this run for
                jobs[j] = i

        handle = self.scheduler.every(interval).seconds.do(job)
        holder.append(handle)
        # Put the first run on the grid; schedule then plans each next run from the end of the
        # previous one (it drifts by design).
        now = time.time()
        first = origin + max(1, math.ceil((now - origin) / interval)) * interval
        handle.next_run = datetime.fromtimestamp(first)  # naive local, as schedule keeps it

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                self.scheduler.run_pending()
                idle = self.scheduler.idle_seconds
                self._stop.wait(1.0 if idle is None else max(0.0, idle))

        self._thread = threading.Thread(target=loop, name="schedule-loop", daemon=True)
        self._thread.start()

    def scheduled(self, rec: Recorder, j: int, grids: dict[int, tuple[float, float]]) -> float:
        stamp: datetime = rec.keys[j]
        return stamp.timestamp()


ADAPTERS: dict[str, type[Adapter]] = {
    "actors": ActorsAdapter,
    "actors-sqlite": ActorsSQLiteAdapter,
    "apscheduler": APSchedulerAdapter,
    "schedule": ScheduleAdapter,
}


# --- helpers --------------------------------------------------------------------------------


def sleep_until(when: float) -> None:
    while True:
        left = when - time.time()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def lattice_boundary(base: float, step: float, after: float) -> float:
    """A time at least `after`, half-way between two points of `base + m * step`."""
    m = math.ceil((after - base) / step)
    return base + (m + 0.5) * step


# --- workloads ------------------------------------------------------------------------------


def lateness(
    adapter: Adapter,
    *,
    n: int,
    interval: float,
    aligned: bool,
    warmup: float,
    window: float,
    grace: float,
) -> dict[str, Any]:
    """Start lateness, lost runs and CPU per run for `n` jobs every `interval` seconds."""
    total = warmup + window + grace + 5
    capacity = int(n * total / interval * 1.5) + 1000
    rec = Recorder(capacity)
    # Every grid starts in the past, so that each job's first run (one interval after its
    # origin) is due before the window opens.
    base = float(math.floor(time.time() - 2 * interval))
    grids: dict[int, tuple[float, float]] = {}
    t_install = time.perf_counter()
    for i in range(n):
        origin = base if aligned else base + i * interval / n
        origin = round(origin, 6)  # what a datetime holds
        grids[i] = (origin, interval)
        adapter.add_timed(i, interval, origin, rec)
    adapter.start()
    install_s = time.perf_counter() - t_install
    installed = time.time()

    # The measured window: whole intervals, with both ends half-way between grid points so no
    # run sits on a boundary.
    step = interval if aligned else interval / n
    w0 = lattice_boundary(base, step, installed + warmup)
    periods = max(1, round(window / interval))
    w1 = w0 + periods * interval
    expected = n * periods

    sleep_until(w0)
    cpu0, at0 = time.process_time(), time.time()
    sleep_until(w1)
    cpu1, at1 = time.process_time(), time.time()
    threads = threading.active_count()
    sleep_until(w1 + grace)
    written = rec.count()
    extra = adapter.extra()

    late: list[float] = []
    served: set[tuple[int, float]] = set()
    duplicates = 0
    started_in_cpu_window = 0
    for j in range(written):
        t = rec.times[j]
        if at0 <= t < at1:
            started_in_cpu_window += 1
        scheduled = adapter.scheduled(rec, j, grids)
        if w0 <= scheduled < w1:
            key = (rec.jobs[j], round(scheduled, 4))
            if key in served:
                duplicates += 1
                continue
            served.add(key)
            late.append(t - scheduled)
    late.sort()
    runs = len(late)
    return {
        "install_s": install_s,
        "expected": expected,
        "runs": runs,
        "lost": max(0, expected - runs),
        "duplicates": duplicates,
        "overflow": max(0, written - capacity),
        "p50_ms": percentile(late, 0.50) * 1000,
        "p99_ms": percentile(late, 0.99) * 1000,
        "max_ms": (late[-1] if late else float("nan")) * 1000,
        "min_ms": (late[0] if late else float("nan")) * 1000,
        "cpu_s": cpu1 - cpu0,
        "cpu_window_runs": started_in_cpu_window,
        "cpu_per_run_us": (cpu1 - cpu0) / started_in_cpu_window * 1e6
        if started_in_cpu_window
        else float("nan"),
        "threads": threads,
        **extra,
    }


def idle(adapter: Adapter, *, n: int, settle: float, window: float) -> dict[str, Any]:
    """Process CPU, as % of one core, with `n` jobs installed at a one-minute interval."""
    rec = Recorder(n * 4 + 100)
    origin = round(time.time(), 6)  # the first runs come a minute later, after the measurement
    for i in range(n):
        adapter.add_timed(i, 60.0, origin, rec)
    adapter.start()
    adapter.settle()
    time.sleep(settle)
    cpu0, t0 = time.process_time(), time.perf_counter()
    time.sleep(window)
    cpu1, t1 = time.process_time(), time.perf_counter()
    return {
        "idle_cpu_pct": (cpu1 - cpu0) / (t1 - t0) * 100,
        "runs": rec.count(),
        "threads": threading.active_count(),
    }


def install(adapter: Adapter, *, n: int, budget: float, many: bool = False) -> dict[str, Any]:
    """Time and RSS growth to install `n` jobs (one spawn each), within `budget` seconds; with
    `many`, all in one call where the scheduler has one (`Runner.install_many`)."""
    rec = Recorder(16)
    progress = {"installed": 0}
    gc.collect()
    rss0 = rss()
    t0 = time.perf_counter()

    def watchdog() -> None:
        time.sleep(budget)
        report(
            {
                "timeout": True,
                "budget_s": budget,
                "installed": progress["installed"],
                "rss_growth_mb": (rss() - rss0) / 2**20,
            }
        )

    threading.Thread(target=watchdog, name="bench-watchdog", daemon=True).start()
    origin = round(time.time(), 6)  # hourly jobs: none runs during the measurement
    try:
        if many:
            adapter.add_many(n, 3600.0, origin, rec)
            progress["installed"] = n
        for i in range(0 if many else n):
            adapter.add_timed(i, 3600.0, origin, rec)
            progress["installed"] = i + 1
        adapter.start()
        adapter.settle()
    except BaseException as error:
        return {
            "error": f"{type(error).__name__}: {error}"[:300],
            "installed": progress["installed"],
            "install_s": time.perf_counter() - t0,
            "rss_growth_mb": (rss() - rss0) / 2**20,
        }
    install_s = time.perf_counter() - t0
    gc.collect()
    return {
        "install_s": install_s,
        "installed": n,
        "rss_growth_mb": (rss() - rss0) / 2**20,
        "threads": threading.active_count(),
    }


def throughput(
    adapter: Adapter, *, n: int, interval: float, warmup: float, window: float
) -> dict[str, Any]:
    """No-op runs per second with `n` jobs every `interval` seconds (the runtime saturates)."""
    capacity = 3_000_000
    rec = Recorder(capacity)
    base = float(math.floor(time.time() - 2 * interval))
    for i in range(n):
        adapter.add_timed(i, interval, round(base + i * interval / n, 6), rec)
    adapter.start()
    time.sleep(warmup)
    cpu0, at0 = time.process_time(), time.time()
    time.sleep(window)
    cpu1, at1 = time.process_time(), time.time()
    written = rec.count()
    runs = sum(1 for j in range(written) if at0 <= rec.times[j] < at1)
    return {
        "runs": runs,
        "runs_per_s": runs / (at1 - at0),
        "cpu_per_run_us": (cpu1 - cpu0) / runs * 1e6 if runs else float("nan"),
        "cpu_pct": (cpu1 - cpu0) / (at1 - at0) * 100,
        "overflow": rec.count() >= capacity,
        "threads": threading.active_count(),
        **adapter.extra(),
    }


# --- entry point ----------------------------------------------------------------------------

_reported = threading.Lock()


def report(result: dict[str, Any]) -> None:
    """Print the one result line and leave at once (only the first caller gets through)."""
    if not _reported.acquire(blocking=False):
        return
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, default=repr) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scheduler", choices=sorted(ADAPTERS))
    parser.add_argument("workload", choices=["lateness", "idle", "install", "throughput"])
    parser.add_argument("params", help="the workload's keyword arguments, as JSON")
    options = parser.parse_args()
    params = json.loads(options.params)
    adapter = ADAPTERS[options.scheduler]()
    workload = {"lateness": lateness, "idle": idle, "install": install, "throughput": throughput}
    try:
        result = workload[options.workload](adapter, **params)
    except BaseException as error:
        result = {"error": f"{type(error).__name__}: {error}"[:300]}
    report(result)


if __name__ == "__main__":
    main()
