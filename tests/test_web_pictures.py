"""The dashboard's pictures (`actors.web.pictures`): a program's timeline and its load chart
as SVG, the same picture as the text timeline, with every user's text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from actors.snapshots import RunRecord
from actors.timeline import render_timeline
from actors.web.pictures import COLOURS, load_chart_svg, timeline_svg
from actors.web.source import LoadSample
from tests.conftest import T0

SVG = "{http://www.w3.org/2000/svg}"


def run(spawn: str | None, status: str, start: float, end: float | None) -> RunRecord:
    return RunRecord(
        id=f"w#{start}",
        program="w",
        spawn=spawn,
        scheduled_at=T0 + timedelta(seconds=start),
        status=status,  # type: ignore[arg-type]
        started_at=None if status in ("missed", "skipped") else T0 + timedelta(seconds=start),
        finished_at=None if end is None else T0 + timedelta(seconds=end),
    )


RECORDS = [
    run("w-1", "completed", 0, 4),
    run("w-1", "failed", 5, 6),
    run("w-2", "completed", 2, 10),
    run(None, "missed", 8, None),
]


def bars(svg: str) -> dict[str, list[tuple[int, int, str]]]:
    """Each row's bars: (first column, columns, status), from the SVG's rects."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    for rect in ET.fromstring(svg).iter(f"{SVG}rect"):
        if "data-status" in rect.attrib:
            column = (int(rect.attrib["x"]) - 150) // 8
            found.setdefault(rect.attrib["data-spawn"], []).append(
                (column, int(rect.attrib["width"]) // 8, rect.attrib["data-status"])
            )
    return found


def test_the_svg_timeline_is_the_text_timeline_s_picture() -> None:
    """Each row's bars cover exactly the cells of the text timeline, status for status, and
    a bar's colour is its status's."""
    svg = timeline_svg(RECORDS, T0 + timedelta(seconds=10), width=20)
    rows = render_timeline(RECORDS, now=T0 + timedelta(seconds=10), width=20).rows()
    drawn = bars(svg)
    assert set(drawn) == {"w-1", "w-2", "(no spawn)"}
    for label, cells in rows.items():
        expected = [(column, status) for column, status in enumerate(cells) if status]
        shown = [
            (column, status)
            for first, count, status in drawn[label]
            for column in range(first, first + count)
        ]
        assert shown == expected
    for rect in ET.fromstring(svg).iter(f"{SVG}rect"):
        if "data-status" in rect.attrib:
            assert rect.attrib["fill"] == COLOURS[rect.attrib["data-status"]]  # type: ignore[index]


def test_nothing_to_draw_says_so() -> None:
    """No records: a picture that says there are no runs yet, still valid SVG."""
    svg = timeline_svg([], T0)
    assert "no runs to draw yet" in svg
    ET.fromstring(svg)


def test_user_text_is_escaped_in_both_pictures() -> None:
    """A spawn named like markup stays text: the SVG parses, and holds no element of it."""
    evil = '<script>alert("x")</script>'
    svg = timeline_svg([run(evil, "completed", 0, 1)], T0 + timedelta(seconds=2))
    tree = ET.fromstring(svg)
    assert not list(tree.iter(f"{SVG}script"))
    assert evil in "".join(tree.itertext())


def test_the_load_chart_draws_spawns_as_steps_and_the_load_as_a_line() -> None:
    """Spawns are a step line (two points per change), the load a line through each sample;
    the axes are labelled with the most spawns and the highest load."""
    samples = [
        LoadSample(at=T0 + timedelta(seconds=s), spawns=n, load=load)
        for s, n, load in ((0, 1, 0.5), (1, 2, 4.0), (2, 2, 3.0))
    ]
    tree = ET.fromstring(load_chart_svg(samples))
    lines = {line.attrib["class"]: line.attrib["points"] for line in tree.iter(f"{SVG}polyline")}
    assert len(lines["spawns"].split()) == 5  # 3 samples, 2 of them after a previous one
    assert len(lines["load"].split()) == 3
    labels = [text.text for text in tree.iter(f"{SVG}text")]
    assert "2" in labels  # the most spawns
    assert "4" in labels  # the highest load


def test_a_chart_without_samples_says_so() -> None:
    """No samples yet: the chart says so."""
    assert "no samples yet" in load_chart_svg([])
