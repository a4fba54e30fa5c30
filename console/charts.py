"""The run chart of a district page: inline SVG, computed here, drawn by a template.

Bars are the time each run worked (left axis), dots joined by a line are changed rows
(right axis), one slot per run, oldest on the left. Each slot is labelled with its run
number and start, and failed and held runs carry a mark. The SVG is a picture only; the
runs it shows are also listed as links beside it (links inside an ``<svg role="img">``
would be hidden from assistive technology). No JavaScript and no library: the page works
offline and prints.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from console.display import KIND_SHORT, duration
from console.selectors import ChartPoint

HEIGHT = 230
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 22, 52
#: Width per run, so a chart of two runs is small and one of thirty fits a page.
SLOT = 40
MIN_PLOT, MAX_PLOT = 160, 1000


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    cx: float
    cy: float
    tone: str
    title: str
    run_id: int
    label: str
    when: str
    #: "failed", "held" or "": the mark drawn above the bar.
    mark: str
    mark_y: float
    summary: str


@dataclass(frozen=True)
class Tick:
    y: float
    left: str
    right: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    bars: list[Bar]
    line: str  # SVG points of the changed-rows line
    ticks: list[Tick]
    label_y: int
    when_y: int


def _nice_ceiling(value: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above ``value`` (axis maximum)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


#: Time-axis maxima: halves and wholes read as round times (30 s, 1 min, 5 min, 1 h …).
_SECONDS_STEPS = (10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 10800, 14400, 21600)


def _nice_seconds(value: float) -> float:
    for step in _SECONDS_STEPS:
        if step >= value:
            return float(step)
    return _nice_ceiling(value / 3600) * 3600


def _count(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g} M"
    if value >= 1_000:
        return f"{value / 1_000:g} k"
    return f"{value:g}"


_STATUS_WORDS = {"succeeded": "succeeded", "failed": "failed", "held": "held for approval"}


def run_chart(points: list[ChartPoint]) -> Chart | None:
    """Geometry for ``points`` (oldest first), or ``None`` when there is nothing to draw."""
    if not points:
        return None
    plot_w = max(MIN_PLOT, min(MAX_PLOT, SLOT * len(points)))
    width = LEFT + plot_w + RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    max_seconds = _nice_seconds(max(p.seconds for p in points))
    max_changed = _nice_ceiling(max(p.changed for p in points))
    slot = plot_w / len(points)
    # Runs of a day or two are told apart by time, longer histories by date.
    short_span = points[-1].started_at - points[0].started_at < dt.timedelta(days=2)
    label_format = "%H:%M" if short_span else "%m-%d"
    bar_w = max(3.0, min(24.0, slot * 0.6))
    bars, line = [], []
    for index, point in enumerate(points):
        height = plot_h * point.seconds / max_seconds
        cx = LEFT + slot * index + slot / 2
        cy = TOP + plot_h - plot_h * point.changed / max_changed
        tone = {"succeeded": "success", "failed": "danger"}.get(point.status, "warning")
        mark = "failed" if point.status == "failed" else "held" if point.held else ""
        top = TOP + plot_h - max(height, 1.0)
        status = _STATUS_WORDS.get(point.status, point.status)
        if point.held and point.status != "held":
            status += " after being held"
        summary = f"{duration(point.seconds)} worked, {point.changed:,} rows changed, {status}"
        bars.append(
            Bar(
                x=round(cx - bar_w / 2, 1),
                y=round(top, 1),
                width=round(bar_w, 1),
                height=round(max(height, 1.0), 1),
                cx=round(cx, 1),
                cy=round(cy, 1),
                tone=tone,
                title=(
                    f"Run #{point.run_id} ({KIND_SHORT.get(point.kind, point.kind).lower()}), "
                    f"{point.started_at:%Y-%m-%d %H:%M} UTC: {summary}"
                ),
                run_id=point.run_id,
                label=f"#{point.run_id}",
                when=point.started_at.strftime(label_format),
                mark=mark,
                mark_y=round(max(top - 5, TOP - 6), 1),
                summary=summary,
            )
        )
        line.append(f"{cx:.1f},{cy:.1f}")
    ticks = [
        Tick(
            y=round(TOP + plot_h - plot_h * fraction, 1),
            left=duration(max_seconds * fraction),
            right=_count(max_changed * fraction),
        )
        for fraction in (0.0, 0.5, 1.0)
    ]
    return Chart(
        width=width,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=LEFT + plot_w,
        plot_top=TOP,
        plot_bottom=TOP + plot_h,
        bars=bars,
        line=" ".join(line),
        ticks=ticks,
        label_y=TOP + plot_h + 15,
        when_y=TOP + plot_h + 29,
    )
