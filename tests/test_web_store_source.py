"""The dashboard of a store (`actors.web.serve_store`, `StoreSource`), read beside real runners
on the system clock, through real HTTP: on SQLite, one runner whose programs' definitions the
store holds; on PostgreSQL, two runners sharing the programs. What it lists comes from the
store's rows; its actions and a program's spawns travel to the owner as commands through the
store; it never joins the runners; stopping it lets go of the store."""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx", reason="httpx is in the `test` extra: make test installs it")
pytest.importorskip("uvicorn", reason="the dashboard is the `web` extra: make test installs it")

from actors import Program, Runner, every, manual  # noqa: E402
from actors.errors import StoreError  # noqa: E402
from actors.web import StoreSource, WebServer, serve_store  # noqa: E402
from actors.web import store_source as store_source_module  # noqa: E402
from tests.helpers import eventually  # noqa: E402
from tests.postgres_server import create_database  # noqa: E402
from tests.programs_for_store import add, count, zero  # noqa: E402

TOKEN = "t"
AUTH = {"X-Actors-Token": TOKEN}

#: The PostgreSQL runners' lease (seconds): they beat every half second, so two split the
#: programs within a few beats, and none is taken for dead on a busy machine.
PG_LEASE = 3.0


def ticker() -> Program:
    """An hourly counter with two spawns: it never fires during a test, only when triggered."""
    return Program(
        id="ticker",
        main_fn=count,
        create_fn=zero,
        merge_fn=add,
        schedule=every(3600),
        min=2,
        tags=("web", "hourly"),
    )


def button() -> Program:
    """A counter that runs only when triggered."""
    return Program(
        id="button", main_fn=count, create_fn=zero, merge_fn=add, schedule=manual(), tags=("web",)
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "a.db"


@pytest.fixture
def runner(path: Path) -> Iterator[Runner]:
    """A runner on the system clock keeping `ticker` and `button` in a SQLite store: their
    callables are importable, so the store holds their definitions."""
    runner = Runner(id="solo", store=str(path))
    runner.install(ticker())
    runner.install(button())
    yield runner
    runner.stop()


@pytest.fixture
def server(runner: Runner, path: Path) -> Iterator[WebServer]:
    """The store's dashboard, started beside the runner, taking actions with `TOKEN`."""
    server = serve_store(str(path), bind=":0", token=TOKEN, refresh=0.05)
    yield server
    server.stop()


@pytest.fixture
def client(server: WebServer) -> Iterator[Any]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def rows(client: Any) -> dict[str, dict[str, Any]]:
    """The rows of `/api/programs`, by id."""
    response = client.get("/api/programs")
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()["programs"]}


def run_events(client: Any, after: int = 0) -> list[dict[str, Any]]:
    """The events of `/api/events` after number `after` that tell of a run."""
    events = client.get("/api/events", params={"after": after}).json()
    return [event for event in events if event["kind"].startswith("Run")]


# --- SQLite: one runner ---------------------------------------------------------------------


def test_the_runner_is_listed_alive(client: Any, path: Path) -> None:
    """`/api/runners` lists the runner that holds the store, alive, with this process's pid;
    `/api/info` names the store and takes actions (it has a token)."""
    runners = client.get("/api/runners").json()
    assert [(r["id"], r["alive"], r["pid"]) for r in runners] == [("solo", True, os.getpid())]
    info = client.get("/api/info").json()
    assert info["read_only"] is False
    assert str(path) in info["source"]


def test_the_programs_are_listed_with_owner_tags_and_status(client: Any) -> None:
    """`/api/programs` lists every program of the store, from its row: owner, tags, schedule,
    spawns, status "active" (its owner is alive)."""
    listed = rows(client)
    assert sorted(listed) == ["button", "ticker"]
    assert {pid: row["owner"] for pid, row in listed.items()} == {
        "button": "solo",
        "ticker": "solo",
    }
    assert listed["ticker"]["tags"] == ["web", "hourly"]
    assert listed["button"]["tags"] == ["web"]
    assert {row["status"] for row in listed.values()} == {"active"}
    assert (listed["ticker"]["schedule"], listed["ticker"]["spawn_counts"]) == ("every 1h", "2/2/-")
    tagged = client.get("/api/programs", params={"tag": "hourly"}).json()
    assert [row["id"] for row in tagged["programs"]] == ["ticker"]


def test_a_program_s_page_has_state_next_fires_and_the_owner_s_spawns(client: Any) -> None:
    """`/api/programs/{id}` has the stored state, no history yet, the next five fire times of
    its every() schedule an hour apart from its next run, and the spawns its owner has (asked
    of the owner through the store)."""
    detail = client.get("/api/programs/ticker").json()
    assert detail["program"]["state"] == 0
    assert detail["history"] == []
    fires = [datetime.fromisoformat(when) for when in detail["next_fires"]]
    assert len(fires) == 5
    assert fires[0] == datetime.fromisoformat(detail["program"]["next_run"])
    assert [b - a for a, b in itertools.pairwise(fires)] == [timedelta(hours=1)] * 4
    assert [spawn["id"] for spawn in detail["spawns"]] == ["ticker-1", "ticker-2"]
    assert detail["timeline_svg"].startswith("<svg")


def test_a_trigger_travels_to_the_runner_as_a_command_through_the_store(
    runner: Runner, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A POST trigger with the token is sent to the owner as a command through the store: the
    answer is the run's result, the runner's state changes, and the program's page then shows
    the run in its history."""
    sent: list[tuple[str, str, str]] = []
    send = store_source_module.send_command

    def spy(coordinator: Any, owner: str, message: Any, **kwargs: Any) -> Any:
        sent.append((owner, type(message).__name__, message.program_id))
        return send(coordinator, owner, message, **kwargs)

    monkeypatch.setattr(store_source_module, "send_command", spy)

    answer = client.post("/programs/ticker/trigger", headers=AUTH)
    assert answer.json() == {"ok": True, "action": "trigger", "program": "ticker", "result": 1}
    assert sent == [("solo", "Trigger", "ticker")]
    assert runner.get_state("ticker") == 1
    assert runner.info("ticker").runs == 1
    history = eventually(lambda: client.get("/api/programs/ticker").json()["history"])
    assert [(run["status"], run["result"]) for run in history] == [("completed", "1")]


def test_pause_and_resume_show_in_the_programs_table(runner: Runner, client: Any) -> None:
    """A pause reaches the runner, and the row's status becomes "paused" once the store has
    it; a resume makes it "active" again."""
    assert client.post("/programs/ticker/pause", headers=AUTH).json()["ok"] is True
    assert runner.info("ticker").status == "paused"
    eventually(lambda: rows(client)["ticker"]["status"] == "paused")
    assert rows(client)["button"]["status"] == "active"

    assert client.post("/programs/ticker/resume", headers=AUTH).json()["ok"] is True
    assert runner.info("ticker").status == "active"
    eventually(lambda: rows(client)["ticker"]["status"] == "active")


def test_an_unknown_program_is_a_404(runner: Runner, client: Any) -> None:
    """A program the store does not hold: its page and an action on it are 404s naming it;
    nothing runs."""
    page = client.get("/api/programs/nothing")
    assert page.status_code == 404
    assert "'nothing'" in page.json()["error"]
    action = client.post("/programs/nothing/trigger", headers=AUTH)
    assert action.status_code == 404
    assert action.json()["error"].startswith("ProgramNotFound")
    assert runner.info("ticker").runs == runner.info("button").runs == 0


def test_a_program_whose_runner_stopped_is_waiting_and_refuses_actions(
    runner: Runner, client: Any
) -> None:
    """Once its runner has stopped (and left the store), a program is listed "waiting" with no
    owner, its page says no runner runs it, and an action on it is a 503 that says so."""
    runner.stop()

    eventually(lambda: rows(client)["button"]["status"] == "waiting")
    assert rows(client)["button"]["owner"] is None
    assert [r["id"] for r in client.get("/api/runners").json() if r["alive"]] == []
    detail = client.get("/api/programs/button").json()
    assert detail["spawns"] == []
    assert any("no live runner runs it" in note for note in detail["notes"])
    refused = client.post("/programs/button/trigger", headers=AUTH)
    assert refused.status_code == 503
    assert refused.json()["error"].startswith("ProgramUnavailable")
    assert "not running now" in refused.json()["error"]


def test_the_events_are_the_runs_the_store_gains(runner: Runner, client: Any) -> None:
    """`/api/events` turns each run the store gains into an event: none before any run, then a
    RunSucceeded of the program that ran, after the number already seen."""
    assert run_events(client) == []
    first = client.get("/api/events").json()
    seen = first[-1]["seq"] if first else 0

    runner.trigger("button")
    gained = eventually(lambda: run_events(client, seen))
    assert [(e["kind"], e["program"], e["error"]) for e in gained] == [
        ("RunSucceeded", "button", False)
    ]
    assert "completed" in gained[0]["text"]
    assert client.get("/api/events", params={"program": "ticker"}).json() == []


def test_the_store_source_never_joins_the_runners(
    runner: Runner, client: Any, server: WebServer
) -> None:
    """Serving, reading and acting leave the runners table as it was: the runner is still the
    only one, and it still owns every program."""
    rows(client)
    client.get("/api/programs/ticker")
    assert client.post("/programs/button/trigger", headers=AUTH).json()["ok"] is True

    assert [info.id for info in runner.cluster()] == ["solo"]
    assert {info.owner for info in runner.programs()} == {"solo"}
    assert {row["owner"] for row in rows(client).values()} == {"solo"}
    assert [r.id for r in server.source.runners()] == ["solo"]


def test_a_store_that_does_not_exist_is_refused_and_not_made(tmp_path: Path) -> None:
    """serve_store on a missing file raises StoreError and makes no file: a dashboard reads
    stores, it does not create them."""
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="does not exist"):
        serve_store(str(missing), bind=":0")
    assert not missing.exists()


def test_stopping_the_server_closes_the_store_source(runner: Runner, path: Path) -> None:
    """`stop()` ends the server and closes its source (it answers no more, and lists no
    runner); a second `stop()` is harmless."""
    server = serve_store(str(path), bind=":0")
    assert isinstance(server.source, StoreSource)
    assert [r.id for r in server.source.runners()] == ["solo"]
    assert httpx.get(server.url + "api/info", timeout=10).json()["read_only"] is True

    server.stop()
    server.stop()

    assert not server.running
    assert server.source.read_runners() == []  # its coordinator is closed
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


# --- PostgreSQL: two runners share the programs ----------------------------------------------


def shared_programs() -> list[Program]:
    return [
        Program(id=f"p{i}", main_fn=count, create_fn=zero, merge_fn=add, schedule=manual(), min=1)
        for i in range(6)
    ]


def owners(runner: Runner) -> dict[str, str | None]:
    return {info.id: info.owner for info in runner.programs()}


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    """A fresh database of the test server."""
    return create_database(postgres_server, f"w_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def pair(pg_url: str) -> Iterator[dict[str, Runner]]:
    """Runners "a" and "b" on the system clock, on one database, running the same six
    programs, once they have split them three and three."""
    runners: dict[str, Runner] = {}
    try:
        for name in ("a", "b"):
            runners[name] = Runner(name, store=pg_url, lease=PG_LEASE)
            for program in shared_programs():
                runners[name].install(program)
        eventually(
            lambda: sorted(map(str, owners(runners["a"]).values())) == ["a"] * 3 + ["b"] * 3,
            timeout=15,
        )
        yield runners
    finally:
        # Side by side: each waits up to a second for its store listener to end.
        with ThreadPoolExecutor(2, thread_name_prefix="stop") as pool:
            list(pool.map(lambda runner: runner.stop(timeout=5), runners.values()))


@pytest.fixture
def pg_client(pg_url: str, pair: dict[str, Runner]) -> Iterator[Any]:
    server = serve_store(pg_url, bind=":0", token=TOKEN, refresh=0.05)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield client
    finally:
        server.stop()


def test_a_postgres_dashboard_lists_every_runner_and_program(
    pair: dict[str, Runner], pg_client: Any
) -> None:
    """The dashboard of a database two runners share lists both, alive, and every program with
    the owner the runners themselves see, among "a" and "b", both owning some."""
    runners = pg_client.get("/api/runners").json()
    assert sorted((r["id"], r["alive"]) for r in runners) == [("a", True), ("b", True)]
    listed = rows(pg_client)
    assert sorted(listed) == [f"p{i}" for i in range(6)]
    shown = {pid: row["owner"] for pid, row in listed.items()}
    assert shown == owners(pair["a"])
    assert set(shown.values()) == {"a", "b"}
    assert {row["status"] for row in listed.values()} == {"active"}


def test_a_postgres_action_reaches_the_runner_that_owns_the_program(
    pair: dict[str, Runner], pg_client: Any
) -> None:
    """A trigger of a program each runner owns runs on that runner (its state and run count
    change there, and no other program ran); a program's page lists the spawns of its owner."""
    by_owner = {owner: pid for pid, owner in sorted(owners(pair["a"]).items())}
    for owner, pid in by_owner.items():
        answer = pg_client.post(f"/programs/{pid}/trigger", headers=AUTH)
        assert answer.json() == {"ok": True, "action": "trigger", "program": pid, "result": 1}
        assert pair[owner].get_state(pid) == 1
        assert pair[owner].info(pid).runs == 1
    untouched = set(owners(pair["a"])) - set(by_owner.values())
    assert {pid: pair["a"].info(pid).runs for pid in untouched} == dict.fromkeys(untouched, 0)
    for pid in by_owner.values():
        spawns = pg_client.get(f"/api/programs/{pid}").json()["spawns"]
        assert [spawn["id"] for spawn in spawns] == [f"{pid}-1"]


def test_stopping_a_postgres_dashboard_closes_its_connections(pg_url: str) -> None:
    """The dashboard's connections to the database (named for its reader id) are open while
    it serves, and gone once it has stopped."""
    import psycopg

    def sessions(like: str) -> int:
        with contextlib.closing(psycopg.connect(pg_url, autocommit=True)) as conn:
            query = (
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name LIKE %s"
            )
            found = conn.execute(query, (like,)).fetchone()
        assert found is not None
        return int(found[0])

    server = serve_store(pg_url, bind=":0")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert rows(client) == {}
            assert client.get("/api/runners").json() == []
        assert sessions("% web-%") > 0
    finally:
        server.stop()
    eventually(lambda: sessions("% web-%") == 0)
