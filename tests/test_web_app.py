"""The dashboard's app over a runner of this process (`actors.web.serve`, `RunnerSource`),
through real HTTP: its pages, its JSON API, its live stream, and its actions with their
token and their checks. The runner runs on a `ManualClock`: what it shows is exact."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

httpx = pytest.importorskip("httpx", reason="httpx is in the `test` extra: make test installs it")
pytest.importorskip("uvicorn", reason="the dashboard is the `web` extra: make test installs it")

from actors import ManualClock, Program, Runner, every, manual  # noqa: E402
from actors.web import RunnerSource, WebServer, serve  # noqa: E402
from tests.conftest import T0  # noqa: E402

TOKEN = "t0ken"
AUTH = {"X-Actors-Token": TOKEN}


def count(state: int, args: Any) -> int:
    return 1


def add(state: int, value: int) -> int:
    return state + value


def fail(state: Any, args: Any) -> None:
    raise RuntimeError("no luck")


@pytest.fixture
def runner(clock: ManualClock) -> Iterator[Runner]:
    """A runner on the manual clock with a counter every 10 s (2 spawns, tagged), a manual
    one that fails, and a pool of at most 2."""
    runner = Runner(id="app-test", clock=clock)
    runner.install(
        Program(
            id="counter",
            main_fn=count,
            schedule=every(10),
            create_fn=int,
            merge_fn=add,
            min=2,
            tags=("a", "b"),
        )
    )
    runner.install(Program(id="broken", main_fn=fail, schedule=manual(), tags=("b",)))
    runner.install(Program(id="pool", main_fn=count, schedule=manual(), max=2))
    yield runner
    runner.stop()


@pytest.fixture
def client(runner: Runner) -> Iterator[Any]:
    """An HTTP client of the runner's dashboard, which takes actions with `TOKEN`."""
    server = serve(runner, bind=":0", token=TOKEN, refresh=0.05)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
    server.stop()


def test_the_pages_and_their_files_are_served_with_a_content_policy(client: Any) -> None:
    """The front page, a program's page and their scripts come from the package; pages say
    that they load nothing from elsewhere."""
    for path in ("/", "/programs/counter"):
        response = client.get(path)
        assert response.status_code == 200
        assert "<!doctype html>" in response.text
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
    for path in (
        "/static/common.js",
        "/static/index.js",
        "/static/program.js",
        "/static/style.css",
    ):
        assert client.get(path).status_code == 200
    assert client.get("/static/nothing.js").status_code == 404


def test_info_says_what_is_shown_and_that_actions_are_allowed(client: Any) -> None:
    """`/api/info` names the runner and says the dashboard takes actions (it has a token)."""
    assert client.get("/api/info").json() == {
        "source": "runner 'app-test'",
        "read_only": False,
        "refresh": 0.05,
    }
    assert client.get("/api/runners").json()[0]["id"] == "app-test"


def test_the_programs_api_pages_sorts_and_filters_on_the_server(client: Any) -> None:
    """`/api/programs` answers one page of rows with the total, sorted and filtered as asked;
    a bad parameter is a 400 that names it."""
    page = client.get("/api/programs", params={"size": 2}).json()
    assert [p["id"] for p in page["programs"]] == ["broken", "counter"]
    assert (page["total"], page["pages"], page["tags"]) == (3, 2, ["a", "b"])
    tagged = client.get("/api/programs", params={"tag": "a"}).json()
    assert [p["id"] for p in tagged["programs"]] == ["counter"]
    row = tagged["programs"][0]
    assert (row["spawn_counts"], row["schedule"], row["tags"]) == ("2/2/-", "every 10s", ["a", "b"])
    assert row["next_run"] == (T0 + timedelta(seconds=10)).isoformat()
    down = client.get("/api/programs", params={"sort": "id", "order": "desc"}).json()
    assert [p["id"] for p in down["programs"]] == ["pool", "counter", "broken"]
    bad = client.get("/api/programs", params={"sort": "state"})
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("sort must be one of")


def test_a_program_s_api_has_its_state_history_pictures_and_next_fire_times(
    runner: Runner, clock: ManualClock, client: Any
) -> None:
    """`/api/programs/{id}` holds the state, the spawns, the history (newest first), the next
    five fire times, the timeline as SVG, and no chart without a LoadMonitor; an unknown id is
    a 404."""
    clock.jump(timedelta(seconds=10))
    runner.settle()
    detail = client.get("/api/programs/counter").json()
    assert detail["program"]["state"] == 2  # both spawns ran the tick
    assert [s["id"] for s in detail["spawns"]] == ["counter-1", "counter-2"]
    assert [r["status"] for r in detail["history"]] == ["completed", "completed"]
    assert detail["next_fires"] == [
        (T0 + timedelta(seconds=10 * n)).isoformat() for n in range(2, 7)
    ]
    assert detail["timeline_svg"].startswith("<svg")
    assert 'data-status="completed"' in detail["timeline_svg"]
    assert detail["chart_svg"] is None
    missing = client.get("/api/programs/nothing")
    assert missing.status_code == 404
    assert "nothing" in missing.json()["error"]


def test_a_state_json_cannot_hold_is_shown_by_its_repr(runner: Runner, client: Any) -> None:
    """A state that is not JSON (a set) comes as its repr, so any state can be shown."""
    runner.set_state("pool", {3, 1})
    assert client.get("/api/programs/pool").json()["program"]["state"] == "{1, 3}"


def test_an_action_with_the_token_does_what_the_runner_s_call_does(
    runner: Runner, client: Any
) -> None:
    """Trigger answers the run's result and the state changes; spawn, unspawn, pause, resume
    and kill change the program as the runner's own calls do. The token may come as a bearer
    token too."""
    answer = client.post("/programs/counter/trigger", headers=AUTH).json()
    assert answer == {"ok": True, "action": "trigger", "program": "counter", "result": 1}
    assert runner.get_state("counter") == 1
    started = client.post("/programs/pool/spawn", json={"n": 2}, headers=AUTH).json()
    assert started["result"] == ["pool-1", "pool-2"]
    stopped = client.post("/programs/pool/unspawn", json={"n": 1, "policy": "first"}, headers=AUTH)
    assert stopped.json()["result"] == ["pool-1"]
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/programs/counter/pause", headers=bearer).json()["ok"] is True
    assert runner.info("counter").status == "paused"
    assert client.post("/programs/counter/resume", headers=AUTH).json()["ok"] is True
    assert runner.info("counter").status == "active"
    killed = client.post("/programs/counter/spawns/counter-1/kill", headers=AUTH)
    assert killed.json()["ok"] is True
    runner.settle()
    assert [s.id for s in runner.spawns("counter")] == ["counter-2", "counter-3"]  # min is 2


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/programs/nothing/trigger", None, 404, "ProgramNotFound"),
        ("/programs/counter/spawns/counter-9/kill", None, 404, "SpawnNotFound"),
        ("/programs/pool/spawn", {"n": 3}, 409, "SpawnLimitError"),
        ("/programs/counter/unspawn", {"n": 1}, 409, "SpawnLimitError"),
        ("/programs/counter/explode", None, 400, "there is no action 'explode'"),
        ("/programs/counter/spawn", {"n": "two"}, 400, "n must be an int >= 1, got 'two'"),
        ("/programs/counter/spawn", {"n": 1, "extra": 1}, 400, "spawn takes n in its body"),
    ],
)
def test_a_bad_action_is_answered_4xx_with_a_message(
    runner: Runner, client: Any, path: str, body: Any, status: int, says: str
) -> None:
    """Each mistake gets its status and a message that says what was wrong; nothing changes."""
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == status
    assert says in response.json()["error"]
    assert response.json()["ok"] is False
    assert runner.info("pool").spawns == 0
    assert runner.info("counter").spawns == 2


def test_a_body_that_is_not_json_is_a_400(client: Any) -> None:
    """A body that does not parse, or nests too deep to parse, never reaches the runner."""
    for body in (b"{n: 1", b"[" * 200_000):
        response = client.post("/programs/pool/spawn", content=body, headers=AUTH)
        assert response.status_code == 400
        assert response.json()["error"].startswith("the body must be JSON")


def test_a_request_naming_another_host_is_refused(client: Any) -> None:
    """On loopback the dashboard answers only requests for a loopback name: a page whose
    name was made to point at 127.0.0.1 (DNS rebinding) cannot read it."""
    assert client.get("/api/programs", headers={"Host": "evil.example:8470"}).status_code == 400
    assert client.get("/api/programs", headers={"Host": "localhost:8470"}).status_code == 200


def test_a_program_id_too_long_is_a_400(client: Any) -> None:
    """An id no program can have is refused before any actor is asked."""
    response = client.get("/api/programs/" + "x" * 501)
    assert response.status_code == 400
    assert response.json()["error"].startswith("program_id must be a text of at most 500")


def test_actions_are_refused_without_the_right_token(runner: Runner, client: Any) -> None:
    """No token: 401; a wrong one: 403; a cookie is not a token. Nothing runs."""
    assert client.post("/programs/counter/trigger").status_code == 401
    wrong = client.post("/programs/counter/trigger", headers={"X-Actors-Token": "guess"})
    assert (wrong.status_code, wrong.json()["error"]) == (403, "the token is wrong")
    cookie = client.post("/programs/counter/trigger", headers={"Cookie": f"X-Actors-Token={TOKEN}"})
    assert cookie.status_code == 401
    assert client.get("/programs/counter/trigger").status_code == 405
    assert runner.info("counter").runs == 0


def test_a_dashboard_without_a_token_is_read_only(
    runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started without a token (and none in ACTORS_WEB_TOKEN) it says so, and refuses every
    action with 403; with ACTORS_WEB_TOKEN set, that is its token."""
    monkeypatch.delenv("ACTORS_WEB_TOKEN", raising=False)
    with serve(runner, bind=":0") as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/api/info").json()["read_only"] is True
        refused = client.post("/programs/counter/trigger", headers=AUTH)
        assert refused.status_code == 403
        assert "read-only" in refused.json()["error"]
    monkeypatch.setenv("ACTORS_WEB_TOKEN", "from-env")
    with serve(runner, bind=":0") as server, httpx.Client(base_url=server.url) as client:
        answer = client.post("/programs/counter/trigger", headers={"X-Actors-Token": "from-env"})
        assert answer.json()["ok"] is True
    assert runner.info("counter").runs == 1


def times_out(state: Any, args: Any) -> None:
    raise TimeoutError("the job's own")


def test_a_failed_run_and_a_run_still_going_are_said_as_such(runner: Runner) -> None:
    """A trigger whose run raises is answered with the run's error, a TimeoutError of its
    own too; one still running after the action's timeout is answered 202, and finishes on
    its own."""
    release = threading.Event()
    runner.install(
        Program(id="slow", main_fn=lambda state, args: release.wait(10), schedule=manual())
    )
    runner.install(Program(id="timing-out", main_fn=times_out, schedule=manual()))
    source = RunnerSource(runner)
    server = WebServer(source, bind=":0", token=TOKEN, action_timeout=0.2)
    with server, httpx.Client(base_url=server.url, timeout=10) as client:
        failed = client.post("/programs/broken/trigger", headers=AUTH)
        assert failed.status_code == 200
        assert failed.json()["error"] == "the run failed: RuntimeError: no luck"
        own = client.post("/programs/timing-out/trigger", headers=AUTH)
        assert own.status_code == 200
        assert own.json()["error"] == "the run failed: TimeoutError: the job's own"
        going = client.post("/programs/slow/trigger", headers=AUTH)
        assert going.status_code == 202
        assert going.json()["running"] is True
    release.set()
    runner.settle()
    assert runner.info("slow").succeeded == 1


def test_events_are_numbered_and_read_after_a_number(runner: Runner, client: Any) -> None:
    """`/api/events` lists what happened, oldest first; `after` skips what was seen and
    `program` keeps one program's; a bad `after` is a 400."""
    runner.trigger("broken", wait=False)
    runner.settle()
    events = client.get("/api/events", params={"program": "broken"}).json()
    runs = [event for event in events if event["kind"].startswith("Run")]
    assert [event["kind"] for event in runs] == ["RunStarted", "RunFailed"]
    assert {event["program"] for event in events} == {"broken"}
    assert runs[-1]["error"] is True
    assert "no luck" in runs[-1]["text"]
    after = client.get("/api/events", params={"after": runs[0]["seq"]}).json()
    assert "RunStarted" not in [event["kind"] for event in after]
    assert "RunFailed" in [event["kind"] for event in after]
    assert client.get("/api/events", params={"after": "x"}).status_code == 400


def _events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """The (event, data) pairs of a server-sent events stream."""
    name = None
    for line in lines:
        if line.startswith("event:"):
            name = line.partition(":")[2].strip()
        elif line.startswith("data:") and name is not None:
            yield name, json.loads(line.partition(":")[2])


def test_the_stream_pushes_the_page_again_when_a_program_changes(
    runner: Runner, client: Any
) -> None:
    """The programs stream sends the page, the runners and the events; after a run, it sends
    the page again with the new count, unasked."""
    with client.stream("GET", "/api/stream/programs", params={"tag": "a"}) as stream:
        events = _events(stream.iter_lines())
        pages = (data for name, data in events if name == "page")
        first = next(pages)
        assert [(p["id"], p["runs"]) for p in first["programs"]] == [("counter", 0)]
        runner.trigger("counter")
        changed = next(pages)
        assert [(p["id"], p["runs"]) for p in changed["programs"]] == [("counter", 1)]


def test_a_stream_starts_after_the_events_the_page_has(runner: Runner, client: Any) -> None:
    """A stream opened with `after=N` (a new view of the same page), or reconnecting with
    Last-Event-ID N, sends only the events after N; its events carry their number as id."""
    runner.trigger("counter")
    runner.settle()
    newest = client.get("/api/events").json()[-1]["seq"]
    for how in ({"params": {"after": newest - 1}}, {"headers": {"Last-Event-ID": str(newest - 1)}}):
        with client.stream("GET", "/api/stream/programs", **how) as stream:
            block: dict[str, str] = {}
            for line in stream.iter_lines():
                if line:
                    name, _, value = line.partition(":")
                    block[name] = value.strip()
                elif block.get("event") == "events":
                    break
                else:
                    block = {}
            assert [event["seq"] for event in json.loads(block["data"])] == [newest]
            assert block["id"] == str(newest)


def test_the_stream_of_an_unknown_program_is_a_404(client: Any) -> None:
    """No stream is opened for a program that does not exist."""
    response = client.get("/api/stream/programs/nothing")
    assert response.status_code == 404
    assert "nothing" in response.json()["error"]


def test_a_program_s_stream_pushes_its_state(runner: Runner, client: Any) -> None:
    """A program's stream sends its page, then the page again when its state changes."""
    with client.stream("GET", "/api/stream/programs/counter") as stream:
        programs = (data for name, data in _events(stream.iter_lines()) if name == "program")
        assert next(programs)["program"]["state"] == 0
        runner.set_state("counter", 41)
        assert next(programs)["program"]["state"] == 41


def test_the_dashboard_stops_with_its_runner(clock: ManualClock) -> None:
    """`runner.stop()` stops the dashboard serving it first: its thread is gone when the
    runner has stopped (the autouse fixture checks that no thread is left)."""
    runner = Runner(id="short", clock=clock)
    server = serve(runner, bind=":0")
    assert server.running
    runner.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


def test_a_bad_address_or_a_taken_port_says_so(runner: Runner) -> None:
    """`bind` must be HOST:PORT (ValueError naming it); a port in use is an OSError."""
    with pytest.raises(ValueError, match="bind must be HOST:PORT or :PORT"):
        serve(runner, bind="8470")
    with serve(runner, bind=":0") as first, pytest.raises(OSError, match="cannot listen"):
        serve(runner, bind=f"127.0.0.1:{first.port}")
