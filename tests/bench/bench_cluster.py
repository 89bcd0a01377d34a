"""Three schedulers on one PostgreSQL server, one of them killed: actors against APScheduler 4.

`python -m tests.bench --only cluster [--quick]` (and the "cluster" section of `make bench`).

On one throwaway PostgreSQL server (`tests.postgres_server.throwaway_postgres`), each system in
turn, in a database of its own:

- **actors**: three runner processes, `Runner(id, store="postgresql://...", lease=15)`, each
  installing the same programs (`every(interval, start=origin)`, `min=1`, `main_fn` by
  reference, so that any runner can restore any program): the store leases them out, a third
  to each runner. A runner of the same host whose process is gone is taken over at the
  survivors' next beat (a sixth of the lease).
- **actors, killed runner on another host**: the same, the first runner started in a UTS
  namespace of its own under another host name (`unshare --uts`, root only), so that the
  survivors cannot see its process is gone and wait for its lease, as for a runner on another
  machine (taken over within two thirds of the lease).
- **APScheduler 4** (the pre-release pinned in the `bench-apscheduler4` extra of pyproject.toml):
  three `AsyncScheduler` processes on its PostgreSQL data store (`SQLAlchemyDataStore` with
  psycopg) and its psycopg event broker (without a shared broker a scheduler never hears of
  the jobs the others add), each configuring the same tasks (one per program, run on its thread
  pool, `max_running_jobs=1`) and schedules (`IntervalTrigger`, the same grid). APScheduler 4
  cannot live beside the APScheduler 3.11 of the `bench` extra, so the bench installs it in a
  venv of its own, `build/bench-apscheduler4/` (kept between runs; `make clean` removes it).
  Its `lease_duration` is set to actors' lease and its `cleanup_interval` to actors' beat (a
  sixth of the lease): the clean-up is what frees a task whose job a dead scheduler held
  (its default, 15 minutes, would leave such a task blocked for that long).

Every run of every program, in every system, is one `INSERT` into a witness table of the same
database, made by the job itself: (program, scheduled time, `time.time()` as the job's first
statement, node). All figures come from that table, read after the run:

- after a warm-up, a steady window: runs/s, start lateness (start - scheduled time; p50, p99,
  max), scheduled runs with no witnessed run, and the CPU of the three nodes and of the server
  (psutil);
- then `kill -9` of the first node; the *takeover* of each program whose last run before the
  kill was the killed node's is the time from the kill to its first run on another node (max
  and median reported; a program still without one when the measurement ends counts as more
  than that); ticks with no run from the kill to the end;
- *duplicates*: witnessed (program, scheduled time) pairs beyond the first, over the whole run.

Each node is a fresh process (`python -c "from tests.bench.bench_cluster import node; node()"`),
so this module imports nothing beyond the standard library at its top: APScheduler's venv loads
it too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:cluster:begin -->", "<!-- bench:cluster:end -->"
DOC_HEADING = "## Several runners on one PostgreSQL store"
DOC_INTRO = """Three runner processes of `actors` on one PostgreSQL store against three
APScheduler 4 schedulers on its PostgreSQL data store, on the same throwaway server, with the
same schedules, and one process of each killed with `kill -9`; actors twice, the killed runner
once on the same host as the survivors (they see its process is gone) and once under another
host name (they wait for its lease). Every run inserts one row into a witness table, and every
figure comes from those rows. The harness is `tests/bench/bench_cluster.py` (its docstring
says how each figure is measured); only this part: `python -m tests.bench --only cluster
[--quick]`. Everything between the `bench:cluster` markers is written by it."""

SYSTEMS = ("actors", "actors-remote", "apscheduler4")
#: What each system's nodes run: "actors-remote" is actors again, its killed runner in a UTS
#: namespace of its own, under another host name: the survivors cannot see that its process is
#: gone, and wait for its lease (as they would for a runner on another machine).
NODE_KIND = {"actors": "actors", "actors-remote": "actors", "apscheduler4": "apscheduler4"}
OTHER_HOST = "bench-other-host"
APS_EXTRA = "bench-apscheduler4"
APS_VENV = ROOT / "build" / "bench-apscheduler4"
APS_INSTALL_TIMEOUT = 600.0
LOGS = ROOT / "build" / "bench-cluster"  # each node's stderr, kept until the next run
READY = "NODE-READY"
NODE_ENTRY = "import sys; from tests.bench.bench_cluster import node; node(sys.argv[1:])"
WITNESS_TABLE = """CREATE TABLE bench_witness (
    program TEXT NOT NULL,
    scheduled_us BIGINT NOT NULL,
    started_us BIGINT NOT NULL,
    node TEXT NOT NULL
)"""
INSERT_WITNESS = (
    "INSERT INTO bench_witness (program, scheduled_us, started_us, node) VALUES (%s, %s, %s, %s)"
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Settings:
    """What one run of the cluster bench does (seconds, except the counts)."""

    quick: bool
    programs: int = 60
    interval: float = 0.1
    nodes: int = 3
    lease: float = 15.0
    warmup: float = 8.0
    window: float = 20.0
    after_kill: float = 30.0
    ready_timeout: float = 180.0


FULL = Settings(quick=False)
QUICK = Settings(quick=True, warmup=5.0, window=8.0, after_kill=22.0)


def aps_requirements() -> list[str]:
    """The `bench-apscheduler4` extra of pyproject.toml: what APScheduler 4's venv holds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements: list[str] = project["optional-dependencies"][APS_EXTRA]
    return requirements


def aps_version() -> str:
    """The APScheduler 4 release the extra pins (`apscheduler[...]==X`), for labels."""
    for requirement in aps_requirements():
        name, _, version = requirement.partition("==")
        if name.split("[")[0].strip().lower() == "apscheduler":
            return version.strip()
    return "4"


# --- the node processes ---------------------------------------------------------------------

_WITNESS: dict[str, Any] = {}
_MAIN_FNS: dict[str, Callable[[Any, Any], None]] = {}
_MAIN_FN_PREFIX = "witness_"


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly."""
    return (moment - EPOCH) // MICROSECOND


def _record(program: str, scheduled: datetime, started: float) -> None:
    """One witnessed run: committed before the job returns (autocommit)."""
    pool = _WITNESS["pool"]
    with pool.connection() as conn:
        conn.execute(
            INSERT_WITNESS, (program, _micros(scheduled), round(started * 1e6), _WITNESS["node"])
        )


def __getattr__(name: str) -> Any:
    """`witness_<program>`: the `main_fn` of one actors program, by reference.

    A `main_fn` is told the scheduled time but not its program, so each program gets a
    function of its own; as a `"tests.bench.bench_cluster:witness_p7"` reference it is kept in
    the store's definition, so any runner that takes the program over can run it.
    """
    if not name.startswith(_MAIN_FN_PREFIX):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    program = name[len(_MAIN_FN_PREFIX) :]

    def main_fn(args: Any, timestamp: datetime) -> None:
        _record(program, timestamp, time.time())

    main_fn.__name__ = main_fn.__qualname__ = name
    return _MAIN_FNS.setdefault(name, main_fn)


def aps_witness() -> None:
    """The function of every APScheduler task: witnesses the job it runs for."""
    started = time.time()
    job = _WITNESS["current_job"].get()
    _record(job.task_id, job.scheduled_fire_time, started)


def _run_actors(node_id: str, url: str, params: dict[str, Any]) -> None:
    """An actors node: a runner on the store, every program installed (most on standby)."""
    from actors import Program, Runner, every

    runner = Runner(id=node_id, store=url, lease=params["lease"])
    start = datetime.fromtimestamp(params["origin"], UTC)
    for i in range(params["programs"]):
        runner.install(
            Program(
                id=f"p{i}",
                schedule=every(params["interval"], start=start),
                min=1,
                main_fn=f"{__name__}:{_MAIN_FN_PREFIX}p{i}",
            )
        )
    print(READY, flush=True)
    threading.Event().wait()  # until killed


def _run_apscheduler(node_id: str, url: str, params: dict[str, Any]) -> None:
    """An APScheduler 4 node: a scheduler and worker on the shared data store and broker."""
    import anyio
    from apscheduler import AsyncScheduler, ConflictPolicy, current_job
    from apscheduler.datastores.sqlalchemy import SQLAlchemyDataStore
    from apscheduler.eventbrokers.psycopg import PsycopgEventBroker
    from apscheduler.triggers.interval import IntervalTrigger
    from sqlalchemy.ext.asyncio import create_async_engine

    _WITNESS["current_job"] = current_job
    start = datetime.fromtimestamp(params["origin"], UTC)
    lease = params["lease"]

    async def run() -> None:
        # SQLAlchemy's default pool (5 + 10 overflow) for three nodes would pass the
        # server's 50 connections with the other pools: 5 + 5 here.
        engine = create_async_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1),
            pool_size=5,
            max_overflow=5,
        )
        data_store = SQLAlchemyDataStore(engine)
        broker = PsycopgEventBroker.from_async_sqla_engine(engine)
        async with AsyncScheduler(
            data_store,
            broker,
            identity=node_id,
            lease_duration=timedelta(seconds=lease),
            cleanup_interval=timedelta(seconds=lease / 6),
        ) as scheduler:
            for i in range(params["programs"]):
                await scheduler.configure_task(
                    f"p{i}", func=aps_witness, job_executor="threadpool", max_running_jobs=1
                )
                await scheduler.add_schedule(
                    f"p{i}",
                    IntervalTrigger(seconds=params["interval"], start_time=start),
                    id=f"p{i}",
                    conflict_policy=ConflictPolicy.do_nothing,
                )
            await scheduler.start_in_background()
            print(READY, flush=True)
            await scheduler.wait_until_stopped()

    anyio.run(run)


def node(argv: list[str] | None = None) -> None:
    """A node process: `SYSTEM NODE_ID URL PARAMS_JSON`; prints `NODE-READY` once its jobs are
    in place, then runs until it is killed."""
    system, node_id, url, params_text = argv if argv is not None else sys.argv[1:]
    params = json.loads(params_text)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    from psycopg_pool import ConnectionPool

    _WITNESS["node"] = node_id
    _WITNESS["pool"] = ConnectionPool(
        url, min_size=1, max_size=3, kwargs={"autocommit": True}, open=True, name="witness"
    )
    if system == "actors":
        _run_actors(node_id, url, params)
    else:
        _run_apscheduler(node_id, url, params)


# --- the parent: servers, venvs, processes --------------------------------------------------


class Unavailable(Exception):
    """A system cannot be measured here; the message says why."""


def ensure_aps_venv(log: Callable[[str], None]) -> Path:
    """The python of APScheduler 4's venv, made or brought up to date with pip.

    Raises:
        Unavailable: the venv cannot be made or pip cannot install the extra (its last line).
    """
    requirements = aps_requirements()
    python = APS_VENV / "bin" / "python"
    stamp = APS_VENV / "requirements.json"
    if python.exists() and stamp.exists() and json.loads(stamp.read_text()) == requirements:
        return python
    log(f"installing {' '.join(requirements)} into {APS_VENV.relative_to(ROOT)}/ ...")
    shutil.rmtree(APS_VENV, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [
        [base, "-m", "venv", str(APS_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *requirements],
    ]  # fmt: skip
    for command in steps:
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=APS_INSTALL_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise Unavailable(
                f"`{' '.join(command[-len(requirements) :])}` had no answer within "
                f"{APS_INSTALL_TIMEOUT:.0f} s (no network to PyPI?)"
            ) from None
        if done.returncode != 0:
            lines = [
                line
                for line in (done.stderr or done.stdout).splitlines()
                if line.strip() and not line.startswith("WARNING: Location")
            ]
            reason = lines[-1] if lines else f"exit {done.returncode}"
            raise Unavailable(f"pip install {' '.join(requirements)} failed: {reason}")
    stamp.write_text(json.dumps(requirements))
    return python


def venv_versions(python: Path, packages: tuple[str, ...]) -> dict[str, str]:
    """The versions of `packages` installed for `python` (another venv's interpreter)."""
    code = (
        "import json, sys\nfrom importlib import metadata\nout = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try: out[name] = metadata.version(name)\n"
        "    except metadata.PackageNotFoundError: pass\nprint(json.dumps(out))"
    )
    done = subprocess.run(
        [str(python), "-c", code, *packages], capture_output=True, text=True, check=False
    )
    try:
        versions: dict[str, str] = json.loads(done.stdout)
    except ValueError:
        return {}
    return versions


def _connect(url: str) -> Any:
    """An autocommit connection of the parent's (psycopg)."""
    import psycopg

    return psycopg.connect(url, autocommit=True)


def sleep_until(when: float) -> None:
    """Sleep until `time.time()` reaches `when`."""
    while (left := when - time.time()) > 0:
        time.sleep(min(left, 0.1))


def lattice_boundary(base: float, step: float, after: float) -> float:
    """A time at least `after`, half-way between two points of `base + m * step`."""
    m = math.ceil((after - base) / step)
    return base + (m + 0.5) * step


@dataclass
class Node:
    """One node process of the cluster."""

    name: str
    process: subprocess.Popen[str]
    log: Path


def start_node(
    python: Path,
    kind: str,
    name: str,
    url: str,
    params: dict[str, Any],
    folder: Path,
    *,
    other_host: bool = False,
) -> Node:
    """Start one node process (in a session of its own, its stderr to a file); with
    `other_host`, in a UTS namespace of its own named `OTHER_HOST` (`unshare` and `sh` exec
    into Python: the pid is the node's own)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    log = folder / f"{name}.log"
    command = [str(python), "-c", NODE_ENTRY, kind, name, url, json.dumps(params)]
    if other_host:
        script = 'hostname "$0" && exec "$@"'
        command = ["unshare", "--uts", "sh", "-c", script, OTHER_HOST, *command]
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    return Node(name, process, log)


def other_host_problem() -> str | None:
    """Why a node cannot be started under another host name here, or `None`."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare (a UTS namespace with another host name)"
    done = subprocess.run(
        ["unshare", "--uts", "hostname", OTHER_HOST], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return f"unshare --uts failed: {(done.stderr or done.stdout).strip()[:120]}"
    return None


def holders(kind: str, url: str) -> dict[str, int]:
    """Who holds what, by node: actors' program owners; APScheduler's schedule holders."""
    query = (
        "SELECT owner, count(*) FROM actors_programs GROUP BY owner"
        if kind == "actors"
        else "SELECT acquired_by, count(*) FROM schedules GROUP BY acquired_by"
    )
    with _connect(url) as conn:
        return {str(who): int(count) for who, count in conn.execute(query).fetchall()}


def wait_ready(nodes: list[Node], deadline: float) -> None:
    """Wait until every node printed `NODE-READY`.

    Raises:
        RuntimeError: a node died or was not ready in time (with the end of its log).
    """
    waiting = {node.process.stdout.fileno(): node for node in nodes if node.process.stdout}
    while waiting:
        left = deadline - time.time()
        if left <= 0:
            node = next(iter(waiting.values()))
            raise RuntimeError(f"{node.name} not ready in time: {tail(node.log)}")
        readable, _, _ = select.select(list(waiting), [], [], min(left, 1.0))
        for fd in readable:
            node = waiting[fd]
            assert node.process.stdout is not None
            line = node.process.stdout.readline()
            if line.strip() == READY:
                del waiting[fd]
            elif not line:
                node.process.wait()
                raise RuntimeError(
                    f"{node.name} exited ({node.process.returncode}): {tail(node.log)}"
                )


def tail(log: Path, lines: int = 1) -> str:
    """The last lines of a node's log, for a message."""
    try:
        text = [line for line in log.read_text().splitlines() if line.strip()]
    except OSError:
        return "no log"
    return " | ".join(line[:300] for line in text[-lines:]) if text else "nothing logged"


def kill(node: Node) -> None:
    """`kill -9` the node (its own process, by pid) and reap it."""
    if node.process.poll() is None:
        os.kill(node.process.pid, signal.SIGKILL)
    node.process.wait()
    if node.process.stdout is not None:
        node.process.stdout.close()


def server_processes(port: int) -> list[Any]:
    """The PostgreSQL server listening on `port`: its postmaster and all its children."""
    import psutil

    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if "-p" in cmdline and str(port) in cmdline and "postgres" in " ".join(cmdline[:1]):
            with contextlib.suppress(psutil.Error):
                return [process, *process.children(recursive=True)]
    return []


def cpu_seconds(processes: list[Any]) -> dict[int, float]:
    """User + system CPU seconds of each live process, by pid."""
    import psutil

    out = {}
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            out[process.pid] = times.user + times.system
    return out


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two `cpu_seconds` (a process new since counts from zero)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


# --- one measurement ------------------------------------------------------------------------


def measure(
    system: str, server: str, python: Path, settings: Settings, say: Callable[[str], None]
) -> dict[str, Any]:
    """Run `system` as a cluster on `server`, kill one node; the figures (see `analyse`)."""
    import psutil

    from tests.postgres_server import create_database

    kind = NODE_KIND[system]
    url = create_database(server, f"bench_{system.replace('-', '_')}")
    port = int(server.rsplit(":", 1)[1].split("/", 1)[0])
    with _connect(url) as conn:
        conn.execute(WITNESS_TABLE)
    base = float(math.floor(time.time()) - 1)
    params = {
        "programs": settings.programs,
        "interval": settings.interval,
        "lease": settings.lease,
        "origin": base,
    }
    folder = LOGS / system
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    nodes: list[Node] = []
    try:
        # The first node creates the schema alone (APScheduler's create_all is no place to
        # race); the others then start together.
        deadline = time.time() + settings.ready_timeout
        remote = system == "actors-remote"
        nodes.append(start_node(python, kind, "node-1", url, params, folder, other_host=remote))
        wait_ready(nodes[:1], deadline)
        for k in range(2, settings.nodes + 1):
            nodes.append(start_node(python, kind, f"node-{k}", url, params, folder))
        wait_ready(nodes[1:], deadline)
        ready = time.time()
        took = ready - (deadline - settings.ready_timeout)
        say(f"{system}: {settings.nodes} nodes ready in {took:.1f} s")

        periods = max(1, round(settings.window / settings.interval))
        w0 = lattice_boundary(base, settings.interval, ready + settings.warmup)
        w1 = w0 + periods * settings.interval
        node_processes = [psutil.Process(node.process.pid) for node in nodes]
        sleep_until(w0)
        server0 = server_processes(port)
        nodes_cpu0, server_cpu0 = cpu_seconds(node_processes), cpu_seconds(server0)
        connections = _count_connections(url)
        sleep_until(w1)
        nodes_cpu1 = cpu_seconds(node_processes)
        server_cpu1 = cpu_seconds(server_processes(port))
        dead = [node.name for node in nodes if node.process.poll() is not None]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} died: {tail(nodes[0].log)}")

        held = holders(kind, url)
        victim = nodes[0]
        killed_at = time.time()
        kill(victim)
        say(f"{system}: killed {victim.name}; watching for {settings.after_kill:.0f} s")
        sleep_until(killed_at + settings.after_kill)
        ended = time.time()
        survivors_alive = all(node.process.poll() is None for node in nodes[1:])
        for node in nodes[1:]:
            kill(node)
        time.sleep(1.0)  # the server's statistics reach pg_stat_database within a second
        with _connect(url) as conn:
            rows = conn.execute(
                "SELECT program, scheduled_us, started_us, node FROM bench_witness"
            ).fetchall()
            (deadlocks,) = conn.execute(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        result = analyse(
            rows,
            settings=settings,
            base=base,
            w0=w0,
            w1=w1,
            killed_at=killed_at,
            ended=ended,
            victim=victim.name,
        )
        result.update(
            nodes_cpu_pct=cpu_spent(nodes_cpu0, nodes_cpu1) / (w1 - w0) * 100,
            server_cpu_pct=cpu_spent(server_cpu0, server_cpu1) / (w1 - w0) * 100,
            connections=connections,
            held_at_kill=held,
            deadlocks=int(deadlocks),
            survivors_alive=survivors_alive,
            logged={node.name: logged(node.log) for node in nodes if logged(node.log)[0]},
        )
        runs = result["window_runs"]
        spent = cpu_spent(nodes_cpu0, nodes_cpu1) + cpu_spent(server_cpu0, server_cpu1)
        result["cpu_per_run_us"] = spent / runs * 1e6 if runs else float("nan")
        return result
    finally:
        for node in nodes:
            kill(node)


def logged(log: Path) -> tuple[int, str]:
    """How many lines a node logged (warnings, errors, tracebacks), and its first and last."""
    with contextlib.suppress(OSError):
        text = [line.strip() for line in log.read_text().splitlines() if line.strip()]
        ends = text[:1] + text[-1:] if len(text) > 1 else text
        return len(text), " ... ".join(line[:240] for line in ends)
    return 0, ""


def _count_connections(url: str) -> int:
    """How many client connections the server has now."""
    with _connect(url) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        ).fetchone()
    return int(count)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (NaN for none)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def analyse(
    rows: list[tuple[str, int, int, str]],
    *,
    settings: Settings,
    base: float,
    w0: float,
    w1: float,
    killed_at: float,
    ended: float,
    victim: str,
) -> dict[str, Any]:
    """The figures of one measurement from its witness rows (see the module's docstring)."""
    interval = settings.interval
    first: dict[tuple[str, int], tuple[int, str]] = {}  # (program, scheduled) -> first run
    duplicates: list[tuple[str, int, list[str]]] = []
    seen: dict[tuple[str, int], list[str]] = {}
    for program, scheduled, started, node_name in sorted(rows, key=lambda row: row[2]):
        key = (program, scheduled)
        seen.setdefault(key, []).append(node_name)
        first.setdefault(key, (started, node_name))
    for (program, scheduled), nodes in seen.items():
        if len(nodes) > 1:
            duplicates.append((program, scheduled, nodes))

    # The steady window: what was scheduled in it, and what started in it.
    w0_us, w1_us = w0 * 1e6, w1 * 1e6
    late = sorted(
        (started - scheduled) / 1000
        for (_, scheduled), (started, _) in first.items()
        if w0_us <= scheduled < w1_us
    )
    periods = round((w1 - w0) / interval)
    expected = settings.programs * periods
    window_runs = sum(1 for row in rows if w0_us <= row[2] < w1_us)
    per_node: dict[str, int] = {}
    for row in rows:
        if w0_us <= row[2] < w1_us:
            per_node[row[3]] = per_node.get(row[3], 0) + 1

    # The kill: whose programs, and when each ran next on another node.
    kill_us = killed_at * 1e6
    last_before: dict[str, tuple[int, str]] = {}
    next_elsewhere: dict[str, int] = {}
    for program, _, started, node_name in rows:
        if started < kill_us:
            if program not in last_before or started > last_before[program][0]:
                last_before[program] = (started, node_name)
        elif node_name != victim and (
            program not in next_elsewhere or started < next_elsewhere[program]
        ):
            next_elsewhere[program] = started
    victims = sorted(p for p, (_, node_name) in last_before.items() if node_name == victim)
    takeovers = sorted((next_elsewhere[p] - kill_us) / 1e6 for p in victims if p in next_elsewhere)
    not_taken = len(victims) - len(takeovers)
    watched = ended - killed_at

    # Ticks of the grid, from the kill to a second before the end, with no witnessed run.
    k0 = math.ceil((killed_at - base) / interval)
    k1 = math.floor((ended - 1.0 - base) / interval)
    after_expected = max(0, k1 - k0 + 1) * settings.programs
    after_runs = sum(
        1 for (_, scheduled) in first if k0 <= round((scheduled / 1e6 - base) / interval) <= k1
    )
    return {
        "window_s": w1 - w0,
        "window_runs": window_runs,
        "runs_per_s": window_runs / (w1 - w0),
        "offered_per_s": settings.programs / interval,
        "per_node_runs_per_s": {k: v / (w1 - w0) for k, v in sorted(per_node.items())},
        "p50_ms": percentile(late, 0.50),
        "p99_ms": percentile(late, 0.99),
        "max_ms": late[-1] if late else float("nan"),
        "expected": expected,
        "lost": max(0, expected - len(late)),
        "victims": len(victims),
        "takeover_max_s": (float("inf") if not_taken else takeovers[-1]) if victims else None,
        "takeover_p50_s": statistics.median(takeovers) if takeovers else None,
        "not_taken_over": not_taken,
        "watched_s": watched,
        "after_expected": after_expected,
        "after_lost": max(0, after_expected - after_runs),
        "duplicates": sum(len(nodes) - 1 for _, _, nodes in duplicates),
        "duplicate_examples": [
            f"{program} @ {datetime.fromtimestamp(at / 1e6, UTC):%H:%M:%S.%f} by {'+'.join(nodes)}"
            for program, at, nodes in duplicates[:3]
        ],
        "rows": len(rows),
    }


# --- the report -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """One system's figures, or why there are none."""

    result: dict[str, Any] | None = None
    unavailable: str | None = None


def labels() -> dict[str, str]:
    """The column of each system."""
    return {
        "actors": "actors",
        "actors-remote": "actors, killed runner on another host",
        "apscheduler4": f"APScheduler {aps_version()}",
    }


#: The ratio columns: (system, header); each against APScheduler 4.
RATIOS = (
    ("actors", "actors / APScheduler 4"),
    ("actors-remote", "actors (other host) / APScheduler 4"),
)

Line = tuple[str, dict[str, str], dict[str, str]]  # label, cells by system, ratios by system


def _finite(value: Any) -> bool:
    """Whether `value` is a finite number."""
    return isinstance(value, int | float) and math.isfinite(value)


def _cell(outcome: Outcome, value: Any, digits: int) -> str:
    """One figure's text (or why it is missing)."""
    from tests.bench.bench_harness import fmt_number

    if outcome.unavailable is not None:
        return "not available"
    if not _finite(value):
        return "-"
    return fmt_number(float(value), digits)


def _takeover_cell(outcome: Outcome, key: str) -> str:
    """A takeover figure's text: seconds, or more than the watch if some were not."""
    result = outcome.result
    if outcome.unavailable is not None or result is None:
        return _cell(outcome, None, 0)
    if result["victims"] == 0:
        return "no program was the killed node's"
    if result[key] == float("inf"):
        missing = f"{result['not_taken_over']} of {result['victims']}"
        return f"> {result['watched_s']:.0f} ({missing} not taken over)"
    return _cell(outcome, result[key], 2)


def build_lines(outcomes: dict[str, Outcome], settings: Settings) -> list[Line]:
    """The table's lines: a label, one cell per system, the ratios to APScheduler 4."""
    from tests.bench.bench_harness import fmt_ratio

    lines: list[Line] = []

    def value(system: str, key: str) -> Any:
        return (outcomes[system].result or {}).get(key)

    def ratios(key: str) -> dict[str, str]:
        theirs = value("apscheduler4", key)
        out = {}
        for system, _ in RATIOS:
            mine = value(system, key)
            out[system] = fmt_ratio(mine, theirs) if _finite(mine) and _finite(theirs) else ""
        return out

    def metric(label: str, key: str, digits: int, *, ratio: bool = True) -> None:
        cells = {system: _cell(o, value(system, key), digits) for system, o in outcomes.items()}
        lines.append((label, cells, ratios(key) if ratio else {}))

    def counted(label: str, key: str, total: str) -> None:
        cells = {}
        for system, outcome in outcomes.items():
            result = outcome.result
            cells[system] = (
                _cell(outcome, None, 0)
                if result is None
                else f"{result[key]:,} / {result[total]:,}"
            )
        lines.append((label, cells, {}))

    offered = settings.programs / settings.interval
    metric(f"runs/s ({offered:,.0f} offered), steady window", "runs_per_s", 1)
    for system, outcome in outcomes.items():  # the first line says why (the notes in full)
        if outcome.unavailable is not None:
            reason = outcome.unavailable
            reason = reason if len(reason) <= 80 else reason[:79] + "…"
            lines[0][1][system] = f"not available: {reason}"
    metric("    start lateness p50 (ms)", "p50_ms", 2)
    metric("    p99 (ms)", "p99_ms", 2)
    metric("    max (ms)", "max_ms", 2)
    counted("    scheduled runs with no run", "lost", "expected")
    metric(f"    CPU of the {settings.nodes} nodes (% of one core)", "nodes_cpu_pct", 1)
    metric("    CPU of the PostgreSQL server (% of one core)", "server_cpu_pct", 1)
    metric("    CPU per run, nodes + server (µs)", "cpu_per_run_us", 0)
    lines.append((
        "kill -9 of one node: takeover, max (s)",
        {system: _takeover_cell(o, "takeover_max_s") for system, o in outcomes.items()},
        ratios("takeover_max_s"),
    ))  # fmt: skip
    lines.append((
        "    takeover, median (s)",
        {system: _takeover_cell(o, "takeover_p50_s") for system, o in outcomes.items()},
        {},
    ))  # fmt: skip
    metric("    programs whose last run was the killed node's", "victims", 0, ratio=False)
    counted("    ticks with no run, kill to end", "after_lost", "after_expected")
    metric("duplicate runs (same program and scheduled time), whole run", "duplicates", 0,
           ratio=False)  # fmt: skip
    metric("deadlocks the server detected (pg_stat_database), whole run", "deadlocks", 0,
           ratio=False)  # fmt: skip
    return lines


def rich_table(lines: list[Line], title: str) -> Any:
    """The table for the terminal."""
    from rich.table import Table

    names = labels()
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    for system in SYSTEMS:
        table.add_column(names[system], justify="right")
    for _, header in RATIOS:
        table.add_column(header, justify="right")
    for label, cells, ratios in lines:
        table.add_row(
            label,
            *(cells.get(system, "") for system in SYSTEMS),
            *(ratios.get(system, "") for system, _ in RATIOS),
        )
    return table


def markdown_table(lines: list[Line]) -> str:
    """The same table in markdown."""
    names = labels()
    headers = ["figure", *(names[s] for s in SYSTEMS), *(h for _, h in RATIOS)]
    out = ["| " + " | ".join(headers) + " |", "|---|" + "---:|" * (len(headers) - 1)]
    for label, cells, ratios in lines:
        row = [label.replace("    ", "&nbsp;&nbsp;&nbsp;&nbsp;")]
        row += [cells.get(s, "") for s in SYSTEMS] + [ratios.get(s, "") for s, _ in RATIOS]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(out)


def collect_notes(outcomes: dict[str, Outcome]) -> list[str]:
    """What the table cannot say: shares per node, who held what at the kill, logs,
    duplicates, why a system is missing."""
    names = labels()
    notes = []
    for system, outcome in outcomes.items():
        label = names[system]
        if outcome.unavailable is not None:
            notes.append(f"{label}: not available: {outcome.unavailable}")
            continue
        result = outcome.result
        assert result is not None
        shares = ", ".join(
            f"{name} {rate:,.0f}" for name, rate in result["per_node_runs_per_s"].items()
        )
        what = "programs owned" if NODE_KIND[system] == "actors" else "schedules acquired"
        held = ", ".join(f"{who} {count}" for who, count in sorted(result["held_at_kill"].items()))
        before, after = result.get("load", (float("nan"), float("nan")))
        notes.append(
            f"{label}: runs/s by node in the steady window: {shares}; {what} just before "
            f"the kill of node-1: {held}; {result['connections']} client connections to "
            f"the server; load average (1 min) of the machine {before:.1f} before, "
            f"{after:.1f} after."
        )
        held_by_victim = result["held_at_kill"].get("node-1", 0)
        if system == "apscheduler4" and held_by_victim:
            notes.append(
                f"{label}: the killed node held {held_by_victim} schedule(s) when it died. "
                "The survivors wait for a schedule's next fire time only among schedules that "
                "nobody holds (agronholm/apscheduler#1053, open in this release): until "
                "something else wakes them, the dead node's schedules wait for more than its "
                "lease."
            )
        if result["duplicates"]:
            notes.append(
                f"{label}: {result['duplicates']} duplicate run(s), e.g. "
                + "; ".join(result["duplicate_examples"])
            )
        if not result["survivors_alive"]:
            notes.append(f"{label}: a surviving node died during the measurement")
        for name, (count, first) in result["logged"].items():  # first ... last
            where = LOGS.relative_to(ROOT) / system / f"{name}.log"
            first = first.replace("`", "'")
            notes.append(f"{label}: {name} logged {count} line(s) ({where}): `{first}`")
    return notes


def machine_line() -> str:
    """Where and when, as the other sections say it."""
    from tests.bench.bench_harness import machine

    info = machine()
    return (
        f"Measured {info['date']} on {info['cpus']} CPUs ({info['cpu model']}), "
        f"{info['python']}, {info['os']}. Commit {info['commit']}."
    )


def section_markdown(lines: list[Line], notes: list[str], settings: Settings, packages: str) -> str:
    """The doc's section between the cluster markers."""
    mode = "quick (`--quick`)" if settings.quick else "full"
    setup = (
        f"{settings.nodes} nodes, {settings.programs} programs every {settings.interval:g} s "
        f"(each run one witness insert), lease {settings.lease:g} s; warm-up "
        f"{settings.warmup:g} s, steady window {settings.window:g} s, then `kill -9` of "
        f"node-1, watched for {settings.after_kill:g} s. One run of each (a kill is one event)."
    )
    out = [
        BEGIN,
        machine_line(),
        f"Packages: {packages}. Mode: {mode}. {setup}",
        "",
        markdown_table(lines),
    ]
    if notes:
        out += ["", *[f"- {note}" for note in notes]]
    out.append(END)
    return "\n".join(out)


def write_doc(section: str) -> None:
    """Put `section` between the cluster markers of docs/performance.md (the first time under
    a heading of its own, after the other results); nothing else is touched."""
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        block = f"{DOC_HEADING}\n\n{DOC_INTRO}\n\n{section}\n"
        anchor = "<!-- bench:end -->"
        if anchor in text:
            head, tail_text = text.split(anchor, 1)
            text = f"{head}{anchor}\n\n{block}\n{tail_text.lstrip(chr(10))}"
        else:
            text = text.rstrip("\n") + "\n\n" + block
    DOC.write_text(text)


# --- entry point ----------------------------------------------------------------------------


def run(
    settings: Settings, say: Callable[[str], None], systems: tuple[str, ...] = SYSTEMS
) -> tuple[dict[str, Outcome], str]:
    """Start the server, measure each of `systems` on it; the outcomes and a packages line."""
    outcomes = {system: Outcome() for system in SYSTEMS}
    for system in set(SYSTEMS) - set(systems):
        outcomes[system].unavailable = "not run (--system)"
    pythons = {"actors": Path(sys.executable), "actors-remote": Path(sys.executable)}
    if "actors-remote" in systems and (problem := other_host_problem()):
        outcomes["actors-remote"].unavailable = problem
    if "apscheduler4" in systems:
        try:
            pythons["apscheduler4"] = ensure_aps_venv(say)
        except Unavailable as error:
            outcomes["apscheduler4"].unavailable = str(error)
    packages = []
    for package in ("actors", "psycopg", "psycopg-pool"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            packages.append(f"{package} {metadata.version(package)}")
    if "apscheduler4" in pythons:
        found = venv_versions(pythons["apscheduler4"], ("apscheduler", "sqlalchemy", "psycopg"))
        packages += [f"{name} {version} (APScheduler's venv)" for name, version in found.items()]
    try:
        from tests.postgres_server import throwaway_postgres

        with throwaway_postgres() as server:
            with _connect(server) as conn:
                (version,) = conn.execute("SHOW server_version").fetchone()
            packages.append(f"PostgreSQL {version.split()[0]}")
            for system in SYSTEMS:
                outcome = outcomes[system]
                if outcome.unavailable is not None:
                    continue
                started, load = time.monotonic(), os.getloadavg()[0]
                try:
                    outcome.result = measure(system, server, pythons[system], settings, say)
                except Exception as error:  # one system's failure is the other's figure
                    outcome.unavailable = f"failed: {type(error).__name__}: {error}"[:300]
                else:
                    outcome.result["load"] = (load, os.getloadavg()[0])
                say(f"{system}: done in {time.monotonic() - started:.0f} s")
    except RuntimeError as error:  # no server: nothing can be measured
        for outcome in outcomes.values():
            outcome.unavailable = outcome.unavailable or f"no PostgreSQL server: {error}"
    return outcomes, ", ".join(packages)


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.bench --only cluster [--quick] [--write | --no-write]`."""
    from rich.console import Console

    parser = argparse.ArgumentParser(
        prog="python -m tests.bench --only cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="shorter windows (~2.5 minutes)")
    parser.add_argument("--write", action="store_true", help="write the doc even with --quick")
    parser.add_argument("--no-write", action="store_true", help="do not write the doc")
    explore = parser.add_argument_group("exploring (the doc is then written only with --write)")
    explore.add_argument("--system", choices=SYSTEMS, help="measure only this one")
    explore.add_argument("--programs", type=int, help=f"instead of {FULL.programs}")
    explore.add_argument("--interval", type=float, help=f"seconds, instead of {FULL.interval:g}")
    explore.add_argument("--nodes", type=int, help=f"instead of {FULL.nodes} (at least 2)")
    options = parser.parse_args(argv)
    quick = options.quick or os.environ.get("QUICK", "") not in ("", "0")
    settings = QUICK if quick else FULL
    changes = {
        name: getattr(options, name)
        for name in ("programs", "interval", "nodes")
        if getattr(options, name) is not None
    }
    if changes.get("nodes", 2) < 2:
        parser.error("--nodes: at least 2 (one is killed)")
    settings = replace(settings, **changes)
    systems = (options.system,) if options.system else SYSTEMS
    exploring = bool(changes) or options.system is not None
    console = Console() if sys.stdout.isatty() else Console(width=200)
    started = time.monotonic()

    def say(text: str) -> None:
        console.print(f"[dim]{time.monotonic() - started:6.0f}s[/] {text}", highlight=False)

    console.print(
        f"[bold]cluster benchmark[/] ({'quick' if quick else 'full'}): {settings.nodes} nodes "
        "of actors (twice: the killed runner on this host, then on another), then of "
        "APScheduler 4, on one PostgreSQL server"
    )
    outcomes, packages = run(settings, say, systems)
    lines = build_lines(outcomes, settings)
    notes = collect_notes(outcomes)
    title = (
        f"{settings.nodes} nodes on one PostgreSQL server, {settings.programs} programs every "
        f"{settings.interval:g} s, one node killed (a ratio < 1 favours actors, except runs/s)"
    )
    console.print()
    console.print(rich_table(lines, title))
    for note in notes:
        console.print(f"[dim]- {note}[/]", highlight=False)
    if options.write or (not quick and not exploring and not options.no_write):
        write_doc(section_markdown(lines, notes, settings, packages))
        console.print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0
