"""The dashboard on the command line: `actors web --store PATH [--bind HOST:PORT] [--token T]
[--for S]`, and `actors run FILE --web HOST:PORT`. Mistakes are one line and status 2, in
process; the dashboards are served by a child interpreter (`python -m actors`), read over HTTP
while it runs, and stop by themselves after --for."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx", reason="httpx is in the `test` extra: make test installs it")
pytest.importorskip("uvicorn", reason="the dashboard is the `web` extra: make test installs it")

from actors import Program, Runner, manual  # noqa: E402
from actors.cli import main  # noqa: E402
from tests.programs_for_store import count  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

#: The line that says where a dashboard is, and its URL.
DASHBOARD_LINE = re.compile(r"^actors (web|run): the dashboard of .* is at (http://\S+/): ")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A SQLite store holding one program, `job`, that no runner runs now."""
    path = tmp_path / "jobs.db"
    runner = Runner(id="maker", store=str(path))
    runner.install(Program(id="job", main_fn=count, schedule=manual(), tags=("cli",)))
    runner.stop()
    return path


def environment(token: str | None = None) -> dict[str, str]:
    """This process's environment for a child, with `ACTORS_WEB_TOKEN` set to `token` (or not
    set at all)."""
    env = {key: value for key, value in os.environ.items() if key != "ACTORS_WEB_TOKEN"}
    if token is not None:
        env["ACTORS_WEB_TOKEN"] = token
    return env


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m actors ARGS` in a child interpreter, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "actors", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env if env is not None else environment(),
    )


def read_url(child: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """Read the child's stdout up to the line that says where its dashboard is: the URL, and
    the lines read (that one included)."""
    assert child.stdout is not None
    lines: list[str] = []
    for line in child.stdout:
        lines.append(line)
        found = DASHBOARD_LINE.match(line)
        if found:
            return found.group(2), lines
    pytest.fail(f"the child ended without saying where its dashboard is: {lines!r}")


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """The children a test starts: killed at its end if still running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.communicate()


# --- mistakes, in process ---------------------------------------------------------------------


@pytest.mark.parametrize("bind", ["nohost", "127.0.0.1:99999", "127.0.0.1:http", "a b:80"])
def test_a_bad_bind_is_one_line_naming_it(
    bind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --bind that is not HOST:PORT exits 2 with one line on stderr naming --bind and the
    value, before the store is looked at (no store file is made)."""
    missing = tmp_path / "never.db"

    assert main(["web", "--store", str(missing), "--bind", bind]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("actors web: error: --bind")
    assert repr(bind) in err
    assert not missing.exists()


def test_a_store_that_does_not_exist_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store file that does not exist exits 2 with one line that says so, and is not made."""
    missing = tmp_path / "missing.db"

    assert main(["web", "--store", str(missing), "--bind", "127.0.0.1:0"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("actors web: error: ")
    assert "does not exist" in err
    assert not missing.exists()


def test_a_memory_store_has_no_dashboard(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --store the store is $ACTORS_STORE (`memory` in the tests): a memory store
    keeps nothing to show, which is one line and status 2."""
    assert main(["web", "--bind", "127.0.0.1:0"]) == 2

    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "memory store keeps nothing" in err


def test_a_port_in_use_is_one_line(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --bind whose port is taken exits 2 with one line on stderr that names the address
    and says it is in use."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        status = main(["web", "--store", str(store), "--bind", f"127.0.0.1:{port}"])

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"actors web: error: --bind 127.0.0.1:{port}")
    assert "in use" in err
    assert len(err.splitlines()) == 1


# --- the dashboard of a store, in a child -----------------------------------------------------


def test_web_serves_a_read_only_dashboard_and_stops_after_for(
    store: Path, children: list[subprocess.Popen[str]]
) -> None:
    """`actors web --store PATH --bind 127.0.0.1:0 --for 3` says where its dashboard is and
    that it is read-only; while it runs the API shows the store's programs and refuses
    actions; it stops by itself after --for, with status 0 and a last line saying why."""
    child = start("web", "--store", str(store), "--bind", "127.0.0.1:0", "--for", "3")
    children.append(child)
    url, lines = read_url(child)
    assert url.startswith("http://127.0.0.1:")
    assert "read-only" in lines[-1]

    with httpx.Client(base_url=url, timeout=10) as client:
        info = client.get("/api/info").json()
        assert info["read_only"] is True
        assert str(store) in info["source"]
        listed = client.get("/api/programs").json()["programs"]
        assert [(row["id"], row["tags"], row["status"]) for row in listed] == [
            ("job", ["cli"], "waiting")
        ]
        refused = client.post("/programs/job/trigger", headers={"X-Actors-Token": "x"})
        assert refused.status_code == 403

    out, err = child.communicate(timeout=15)
    assert child.returncode == 0, err
    assert err == ""
    assert (lines + out.splitlines(keepends=True))[-1] == "actors web: stopped (--for)\n"


def test_a_token_in_the_environment_allows_actions(
    store: Path, children: list[subprocess.Popen[str]]
) -> None:
    """With ACTORS_WEB_TOKEN set, the dashboard says actions need its token and is not
    read-only: an action with that token gets past the check (and is refused by the store's
    side: no runner runs the program), one with another token is a 403. (The child is killed
    at the end: how it stops is the first test's.)"""
    child = start(
        "web", "--store", str(store), "--bind", "127.0.0.1:0", "--for", "30", env=environment("x")
    )
    children.append(child)
    url, lines = read_url(child)
    assert "actions need its token" in lines[-1]

    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/api/info").json()["read_only"] is False
        wrong = client.post("/programs/job/trigger", headers={"X-Actors-Token": "y"})
        assert wrong.status_code == 403
        right = client.post("/programs/job/trigger", headers={"X-Actors-Token": "x"})
        assert right.status_code == 503
        assert "not running now" in right.json()["error"]


@pytest.fixture(scope="module")
def wide_open(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str]:
    """`actors web --bind 0.0.0.0:0 --for 1` without a token, run to its end: the status,
    the stdout and the stderr."""
    path = tmp_path_factory.mktemp("wide") / "wide.db"
    runner = Runner(id="maker", store=str(path))
    runner.install(Program(id="job", main_fn=count, schedule=manual()))
    runner.stop()
    child = start("web", "--store", str(path), "--bind", "0.0.0.0:0", "--for", "1")
    out, err = child.communicate(timeout=30)
    return child.returncode, out, err


def test_listening_beyond_loopback_without_a_token_warns(wide_open: tuple[int, str, str]) -> None:
    """Bound to every address without a token, `actors web` warns on stderr that the
    dashboard listens beyond this machine without a token, and still serves (status 0)."""
    status, out, err = wide_open
    assert status == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("actors web: warning: ")]
    assert len(warnings) == 1
    assert "beyond this machine" in warnings[0]
    assert "without a token" in warnings[0]
    assert out.splitlines()[-1] == "actors web: stopped (--for)"


def test_the_warning_is_one_line_naming_the_port_it_listens_on(
    wide_open: tuple[int, str, str],
) -> None:
    """The warning is the only line on stderr, and names the port the dashboard listens on
    (the one in its URL), not 0."""
    _, out, err = wide_open
    found = DASHBOARD_LINE.match(out.splitlines()[0])
    assert found is not None
    port = found.group(2).rstrip("/").rpartition(":")[2]
    assert len(err.splitlines()) == 1
    assert f"0.0.0.0:{port}," in err


# --- actors run --web -------------------------------------------------------------------------

PROGRAMS_FILE = """
from actors import Program, every, manual

programs = [
    Program(id="one", schedule=every(60), main_fn=lambda args, ts: 1),
    Program(id="two", schedule=manual(), main_fn=lambda args, ts: 2, tags=["b"]),
]
"""


def test_run_with_web_serves_the_runner_s_dashboard(
    tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    """`actors run FILE --web 127.0.0.1:0 --for 3 --no-live` says where the runner's dashboard
    is; while it runs the API lists the file's programs; it exits 0 after --for."""
    path = tmp_path / "jobs.py"
    path.write_text(textwrap.dedent(PROGRAMS_FILE))
    child = start("run", str(path), "--web", "127.0.0.1:0", "--for", "3", "--no-live")
    children.append(child)
    url, lines = read_url(child)
    assert lines[-1].startswith("actors run: the dashboard of runner 'jobs' is at ")

    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/api/info").json()["source"] == "runner 'jobs'"
        listed = client.get("/api/programs").json()["programs"]
        assert [(row["id"], row["tags"]) for row in listed] == [("one", []), ("two", ["b"])]

    out, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    assert out.splitlines()[-1].startswith("stopped runner 'jobs' after ")
    assert "(--for)" in out.splitlines()[-1]
