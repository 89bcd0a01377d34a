"""The dashboard's JSON (`actors.web.payloads`): snapshots as plain JSON, whatever a user's
state holds."""

from __future__ import annotations

import json
import math
from typing import Any

from actors.snapshots import ProgramInfo
from actors.web.payloads import MAX_STATE_TEXT, jsonable, program_payload
from tests.conftest import T0


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_json_states_stay_as_they_are_and_others_become_their_repr() -> None:
    """Numbers, text, lists and dicts stay JSON; a set, nan, an object are shown by repr; a
    repr that raises is named, not raised; a huge state is cut."""
    assert jsonable({"a": [1, 2.5, None, "x"]}) == {"a": [1, 2.5, None, "x"]}
    assert jsonable({2, 1}) == "{1, 2}"
    assert jsonable(math.nan) == "nan"
    assert jsonable(Unprintable()).startswith("<unprintable Unprintable: RuntimeError")
    assert len(jsonable(list(range(10_000)))) == MAX_STATE_TEXT


def test_a_program_payload_is_json_with_iso_times_and_errors_as_text() -> None:
    """A ProgramInfo becomes JSON: times ISO 8601, the error `Type: message`, tags a list;
    the state only when asked for."""
    info = ProgramInfo(
        id="p",
        name="P",
        schedule="every 1s",
        status="active",
        spawns=1,
        min=1,
        max=3,
        state={"n": 1},
        last_run=T0,
        last_error=ValueError("bad"),
        tags=("x",),
    )
    payload: dict[str, Any] = json.loads(json.dumps(program_payload(info, state=True)))
    assert payload["last_run"] == T0.isoformat()
    assert payload["next_run"] is None
    assert payload["last_error"] == "ValueError: bad"
    assert (payload["spawn_counts"], payload["tags"], payload["state"]) == (
        "1/1/3",
        ["x"],
        {"n": 1},
    )
    assert "state" not in program_payload(info)
