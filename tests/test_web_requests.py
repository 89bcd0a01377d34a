"""What a dashboard visitor may ask for (`actors.web.requests`): a page of the programs table,
and actions, each checked before anything reaches a runner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from actors.snapshots import ProgramInfo
from actors.tree import messages as m
from actors.web.requests import MAX_PAGE_SIZE, Action, ProgramQuery
from tests.conftest import T0


def info(id: str, *, runs: int = 0, tags: tuple[str, ...] = (), last: int | None = None) -> Any:
    return ProgramInfo(
        id=id,
        name=id.upper(),
        schedule="every 1s",
        status="active",
        spawns=1,
        min=0,
        max=None,
        state=None,
        runs=runs,
        last_run=None if last is None else T0 + timedelta(seconds=last),
        tags=tags,
    )


PROGRAMS = [
    info("c", runs=5, tags=("x",), last=3),
    info("a", runs=9, tags=("x", "y"), last=None),
    info("b", runs=5, tags=("y",), last=1),
]


def test_a_query_has_defaults_and_converts_the_url_s_text() -> None:
    """No parameters: page 1 of 50 rows by id, ascending; numbers arrive as text."""
    assert ProgramQuery.from_params({}) == ProgramQuery(page=1, size=50, sort="id", order="asc")
    assert ProgramQuery.from_params({"page": "3", "size": "10"}).page == 3


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"page": "x"}, "page must be an int, got 'x'"),
        ({"page": "0"}, "page must be an int >= 1, got 0"),
        ({"size": str(MAX_PAGE_SIZE + 1)}, f"size must be an int <= {MAX_PAGE_SIZE}"),
        ({"sort": "state"}, "sort must be one of"),
        ({"order": "up"}, "order must be one of 'asc', 'desc', got 'up'"),
        ({"tag": "t" * 501}, "tag must be a text of at most 500 characters"),
        ({"limit": "1"}, "unknown parameter 'limit'"),
    ],
)
def test_a_bad_query_is_refused_naming_the_field_and_the_value(
    params: dict[str, str], named: str
) -> None:
    """Each bad parameter raises ValueError with its name and value."""
    with pytest.raises(ValueError, match="^" + named.replace("(", r"\(").replace(")", r"\)")):
        ProgramQuery.from_params(params)


def test_a_query_sorts_with_ties_in_id_order_both_ways() -> None:
    """Sorting by runs keeps programs with equal runs in id order, ascending or descending."""
    up = ProgramQuery(sort="runs").apply(PROGRAMS)
    down = ProgramQuery(sort="runs", order="desc").apply(PROGRAMS)
    assert [p.id for p in up.rows] == ["b", "c", "a"]
    assert [p.id for p in down.rows] == ["a", "b", "c"]


def test_programs_that_never_ran_sort_first_by_last_run() -> None:
    """A program with no last run sorts before those that ran, oldest run first."""
    page = ProgramQuery(sort="last_run").apply(PROGRAMS)
    assert [p.id for p in page.rows] == ["a", "b", "c"]


def test_a_query_filters_by_tag_and_search_and_lists_every_tag() -> None:
    """`tag` keeps the programs with that tag, `search` those whose id or name holds the
    text (any case); `tags` lists every tag of every program, for the filter."""
    assert [p.id for p in ProgramQuery(tag="y").apply(PROGRAMS).rows] == ["a", "b"]
    assert [p.id for p in ProgramQuery(search="C").apply(PROGRAMS).rows] == ["c"]
    page = ProgramQuery(tag="x", search="a").apply(PROGRAMS)
    assert ([p.id for p in page.rows], page.total, page.tags) == (["a"], 1, ["x", "y"])


def test_a_page_past_the_last_shows_the_last() -> None:
    """Pages are cut on the server: 3 programs in pages of 2 are 2 pages; page 9 is page 2."""
    page = ProgramQuery(size=2, page=9).apply(PROGRAMS)
    assert (page.page, page.pages, page.total, [p.id for p in page.rows]) == (2, 2, 3, ["c"])
    empty = ProgramQuery().apply([])
    assert (empty.page, empty.pages, empty.total, empty.rows) == (1, 1, 0, [])


@pytest.mark.parametrize(
    ("kind", "body", "spawn_id", "message"),
    [
        ("trigger", None, None, m.Trigger(program_id="p")),
        ("pause", None, None, m.Pause(program_id="p")),
        ("resume", {}, None, m.Resume(program_id="p")),
        ("spawn", {"n": 3}, None, m.Spawn(program_id="p", n=3)),
        (
            "unspawn",
            {"n": 2, "policy": "idle"},
            None,
            m.Unspawn(program_id="p", n=2, policy="idle"),
        ),
        ("kill", None, "p-2", m.KillSpawn(program_id="p", spawn_id="p-2")),
    ],
)
def test_an_action_becomes_the_request_a_runner_sends(
    kind: str, body: Any, spawn_id: str | None, message: Any
) -> None:
    """Each action is the very message the Runner's call of the same name sends."""
    assert Action.from_params(kind, "p", body, spawn_id).message() == message


@pytest.mark.parametrize(
    ("kind", "program", "body", "spawn_id", "named"),
    [
        ("explode", "p", None, None, "there is no action 'explode'"),
        ("spawn", "", None, None, "program_id must be a non-empty str"),
        ("spawn", "p", {"n": 0}, None, "n must be an int >= 1, got 0"),
        ("spawn", "p", {"n": True}, None, "n must be an int >= 1, got True"),
        ("spawn", "p", {"n": "2"}, None, "n must be an int >= 1, got '2'"),
        ("spawn", "p", {"n": 1001}, None, "n must be an int <= 1000, got 1001"),
        ("spawn", "p", [1], None, "the body must be a JSON object"),
        ("trigger", "p", {"args": 1}, None, "trigger takes nothing in its body, got 'args'"),
        ("unspawn", "p", {"policy": "random"}, None, "policy must be one of"),
        ("kill", "p", None, None, "spawn_id is needed to kill a spawn"),
        ("pause", "p", None, "p-1", "spawn_id is needed to kill a spawn and nothing else"),
    ],
)
def test_a_bad_action_is_refused_before_it_becomes_a_message(
    kind: str, program: str, body: Any, spawn_id: str | None, named: str
) -> None:
    """A bad action raises ValueError naming what was wrong; no message is made."""
    with pytest.raises(ValueError, match="^" + named.replace("(", r"\(")):
        Action.from_params(kind, program, body, spawn_id)
