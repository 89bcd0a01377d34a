"""Snapshots: RunnerStatus, ProgramInfo, SpawnInfo and RunRecord, and how they render."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import attrs
import pytest
from rich.console import Console

from actors import ProgramInfo, RunnerStatus, RunRecord, SpawnInfo
from actors.snapshots import render
from tests.conftest import T0


def program(pid: str = "cleanup", **fields: Any) -> ProgramInfo:
    values: dict[str, Any] = {
        "id": pid,
        "name": pid,
        "schedule": "every 1m30s",
        "status": "active",
        "spawns": 2,
        "min": 1,
        "max": 4,
        "state": {"deleted": 7},
        "runs": 12,
        "succeeded": 9,
        "failed": 3,
        "skipped": 5,
        "missed": 1,
        "last_run": T0 + timedelta(hours=1, minutes=2, seconds=3),
        "next_run": T0 + timedelta(hours=1, minutes=3, seconds=33),
    }
    values.update(fields)
    return ProgramInfo(**values)


def status(*programs: ProgramInfo, **fields: Any) -> RunnerStatus:
    values: dict[str, Any] = {
        "id": "system-runner",
        "running": True,
        "paused": False,
        "programs": list(programs),
        "at": T0,
    }
    values.update(fields)
    return RunnerStatus(**values)


def spawn(**fields: Any) -> SpawnInfo:
    values: dict[str, Any] = {
        "id": "cleanup-3",
        "program": "cleanup",
        "status": "running",
        "started_at": T0,
        "runs": 4,
        "succeeded": 3,
        "failed": 1,
    }
    values.update(fields)
    return SpawnInfo(**values)


def record(**fields: Any) -> RunRecord:
    values: dict[str, Any] = {
        "id": "cleanup#17",
        "program": "cleanup",
        "spawn": "cleanup-3",
        "scheduled_at": T0 + timedelta(seconds=90),
        "status": "completed",
        "started_at": T0 + timedelta(seconds=90),
        "finished_at": T0 + timedelta(seconds=92.5),
        "result": "{'count': 1}",
    }
    values.update(fields)
    return RunRecord(**values)


def column_edges(line: str) -> list[int]:
    """Positions of the table's vertical rules in one line."""
    return [i for i, char in enumerate(line) if char in "┃│╇╋┼┡┩┏┓┳┗┛┻└┘┴┬┌┐├┤╈"]


class TestRunnerStatusTable:
    def test_repr_is_a_table_with_every_program(self) -> None:
        """The repr has a header and one row per program, with id, schedule and n/min/max."""
        text = repr(
            status(
                program("cleanup"),
                program("report", schedule="every 1h", spawns=0, min=0, max=None, runs=0),
            )
        )

        cleanup = next(line for line in text.splitlines() if "cleanup" in line)
        report = next(line for line in text.splitlines() if "report" in line)
        assert "every 1m30s" in cleanup
        assert "2/1/4" in cleanup
        assert "every 1h" in report
        assert "0/0/-" in report
        for header in ("program", "status", "schedule", "n/min/max", "runs", "failed"):
            assert header in text

    def test_programs_of_several_runners_show_their_owners(self) -> None:
        """A status of programs that several runners run (a shared store) has an owner
        column naming each one's runner; one of a single runner's programs has none."""
        text = repr(status(program("a", owner="web-1"), program("b", owner="web-2")))
        header = next(line for line in text.splitlines() if "schedule" in line)
        assert "owner" in header
        assert "web-1" in next(line for line in text.splitlines() if "│ a " in line)
        assert "web-2" in next(line for line in text.splitlines() if "│ b " in line)
        alone = repr(status(program("a", owner="web-1"), program("b", owner="web-1")))
        assert "owner" not in alone
        assert "web-1" not in alone

    def test_rows_show_the_counts(self) -> None:
        """Each row shows its program's runs and failures."""
        text = repr(status(program("a", runs=1234, failed=56), program("b", runs=7, failed=0)))

        row_a = next(line for line in text.splitlines() if "│ a " in line)
        row_b = next(line for line in text.splitlines() if "│ b " in line)
        assert "1234" in row_a
        assert "56" in row_a
        assert " 7 " in row_b

    def test_rows_show_status_times_and_state(self) -> None:
        """A row shows the program's status, last and next run times and its state."""
        text = repr(status(program(status="paused")))

        row = next(line for line in text.splitlines() if "cleanup" in line)
        assert "paused" in row
        assert "01:02:03" in row
        assert "01:03:33" in row
        assert "{'deleted': 7}" in row

    def test_sub_second_times_show_milliseconds(self) -> None:
        """A sub-second schedule's last and next run differ in the table: 12:00:00.250, .500."""
        last, following = T0 + timedelta(seconds=0.25), T0 + timedelta(seconds=0.5)
        text = repr(status(program(schedule="every 0.25s", last_run=last, next_run=following)))

        row = next(line for line in text.splitlines() if "cleanup" in line)
        assert "00:00:00.250" in row
        assert "00:00:00.500" in row

    def test_whole_second_times_stay_short(self) -> None:
        """Times on a whole second (or less than 1 ms past it) show no fraction."""
        text = repr(
            status(
                program(
                    last_run=T0 + timedelta(seconds=3),
                    next_run=T0 + timedelta(seconds=4, microseconds=999),
                )
            )
        )

        row = next(line for line in text.splitlines() if "cleanup" in line)
        assert " 00:00:03 " in row
        assert " 00:00:04 " in row

    def test_columns_are_aligned(self) -> None:
        """Every line of the table puts its column rules at the same positions."""
        text = repr(
            status(
                program("a", runs=1, state=None),
                program("a-much-longer-program-id", runs=123456, state={"k": 1}),
                program("mid-sized", schedule="manual", max=None, last_run=None, next_run=None),
            )
        )

        lines = [line for line in text.splitlines() if column_edges(line)]
        assert len(lines) >= 6  # top, header, separator, three rows, bottom
        edges = {tuple(column_edges(line)) for line in lines}
        assert len(edges) == 1
        assert len(next(iter(edges))) == 10  # nine columns

    def test_title_has_the_runner_and_totals(self) -> None:
        """The title names the runner, its state and the totals."""
        text = repr(status(program("a"), program("b")))

        title = text.splitlines()[0]
        assert "'system-runner'" in title
        assert "running" in title
        assert "2 programs" in title
        assert "4 spawns" in title
        assert "24 runs" in title
        assert "6 failed" in title

    @pytest.mark.parametrize(
        ("running", "paused", "word"),
        [(True, False, "running"), (True, True, "paused"), (False, False, "stopped")],
    )
    def test_title_state(self, running: bool, paused: bool, word: str) -> None:
        """The title says whether the runner is running, paused or stopped."""
        title = repr(status(running=running, paused=paused)).splitlines()[0]

        assert f"'system-runner' {word} " in title

    def test_empty_runner(self) -> None:
        """A runner without programs still renders, saying so."""
        text = repr(status())

        assert "0 programs" in text
        assert "program" in text.splitlines()[2]

    def test_no_trailing_spaces_or_colour_codes(self) -> None:
        """The repr is plain text: no ANSI escapes and no trailing spaces."""
        text = repr(status(program()))

        assert "\x1b[" not in text
        assert all(line == line.rstrip() for line in text.splitlines())

    def test_long_state_is_shortened(self) -> None:
        """A big state is cut to a short preview ending in an ellipsis."""
        text = repr(status(program(state={"rows": list(range(1000))})))

        assert "999" not in text
        assert "…" in text

    def test_long_program_id_shown_in_full(self) -> None:
        """A long program id is shown whole, with its counts, never cut to an ellipsis."""
        pid = "billing-invoices-reconciliation-eu-west-1"
        text = repr(status(program(pid, runs=1234)))

        assert pid in text
        assert "1234" in text
        assert "2/1/4" in text


class TestRunnerStatusData:
    def test_totals(self) -> None:
        """totals sums every counter over the programs."""
        totals = status(
            program("a", spawns=1, runs=10, succeeded=8, failed=2, skipped=3, missed=0),
            program("b", spawns=2, runs=5, succeeded=5, failed=0, skipped=0, missed=4),
        ).totals

        assert totals == {
            "programs": 2,
            "spawns": 3,
            "runs": 15,
            "succeeded": 13,
            "failed": 2,
            "skipped": 3,
            "missed": 4,
        }

    def test_totals_of_nothing(self) -> None:
        """An empty runner's totals are all zero."""
        assert set(status().totals.values()) == {0}

    def test_getitem(self) -> None:
        """status[id] is that program's ProgramInfo."""
        a, b = program("a"), program("b")

        assert status(a, b)["b"] is b
        assert status(a, b)["a"] is a

    def test_getitem_missing(self) -> None:
        """status[unknown] raises KeyError naming the id."""
        with pytest.raises(KeyError, match="nope"):
            status(program("a"))["nope"]

    def test_frozen(self) -> None:
        """Snapshots are frozen."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            status().id = "other"  # type: ignore[misc]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            program().runs = 0  # type: ignore[misc]


class TestOneLineReprs:
    def test_program_info(self) -> None:
        """ProgramInfo's repr is one line with id, status, schedule, spawns and counts."""
        text = repr(program())

        assert "\n" not in text
        assert text.startswith("<ProgramInfo cleanup active every 1m30s")
        assert "spawns=2/1/4" in text
        assert "runs=12" in text
        assert "failed=3" in text
        assert "state={'deleted': 7}" in text

    def test_program_info_long_state(self) -> None:
        """A big state is shortened in ProgramInfo's repr, which stays one line."""
        text = repr(program(state="x" * 500))

        assert "\n" not in text
        assert len(text) < 200
        assert text.endswith("…>")

    def test_spawn_info(self) -> None:
        """SpawnInfo's repr is one line with id, status and counts."""
        text = repr(spawn())

        assert text == "<SpawnInfo cleanup-3 running runs=4 ok=3 failed=1>"

    @pytest.mark.parametrize("state", ["idle", "running", "stopping", "stopped"])
    def test_spawn_info_status(self, state: str) -> None:
        """Each spawn status shows in the repr."""
        assert f" {state} " in repr(spawn(status=state))

    def test_completed_run(self) -> None:
        """A completed run shows its id, status, spawn, scheduled time and result."""
        text = repr(record())

        assert "\n" not in text
        assert text == (
            "<RunRecord cleanup#17 completed spawn=cleanup-3 scheduled=00:01:30 {'count': 1}>"
        )

    def test_failed_run(self) -> None:
        """A failed run shows its error's type and message."""
        text = repr(record(status="failed", result=None, error=ValueError("bad input")))

        assert "failed" in text
        assert "ValueError: bad input" in text

    @pytest.mark.parametrize("state", ["skipped", "missed", "pending", "running"])
    def test_runs_without_outcome(self, state: str) -> None:
        """A run without an outcome shows no result or error."""
        text = repr(record(status=state, result=None, spawn=None, started_at=None))

        assert text == f"<RunRecord cleanup#17 {state} spawn=None scheduled=00:01:30>"

    def test_run_scheduled_within_a_second(self) -> None:
        """A run scheduled at a fraction of a second shows it, to the millisecond."""
        text = repr(record(scheduled_at=T0 + timedelta(seconds=90.125)))

        assert "scheduled=00:01:30.125" in text

    def test_run_without_schedule_time(self) -> None:
        """A run with no scheduled time shows a dash."""
        assert "scheduled=-" in repr(record(scheduled_at=None))

    def test_duration(self) -> None:
        """duration is finish minus start, in seconds, or None before the run finished."""
        assert record().duration == 2.5
        assert record(finished_at=None).duration is None
        assert record(started_at=None).duration is None

    def test_spawn_counts(self) -> None:
        """spawn_counts is n/min/max with a dash for no upper bound."""
        assert program(spawns=3, min=1, max=None).spawn_counts == "3/1/-"
        assert program(spawns=0, min=0, max=9).spawn_counts == "0/0/9"


class Printer:
    """Stands in for IPython's pretty printer: collects what is written."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def text(self, value: str) -> None:
        self.written.append(value)


ALL_SNAPSHOTS = [
    pytest.param(lambda: status(program()), id="RunnerStatus"),
    pytest.param(program, id="ProgramInfo"),
    pytest.param(spawn, id="SpawnInfo"),
    pytest.param(record, id="RunRecord"),
]


class TestRichAndIPython:
    @pytest.mark.parametrize("make", ALL_SNAPSHOTS)
    def test_repr_pretty_writes_the_repr(self, make: Any) -> None:
        """_repr_pretty_ writes the snapshot's repr to IPython's printer."""
        snapshot = make()
        printer = Printer()

        snapshot._repr_pretty_(printer, False)

        assert printer.written == [repr(snapshot)]

    @pytest.mark.parametrize("make", ALL_SNAPSHOTS)
    def test_rich_hook_prints(self, make: Any) -> None:
        """Each snapshot has __rich__, and rich prints what it returns, showing the id."""
        snapshot = make()
        buffer = io.StringIO()
        console = Console(file=buffer, width=150, color_system=None)

        console.print(snapshot.__rich__())

        assert "cleanup" in buffer.getvalue()

    def test_runner_status_rich_matches_repr(self) -> None:
        """Printing a RunnerStatus with rich gives the same table as its repr."""
        snapshot = status(program("a"), program("b"))

        assert render(snapshot) == repr(snapshot)

    def test_render_is_plain_text(self) -> None:
        """render() turns a rich renderable into plain text at the width asked."""
        text = render(status(program()).__rich__(), width=200)

        assert "\x1b[" not in text
        assert max(len(line) for line in text.splitlines()) <= 200
        assert "cleanup" in text
