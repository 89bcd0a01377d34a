"""Timelines: `render_timeline` and `timeline_text` draw RunRecords, one row per spawn."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from actors import ManualClock, Program, Runner, RunRecord
from actors.snapshots import RunStatus
from actors.timeline import GLYPHS, Timeline, render_timeline, timeline_text

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def record(
    spawn: str | None,
    status: RunStatus,
    scheduled: float | None,
    started: float | None = None,
    finished: float | None = None,
    program: str = "worker",
) -> RunRecord:
    """A hand-made RunRecord; times are seconds after T0."""
    return RunRecord(
        id=f"{program}#{next(_numbers)}",
        program=program,
        spawn=spawn,
        scheduled_at=None if scheduled is None else at(scheduled),
        status=status,
        started_at=None if started is None else at(started),
        finished_at=None if finished is None else at(finished),
    )


def bars(text: str) -> dict[str, str]:
    """The rows of a plain timeline: {label: the cells between the two │}."""
    rows = {}
    for line in text.splitlines():
        if line.count("│") == 2:
            label, cells, _ = line.split("│")
            rows[label.strip()] = cells
    return rows


class TestLayout:
    def test_one_row_per_spawn_in_natural_order_no_spawn_last(self) -> None:
        """worker-2 comes before worker-10; records without a spawn get the last row."""
        records = [
            record("worker-10", "completed", 0, 0, 1),
            record(None, "missed", 2),
            record("worker-2", "completed", 0, 0, 1),
            record("worker-temp-1", "completed", 3, 3, 4),
            record("worker-1", "completed", 0, 0, 1),
        ]

        rows = list(bars(timeline_text(records, now=at(10), width=10)))

        assert rows == ["worker-1", "worker-2", "worker-10", "worker-temp-1", "(no spawn)"]

    def test_a_bar_runs_from_start_to_finish(self) -> None:
        """Over 10 s in 10 columns, a run from 2 s to 5 s covers columns 2, 3 and 4."""
        records = [record("worker-1", "completed", 0, 2, 5), record("worker-2", "skipped", 0)]

        rows = bars(timeline_text(records, now=at(10), width=10))

        assert rows["worker-1"] == "  ███     "
        assert rows["worker-2"] == "·         "

    def test_each_status_has_its_glyph(self) -> None:
        """completed █, failed ✗, running ▒ (up to now), cancelled c, skipped and missed ·,
        pending ░ at its scheduled time."""
        records = [
            record("a-1", "completed", 0, 0, 1),
            record("a-2", "failed", 1, 1, 2),
            record("a-3", "running", 6, 6),
            record("a-4", "cancelled", 3, 3, 4),
            record("a-5", "skipped", 4),
            record("a-6", "missed", 5),
            record("a-7", "pending", 7),
        ]

        rows = bars(timeline_text(records, now=at(10), width=10))

        assert rows == {
            "a-1": "█         ",
            "a-2": " ✗        ",
            "a-3": "      ▒▒▒▒",
            "a-4": "   c      ",
            "a-5": "    ·     ",
            "a-6": "     ·    ",
            "a-7": "       ░  ",
        }
        assert GLYPHS["failed"] == "✗"

    def test_a_short_run_still_gets_one_cell(self) -> None:
        """A 10 ms run on a 100 s axis is drawn as one cell where it started."""
        records = [record("w-1", "completed", 50, 50, 50.01), record("w-1", "completed", 0, 0, 1)]

        rows = bars(timeline_text(records, now=at(100), width=10))

        assert rows["w-1"] == "█    █    "

    def test_failed_wins_a_shared_cell(self) -> None:
        """Where runs share a cell the most telling status is drawn: failed over completed,
        running over completed, completed over skipped."""
        records = [
            record("w-1", "completed", 0, 0, 0.4),
            record("w-1", "failed", 0.5, 0.5, 0.9),
            record("w-2", "skipped", 0),
            record("w-2", "completed", 0.1, 0.1, 0.2),
            record("w-3", "completed", 0, 0, 0.3),
            record("w-3", "running", 0.5, 0.5),
        ]

        rows = bars(timeline_text(records, now=at(10), width=10))

        assert rows["w-1"][0] == "✗"
        assert rows["w-2"][0] == "█"
        assert rows["w-3"] == "▒" * 10

    def test_title_axis_and_legend(self) -> None:
        """The first line names the program, the count, the span and a column's width; the
        axis line has the two ends' times; the last line is the legend."""
        records = [record("worker-1", "completed", 0, 0, 1), record("worker-1", "failed", 30)]

        lines = timeline_text(records, now=at(60), width=30).splitlines()

        assert lines[0] == "worker: 2 records, 12:00:00 → 12:01:00 (1m, 2s a column)"
        axis = lines[-2]
        assert axis.split() == ["12:00:00", "12:01:00"]
        assert axis.rstrip().endswith("12:01:00")
        assert len(axis.rstrip()) == len(lines[1])  # the right time ends under the right edge
        assert lines[-1] == (
            "█ completed  ✗ failed  ▒ running  ░ pending  · skipped/missed  c cancelled"
        )

    def test_a_short_span_shows_milliseconds_a_long_one_dates(self) -> None:
        short = timeline_text([record("w-1", "completed", 0, 0, 0.25)], width=10)
        long = timeline_text([record("w-1", "completed", 0, 0, 1)], now=at(3 * 86_400), width=10)

        assert "12:00:00.000 → 12:00:00.250 (250ms, 25ms a column)" in short
        assert "2026-01-01 12:00 → 2026-01-04 12:00 (3d, 7h12m a column)" in long

    def test_every_row_is_as_wide_as_asked(self) -> None:
        records = [record(f"w-{n}", "completed", n, n, n + 1) for n in range(1, 12)]

        rows = bars(timeline_text(records, now=at(20), width=37))

        assert {len(cells) for cells in rows.values()} == {37}


class TestTimeAxis:
    def test_default_now_is_the_latest_time_in_the_records(self) -> None:
        """Without `now` the axis ends at the latest time seen: the last finish here."""
        records = [record("w-1", "completed", 0, 0, 5), record("w-1", "completed", 5, 5, 10)]

        timeline = render_timeline(records, width=10)

        assert (timeline.start, timeline.end) == (T0, at(10))
        assert bars(str(timeline))["w-1"] == "█" * 10

    def test_the_axis_starts_at_the_oldest_scheduled_time(self) -> None:
        """A run scheduled at 0 s that started late at 4 s: the axis still starts at 0 s."""
        timeline = render_timeline([record("w-1", "completed", 0, 4, 5)], now=at(10), width=10)

        assert timeline.start == T0
        assert bars(str(timeline))["w-1"] == "    █     "

    def test_now_moves_the_right_edge(self) -> None:
        """The same run drawn up to a later `now` takes a smaller share of the width."""
        records = [record("w-1", "completed", 0, 0, 10)]

        assert bars(timeline_text(records, now=at(10), width=10))["w-1"] == "█" * 10
        assert bars(timeline_text(records, now=at(20), width=10))["w-1"] == "█████     "

    def test_a_naive_now_is_taken_as_utc(self) -> None:
        records = [record("w-1", "completed", 0, 0, 1)]
        naive = datetime(2026, 1, 1, 12, 0, 10)  # naive on purpose

        assert render_timeline(records, now=naive).end == at(10)

    def test_a_single_instant_draws_in_the_first_column(self) -> None:
        """All records at one instant: a zero span draws them at the left edge."""
        text = timeline_text([record("w-1", "skipped", 0)], width=5)

        assert bars(text)["w-1"] == "·    "
        assert "(0ms," in text.splitlines()[0]


class TestRendering:
    def test_empty(self) -> None:
        """No records: one line saying so, no rows, no legend."""
        assert timeline_text([]) == "timeline: no runs to draw"
        assert render_timeline([]).rows() == {}

    def test_records_without_any_time_are_listed_not_drawn(self) -> None:
        """A record with no time at all has a row but no mark."""
        records = [record("w-1", "pending", None), record("w-2", "completed", 0, 0, 1)]

        rows = bars(timeline_text(records, width=4))

        assert rows == {"w-1": "    ", "w-2": "████"}

    @pytest.mark.parametrize("width", [0, -1, 2.5, "60", True])
    def test_width_must_be_a_positive_int(self, width: object) -> None:
        with pytest.raises(ValueError, match="width must be an int >= 1"):
            render_timeline([], width=width)  # type: ignore[arg-type]

    def test_repr_str_and_text_agree(self) -> None:
        records = [record("w-1", "completed", 0, 0, 1), record("w-1", "failed", 2, 2, 3)]
        timeline = render_timeline(records, now=at(4), width=8)

        assert isinstance(timeline, Timeline)
        assert repr(timeline) == str(timeline) == timeline_text(records, now=at(4), width=8)

    def test_rich_renders_the_same_picture_in_colour(self) -> None:
        """Printed by rich, the plain text is the same; a failed run is red."""
        records = [record("w-1", "completed", 0, 0, 1), record("w-1", "failed", 2, 2, 3)]
        timeline = render_timeline(records, now=at(4), width=8)
        buffer = io.StringIO()
        console = Console(file=buffer, width=120, color_system="truecolor", force_terminal=True)

        console.print(timeline)
        plain = Console(file=io.StringIO(), width=120, color_system=None)
        with plain.capture() as captured:
            plain.print(timeline)

        assert "\x1b[" in buffer.getvalue()
        assert "\x1b[1;31m✗" in buffer.getvalue()
        assert [line.rstrip() for line in captured.get().splitlines()] == str(timeline).splitlines()

    def test_ipython_pretty_printer(self) -> None:
        """`_repr_pretty_` gives IPython the plain text."""
        timeline = render_timeline([record("w-1", "completed", 0, 0, 1)], width=4)
        written: list[str] = []

        class Printer:
            def text(self, value: str) -> None:
                written.append(value)

        timeline._repr_pretty_(Printer(), cycle=False)

        assert written == [str(timeline)]

    def test_several_programs_are_named_in_the_title(self) -> None:
        records = [
            record("a-1", "completed", 0, 0, 1, program="a"),
            record("b-1", "completed", 0, 0, 1, program="b"),
        ]

        assert timeline_text(records, width=4).startswith("a, b: 2 records")


class TestWithARunner:
    def test_draws_a_runners_history(self, runner: Runner, clock: ManualClock) -> None:
        """A real history on a ManualClock: two spawns, a failure, and ticks skipped while no
        spawn existed, drawn over the 10 s that passed."""
        failures = iter([False, False, True] + [False] * 100)

        def work(args: object, timestamp: datetime) -> int:
            if next(failures):
                raise RuntimeError("boom")
            return 1

        runner.install(Program(id="job", interval=1, main_fn=work))
        clock.advance(2)  # two ticks with no spawn: skipped
        runner.spawn("job", 2)
        clock.advance(8)

        timeline = render_timeline(runner.history("job"), now=clock.now(), width=10)
        rows = bars(str(timeline))

        assert list(rows) == ["job-1", "job-2", "(no spawn)"]
        assert rows["(no spawn)"].count("·") == 2
        assert "✗" in rows["job-1"] + rows["job-2"]
        assert timeline.end == clock.now()
        assert str(timeline).splitlines()[0] == (
            "job: 18 records, 00:00:01.000 → 00:00:10.000 (9s, 900ms a column)"
        )
