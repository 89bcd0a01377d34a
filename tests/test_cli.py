"""The command line: `actors next "CRON" [-n N] [--tz ZONE] [--from ISO]`, `actors run`,
`actors repl` (loading and its errors; the console itself is driven in test_repl.py), and
`python -m actors`."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import actors
from actors import Runner
from actors.cli import build_parser, load_target, main
from tests.conftest import T0

ROOT = Path(__file__).resolve().parent.parent


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m actors ARGS` in a child interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "actors", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=False,
    )


def parse_lines(text: str) -> list[datetime]:
    return [datetime.fromisoformat(line) for line in text.splitlines()]


class TestNext:
    def test_default_prints_five_upcoming_times(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without -n, five ISO-8601 aware datetimes, rising, all after now."""
        before = datetime.now(UTC)

        assert main(["next", "*/5 * * * *"]) == 0

        out, err = capsys.readouterr()
        times = parse_lines(out)
        assert len(times) == 5
        assert err == ""
        assert all(t.tzinfo is not None for t in times)
        assert times == sorted(times)
        assert times[0] > before
        assert times[1] - times[0] == timedelta(minutes=5)

    def test_n(self, capsys: pytest.CaptureFixture[str]) -> None:
        """-n N prints N lines."""
        assert main(["next", "@hourly", "-n", "3"]) == 0

        assert len(parse_lines(capsys.readouterr().out)) == 3

    def test_from_gives_exact_times(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--from fixes the start, so the output is exact: one line per fire time."""
        assert main(["next", "0 9 * * mon-fri", "-n", "3", "--from", "2026-01-02T12:00Z"]) == 0

        assert capsys.readouterr().out.splitlines() == [
            "2026-01-05T09:00:00+00:00",
            "2026-01-06T09:00:00+00:00",
            "2026-01-07T09:00:00+00:00",
        ]

    def test_tz_reads_the_expression_in_the_zone(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--tz reads the expression in that zone, with cron's DST rule, and prints local times."""
        args = [
            "next",
            "30 2 * * *",
            "--tz",
            "Europe/Berlin",
            "--from",
            "2026-03-28T12:00",
            "-n",
            "2",
        ]

        assert main(args) == 0

        assert capsys.readouterr().out.splitlines() == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
        ]

    def test_tz_without_from(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--tz alone prints times carrying that zone's offset."""
        assert main(["next", "0 12 * * *", "--tz", "Asia/Kolkata", "-n", "2"]) == 0

        times = parse_lines(capsys.readouterr().out)
        assert [t.utcoffset() for t in times] == [timedelta(hours=5, minutes=30)] * 2
        assert [(t.hour, t.minute) for t in times] == [(12, 0), (12, 0)]

    def test_six_fields_with_seconds(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Six fields with seconds work too; every line is one fire time."""
        assert main(["next", "0 0 1 1 * 30", "-n", "2", "--from", "2026-06-01T00:00Z"]) == 0

        assert capsys.readouterr().out.splitlines() == [
            "2027-01-01T00:00:30+00:00",
            "2028-01-01T00:00:30+00:00",
        ]


class TestErrors:
    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["next", "61 * * * *"], ["minute", "'61'"]),
            (["next", "* * *"], ["5 fields", "got 3"]),
            (["next", "0 0 * * funday"], ["day-of-week", "'funday'"]),
            (["next", "@reboot"], ["alias", "'@reboot'"]),
            (["next", "0 * * * *", "--tz", "Mars/Base"], ["tz", "'Mars/Base'"]),
            (["next", "0 * * * *", "-n", "0"], ["-n", "'0'"]),
            (["next", "0 * * * *", "-n", "many"], ["-n", "'many'"]),
            (["next", "0 * * * *", "--from", "soon"], ["--from", "'soon'"]),
            (["next"], ["EXPR"]),
            ([], ["COMMAND"]),
            (["bogus"], ["'bogus'"]),
        ],
    )
    def test_one_line_on_stderr_and_status_2(
        self, args: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A mistake exits with status 2 and one stderr line naming it; nothing on stdout."""
        assert main(args) == 2

        out, err = capsys.readouterr()
        assert out == ""
        assert len(err.splitlines()) == 1
        assert err.startswith("actors")
        assert "Traceback" not in err
        for word in words:
            assert word in err

    def test_help_returns_zero(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--help prints the usage and returns 0 instead of raising SystemExit."""
        assert main(["next", "--help"]) == 0

        assert "usage: actors next" in capsys.readouterr().out


class TestModuleEntryPoint:
    def test_python_m_actors_next(self) -> None:
        """`python -m actors next EXPR -n 3` prints three parseable datetimes and exits 0."""
        result = run_module("next", "@hourly", "-n", "3", "--tz", "America/New_York")

        assert result.returncode == 0, result.stderr
        times = parse_lines(result.stdout)
        assert len(times) == 3
        assert all(t.minute == 0 and t.tzinfo is not None for t in times)

    def test_python_m_actors_bad_expression(self) -> None:
        """A bad expression via `python -m actors` exits 2 with one stderr line, no traceback."""
        result = run_module("next", "0 25 * * *")

        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1
        assert "Traceback" not in result.stderr
        assert "hour '25'" in result.stderr

    def test_subcommands_are_pluggable(self) -> None:
        """The parser has a `next` subcommand with a handler, ready for `run` and `repl`."""
        args = build_parser().parse_args(["next", "@daily"])

        assert args.command == "next"
        assert callable(args.handler)
        assert (args.n, args.tz, args.from_) == (5, "UTC", None)


#: Run in a child interpreter: `python -m actors ARGS` as runpy does it, then print which of the
#: heavy modules it loaded (`actors next` should need none of them).
LOADED_AFTER = """
import json, runpy, sys
sys.argv = ["actors", *json.loads(sys.argv[1])]
try:
    runpy.run_module("actors", run_name="__main__", alter_sys=True)
except SystemExit as done:
    assert done.code in (0, None), done.code
heavy = ("rich", "pykka", "actors.runner", "actors.snapshots", "actors.program")
print(json.dumps(sorted(m for m in sys.modules if m in heavy or m.startswith(("rich.", "pykka.")))))
"""


def heavy_modules_loaded_by(*args: str) -> list[str]:
    """The heavy modules (rich, pykka, the runner) a child loads to run `actors ARGS`."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


class TestStartUp:
    def test_next_loads_neither_the_runner_nor_rich(self) -> None:
        """`actors next` starts fast: it never imports rich, pykka or the runner."""
        assert heavy_modules_loaded_by("next", "0 3 * * *", "-n", "2") == []

    def test_run_does_load_them(self) -> None:
        """`actors run` does load rich, pykka and the runner: the check above can fail."""
        path = ROOT / "examples" / "cleanup.py"
        loaded = heavy_modules_loaded_by("run", str(path), "--for", "0.1", "--no-live")

        assert {"rich", "pykka", "actors.runner"} <= set(loaded)

    def test_import_actors_is_cheap(self) -> None:
        """`import actors` alone loads no submodule: each public name loads on first use."""
        code = "import actors, sys; print(sorted(m for m in sys.modules if m.startswith('actors')))"
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
        )

        assert result.stdout.strip() == "['actors']"

    def test_every_public_name_imports_from_the_package(self) -> None:
        """Each name in actors.__all__ (alphabetised) is there, by attribute and by dir()."""
        names = actors.__all__

        assert names == sorted(names)
        for name in names:
            assert getattr(actors, name) is not None
            assert name in dir(actors)
        assert actors.Runner.__module__ == "actors.runner"

    def test_an_unknown_name_is_an_attribute_error(self) -> None:
        """A name that is not public raises AttributeError naming it."""
        with pytest.raises(AttributeError, match="'Nonesuch'"):
            actors.Nonesuch  # noqa: B018


# --- run and repl --------------------------------------------------------------------------------

RUNNER_FILE = """
from actors import Program, Runner, every

runner = Runner(id="from-file")
runner.install(Program(id="tick", schedule=every(60), main_fn=lambda args, ts: 1, min=1))
MAIN_RAN = False

if __name__ == "__main__":
    MAIN_RAN = True
    runner.stop()
"""

PROGRAMS_FILE = """
from actors import Program, every

programs = [
    Program(id="one", schedule=every(60), main_fn=lambda args, ts: 1),
    {"id": "two", "interval": 60, "main_fn": lambda args, ts: 2, "min": 1},
]
"""

_module_numbers = itertools.count(1)


def slow_file(seconds: float) -> str:
    """A target whose one program runs `seconds` long, printing `run started` as it begins."""
    return f"""
import time
from actors import Program, Runner, every

def slow(args, ts):
    print("run started", flush=True)
    time.sleep({seconds})  # sleep-ok: the job under test is slow on purpose
    return {{"finished": 1}}

runner = Runner(id="slow")
runner.install(Program(id="slow", schedule=every(0.1), main_fn=slow, min=1))
"""


def start_run(path: Path, *options: str) -> subprocess.Popen[str]:
    """`python -m actors run PATH OPTIONS` in a child, off a terminal (no live display)."""
    return subprocess.Popen(
        [sys.executable, "-m", "actors", "run", str(path), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def wait_for_line(child: subprocess.Popen[str], start: str) -> None:
    """Read the child's stdout up to a line that starts with `start`."""
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith(start):
            return
    pytest.fail(f"the child ended without printing a line starting {start!r}")


def stop_child(child: subprocess.Popen[str]) -> None:
    """Make sure a child started by a test is gone."""
    child.kill()
    child.wait()


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a file or module puts its folder on sys.path, as `python FILE` does: undo it."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def write(folder: Path, text: str, name: str = "jobs.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def a_module(folder: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> str:
    """Write an importable module (a fresh name each time) and return its name."""
    name = f"actors_cli_test_module_{next(_module_numbers)}"
    write(folder, text, f"{name}.py")
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    return name


@pytest.fixture
def loaded_runners() -> Iterator[list[Runner]]:
    """Runners a test loads, stopped at its end."""
    runners: list[Runner] = []
    yield runners
    for runner in runners:
        runner.stop()


class TestLoadTarget:
    def test_a_file_with_a_runner(self, tmp_path: Path, loaded_runners: list[Runner]) -> None:
        """FILE.py: its `runner` is used as it is; its `__main__` block does not run."""
        loaded = load_target(str(write(tmp_path, RUNNER_FILE)))
        loaded_runners.append(loaded.runner)

        assert loaded.runner.id == "from-file"
        assert not loaded.runner.stopped
        assert not loaded.created
        assert loaded.names["MAIN_RAN"] is False
        assert loaded.names["runner"] is loaded.runner
        assert "Program" in loaded.names
        assert not any(name.startswith("__") for name in loaded.names)
        assert [info.id for info in loaded.runner.programs()] == ["tick"]

    def test_a_file_with_programs(self, tmp_path: Path, loaded_runners: list[Runner]) -> None:
        """FILE.py with `programs` (Program objects and dicts): a new Runner named after the
        file, with each installed (and `min` spawns started)."""
        loaded = load_target(str(write(tmp_path, PROGRAMS_FILE)))
        loaded_runners.append(loaded.runner)

        assert loaded.created
        assert loaded.runner.id == "jobs"
        assert [(p.id, p.spawns) for p in loaded.runner.programs()] == [("one", 0), ("two", 1)]
        assert loaded.names["runner"] is loaded.runner

    def test_a_file_imports_its_neighbours(
        self, tmp_path: Path, loaded_runners: list[Runner]
    ) -> None:
        """As with `python FILE.py`, the file's folder is on sys.path while it loads."""
        write(tmp_path, "def work(args, ts):\n    return 'done'\n", "helpers_for_jobs.py")
        path = write(
            tmp_path,
            """
            from helpers_for_jobs import work
            programs = [{"id": "job", "main_fn": work}]
            """,
        )

        loaded = load_target(str(path))
        loaded_runners.append(loaded.runner)

        assert loaded.runner.trigger("job") == "done"

    def test_module_attr_naming_a_runner(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loaded_runners: list[Runner]
    ) -> None:
        """module:attr that is a Runner: that runner; the REPL gets the attribute's name."""
        module = a_module(tmp_path, monkeypatch, RUNNER_FILE.replace("runner", "mine"))

        loaded = load_target(f"{module}:mine")
        loaded_runners.append(loaded.runner)

        assert loaded.runner.id == "from-file"
        assert not loaded.created
        assert set(loaded.names) == {"mine", "runner"}

    def test_module_attr_naming_programs(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loaded_runners: list[Runner]
    ) -> None:
        """module:attr that is an iterable of programs: a new runner with them installed."""
        module = a_module(tmp_path, monkeypatch, PROGRAMS_FILE.replace("programs", "jobs"))

        loaded = load_target(f"{module}:jobs")
        loaded_runners.append(loaded.runner)

        assert loaded.created
        assert loaded.runner.id == f"{module}.jobs"
        assert [p.id for p in loaded.runner.programs()] == ["one", "two"]

    def test_module_attr_naming_one_program(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loaded_runners: list[Runner]
    ) -> None:
        """A single Program (or dict) is a list of one."""
        module = a_module(
            tmp_path,
            monkeypatch,
            "from actors import Program\nJOB = Program(id='solo', main_fn=lambda a, t: 0)\n",
        )

        loaded = load_target(f"{module}:JOB")
        loaded_runners.append(loaded.runner)

        assert [p.id for p in loaded.runner.programs()] == ["solo"]

    def test_a_plain_module(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loaded_runners: list[Runner]
    ) -> None:
        """A plain module name: its `runner` or `programs`, as for a file."""
        module = a_module(tmp_path, monkeypatch, PROGRAMS_FILE)

        loaded = load_target(module)
        loaded_runners.append(loaded.runner)

        assert [p.id for p in loaded.runner.programs()] == ["one", "two"]

    def test_a_runner_wins_over_programs(
        self, tmp_path: Path, loaded_runners: list[Runner]
    ) -> None:
        """A file with both uses its runner and installs nothing more."""
        loaded = load_target(str(write(tmp_path, RUNNER_FILE + "programs = []\n")))
        loaded_runners.append(loaded.runner)

        assert loaded.runner.id == "from-file"
        assert not loaded.created

    def test_the_examples_load_without_running_their_demo(
        self, loaded_runners: list[Runner]
    ) -> None:
        """Each example defines its runner at module level and keeps its demo (which sleeps
        and stops the runner) under `if __name__ == "__main__":`."""
        for example in ("cleanup", "stats", "worker_pool"):
            started = time.monotonic()
            loaded = load_target(str(ROOT / "examples" / f"{example}.py"))
            loaded_runners.append(loaded.runner)

            assert time.monotonic() - started < 1.0
            assert not loaded.runner.stopped
            assert loaded.runner.programs()


class TestRun:
    def test_for_seconds_without_live_display(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`run FILE --for S --no-live`: a first line, the table at the end, a last line; the
        runner is stopped and the status is 0."""
        path = write(tmp_path, RUNNER_FILE)

        assert main(["run", str(path), "--for", "0.3", "--no-live"]) == 0

        out, err = capsys.readouterr()
        lines = out.splitlines()
        assert err == ""
        assert lines[0] == (
            f"actors run: {path}: runner 'from-file' with programs tick; "
            "stops after 0.3s (or on Ctrl-C)"
        )
        assert lines[1].startswith("Runner 'from-file' paused at ")  # paused to wind down
        assert any(line.startswith("│ tick ") for line in lines)
        assert "spawns n/min/max" in out
        assert re.fullmatch(
            r"stopped runner 'from-file' after 0\.\ds \(--for\): running work finished; "
            r"1 programs, 1 spawns, 0 runs, 0 failed",
            lines[-1],
        )

    def test_off_a_terminal_the_live_table_prints_once(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without a terminal (a pipe, a log) `run` prints the table once, at the end."""
        assert main(["run", str(write(tmp_path, PROGRAMS_FILE)), "--for", "0.2"]) == 0

        out = capsys.readouterr().out
        assert out.count("spawns n/min/max") == 1
        assert "stopped runner 'jobs' after " in out

    def test_sigint_stops_gracefully(self, tmp_path: Path) -> None:
        """SIGINT (Ctrl-C) while running: a running main_fn finishes and is merged, a last
        line says so, and the exit status is 0. Off a terminal, so no live display."""
        child = start_run(write(tmp_path, slow_file(0.5)))
        try:
            wait_for_line(child, "run started")
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=10)
        finally:
            stop_child(child)

        assert child.returncode == 0, err
        assert "Traceback" not in err
        assert "Ctrl-C: stopping runner 'slow' gracefully" in out
        last = out.splitlines()[-1]
        assert re.fullmatch(
            r"stopped runner 'slow' after \d+\.\ds \(Ctrl-C\): running work finished; .*", last
        )
        assert "{'finished': 1}" in out  # the table shows the merged state

    def test_sigterm_stops_gracefully_and_says_sigterm(self, tmp_path: Path) -> None:
        """SIGTERM stops as Ctrl-C does, and the lines name SIGTERM, not Ctrl-C; status 0."""
        child = start_run(write(tmp_path, RUNNER_FILE))
        try:
            wait_for_line(child, "actors run: ")
            child.send_signal(signal.SIGTERM)
            out, err = child.communicate(timeout=10)
        finally:
            stop_child(child)

        assert child.returncode == 0, err
        assert "SIGTERM: stopping runner 'from-file' gracefully" in out
        assert "Ctrl-C:" not in out
        assert re.fullmatch(
            r"stopped runner 'from-file' after \d+\.\ds \(SIGTERM\): running work finished; "
            r"1 programs, 1 spawns, 0 runs, 0 failed",
            out.splitlines()[-1],
        )

    def test_a_repeated_sigint_is_not_a_second_ctrl_c(self, tmp_path: Path) -> None:
        """SIGINTs within half a second of the first (GNU `timeout -s INT` sends two) count as
        one: running work still finishes and the status is 0, not 130."""
        child = start_run(write(tmp_path, slow_file(1.0)))
        try:
            wait_for_line(child, "run started")
            os.kill(child.pid, signal.SIGINT)
            os.kill(child.pid, signal.SIGINT)  # back to back: the kernel may merge these two...
            wait_for_line(child, "Ctrl-C: stopping runner 'slow'")
            os.kill(child.pid, signal.SIGINT)  # ...but not this one, sent once the first was seen
            out, err = child.communicate(timeout=10)
        finally:
            stop_child(child)

        assert child.returncode == 0, err
        assert "abandoned" not in out
        assert re.fullmatch(
            r"stopped runner 'slow' after \d+\.\ds \(Ctrl-C\): running work finished; .*",
            out.splitlines()[-1],
        )
        assert "{'finished': 1}" in out

    def test_work_that_outlives_the_grace_is_abandoned_and_says_so(self, tmp_path: Path) -> None:
        """A run still going when --grace runs out is abandoned; the last line counts it and
        does not say 'gracefully'; the command does not wait for the run."""
        child = start_run(write(tmp_path, slow_file(60)), "--grace", "0.2")
        try:
            wait_for_line(child, "run started")
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=15)  # far less than the run's 60 s
        finally:
            stop_child(child)

        assert child.returncode == 0, err
        assert "running work gets up to 0.2s to finish" in out
        last = out.splitlines()[-1]
        assert re.fullmatch(
            r"stopped runner 'slow' after \d+\.\ds \(Ctrl-C\): 1 run abandoned after 0\.2s; "
            r"1 programs, 1 spawns, 0 runs, 0 failed",
            last,
        )

    def test_a_runner_stopped_by_its_programs_says_so(self, tmp_path: Path) -> None:
        """A runner its own program stops ends the command with status 0 and a last line
        naming that cause (not Ctrl-C, not --for)."""
        path = write(
            tmp_path,
            """
            from actors import Program, Runner, every

            runner = Runner(id="self-stop")

            def main(args, ts):
                runner.stop(wait=False)

            runner.install(Program(id="once", schedule=every(0.1), main_fn=main, min=1))
            """,
        )

        result = run_module("run", str(path), "--no-live", "--for", "20")

        assert result.returncode == 0, result.stderr
        assert re.fullmatch(
            r"stopped runner 'self-stop' after \d+\.\ds \(stopped by its programs\)",
            result.stdout.splitlines()[-1],
        )

    @pytest.mark.parametrize("seconds", ["-1", "soon", "nan", "inf"])
    def test_grace_must_be_seconds_not_below_zero(
        self, seconds: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--grace takes a number of seconds >= 0; anything else is one line and status 2."""
        assert main(["run", "examples/cleanup.py", "--grace", seconds]) == 2

        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1
        assert "--grace" in err
        assert repr(seconds) in err

    @pytest.mark.parametrize("seconds", ["0", "-1", "soon", "nan", "inf"])
    def test_for_must_be_positive_seconds(
        self, seconds: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["run", "examples/cleanup.py", "--for", seconds]) == 2

        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1
        assert "--for" in err
        assert repr(seconds) in err

    @pytest.mark.parametrize("command", ["run", "repl"])
    def test_help(self, command: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Each subcommand has --help naming its target forms."""
        assert main([command, "--help"]) == 0

        out = capsys.readouterr().out
        assert f"usage: actors {command}" in out
        assert "module:attr" in out
        assert "programs" in out

    def test_top_level_help_lists_the_subcommands(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--help"]) == 0

        out = capsys.readouterr().out
        assert all(command in out for command in ("run", "repl", "next"))


LOAD_ERRORS = [
    # (file text or None for no file, target (FILE = the file's path), words in the message)
    (None, "missing.py", ["no such file: missing.py"]),
    (None, "examples", ["no `runner` or `programs` in examples"]),
    (None, "no_such_module_anywhere", ["no module named 'no_such_module_anywhere'"]),
    (None, "no_such_module_anywhere:runner", ["no module named 'no_such_module_anywhere'"]),
    (None, "actors.runner:nothing_here", ["module 'actors.runner'", "no attribute 'nothing_here'"]),
    (None, ":runner", ["':runner' is not FILE.py, module or module:attr"]),
    (None, "json:", ["'json:' is not FILE.py, module or module:attr"]),
    (None, "json", ["no `runner` or `programs` in json"]),
    (None, "json:dumps", ["json:dumps (a function) is not a Runner or an iterable of programs"]),
    ("import no_such_module_xyz\n", "FILE", ["ModuleNotFoundError", "no_such_module_xyz"]),
    ("from actors import Nothing\n", "FILE", ["ImportError", "cannot import name 'Nothing'"]),
    ("raise ValueError('bad\\nvalue')\n", "FILE", ["cannot load", "ValueError: bad value"]),
    ("def broken(:\n", "FILE", ["SyntaxError"]),
    ("import sys\nsys.exit(3)\n", "FILE", ["called sys.exit(3) while loading"]),
    ("x = 1\n", "FILE", ["no `runner` or `programs` in FILE"]),
    ("runner = 5\n", "FILE", ["`runner` in FILE (an int) is not an actors.Runner"]),
    ("programs = 5\n", "FILE", ["`programs` in FILE (an int) is not an iterable of programs"]),
    ("programs = 'job'\n", "FILE", ["(a str) is not an iterable of programs"]),
    ("programs = [1]\n", "FILE", ["`programs` in FILE holds 1, not a Program or a dict"]),
    (
        "programs = [{'id': '', 'main_fn': print}]\n",
        "FILE",
        ["cannot install program 1 of 1: InvalidProgram", "id"],
    ),
    (
        "def boom():\n    raise OSError('no disk')\n"
        "programs = [{'id': 'a', 'main_fn': print, 'create_fn': boom}]\n",
        "FILE",
        ["cannot install program 1 of 1: OSError: no disk"],
    ),
    (
        "from actors import Runner\nrunner = Runner()\nrunner.stop()\n",
        "FILE",
        ["the runner in FILE is already stopped", '`if __name__ == "__main__":`'],
    ),
]


def _case(tmp_path: Path, text: str | None, target: str, words: list[str]) -> tuple[str, list[str]]:
    if text is None:
        return target, words
    path = str(write(tmp_path, text))
    return path, [word.replace("FILE", path) for word in words]


class TestLoadErrors:
    @pytest.mark.parametrize("command", ["run", "repl"])
    @pytest.mark.parametrize(("text", "target", "words"), LOAD_ERRORS)
    def test_one_line_on_stderr_and_status_2(
        self,
        command: str,
        text: str | None,
        target: str,
        words: list[str],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A target that is missing, fails to load or holds no programs: ONE stderr line
        `actors COMMAND: error: ...` naming the problem, nothing on stdout, status 2."""
        monkeypatch.chdir(ROOT)
        target, words = _case(tmp_path, text, target, words)

        assert main([command, target, *(["--console", "python"] if command == "repl" else [])]) == 2

        out, err = capsys.readouterr()
        assert out == ""
        assert len(err.splitlines()) == 1, err
        assert err.startswith(f"actors {command}: error: ")
        assert "Traceback" not in err
        for word in words:
            assert word in err

    @pytest.mark.parametrize(
        ("text", "target", "words"),
        [LOAD_ERRORS[i] for i in (0, 2, 4, 7, 9, 11, 12, 14)],
    )
    def test_through_python_m_actors(
        self, text: str | None, target: str, words: list[str], tmp_path: Path
    ) -> None:
        """The same through `python -m actors run`: one line, status 2, no traceback."""
        target, words = _case(tmp_path, text, target, words)

        result = run_module("run", target, "--for", "0.1")

        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
        for word in words:
            assert word in result.stderr

    def test_a_file_that_fails_after_starting_a_runner_still_exits(self, tmp_path: Path) -> None:
        """A file that starts a runner and then raises: one line, status 2, and the process
        exits at once (the forgotten runner is stopped at exit)."""
        path = write(
            tmp_path,
            "from actors import Runner\nrunner = Runner()\nraise RuntimeError('half-built')\n",
        )

        started = time.monotonic()
        result = run_module("run", str(path))

        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"actors run: error: cannot load {path}: RuntimeError: half-built"
        ]
        assert time.monotonic() - started < 10


class TestStores:
    """`--store` on run, and `status` / `history` reading a store without running anything."""

    PROGRAMS = (
        "from actors import every\n"
        "programs = [{'id': 'job', 'schedule': every(0.1), 'min': 1,\n"
        "             'main_fn': lambda args, ts: 1, 'create_fn': lambda: 0,\n"
        "             'merge_fn': lambda state, result: state + result}]\n"
    )

    def run_in(self, folder: Path, *args: str, store_env: str | None = None) -> Any:
        env = {key: value for key, value in os.environ.items() if key != "ACTORS_STORE"}
        if store_env is not None:
            env["ACTORS_STORE"] = store_env
        return subprocess.run(
            [sys.executable, "-m", "actors", *args],
            capture_output=True,
            text=True,
            cwd=folder,
            env={**env, "PYTHONPATH": str(ROOT)},
            timeout=60,
            check=False,
        )

    def test_run_keeps_actors_db_and_status_and_history_read_it(self, tmp_path: Path) -> None:
        """`actors run` keeps its programs in actors.db in the working directory by default;
        `actors status` and `actors history` show what it kept, and a second run goes on."""
        (tmp_path / "jobs.py").write_text(self.PROGRAMS)
        first = self.run_in(tmp_path, "run", "jobs.py", "--for", "0.5", "--no-live")
        assert first.returncode == 0, first.stderr
        assert (tmp_path / "actors.db").exists()

        status = self.run_in(tmp_path, "status")
        assert status.returncode == 0, status.stderr
        assert "job" in status.stdout
        history = self.run_in(tmp_path, "history", "job", "-n", "3")
        assert history.returncode == 0, history.stderr
        assert history.stdout.count("completed") == 3

        second = self.run_in(tmp_path, "run", "jobs.py", "--for", "0.3", "--no-live")
        assert second.returncode == 0, second.stderr

    def test_status_reads_a_store_a_runner_holds(self, tmp_path: Path) -> None:
        """While a runner holds the store, `actors status --store` still reads it."""
        from actors import ManualClock, Program, Runner

        path = tmp_path / "held.db"
        with Runner(clock=ManualClock(T0), store=str(path)) as runner:
            runner.install(Program(id="held", main_fn=lambda a, t: 1, create_fn=lambda: 41))
            runner.trigger("held")
            runner.settle()
            result = self.run_in(tmp_path, "status", "--store", str(path))
        assert result.returncode == 0, result.stderr
        assert "held" in result.stdout

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("status", "--store", "missing.db"), "does not exist"),
            (("status", "--store", "memory"), "memory store keeps nothing"),
            (("history", "nope", "--store", "x.db"), "does not exist"),
        ],
    )
    def test_a_store_that_cannot_be_read_is_one_line(
        self, tmp_path: Path, args: tuple[str, ...], message: str
    ) -> None:
        """A missing store, or memory, is one line on stderr and exit status 2."""
        result = self.run_in(tmp_path, *args)
        assert result.returncode == 2
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    def test_history_of_an_unknown_program_names_those_there_are(self, tmp_path: Path) -> None:
        """`actors history` of a program the store does not hold lists the ones it does."""
        (tmp_path / "jobs.py").write_text(self.PROGRAMS)
        assert self.run_in(tmp_path, "run", "jobs.py", "--for", "0.2", "--no-live").returncode == 0
        result = self.run_in(tmp_path, "history", "other")
        assert result.returncode == 2
        assert "holds no program 'other' (job)" in result.stderr

    def test_store_memory_keeps_nothing(self, tmp_path: Path) -> None:
        """`--store memory` writes no file."""
        (tmp_path / "jobs.py").write_text(self.PROGRAMS)
        result = self.run_in(
            tmp_path, "run", "jobs.py", "--for", "0.2", "--no-live", "--store", "memory"
        )
        assert result.returncode == 0, result.stderr
        assert list(tmp_path.glob("*.db")) == []
