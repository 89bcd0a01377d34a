"""Pictures: a program's timeline and its load chart, drawn as SVG for its page.

`timeline_svg` draws the same picture as `runner.timeline` (`actors.timeline.Timeline`): one
row per spawn, time along the x axis, a cell per column coloured by the most telling status
in it; neighbouring cells of one status are one bar. `load_chart_svg` draws a LoadMonitor's
samples: the spawn count as steps, the load as a line, on axes of their own. Every text is
escaped: ids and errors come from users.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from actors.snapshots import RunRecord, RunStatus
from actors.timeline import NO_SPAWN, render_timeline
from actors.web.source import LoadSample

__all__ = ["COLOURS", "load_chart_svg", "timeline_svg"]

#: The colour of each status, in the timeline and its legend.
COLOURS: dict[RunStatus, str] = {
    "completed": "#2e9e5b",
    "failed": "#d64545",
    "running": "#e0a526",
    "pending": "#3aa6c9",
    "skipped": "#b8b8b8",
    "missed": "#8c8c8c",
    "cancelled": "#a0509f",
}

_LABEL_WIDTH = 150
_ROW = 22
_CELL = 8


def _clock(when: datetime | None) -> str:
    return "" if when is None else f"{when:%H:%M:%S}"


def timeline_svg(records: Sequence[RunRecord], now: datetime, *, width: int = 100) -> str:
    """`records` (such as a program's history) as an SVG timeline, `width` columns wide."""
    timeline = render_timeline(records, now=now, width=width)
    rows = timeline.rows()
    plot = width * _CELL
    height = max(1, len(rows)) * _ROW + 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
        f'width="{_LABEL_WIDTH + plot + 10}" height="{height}" '
        f'viewBox="0 0 {_LABEL_WIDTH + plot + 10} {height}">',
        f"<title>{escape(str(timeline).splitlines()[0])}</title>",
    ]
    if not rows:
        parts.append('<text x="4" y="16" class="empty">no runs to draw yet</text></svg>')
        return "".join(parts)
    for index, (label, cells) in enumerate(rows.items()):
        top = index * _ROW
        shown = "(no spawn)" if label == NO_SPAWN else label
        parts.append(
            f'<text x="{_LABEL_WIDTH - 6}" y="{top + 15}" text-anchor="end" '
            f'class="label">{escape(shown)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{top + 2}" width="{plot}" height="{_ROW - 4}" '
            f'class="lane"/>'
        )
        column = 0
        while column < width:
            status = cells[column]
            end = column + 1
            while end < width and cells[end] == status:
                end += 1
            if status is not None:
                parts.append(
                    f'<rect x="{_LABEL_WIDTH + column * _CELL}" y="{top + 3}" '
                    f'width="{(end - column) * _CELL}" height="{_ROW - 6}" '
                    f'fill="{COLOURS[status]}" data-status="{status}" data-spawn="'
                    f'{escape(shown)}"><title>{escape(shown)}: {status}</title></rect>'
                )
            column = end
    axis = len(rows) * _ROW + 14
    parts.append(
        f'<text x="{_LABEL_WIDTH}" y="{axis}" class="axis">{_clock(timeline.start)}</text>'
        f'<text x="{_LABEL_WIDTH + plot}" y="{axis}" text-anchor="end" class="axis">'
        f"{_clock(timeline.end)}</text>"
    )
    x = _LABEL_WIDTH
    for status, colour in COLOURS.items():
        parts.append(
            f'<rect x="{x}" y="{axis + 12}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{axis + 21}" class="legend">{status}</text>'
        )
        x += 90
    parts.append("</svg>")
    return "".join(parts)


def load_chart_svg(samples: Sequence[LoadSample], *, width: int = 800, height: int = 220) -> str:
    """A LoadMonitor's samples over time: spawns as steps (left axis), load as a line
    (right axis)."""
    left, right, top, bottom = 40, 50, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="load-chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        "<title>spawns and load over time</title>"
    )
    if len(samples) < 1:
        return head + '<text x="4" y="16" class="empty">no samples yet</text></svg>'
    first, last = samples[0].at, samples[-1].at
    span = max((last - first).total_seconds(), 1e-9)
    most_spawns = max(1, max(sample.spawns for sample in samples))
    loads = [sample.load for sample in samples if sample.load is not None]
    most_load = max([1e-9, *loads])

    def x(when: datetime) -> float:
        return left + (when - first).total_seconds() / span * plot_w

    def y(value: float, top_value: float) -> float:
        return top + plot_h - value / top_value * plot_h

    steps = []
    for index, sample in enumerate(samples):
        if index:
            steps.append(f"{x(sample.at):.1f},{y(samples[index - 1].spawns, most_spawns):.1f}")
        steps.append(f"{x(sample.at):.1f},{y(sample.spawns, most_spawns):.1f}")
    line = [
        f"{x(sample.at):.1f},{y(sample.load, most_load):.1f}"
        for sample in samples
        if sample.load is not None
    ]
    return (
        head
        + f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="lane"/>'
        + f'<polyline points="{" ".join(steps)}" class="spawns" fill="none" '
        'stroke="#3a6fd8" stroke-width="2"/>'
        + f'<polyline points="{" ".join(line)}" class="load" fill="none" '
        'stroke="#e0a526" stroke-width="1.5"/>'
        + f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" class="axis">{most_spawns}</text>'
        + f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="axis">0</text>'
        + f'<text x="{left + plot_w + 4}" y="{top + 10}" class="axis">{most_load:.3g}</text>'
        + f'<text x="{left}" y="{height - 8}" class="axis">{_clock(first)}</text>'
        + f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="axis">'
        f"{_clock(last)}</text>"
        + f'<text x="{left + 60}" y="{height - 8}" class="legend" fill="#3a6fd8">— spawns</text>'
        + f'<text x="{left + 150}" y="{height - 8}" class="legend" fill="#e0a526">— load</text>'
        + "</svg>"
    )
