"""The interactive side, driven as a person would: `actors repl` and `python -i` through a
pseudo-terminal (pexpect), `actors run` with its live table stopped by Ctrl-C, and the
console choice of `actors repl` (IPython, ptpython, Python's own) in-process."""

from __future__ import annotations

import io
import os
import signal
import sys
import types
from pathlib import Path
from typing import Any

import pexpect
import pytest

from actors import Runner
from actors.cli import main

ROOT = Path(__file__).resolve().parent.parent

#: Generous: the child is a fresh interpreter, and CI machines are slow.
TIMEOUT = 10

#: The prompt of Python's console (`>>> `) or of IPython (`In [1]: `, coloured). pexpect
#: compiles patterns with re.DOTALL: `.` also matches newlines, so patterns here avoid `.*`.
PROMPT = r">>> |In \[[^\n]*?\d[^\n]*?\]: "


def spawn(*args: str) -> pexpect.spawn:
    """`python ARGS` on a pseudo-terminal, in the repository, 120 columns wide."""
    env = {
        **os.environ,
        "PROMPT_TOOLKIT_NO_CPR": "1",  # IPython, ptpython: do not wait for cursor reports
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "120",
    }
    env.pop("PYTHONSTARTUP", None)
    return pexpect.spawn(
        sys.executable,
        list(args),
        cwd=str(ROOT),
        env=env,
        timeout=TIMEOUT,
        encoding="utf-8",
        dimensions=(40, 120),
    )


def finish(child: pexpect.spawn) -> int:
    """Wait for the child to end; its exit status."""
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus is None, f"killed by signal {child.signalstatus}"
    status: int = child.exitstatus
    return status


@pytest.fixture
def children() -> Any:
    """Children a test spawns, killed if the test leaves one behind."""
    spawned: list[pexpect.spawn] = []
    yield spawned
    for child in spawned:
        if child.isalive():
            child.terminate(force=True)


class TestActorsRepl:
    def test_a_session(self, children: list[pexpect.spawn]) -> None:
        """`python -m actors repl examples/worker_pool.py`: a banner, a prompt; the status
        table; a new spawn; exit() stops the runner and exits with status 0."""
        child = spawn("-m", "actors", "repl", "examples/worker_pool.py")
        children.append(child)

        child.expect("runner 'pool-runner' is running programs worker")
        child.expect(r"in scope: runner, actors, and from examples/worker_pool.py: [^\n]*work\r\n")
        child.expect(r'runner.status\(\), runner.spawn\("worker"\)')
        child.expect(PROMPT)
        child.sendline("runner.status()")
        child.expect("program")  # the table's header
        child.expect(r"worker\s+│ active")
        child.expect(PROMPT)
        child.sendline('runner.spawn("worker")')
        child.expect(r"\['worker-2'\]")  # worker-1 came with min=1 when the file loaded
        child.expect(PROMPT)
        child.sendline("len(runner.spawns('worker')), type(actors.Runner).__name__")
        child.expect(r"\(2, 'type'\)")
        child.expect(PROMPT)
        child.sendline("exit()")
        child.expect("stopping runner 'pool-runner'...")
        child.expect("stopped runner 'pool-runner'")

        assert finish(child) == 0

    def test_plain_console_ctrl_c_and_ctrl_d(self, children: list[pexpect.spawn]) -> None:
        """In Python's console Ctrl-C drops the line and keeps the session; Ctrl-D leaves and
        stops the runner; a runner the user stopped already is left alone."""
        child = spawn("-m", "actors", "repl", "examples/stats.py", "--console", "python")
        children.append(child)

        child.expect("actors 0.1.0 Python console")
        child.expect(">>> ")
        child.sendline("runner['latency'].info().id")
        child.expect("'latency'")
        child.expect(">>> ")
        child.send("this line is never run")
        # Wait for the echo: a Ctrl-C that lands while readline is still taking in the typed
        # characters is noticed by CPython only at the next key (its readline loop checks for
        # signals only when its wait for input is interrupted), at any typing speed a person has.
        child.expect("this line is never run")
        child.sendintr()
        child.expect("KeyboardInterrupt")
        child.expect(">>> ")
        child.sendline("runner.stop(); runner.stopped")
        child.expect("True")
        child.expect(">>> ")
        child.sendeof()
        child.expect("stopped runner 'stats-runner'")

        assert finish(child) == 0
        assert "stopping runner" not in (child.before or "")

    def test_an_error_shows_the_users_line_not_our_internals(
        self, children: list[pexpect.spawn]
    ) -> None:
        """A call that raises at the prompt prints the console line, at most one frame of
        actors (none of pykka or concurrent.futures), then the message."""
        child = spawn("-m", "actors", "repl", "examples/cleanup.py", "--console", "python")
        children.append(child)

        child.expect(">>> ")
        child.sendline('runner.get_state("nope")')
        child.expect(r"ProgramNotFound: no program 'nope' in runner 'cleanup-runner'")
        shown = child.before or ""
        child.expect(">>> ")
        child.sendline("exit()")

        assert finish(child) == 0
        frames = [line for line in shown.splitlines() if line.lstrip().startswith("File ")]
        assert frames[0].strip() == 'File "<console>", line 1, in <module>'
        assert len([frame for frame in frames if f"actors{os.sep}" in frame]) <= 1
        internals = (f"{os.sep}pykka{os.sep}", f"{os.sep}concurrent{os.sep}")
        assert not any(part in frame for frame in frames for part in internals)
        assert len(frames) <= 2

    def test_exit_status_of_exit_n(self, children: list[pexpect.spawn]) -> None:
        """`exit(3)` in the console: the runner is stopped and the status is 3."""
        child = spawn("-m", "actors", "repl", "examples/cleanup.py", "--console", "python")
        children.append(child)

        child.expect(">>> ")
        child.sendline("exit(3)")
        child.expect("stopped runner 'cleanup-runner'")

        assert finish(child) == 3


class TestPythonDashI:
    def test_python_i_keeps_the_runner_alive(self, children: list[pexpect.spawn]) -> None:
        """`python -i examples/worker_pool.py`: the demo runs, the runner stays up, the status
        table answers; Ctrl-D exits at once (the forgotten runner is stopped at exit)."""
        child = spawn("-i", "examples/worker_pool.py")
        children.append(child)

        child.expect(r"unspawned \['worker-\d+'(, 'worker-\d+')*\]")
        child.expect("runner is still running")
        child.expect(">>> ")
        child.sendline("runner.status()")
        child.expect("spawns n/min/max")
        child.expect(r"worker\s+│ active")
        child.expect(">>> ")
        child.sendline("runner.stopped")
        child.expect("False")
        child.expect(">>> ")
        child.sendeof()

        assert finish(child) == 0


class TestActorsRunLive:
    def test_ctrl_c_stops_gracefully(self, children: list[pexpect.spawn]) -> None:
        """`actors run examples/cleanup.py` on a terminal: the live table appears and is
        redrawn; SIGINT (Ctrl-C) stops the runner gracefully; status 0."""
        child = spawn("-m", "actors", "run", "examples/cleanup.py")
        children.append(child)

        child.expect("actors run: examples/cleanup.py: runner 'cleanup-runner'")
        child.expect("Runner 'cleanup-runner' running at")  # the table's title
        child.expect("spawns n/min/max")
        child.expect(r"deleted \d")  # a run has printed, above the table
        child.expect("Ctrl-C stops it")
        child.kill(signal.SIGINT)
        child.expect("Ctrl-C: stopping runner 'cleanup-runner' gracefully")
        child.expect(r"stopped runner 'cleanup-runner' after \d+\.\ds \(Ctrl-C\)")
        child.expect(r"running work finished; 1 programs, 1 spawns, \d+ runs, 0 failed")

        assert finish(child) == 0


class TestConsoleChoice:
    """Which console `actors repl` opens, checked in-process with stand-in modules."""

    @pytest.fixture
    def target(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
        monkeypatch.setattr(sys, "path", list(sys.path))
        path = tmp_path / "jobs.py"
        path.write_text("JOBS = 'yes'\nprograms = [{'id': 'job', 'main_fn': lambda a, t: 42}]\n")
        return str(path)

    def test_ipython_first(
        self, target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """auto: IPython if it is installed, with runner, actors and the file's names."""
        calls: list[dict[str, Any]] = []
        fake = types.ModuleType("IPython")
        fake.start_ipython = lambda **kwargs: calls.append(kwargs)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "IPython", fake)

        assert main(["repl", target]) == 0

        (call,) = calls
        namespace = call["user_ns"]
        assert (call["argv"], call["display_banner"]) == ([], False)
        assert isinstance(namespace["runner"], Runner)
        assert namespace["runner"].stopped  # stopped when the console returned
        assert namespace["actors"].__name__ == "actors"
        assert namespace["JOBS"] == "yes"
        out = capsys.readouterr().out
        assert "actors 0.1.0 IPython console: runner 'jobs' is running programs job" in out
        assert "in scope: runner, actors, and from" in out
        assert out.rstrip().endswith("stopped runner 'jobs'")

    def test_ptpython_next(self, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """auto without IPython: ptpython, given the names as its globals and locals."""
        calls: list[dict[str, Any]] = []

        def embed(**kwargs: Any) -> None:  # the user triggers the job from the console
            calls.append({**kwargs, "typed": kwargs["globals"]["runner"].trigger("job")})

        fake = types.ModuleType("ptpython.repl")
        fake.embed = embed  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "IPython", None)  # None: "not installed"
        monkeypatch.setitem(sys.modules, "ptpython", types.ModuleType("ptpython"))
        monkeypatch.setitem(sys.modules, "ptpython.repl", fake)

        assert main(["repl", target]) == 0

        (call,) = calls
        assert call["globals"] is call["locals"]
        assert call["typed"] == 42
        assert call["globals"]["runner"].stopped

    def test_python_last(
        self,
        target: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """auto with neither: Python's own console, reading what the user types."""
        monkeypatch.setitem(sys.modules, "IPython", None)
        monkeypatch.setitem(sys.modules, "ptpython", None)
        monkeypatch.setitem(sys.modules, "ptpython.repl", None)
        monkeypatch.setattr(sys, "stdin", io.StringIO("runner.trigger('job') * 2\nJOBS\n"))

        assert main(["repl", target]) == 0

        out = capsys.readouterr().out
        assert "actors 0.1.0 Python console" in out
        assert "84" in out
        assert "'yes'" in out
        assert "stopped runner 'jobs'" in out

    def test_a_console_not_installed_is_refused_before_loading(
        self, target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--console ipython without IPython: one line, status 2, and no runner started."""
        monkeypatch.setitem(sys.modules, "IPython", None)

        assert main(["repl", target, "--console", "ipython"]) == 2

        out, err = capsys.readouterr()
        assert out == ""
        assert err == (
            "actors repl: error: --console ipython is not installed here (pip install ipython)\n"
        )
