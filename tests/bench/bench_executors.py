"""Where a spawn's runs run: `executor="thread"`, `"process"` and `"ray"`, side by side.

`python -m tests.bench --only executors [--quick]` (and the "executors" part of `make bench`).

Two jobs, on each executor: `noop` (returns at once) and `cpu10` (a busy loop until its own
thread has used 10 ms of CPU, `time.thread_time()`: under the thread executor
`time.process_time()` would count every thread of the runner's process, so two concurrent runs
would each stop after about 5 ms of their own). Each job is one program with `min=2`, driven
through the full path, `runner.trigger(id, wait=False)` with two triggers always in flight (a
new one as soon as one of the two futures is done), so each trigger finds an idle spawn:

- first the two spawns are started (two triggers, waited for: a child process, a Ray actor),
  then a warm-up, then a fixed window in which completed runs are counted: runs/s;
- the CPU of the window (user + system, psutil): the runner's own process (its worker threads,
  and for Ray the driver's threads) and every process under it (the `process` executor's
  children; for Ray, which this process starts, `ray.init(num_cpus=2)`: gcs_server, raylet and
  its workers, the spawns' actors among them), plus any process whose command line names this
  process's Ray session (the Ray of other processes on the machine is left out). CPU per run
  is each share divided by the runs of the window.

The thread executor is measured twice, against this tree and against the code as it was
before the executor layer (`162549a`, checked out as a git worktree in `build/bench-baseline/`,
kept between runs): the same measurement with `PYTHONPATH` on that worktree (the measurement
checks that `actors` comes from it). Those two alternate, in every repeat, and their ratio is
taken repeat by repeat: the median and the spread (min - max) of the ratios are reported.

Every measurement runs in a fresh interpreter (this file, run as a script:
`bench_executors.py worker VARIANT PARAMS`), which prints one line, `BENCH-EXECUTORS {json}`.
This module imports nothing beyond the standard library at its top: the baseline runs it too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:executors:begin -->", "<!-- bench:executors:end -->"
DOC_HEADING = "## Executors"
DOC_INTRO = """Runs/s and CPU per run of one program with `min=2` on each executor (`thread`,
`process`, `ray`), two triggers always in flight, for a no-op `main_fn` and one that burns
10 ms of CPU; and the thread executor against the code before the executor layer existed
(`162549a`). The harness is `tests/bench/bench_executors.py` (its docstring says how each
figure is measured); only this part: `python -m tests.bench --only executors [--quick]`.
Everything between the `bench:executors` markers is written by it."""

BASELINE_REV = "162549a"
BASELINE = ROOT / "build" / "bench-baseline"
RESULT_PREFIX = "BENCH-EXECUTORS "
MODULE = "tests.bench.bench_executors"
VARIANTS = ("thread", "thread-before", "process", "ray")
LABELS = {
    "thread": "thread",
    "thread-before": f"thread (before executors, {BASELINE_REV})",
    "process": "process",
    "ray": "ray",
}
JOBS = ("noop", "cpu10")
JOB_LABELS = {"noop": "no-op", "cpu10": "10 ms of CPU"}
IN_FLIGHT = 2
START_TIMEOUT = 120.0  # the first two runs: a child process each, or a Ray actor each
HARD_TIMEOUT = 240.0  # one measurement process, all jobs


@dataclass(frozen=True)
class Settings:
    """What one run of the executors bench does (seconds, except the counts)."""

    quick: bool
    repeats: int  # thread now / before pairs
    other_repeats: int  # process and ray
    warmup: float
    window: float


FULL = Settings(quick=False, repeats=5, other_repeats=2, warmup=1.0, window=3.0)
QUICK = Settings(quick=True, repeats=3, other_repeats=1, warmup=0.5, window=1.5)


# --- the jobs (module-level: a child process or a Ray actor imports them) -------------------


def noop(args: Any, scheduled_at: Any) -> None:
    """Nothing."""


def cpu10(args: Any, scheduled_at: Any) -> None:
    """A busy loop until this thread has used 10 ms of CPU."""
    end = time.thread_time() + 0.010
    while time.thread_time() < end:
        pass


# --- the measurement process ----------------------------------------------------------------


def _kind(cmdline: list[str], name: str) -> str:
    """What a process under the runner is, for the CPU breakdown."""
    text = " ".join(cmdline)
    if text.startswith("ray::"):
        return text.split()[0].split(".")[0]  # ray::RaySpawnWorker, ray::IDLE
    for marker in ("raylet", "gcs_server", "multiprocessing.resource_tracker"):
        if marker in text:
            return marker.rsplit(".", 1)[-1]
    if "multiprocessing.spawn" in text:
        return "child process"
    for part in cmdline:
        if part.endswith(".py"):
            return Path(part).name  # Ray's agents and monitors
    return name


def _others() -> dict[tuple[int, float], tuple[str, float]]:
    """Every process under this one, and any other of this process's Ray session (its
    directory, `/tmp/ray/session_<time>_<this pid>`, is on their command lines): its kind and
    CPU seconds so far, by (pid, start time). Ray processes of other sessions on the machine
    are not counted."""
    import psutil

    me = psutil.Process()
    found = {p.pid: p for p in me.children(recursive=True)}
    session = re.compile(rf"/session_[^/\s]*_{me.pid}(/|\s|$)")
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.pid != me.pid and session.search(cmdline):
            found.setdefault(process.pid, process)
    out = {}
    for process in found.values():
        with contextlib.suppress(psutil.Error), process.oneshot():
            times = process.cpu_times()
            key = (process.pid, process.create_time())
            out[key] = (_kind(process.cmdline(), process.name()), times.user + times.system)
    return out


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _drive(runner: Any, program_id: str, seconds: float) -> tuple[int, float]:
    """Triggers for `seconds`, `IN_FLIGHT` always outstanding: runs completed, time taken. The
    runs still outstanding at the end are waited for, outside the time."""
    from concurrent.futures import FIRST_COMPLETED, wait

    pending: set[Any] = set()
    completed = 0
    start = time.perf_counter()
    end = start + seconds
    while (now := time.perf_counter()) < end:
        while len(pending) < IN_FLIGHT:
            pending.add(runner.trigger(program_id, wait=False))
        done, pending = wait(pending, timeout=end - now, return_when=FIRST_COMPLETED)
        for future in done:
            future.result()
            completed += 1
    elapsed = time.perf_counter() - start
    for future in pending:
        future.result(timeout=START_TIMEOUT)
    return completed, elapsed


def _measure(runner: Any, program_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """One program already installed: start its spawns, warm up, measure a window."""
    first = [runner.trigger(program_id, wait=False) for _ in range(IN_FLIGHT)]
    started = time.perf_counter()
    for future in first:
        future.result(timeout=START_TIMEOUT)
    start_s = time.perf_counter() - started
    _drive(runner, program_id, params["warmup"])
    others_before, own_before = _others(), _own_cpu()
    runs, elapsed = _drive(runner, program_id, params["window"])
    own_after, others_after = _own_cpu(), _others()
    breakdown: dict[str, float] = {}
    for key, (kind, cpu) in others_after.items():
        spent = cpu - others_before.get(key, (kind, 0.0))[1]
        breakdown[kind] = breakdown.get(kind, 0.0) + spent
    runner_cpu = own_after - own_before
    others_cpu = sum(breakdown.values())
    return {
        "runs": runs,
        "elapsed_s": elapsed,
        "start_s": start_s,
        "runs_per_s": runs / elapsed,
        "runner_cpu_s": runner_cpu,
        "others_cpu_s": others_cpu,
        "breakdown_s": breakdown,
        "processes": len(others_after),
        "runner_us": 1e6 * runner_cpu / max(runs, 1),
        "total_us": 1e6 * (runner_cpu + others_cpu) / max(runs, 1),
    }


def worker(argv: list[str]) -> None:
    """`worker VARIANT PARAMS_JSON`: measure every job of `VARIANT` in this process; print one
    `BENCH-EXECUTORS {json}` line."""
    variant, params = argv[0], json.loads(argv[1])
    import logging

    logging.basicConfig(level=logging.WARNING)
    import actors
    from actors import Program, Runner

    where = Path(actors.__file__).resolve()
    expected = Path(params["root"]).resolve()
    if not where.is_relative_to(expected):
        msg = f"actors came from {where}, not from {expected}"
        raise SystemExit(msg)
    out: dict[str, Any] = {"variant": variant, "actors_file": str(where), "jobs": {}}
    executor = {} if variant.startswith("thread") else {"executor": variant}
    if variant == "ray":
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        out["ray_init_s"] = time.perf_counter() - started
    if executor:  # a child process or a Ray actor imports the job by its module's name
        import importlib

        functions = importlib.import_module(MODULE)
    else:
        functions = sys.modules[__name__]
    runner = Runner()
    try:
        for job in params["jobs"]:
            program = Program(id=job, main_fn=getattr(functions, job), min=2, **executor)
            runner.install(program)
            out["jobs"][job] = _measure(runner, job, params)
            runner.uninstall(job)
    finally:
        runner.stop()
        if variant == "ray":
            import ray

            ray.shutdown()
    print(RESULT_PREFIX + json.dumps(out), flush=True)


# --- the parent -----------------------------------------------------------------------------


class Unavailable(Exception):
    """A variant cannot be measured here; the message says why."""


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout or f"exit {done.returncode}").strip().splitlines()
        raise Unavailable(f"git {' '.join(args)}: {lines[-1]}")
    return done.stdout.strip()


def ensure_baseline() -> Path:
    """The git worktree of `BASELINE_REV` in build/bench-baseline/ (made, or reused).

    Raises:
        Unavailable: git cannot make it, or it holds the executor layer after all.
    """
    wanted = _git("rev-parse", f"{BASELINE_REV}^{{commit}}")
    if not (BASELINE / ".git").exists():
        BASELINE.parent.mkdir(parents=True, exist_ok=True)
        _git("worktree", "prune")
        _git("worktree", "add", "--detach", str(BASELINE), wanted)
    elif _git("rev-parse", "HEAD", cwd=BASELINE) != wanted:
        _git("checkout", "--detach", wanted, cwd=BASELINE)
    if (BASELINE / "actors" / "runtime" / "_executor.py").exists():
        raise Unavailable(f"{BASELINE_REV} has actors/runtime/_executor.py: not the baseline")
    return BASELINE


def run_one(variant: str, settings: Settings) -> dict[str, Any]:
    """One measurement process for `variant`, every job; its result (`error` if it failed)."""
    root = BASELINE if variant == "thread-before" else ROOT
    params = {
        "jobs": list(JOBS),
        "warmup": settings.warmup,
        "window": settings.window,
        "root": str(root),
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    command = [sys.executable, str(Path(__file__).resolve()), "worker", variant]
    try:
        done = subprocess.run(
            [*command, json.dumps(params)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=HARD_TIMEOUT,
            check=False,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {HARD_TIMEOUT:.0f} s (killed)"}
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    lines = (done.stderr or done.stdout or "no output").strip().splitlines()
    return {"error": f"exit {done.returncode}: {lines[-1] if lines else ''}"[:300]}


@dataclass
class Outcome:
    """Every repeat of one variant (each with all jobs)."""

    results: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    unavailable: str | None = None

    def values(self, job: str, metric: str) -> list[float]:
        return [r["jobs"][job][metric] for r in self.results if job in r["jobs"]]


def schedule(settings: Settings) -> list[str]:
    """The order of the measurements: thread now and before alternate (which one goes first
    alternates too), process and ray between the pairs."""
    order = []
    for repeat in range(settings.repeats):
        pair = ["thread", "thread-before"]
        order += pair if repeat % 2 == 0 else pair[::-1]
        if repeat < settings.other_repeats:
            order += ["process", "ray"]
    return order


def run_all(settings: Settings, say: Callable[[str], None]) -> dict[str, Outcome]:
    outcomes = {variant: Outcome() for variant in VARIANTS}
    try:
        ensure_baseline()
    except Unavailable as error:
        outcomes["thread-before"].unavailable = str(error)
    try:
        import ray  # noqa: F401
    except ImportError:
        outcomes["ray"].unavailable = "Ray is not installed (pip install 'actors[ray]')"
    counts = dict.fromkeys(VARIANTS, 0)
    for variant in schedule(settings):
        outcome = outcomes[variant]
        if outcome.unavailable is not None:
            continue
        counts[variant] += 1
        started = time.monotonic()
        result = run_one(variant, settings)
        spent = time.monotonic() - started
        if "error" in result:
            outcome.failures.append(result["error"])
            text = f"[red]error[/]: {result['error']}"
        else:
            outcome.results.append(result)
            text = "; ".join(
                f"{job} {r['runs_per_s']:,.0f} runs/s, {r['runner_us']:,.0f} / "
                f"{r['total_us']:,.0f} µs CPU/run"
                for job, r in result["jobs"].items()
            )
        say(f"{variant:<13} #{counts[variant]} {spent:5.1f}s  {text}")
    return outcomes


# --- the tables -----------------------------------------------------------------------------


def _with_spread(values: list[float], digits: int) -> str:
    """The median, and (min - max) when there are several."""
    from tests.bench.bench_harness import fmt_number

    if not values:
        return "-"
    text = fmt_number(statistics.median(values), digits)
    if len(values) > 1:
        low, high = fmt_number(min(values), digits), fmt_number(max(values), digits)
        text += f" ({low}-{high})"
    return text


Row = tuple[str, str, list[str]]  # executor, job, cells

HEADERS = (
    "runs/s",
    "CPU per run, runner process (µs)",
    "CPU per run, total (µs)",
    "of which other processes (µs)",
)


def build_rows(outcomes: dict[str, Outcome]) -> list[Row]:
    rows: list[Row] = []
    for job in JOBS:
        for variant in VARIANTS:
            outcome = outcomes[variant]
            if outcome.unavailable is not None or not outcome.results:
                why = outcome.unavailable or (outcome.failures or ["not run"])[0]
                why = why if len(why) <= 60 else why[:59] + "…"
                rows.append((LABELS[variant], JOB_LABELS[job], [f"not available: {why}"]))
                continue
            others = [
                total - runner
                for total, runner in zip(
                    outcome.values(job, "total_us"), outcome.values(job, "runner_us"), strict=True
                )
            ]
            cells = [
                _with_spread(outcome.values(job, "runs_per_s"), 0),
                _with_spread(outcome.values(job, "runner_us"), 0),
                _with_spread(outcome.values(job, "total_us"), 0),
                _with_spread(others, 0),
            ]
            rows.append((LABELS[variant], JOB_LABELS[job], cells))
    return rows


@dataclass(frozen=True)
class Comparison:
    """Thread now against thread before, for one job and one figure."""

    job: str
    figure: str
    now: float
    before: float
    ratios: list[float]
    higher_is_better: bool

    @property
    def verdict(self) -> str:
        low, high = min(self.ratios), max(self.ratios)
        median = statistics.median(self.ratios)
        better = median >= 1.0 if self.higher_is_better else median <= 1.0
        if low <= 1.0 <= high or better:
            return "no measurable cost"
        change = median - 1.0
        way = "lower" if change < 0 else "higher"
        return f"now {abs(change):.0%} {way} (1.0 outside the spread)"


def compare(outcomes: dict[str, Outcome]) -> list[Comparison]:
    """Ratios now / before, repeat by repeat (the i-th of each, measured next to each other)."""
    now, before = outcomes["thread"], outcomes["thread-before"]
    out = []
    for job in JOBS:
        for metric, figure, higher in (
            ("runs_per_s", "runs/s", True),
            ("total_us", "CPU per run", False),
        ):
            mine, theirs = now.values(job, metric), before.values(job, metric)
            pairs = list(zip(mine, theirs, strict=False))
            if not pairs:
                continue
            ratios = [a / b for a, b in pairs if b]
            out.append(
                Comparison(
                    job,
                    figure,
                    statistics.median(mine),
                    statistics.median(theirs),
                    ratios,
                    higher,
                )
            )
    return out


def comparison_cells(item: Comparison) -> list[str]:
    from tests.bench.bench_harness import fmt_number

    digits = 0
    spread = f"{min(item.ratios):.2f}-{max(item.ratios):.2f}"
    return [
        f"{JOB_LABELS[item.job]}: {item.figure}",
        fmt_number(item.now, digits),
        fmt_number(item.before, digits),
        f"{statistics.median(item.ratios):.2f}x",
        spread,
        item.verdict,
    ]


COMPARISON_HEADERS = (
    "thread executor, now / before",
    "now (median)",
    "before (median)",
    "now / before (median of the repeats' ratios)",
    "spread (min-max)",
    "verdict",
)


def collect_notes(outcomes: dict[str, Outcome]) -> list[str]:
    """Where the other processes' CPU went, start-up costs, failures."""
    notes = []
    for variant in ("process", "ray"):
        outcome = outcomes[variant]
        for job in JOBS:
            runs = outcome.values(job, "runs")
            if not runs:
                continue
            kinds: dict[str, list[float]] = {}
            for result in outcome.results:
                r = result["jobs"][job]
                for kind, spent in r["breakdown_s"].items():
                    kinds.setdefault(kind, []).append(1e6 * spent / max(r["runs"], 1))
            parts = sorted(
                ((statistics.median(v), k) for k, v in kinds.items() if statistics.median(v) >= 1),
                reverse=True,
            )
            processes = int(statistics.median(outcome.values(job, "processes")))
            detail = ", ".join(f"{kind} {us:,.0f}" for us, kind in parts) or "nothing"
            starts = statistics.median(outcome.values(job, "start_s"))
            busy = statistics.median(
                100 * r["jobs"][job]["runner_cpu_s"] / r["jobs"][job]["elapsed_s"]
                for r in outcome.results
            )
            notes.append(
                f"{LABELS[variant]}, {JOB_LABELS[job]}: the runner process used {busy:.0f} % "
                f"of a core; the other processes' CPU per run (µs) by kind: {detail} "
                f"({processes} processes besides the runner's); the first two runs (starting "
                f"both spawns) took {starts:.2f} s."
            )
    inits = [r["ray_init_s"] for r in outcomes["ray"].results if "ray_init_s" in r]
    if inits:
        notes.append(f"ray: `ray.init(num_cpus=2)` took {statistics.median(inits):.1f} s.")
    before = outcomes["thread-before"]
    if before.results:
        where = Path(before.results[0]["actors_file"]).parent
        with contextlib.suppress(ValueError):
            where = where.relative_to(ROOT)
        notes.append(f"thread (before executors): `actors` imported from {where}/.")
    for variant, outcome in outcomes.items():
        for failure in outcome.failures:
            notes.append(f"{LABELS[variant]}: a measurement failed: {failure}")
        if outcome.unavailable is not None:
            notes.append(f"{LABELS[variant]}: not measured: {outcome.unavailable}")
    return notes


def rich_tables(rows: list[Row], comparisons: list[Comparison], title: str) -> list[Any]:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("executor")
    table.add_column("job")
    for header in HEADERS:
        table.add_column(header, justify="right")
    for executor, job, cells in rows:
        table.add_row(executor, job, *cells)
    second = Table(title="Thread executor: this tree against " + BASELINE_REV, title_justify="left")
    for i, header in enumerate(COMPARISON_HEADERS):
        second.add_column(header, justify="left" if i in (0, 5) else "right")
    for item in comparisons:
        second.add_row(*comparison_cells(item))
    return [table, second]


def _markdown(headers: list[str], lines: list[list[str]], right: set[int]) -> str:
    """A markdown table, the columns numbered in `right` aligned right."""
    rule = "|" + "".join("---:|" if i in right else "---|" for i in range(len(headers)))
    out = ["| " + " | ".join(headers) + " |", rule]
    for cells in lines:
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)


def section_markdown(
    rows: list[Row], comparisons: list[Comparison], notes: list[str], settings: Settings
) -> str:
    from tests.bench.bench_harness import machine

    info = machine()
    packages = []
    for package in ("actors", "pykka", "ray", "psutil"):
        try:
            packages.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            packages.append(f"{package} (not installed)")
    mode = "quick (`--quick`)" if settings.quick else "full"
    setup = (
        f"thread now and before: {settings.repeats} alternating repeats, process and ray: "
        f"{settings.other_repeats}, each a fresh process; per job a warm-up of "
        f"{settings.warmup:g} s and a window of {settings.window:g} s; each figure is the "
        "median of the repeats (min-max in brackets)."
    )
    table_rows = [[executor, job, *cells] for executor, job, cells in rows]
    out = [
        BEGIN,
        f"Measured {info['date']} on {info['cpus']} CPUs ({info['cpu model']}), "
        f"{info['python']}, {info['os']}. Commit {info['commit']}.",
        f"Packages: {', '.join(packages)}. Mode: {mode}: {setup} Rerun with `make bench` "
        "(all parts), or `python -m tests.bench --only executors [--quick]`.",
        "",
        _markdown(["executor", "job", *HEADERS], table_rows, {2, 3, 4, 5}),
        "",
        _markdown(list(COMPARISON_HEADERS), [comparison_cells(c) for c in comparisons], {1, 2, 3}),
    ]
    if notes:
        out += ["", *[f"- {note}" for note in notes]]
    out.append(END)
    return "\n".join(out)


def write_doc(section: str) -> None:
    """Put `section` between the executors markers of docs/performance.md (the first time at
    the end, under a heading of its own); nothing else is touched."""
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{DOC_HEADING}\n\n{DOC_INTRO}\n\n{section}\n"
    DOC.write_text(text)


# --- entry point ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.bench --only executors [--quick] [--write | --no-write]`."""
    from rich.console import Console

    parser = argparse.ArgumentParser(
        prog="python -m tests.bench --only executors",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="shorter windows (~1 minute)")
    parser.add_argument("--write", action="store_true", help="write the doc even with --quick")
    parser.add_argument("--no-write", action="store_true", help="do not write the doc")
    options = parser.parse_args(argv)
    quick = options.quick or os.environ.get("QUICK", "") not in ("", "0")
    settings = QUICK if quick else FULL
    console = Console() if sys.stdout.isatty() else Console(width=200)
    started = time.monotonic()

    def say(text: str) -> None:
        console.print(f"[dim]{time.monotonic() - started:6.0f}s[/] {text}", highlight=False)

    console.print(
        f"[bold]executors benchmark[/] ({'quick' if quick else 'full'}): thread, thread before "
        f"the executor layer ({BASELINE_REV}), process, ray; {IN_FLIGHT} triggers in flight"
    )
    outcomes = run_all(settings, say)
    rows = build_rows(outcomes)
    comparisons = compare(outcomes)
    notes = collect_notes(outcomes)
    title = (
        f"One program, min=2, {IN_FLIGHT} triggers in flight (medians, min-max in brackets; "
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M})"
    )
    console.print()
    for table in rich_tables(rows, comparisons, title):
        console.print(table)
    for note in notes:
        console.print(f"[dim]- {note}[/]", highlight=False)
    if options.write or (not quick and not options.no_write):
        write_doc(section_markdown(rows, comparisons, notes, settings))
        console.print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker(sys.argv[2:])
    else:
        sys.path.insert(0, str(ROOT))
        sys.exit(main(sys.argv[1:]))
