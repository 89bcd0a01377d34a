"""A cluster to watch: three runner processes share one PostgreSQL store, and one is killed.

The demo starts a throwaway PostgreSQL server (initdb and pg_ctl in a temporary directory, as
the tests do), then three runner processes on it (this script again, with `--runner`), each
installing the same nine programs: the runners share them by leases, three each. A live table
shows who runs what and how many runs each program made, read from the store twice a second.
At half time one runner is killed with `kill -9`: the others see its process is gone and take
its programs over within a beat (a sixth of the lease), going on from the runs it stored.
At the end the runners stop (SIGTERM: each gives up its programs) and the server goes.

Run it: `make cluster-demo`, or `.venv/bin/python examples/cluster_demo.py [--seconds 20]`
(it needs PostgreSQL's server binaries: `apt install postgresql`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The throwaway server is the tests' own (`tests/postgres_server.py`), and the programs'
# main_fn must be importable by reference (`examples.cluster_demo:visit`: a runner that takes a
# program over imports it; a function of `__main__` has no reference). Both need the
# repository's root on sys.path: this is a demo of a checkout, not an installed package.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROGRAMS = [f"job-{number}" for number in range(1, 10)]
RUNNERS = ["runner-1", "runner-2", "runner-3"]
#: The runner killed at half time.
VICTIM = "runner-2"


def visit(args: Any, timestamp: datetime) -> int:
    """Every program's main_fn: a little work."""
    time.sleep(0.01)
    return 1


# --- a runner process ---------------------------------------------------------------------------


def run_runner(url: str, runner_id: str, lease: float) -> None:
    """Run one runner on the store at `url` until SIGTERM (or Ctrl-C), then stop it."""
    from actors import Program, Runner, every

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner = Runner(id=runner_id, store=url, lease=lease)
    try:
        for program_id in PROGRAMS:
            runner.install(
                Program(
                    id=program_id,
                    schedule=every(0.5),
                    min=1,
                    main_fn="examples.cluster_demo:visit",
                )
            )
        print("ready", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        runner.stop()


# --- the demo -----------------------------------------------------------------------------------


def start_runner(url: str, runner_id: str, lease: float) -> subprocess.Popen[str]:
    """A runner process, once it says it runs."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--runner", url, runner_id, "--lease", str(lease)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        child.kill()
        msg = f"{runner_id} did not start (exit code {child.wait()})"
        raise RuntimeError(msg)
    return child


def read_store(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The programs (id, owner, runs, last_run) and runners (id, pid, heartbeat) of the store,
    times in microseconds."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        programs = conn.execute(
            "SELECT id, owner, runs, last_run FROM actors_programs ORDER BY id"
        ).fetchall()
        runners = conn.execute(
            "SELECT id, pid, heartbeat FROM actors_runners ORDER BY id"
        ).fetchall()
    return programs, runners


def view(
    url: str, elapsed: float, seconds: float, lease: float, events: list[str], killed: set[str]
) -> Any:
    """The live view: the runners (`killed`: those this demo killed), the programs, what
    happened."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    programs, runner_rows = read_store(url)
    now = datetime.now(UTC).timestamp()
    counts: dict[str, int] = {}
    for _, owner, _, _ in programs:
        if owner is not None:
            counts[owner] = counts.get(owner, 0) + 1
    colors = dict(zip(RUNNERS, ("cyan", "magenta", "green"), strict=True))
    runners = Table(title=f"runners (lease {lease:g} s)", title_justify="left")
    for column in ("runner", "pid", "process", "heard of", "programs"):
        runners.add_column(column)
    for runner_id, pid, heartbeat in runner_rows:
        age = now - heartbeat / 1e6
        alive = age < lease / 2
        runners.add_row(
            Text(runner_id, style=colors.get(runner_id, "")),
            str(pid),
            Text("killed", style="bold red") if runner_id in killed else Text("running"),
            Text(f"{age:4.1f} s ago", style="" if alive else "bold red"),
            str(counts.get(runner_id, 0)),
        )
    table = Table(title="programs (every 0.5 s)", title_justify="left")
    for column in ("program", "run by", "runs", "last run"):
        table.add_column(column)
    for program_id, owner, runs, last_run in programs:
        last = "-" if last_run is None else f"{now - last_run / 1e6:4.1f} s ago"
        table.add_row(
            program_id,
            Text(owner or "nobody", style=colors.get(owner or "", "bold red")),
            str(runs),
            last,
        )
    clock = Text(f"{elapsed:4.1f} s of {seconds:g} s", style="bold")
    return Group(clock, runners, table, *(Text(event) for event in events[-4:]))


def demo(seconds: float, lease: float) -> None:
    from rich.console import Console
    from rich.live import Live

    from tests.postgres_server import create_database, throwaway_postgres

    console = Console()
    children: dict[str, subprocess.Popen[str]] = {}
    with throwaway_postgres() as server:
        url = create_database(server, "cluster_demo")
        console.print(f"PostgreSQL server up: {url}")
        try:
            for runner_id in RUNNERS:
                children[runner_id] = start_runner(url, runner_id, lease)
                console.print(f"started {runner_id} (pid {children[runner_id].pid})")
            events: list[str] = []
            started = time.monotonic()
            killed: set[str] = set()
            with Live(console=console, auto_refresh=False) as live:
                while (elapsed := time.monotonic() - started) < seconds:
                    if not killed and elapsed >= seconds / 2:
                        os.kill(children[VICTIM].pid, signal.SIGKILL)
                        children[VICTIM].wait()
                        killed.add(VICTIM)
                        events.append(
                            f"{elapsed:4.1f} s: kill -9 {VICTIM} (pid {children[VICTIM].pid}): "
                            "watch its programs move"
                        )
                    live.update(view(url, elapsed, seconds, lease, events, killed), refresh=True)
                    time.sleep(0.5)  # the view's refresh
                live.update(view(url, seconds, seconds, lease, events, killed), refresh=True)
        finally:
            stop_all(children)
            console.print("\nrunners stopped")
    console.print("server stopped and removed")


def stop_all(children: dict[str, subprocess.Popen[str]]) -> None:
    """SIGTERM every runner still running (each gives up its programs), then wait; kill any
    that does not stop."""
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            with contextlib.suppress(OSError):
                child.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to watch")
    parser.add_argument("--lease", type=float, default=3.0, help="the runners' lease (s)")
    parser.add_argument("--runner", nargs=2, metavar=("URL", "ID"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.runner:
        run_runner(options.runner[0], options.runner[1], options.lease)
    else:
        demo(options.seconds, options.lease)


if __name__ == "__main__":
    main()
