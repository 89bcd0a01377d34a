"""The benchmark harness of issue 3: actors against APScheduler 3.11 and schedule 1.2.

Runs every workload on every scheduler in the same run, alternating them (actors, apscheduler,
schedule, actors, ...), each measurement in a fresh subprocess (`bench_workloads.py`), repeats
each measurement and takes medians, then prints one table of figures and ratios plus the goal
verdicts, and writes the same to docs/performance.md.

    python -m tests.bench            # the full run, ~13 minutes on 2 cores; writes the docs
    python -m tests.bench --quick    # ~1 minute; prints only (add --write to write the docs)
    QUICK=1 make bench               # the same through make
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORKER = HERE / "bench_workloads.py"
DOC = ROOT / "docs" / "performance.md"
RESULT_PREFIX = "BENCH-RESULT "
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

SCHEDULERS = ("actors", "apscheduler", "schedule")
STORE = "actors-sqlite"  # actors again, with every firing, outcome and state committed
WITH_STORE = (*SCHEDULERS, STORE)
LABELS = {
    "actors": "actors",
    "apscheduler": "APScheduler",
    "schedule": "schedule",
    STORE: "actors with an SQLite store",
}
INSTALL_BUDGET = 120.0


@dataclass(frozen=True)
class Settings:
    quick: bool
    repeats: int
    warmup: float
    window: float
    grace: float
    idle_settle: float
    idle_window: float


FULL = Settings(
    quick=False, repeats=3, warmup=1.0, window=5.0, grace=1.0, idle_settle=1.0, idle_window=5.0
)
QUICK = Settings(
    quick=True, repeats=1, warmup=0.5, window=2.0, grace=1.0, idle_settle=0.5, idle_window=2.0
)


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    kind: str  # lateness | idle | install | throughput
    params: dict[str, Any]
    schedulers: tuple[str, ...] = SCHEDULERS
    full_only: bool = False


CASES = (
    Case("staggered", "1,000 jobs x 1 Hz, staggered", "lateness",
         {"n": 1000, "interval": 1.0, "aligned": False}),
    Case("aligned", "1,000 jobs x 1 Hz, aligned", "lateness",
         {"n": 1000, "interval": 1.0, "aligned": True}, schedulers=WITH_STORE),
    Case("aligned10", "100 jobs x 10 Hz, aligned", "lateness",
         {"n": 100, "interval": 0.1, "aligned": True}),
    Case("idle", "idle: 1,000 jobs every 1 min", "idle", {"n": 1000}),
    Case("tp25k", "no-op runs/s, 25,000/s offered (100 jobs x every 4 ms)", "throughput",
         {"n": 100, "interval": 0.004}, schedulers=WITH_STORE),
    Case("tpmax", "no-op runs/s, saturated (100 jobs x every 1 ms)", "throughput",
         {"n": 100, "interval": 0.001}, schedulers=WITH_STORE),
    Case("install10k", "install 10,000 jobs (one spawn each)", "install",
         {"n": 10_000}, schedulers=("actors", "apscheduler", STORE)),
    Case("install100k", "install 100,000 jobs (one spawn each)", "install",
         {"n": 100_000}, schedulers=("actors",), full_only=True),
    Case("installmany10k", "install_many of 10,000 jobs (one spawn each)", "install",
         {"n": 10_000, "many": True}, schedulers=("actors", STORE)),
    Case("installmany100k", "install_many of 100,000 jobs (one spawn each)", "install",
         {"n": 100_000, "many": True}, schedulers=("actors",), full_only=True),
)  # fmt: skip


@dataclass
class Outcome:
    """Every repeat of one case on one scheduler."""

    results: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)  # timeouts and errors
    skipped: str | None = None

    def median(self, metric: str) -> float | None:
        values = [r[metric] for r in self.results if isinstance(r.get(metric), int | float)]
        values = [v for v in values if v == v]  # no NaN
        return statistics.median(values) if values else None

    def total(self, metric: str) -> int:
        return sum(int(r.get(metric, 0)) for r in self.results)


# --- running the measurements ---------------------------------------------------------------


def params_for(case: Case, settings: Settings) -> dict[str, Any]:
    params = dict(case.params)
    if case.kind == "lateness":
        params.update(warmup=settings.warmup, window=settings.window, grace=settings.grace)
    elif case.kind == "idle":
        params.update(settle=settings.idle_settle, window=settings.idle_window)
    elif case.kind == "throughput":
        params.update(warmup=settings.warmup, window=settings.window)
    elif case.kind == "install":
        params.update(budget=INSTALL_BUDGET)
    return params


def run_one(scheduler: str, case: Case, settings: Settings) -> dict[str, Any]:
    """One measurement in a fresh interpreter; its result dict (with `error` if it failed)."""
    params = params_for(case, settings)
    hard_timeout = INSTALL_BUDGET + 60 if case.kind == "install" else 120
    command = [sys.executable, str(WORKER), scheduler, case.kind, json.dumps(params)]
    # Measure the `actors` of this tree, whatever copy the venv has installed.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    folder = tempfile.TemporaryDirectory(prefix="actors-bench-")  # a store file, if any
    env["ACTORS_BENCH_DIR"] = folder.name
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=hard_timeout,
            check=False,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {hard_timeout} s (killed)"}
    finally:
        folder.cleanup()
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    lines = (done.stderr or done.stdout or "no output").strip().splitlines()
    return {"error": f"exit {done.returncode}: {lines[-1]}"[:300]}


def run_all(settings: Settings, console: Console) -> dict[tuple[str, str], Outcome]:
    outcomes: dict[tuple[str, str], Outcome] = {}
    started = time.monotonic()
    for case in CASES:
        for scheduler in case.schedulers:
            outcomes[case.key, scheduler] = Outcome()
            if case.full_only and settings.quick:
                outcomes[case.key, scheduler].skipped = "not run with --quick"
        if case.full_only and settings.quick:
            continue
        for repeat in range(settings.repeats):
            for scheduler in case.schedulers:  # alternate the schedulers within each repeat
                outcome = outcomes[case.key, scheduler]
                if outcome.failures and case.kind == "install":
                    continue  # a timed-out or failed install is not tried again
                t0 = time.monotonic()
                result = run_one(scheduler, case, settings)
                spent = time.monotonic() - t0
                if "error" in result or result.get("timeout"):
                    outcome.failures.append(result)
                else:
                    outcome.results.append(result)
                console.print(
                    f"[dim]{time.monotonic() - started:6.0f}s[/] {case.key:<12} "
                    f"#{repeat + 1} {scheduler:<12} {spent:5.1f}s  {summary(case, result)}",
                    highlight=False,
                )
    return outcomes


def summary(case: Case, result: dict[str, Any]) -> str:
    if "error" in result:
        return f"[red]error[/]: {result['error']}"
    if result.get("timeout"):
        return f"[red]> {result['budget_s']:.0f} s[/] ({result['installed']:,} installed)"
    if case.kind == "lateness":
        return (
            f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"max {result['max_ms']:.1f} ms, lost {result['lost']}/{result['expected']}, "
            f"{result['cpu_per_run_us']:.0f} µs CPU/run"
        )
    if case.kind == "idle":
        return f"{result['idle_cpu_pct']:.3f} % of a core, {result['threads']} threads"
    if case.kind == "install":
        return f"{result['install_s']:.2f} s, +{result['rss_growth_mb']:.1f} MB RSS"
    return f"{result['runs_per_s']:,.0f} runs/s, {result['cpu_per_run_us']:.0f} µs CPU/run"


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    cells: dict[str, str]  # scheduler -> text
    ratios: dict[str, str]  # "apscheduler" / "schedule" -> text


def fmt_number(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def fmt_ratio(mine: float | None, theirs: float | None) -> str:
    if mine is None or theirs is None or theirs == 0:
        return "-"
    ratio = mine / theirs
    return f"{ratio:.2f}x" if ratio < 100 else f"{ratio:,.0f}x"


def failure_text(outcome: Outcome) -> str | None:
    if outcome.skipped:
        return outcome.skipped
    if outcome.results or not outcome.failures:
        return None
    first = outcome.failures[0]
    if first.get("timeout"):
        return f"> {first['budget_s']:.0f} s ({first['installed']:,} installed)"
    return f"error: {first['error'][:48]}"


def metric_row(
    label: str,
    case: Case,
    outcomes: dict[tuple[str, str], Outcome],
    metric: str,
    digits: int,
    *,
    ratio_with: tuple[str, ...] = ("apscheduler", "schedule"),
    scale: Callable[[float], float] = lambda v: v,
) -> Row:
    cells: dict[str, str] = {}
    values: dict[str, float | None] = {}
    for scheduler in case.schedulers:
        outcome = outcomes[case.key, scheduler]
        value = outcome.median(metric)
        values[scheduler] = None if value is None else scale(value)
        failed = failure_text(outcome)
        cells[scheduler] = (
            failed if failed and value is None else fmt_number(values[scheduler], digits)
        )
    ratios = {
        other: fmt_ratio(values.get("actors"), values.get(other))
        for other in ratio_with
        if other in case.schedulers
    }
    if STORE in case.schedulers:
        ratios["store"] = fmt_ratio(values.get(STORE), values.get("actors"))
    return Row(label, cells, ratios)


def lost_row(label: str, case: Case, outcomes: dict[tuple[str, str], Outcome]) -> Row:
    cells = {}
    for scheduler in case.schedulers:
        outcome = outcomes[case.key, scheduler]
        failed = failure_text(outcome)
        if failed:
            cells[scheduler] = failed
        elif scheduler == "schedule":
            # schedule plans each run from the end of the previous one: it drifts, it never
            # drops a run, so there is no fixed grid to count against.
            cells[scheduler] = f"{outcome.total('runs'):,} runs (drifts)"
        else:
            cells[scheduler] = f"{outcome.total('lost'):,} / {outcome.total('expected'):,}"
    return Row(label, cells, {})


def build_rows(outcomes: dict[tuple[str, str], Outcome]) -> list[Row]:
    rows: list[Row] = []
    cases = {case.key: case for case in CASES}
    for key in ("staggered", "aligned", "aligned10"):
        case = cases[key]
        rows += [
            metric_row(f"{case.title}: start lateness p50 (ms)", case, outcomes, "p50_ms", 2),
            metric_row("    p99 (ms)", case, outcomes, "p99_ms", 2),
            metric_row("    max (ms)", case, outcomes, "max_ms", 2),
            lost_row("    runs lost / expected (all repeats)", case, outcomes),
            metric_row("    CPU per run (µs)", case, outcomes, "cpu_per_run_us", 1),
        ]
    case = cases["idle"]
    rows.append(metric_row(f"{case.title} (% of one core)", case, outcomes, "idle_cpu_pct", 3))
    for key in ("tp25k", "tpmax"):
        case = cases[key]
        rows.append(metric_row(case.title, case, outcomes, "runs_per_s", 0))
        rows.append(metric_row("    CPU per run (µs)", case, outcomes, "cpu_per_run_us", 1))
    for key in ("install10k", "install100k", "installmany10k", "installmany100k"):
        case = cases[key]
        rows.append(metric_row(f"{case.title}: time (s)", case, outcomes, "install_s", 2))
        rows.append(metric_row("    RSS growth (MB)", case, outcomes, "rss_growth_mb", 1))
    return rows


COLUMNS = (
    ("actors", "actors"),
    ("apscheduler", "APScheduler"),
    ("schedule", "schedule"),
    (STORE, "actors + SQLite"),
)
RATIO_COLUMNS = (
    ("apscheduler", "actors / APScheduler"),
    ("schedule", "actors / schedule"),
    ("store", "SQLite / memory"),
)


def rich_table(rows: list[Row], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("workload · figure")
    for _, header in COLUMNS + RATIO_COLUMNS:
        table.add_column(header, justify="right")
    for row in rows:
        table.add_row(
            row.label,
            *(row.cells.get(key, "") for key, _ in COLUMNS),
            *(row.ratios.get(key, "") for key, _ in RATIO_COLUMNS),
        )
    return table


def markdown_table(rows: list[Row]) -> str:
    headers = ["workload · figure"] + [h for _, h in COLUMNS + RATIO_COLUMNS]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" + "---:|" * (len(headers) - 1),
    ]
    for row in rows:
        label = row.label.replace("    ", "&nbsp;&nbsp;&nbsp;&nbsp;")
        cells = [label]
        cells += [row.cells.get(key, "") for key, _ in COLUMNS]
        cells += [row.ratios.get(key, "") for key, _ in RATIO_COLUMNS]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


# --- the goals of issues 3 and 15 -----------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    goal: str
    passed: bool | None  # None: could not be judged
    detail: str


def verdicts(outcomes: dict[tuple[str, str], Outcome]) -> list[Verdict]:
    def med(case: str, scheduler: str, metric: str) -> float | None:
        return outcomes[case, scheduler].median(metric)

    def compare(goal: str, pairs: list[tuple[str, str]], factor: float) -> Verdict:
        """actors' `metric` ≤ factor x APScheduler's, for every (case, metric) pair."""
        parts, ok = [], True
        for case, metric in pairs:
            mine, theirs = med(case, "actors", metric), med(case, "apscheduler", metric)
            if mine is None or theirs is None:
                return Verdict(goal, None, f"{case}: no figure")
            ok &= mine <= factor * theirs
            parts.append(f"{case}: {mine:.3g} vs {theirs:.3g} ({mine / theirs:.2f}x)")
        return Verdict(goal, ok, "; ".join(parts))

    out = [
        compare(
            "aligned p99 ≤ 1/5 of APScheduler's",
            [("aligned", "p99_ms"), ("aligned10", "p99_ms")],
            0.2,
        ),
        compare("staggered p99 ≤ APScheduler's", [("staggered", "p99_ms")], 1.0),
        compare(
            "CPU per run ≤ 1/2 of APScheduler's",
            [(key, "cpu_per_run_us") for key in ("staggered", "aligned", "aligned10")],
            0.5,
        ),
    ]
    idle = med("idle", "actors", "idle_cpu_pct")
    out.append(
        Verdict(
            "idle CPU < 1 % of a core",
            None if idle is None else idle < 1.0,
            "no figure" if idle is None else f"{idle:.3f} % with 1,000 programs",
        )
    )
    out += install_verdicts(outcomes)
    rates = [med(key, "actors", "runs_per_s") for key in ("tp25k", "tpmax")]
    theirs = [med(key, "apscheduler", "runs_per_s") for key in ("tp25k", "tpmax")]
    best = max((r for r in rates if r is not None), default=None)
    best_theirs = max((r for r in theirs if r is not None), default=None)
    out.append(
        Verdict(
            "≥ 20,000 no-op runs/s, and ≥ 2x APScheduler's",
            None if best is None or best_theirs is None else best >= max(20_000, 2 * best_theirs),
            "no figure"
            if best is None or best_theirs is None
            else f"best {best:,.0f} runs/s against APScheduler's {best_theirs:,.0f} "
            f"({best / best_theirs:.2f}x; 25k offered: {fmt_number(rates[0], 0)}; "
            f"saturated: {fmt_number(rates[1], 0)})",
        )
    )
    out += store_verdicts(outcomes)
    measured = [
        (key, scheduler)
        for key in ("staggered", "aligned", "aligned10")
        for scheduler in ("actors", STORE)
        if (key, scheduler) in outcomes
    ]
    lost = {
        key if scheduler == "actors" else f"{key} (SQLite)": outcomes[key, scheduler].total("lost")
        for key, scheduler in measured
    }
    errors = sum(len(outcomes[pair].failures) for pair in measured)
    out.append(
        Verdict(
            "no run lost",
            sum(lost.values()) == 0 and errors == 0,
            ", ".join(f"{key}: {n}" for key, n in lost.items())
            + (f"; {errors} failed measurement(s)" if errors else ""),
        )
    )
    return out


def install_verdicts(outcomes: dict[tuple[str, str], Outcome]) -> list[Verdict]:
    """Issue 15's install goals: 10,000 one by one within 2x APScheduler's time and memory;
    100,000 in under 10 s (one by one; `install_many` shown beside)."""
    goal = "install 10k within 2x APScheduler's time and memory"
    mine, theirs = outcomes["install10k", "actors"], outcomes["install10k", "apscheduler"]
    t_mine, t_theirs = mine.median("install_s"), theirs.median("install_s")
    m_mine, m_theirs = mine.median("rss_growth_mb"), theirs.median("rss_growth_mb")
    if t_mine is None or t_theirs is None or m_mine is None or m_theirs is None:
        detail = failure_text(mine) or failure_text(theirs) or "no figure"
        out = [Verdict(goal, False, detail)]
    else:
        many = outcomes["installmany10k", "actors"].median("install_s")
        out = [
            Verdict(
                goal,
                t_mine <= 2 * t_theirs and m_mine <= 2 * m_theirs,
                f"time {t_mine:.2f} s vs {t_theirs:.2f} s ({t_mine / t_theirs:.1f}x; "
                f"install_many {fmt_number(many, 2)} s); "
                f"RSS +{m_mine:.1f} MB vs +{m_theirs:.1f} MB ({m_mine / m_theirs:.1f}x)",
            )
        ]
    goal = "100k programs in under 10 s, without error"
    big, many = outcomes["install100k", "actors"], outcomes["installmany100k", "actors"]
    if big.skipped:
        out.append(Verdict(goal, None, big.skipped))
    elif big.results and not big.failures:
        seconds = big.median("install_s")
        assert seconds is not None
        out.append(
            Verdict(
                goal,
                seconds < 10.0,
                f"{seconds:.1f} s, +{big.median('rss_growth_mb'):.0f} MB RSS "
                f"(install_many: {fmt_number(many.median('install_s'), 1)} s)",
            )
        )
    else:
        out.append(Verdict(goal, False, failure_text(big) or "failed"))
    return out


def store_verdicts(outcomes: dict[tuple[str, str], Outcome]) -> list[Verdict]:
    """The store's goals: within 15 % of the memory store (issues 12 and 15: runs/s, CPU per
    run, install time), at most +5 ms aligned p99 (issue 12)."""
    goal = "SQLite store within 15 % of the memory store"
    parts, ok = [], True
    # (case, metric, unit, higher is better)
    figures = (
        ("tp25k", "runs_per_s", "runs/s", True),
        ("tpmax", "runs_per_s", "runs/s", True),
        ("aligned", "cpu_per_run_us", "µs CPU/run", False),
        ("install10k", "install_s", "s", False),
    )
    for key, metric, unit, higher in figures:
        memory = outcomes[key, "actors"].median(metric)
        stored = outcomes[key, STORE].median(metric)
        if memory is None or stored is None:
            return [Verdict(goal, None, f"{key}: no figure")]
        ok &= stored >= 0.85 * memory if higher else stored <= 1.15 * memory
        digits = 0 if unit == "runs/s" else 1 if unit == "µs CPU/run" else 2
        figures_text = f"{fmt_number(stored, digits)} vs {fmt_number(memory, digits)} {unit}"
        parts.append(f"{key}: {figures_text} ({stored / memory - 1:+.0%})")
    out = [Verdict(goal, ok, "; ".join(parts))]
    memory = outcomes["aligned", "actors"].median("p99_ms")
    stored = outcomes["aligned", STORE].median("p99_ms")
    out.append(
        Verdict(
            "SQLite store adds ≤ 5 ms to the aligned p99",
            None if memory is None or stored is None else stored <= memory + 5.0,
            "no figure"
            if memory is None or stored is None
            else f"{stored:.1f} ms vs {memory:.1f} ms ({stored - memory:+.1f} ms)",
        )
    )
    return out


def verdict_mark(verdict: Verdict) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[verdict.passed]


# --- the machine, and the doc ---------------------------------------------------------------


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for package in ("actors", "pykka", "apscheduler", "schedule", "psutil"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()

        commit = git("rev-parse", "--short", "HEAD")
        if git("status", "--porcelain", "--", "actors"):
            commit += " (with uncommitted changes in actors/)"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "cpu model": model,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
        "packages": ", ".join(versions),
        "commit": commit,
    }


def results_markdown(
    rows: list[Row], checks: list[Verdict], settings: Settings, notes: list[str]
) -> str:
    info = machine()
    mode = (
        "quick (`--quick`: 1 repeat, 2 s windows, no 100k install)"
        if settings.quick
        else f"full: each figure is the median of {settings.repeats} repeats"
    )
    lines = [
        BEGIN,
        f"Measured {info['date']} on {info['cpus']} CPUs ({info['cpu model']}), "
        f"{info['python']}, {info['os']}.",
        f"Packages: {info['packages']}. Commit {info['commit']}. Mode: {mode}.",
        "",
        markdown_table(rows),
        "",
        "Goals (issues 3 and 15, and issue 12 for the SQLite store):",
        "",
        "| goal | verdict | figures |",
        "|---|---|---|",
    ]
    lines += [f"| {v.goal} | **{verdict_mark(v)}** | {v.detail} |" for v in checks]
    if notes:
        lines += ["", *[f"- {note}" for note in notes]]
    lines.append(END)
    return "\n".join(lines)


DOC_HEAD = """# Performance

How `actors` compares with [APScheduler](https://apscheduler.readthedocs.io/) 3.11 and
[schedule](https://schedule.readthedocs.io/) 1.2 on the same machine, in the same run (issue 3).
Regenerate with `make bench` (about 13 minutes on 2 cores); `QUICK=1 make bench` or
`python -m tests.bench --quick` gives rough figures in about a minute. The harness lives in
`tests/bench/`; everything between the `bench:begin` and `bench:end` markers below is written by
it, the rest of this page is not touched.

## Results

"""


def write_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else DOC_HEAD + BEGIN + "\n" + END + "\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def collect_notes(outcomes: dict[tuple[str, str], Outcome]) -> list[str]:
    """Failures and counters worth a line under the table."""
    notes = []
    for (case, scheduler), outcome in outcomes.items():
        for failure in outcome.failures:
            what = (
                f"stopped after {failure['budget_s']:.0f} s with {failure['installed']:,} "
                f"installed (+{failure['rss_growth_mb']:.0f} MB RSS by then)"
                if failure.get("timeout")
                else failure.get("error", "?")
            )
            notes.append(f"{case} on {LABELS[scheduler]}: {what}")
    for case in ("staggered", "aligned", "aligned10", "tp25k", "tpmax"):
        actors = outcomes[case, "actors"]
        aps = outcomes[case, "apscheduler"]
        skipped, missed = actors.total("skipped"), actors.total("missed")
        aps_missed, aps_busy = aps.total("missed"), aps.total("max_instances")
        if skipped or missed or aps_missed or aps_busy:
            notes.append(
                f"{case}: actors counted {skipped:,} skipped and {missed:,} missed ticks; "
                f"APScheduler reported {aps_missed:,} misfires and {aps_busy:,} runs refused "
                f"at max_instances (all repeats, including warm-up)."
            )
    for case in ("tp25k", "tpmax"):
        stored = outcomes.get((case, STORE))
        if stored is not None and (stored.total("skipped") or stored.total("missed")):
            notes.append(
                f"{case} with the SQLite store: actors counted {stored.total('skipped'):,} "
                f"skipped and {stored.total('missed'):,} missed ticks (a tick runs once its "
                "firing is committed, so ticks coming faster than that find the spawn busy)."
            )
    return notes


# --- entry point ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="~1 minute: 1 repeat, short windows")
    parser.add_argument("--write", action="store_true", help="write the doc even with --quick")
    parser.add_argument("--no-write", action="store_true", help="do not write the doc")
    options = parser.parse_args(argv)
    quick = options.quick or os.environ.get("QUICK", "") not in ("", "0")
    settings = QUICK if quick else FULL
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(
        f"[bold]actors benchmark[/] ({'quick' if quick else 'full'}): "
        f"{settings.repeats} repeat(s), each measurement in a fresh process"
    )
    outcomes = run_all(settings, console)
    rows = build_rows(outcomes)
    checks = verdicts(outcomes)
    notes = collect_notes(outcomes)
    title = (
        "actors vs APScheduler 3.11 vs schedule 1.2, and actors with an SQLite store "
        "(medians; a ratio < 1 favours actors, except for runs/s)"
    )
    console.print()
    console.print(rich_table(rows, title))
    console.print()
    for check in checks:
        colour = {True: "green", False: "red", None: "yellow"}[check.passed]
        line = f"[{colour}]{verdict_mark(check):>4}[/] {check.goal}: {check.detail}"
        console.print(line, highlight=False)
    for note in notes:
        console.print(f"[dim]- {note}[/]", highlight=False)
    if options.write or (not quick and not options.no_write):
        write_doc(results_markdown(rows, checks, settings, notes))
        console.print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0
