"""Geometry for the report's inline SVG line charts (pure: numbers in, numbers out).

The template draws; this module only places points. Time runs along x in
proportion to the real interval between checks; y starts at zero. Every number
is rounded and formatted here, so the same data always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from mops import clock


@dataclass(frozen=True)
class Point:
    at: dt.datetime
    value: float
    #: Drawn with a different marker shape (and named in its tooltip), not colour alone.
    flagged: bool = False
    note: str = ""


def number(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, text, NaN, bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def fmt(value: float) -> str:
    """Compact, stable number text for labels: 0.25, 1200, 3.1e-05."""
    if value == 0:
        return "0"
    return f"{value:.3g}"


#: The least distance between two date labels on the time axis (a label is ~60 px wide).
LABEL_GAP = 72


def _c(value: float) -> str:
    return f"{value:.1f}"


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    exp = math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        step = mult * 10 ** exp
        if step >= raw:
            return step
    return 10 ** (exp + 1)


def line_chart(points: Sequence[Point], threshold: Sequence[Point] = (), *, title: str,
               y_label: str, chart_id: str = "chart", width: int = 560,
               height: int = 180) -> dict[str, Any]:
    """Place a series (and an optional threshold series, drawn dashed) in a chart box.

    Returns plain data: the plot box, polyline point strings, markers, axis ticks,
    a one-sentence text summary for the caption, and ``svg``, the drawn chart.
    """
    points = sorted(points, key=lambda p: p.at)
    threshold = sorted(threshold, key=lambda p: p.at)
    left, right, top, bottom = 52, 12, 20, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    pad = 8  # keeps the first and last markers off the plot's border
    values = [p.value for p in points] + [p.value for p in threshold]
    lo = min(0.0, *values) if values else 0.0
    hi = max(values) if values else 1.0
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = _nice_step(hi - lo, 4)
    hi = math.ceil(hi / step * (1 + 1e-9)) * step if hi > 0 else hi
    if hi - lo < step:
        hi = lo + step
    times = [p.at for p in points] + [p.at for p in threshold]
    t0, t1 = (min(times), max(times)) if times else (None, None)
    span = (t1 - t0).total_seconds() if t0 and t1 else 0.0

    def x_of(at: dt.datetime) -> float:
        if not span or t0 is None:
            return left + plot_w / 2
        return left + pad + (plot_w - 2 * pad) * (at - t0).total_seconds() / span

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (value - lo) / (hi - lo))

    markers = [{"x": _c(x_of(p.at)), "y": _c(y_of(p.value)), "flagged": p.flagged,
                "x0": _c(x_of(p.at) - 4), "y0": _c(y_of(p.value) - 4),
                "label": f"{clock.format_label(p.at, minutes=True)} UTC: {fmt(p.value)}"
                         + (f" ({p.note})" if p.note else "")}
               for p in points]
    yticks = []
    n = 0
    while lo + n * step <= hi + step * 1e-9 and n <= 12:
        value = lo + n * step
        yticks.append({"y": _c(y_of(value)), "label": fmt(round(value, 12))})
        n += 1
    xticks = []
    if t0 is not None and t1 is not None:
        # A label at each check's date, on two staggered rows where neighbours are close;
        # a date is left out only when both rows are taken there (first and last always in).
        days = sorted({clock.format_label(p.at): p.at for p in points}.items(),
                      key=lambda kv: kv[1]) or [(clock.format_label(t0), t0)]
        last_x: list[float | None] = [None, None]
        placed: list[tuple[str, dt.datetime, int]] = []
        for i, (label, at) in enumerate(days):
            x = x_of(at)
            row = next((r for r in (0, 1) if last_x[r] is None
                        or x - (last_x[r] or 0.0) >= LABEL_GAP), None)
            if row is None and i == len(days) - 1:  # the last date replaces its neighbour
                row = placed[-1][2]
                placed.pop()
            if row is None:
                continue
            last_x[row] = x
            placed.append((label, at, row))
        for label, at, row in placed:
            first, end = at == days[0][1], at == days[-1][1]
            anchor = "middle" if not span or len(placed) == 1 or not (first or end) \
                else ("start" if first else "end")
            xticks.append({"x": _c(x_of(at)), "label": label, "anchor": anchor,
                           "dy": 16 + 12 * row})
    flagged = sum(p.flagged for p in points)
    if points:
        summary = (f"{len(points)} value(s) from {clock.format_label(points[0].at)} to "
                   f"{clock.format_label(points[-1].at)}; latest {fmt(points[-1].value)}; "
                   f"{flagged} flagged")
        if threshold:
            summary += f"; threshold {fmt(threshold[-1].value)}"
    else:
        summary = "no values"
    chart = {
        "id": chart_id, "title": title, "y_label": y_label, "summary": summary,
        "width": width, "height": height,
        "left": left, "top": top, "plot_right": left + plot_w, "plot_bottom": top + plot_h,
        "line": " ".join(f"{_c(x_of(p.at))},{_c(y_of(p.value))}" for p in points),
        "threshold": _threshold_line(threshold, x_of, y_of, left, left + plot_w),
        "threshold_label": fmt(threshold[-1].value) if threshold else "",
        "markers": markers, "yticks": yticks, "xticks": xticks,
    }
    chart["svg"] = draw(chart)
    return chart


def draw(c: dict[str, Any]) -> Markup:
    """The chart as inline SVG (built here rather than in a template: a large inventory
    has thousands of charts, and this is several times faster; style comes from CSS).

    Every text is escaped; a flagged point is a square, others are circles, so the
    flag does not rest on colour; each point has a tooltip with its time and value.
    """
    e = escape
    cid = e(c["id"])
    out = [f'<svg viewBox="0 0 {c["width"]} {c["height"]}" width="{c["width"]}" '
           f'height="{c["height"]}" role="img" aria-labelledby="{cid}-t {cid}-d">',
           f'<title id="{cid}-t">{e(c["title"])}</title><desc id="{cid}-d">{e(c["summary"])}</desc>',
           f'<rect class="plot" x="{c["left"]}" y="{c["top"]}" width="{c["plot_right"] - c["left"]}" '
           f'height="{c["plot_bottom"] - c["top"]}"/>']
    for t in c["yticks"]:
        out.append(f'<line class="grid" x1="{c["left"]}" x2="{c["plot_right"]}" y1="{t["y"]}" '
                   f'y2="{t["y"]}"/><text class="tick" x="{c["left"] - 6}" y="{t["y"]}" '
                   f'text-anchor="end" dominant-baseline="middle">{e(t["label"])}</text>')
    for t in c["xticks"]:
        out.append(f'<line class="xtick" x1="{t["x"]}" x2="{t["x"]}" y1="{c["plot_bottom"]}" '
                   f'y2="{c["plot_bottom"] + t["dy"] - 9}"/>'
                   f'<text class="tick" x="{t["x"]}" y="{c["plot_bottom"] + t["dy"]}" '
                   f'text-anchor="{t["anchor"]}">{e(t["label"])}</text>')
    if c["threshold"]:
        out.append(f'<polyline class="threshold" points="{c["threshold"]}"/>'
                   f'<text class="tick threshold-label" x="{c["plot_right"]}" y="{c["top"] - 6}" '
                   f'text-anchor="end">- - threshold {e(c["threshold_label"])}</text>')
    if len(c["markers"]) > 1:
        out.append(f'<polyline class="series" points="{c["line"]}"/>')
    for m in c["markers"]:
        if m["flagged"]:
            out.append(f'<rect class="marker flagged" x="{m["x0"]}" y="{m["y0"]}" width="8" '
                       f'height="8"><title>{e(m["label"])}</title></rect>')
        else:
            out.append(f'<circle class="marker" cx="{m["x"]}" cy="{m["y"]}" r="3">'
                       f'<title>{e(m["label"])}</title></circle>')
    out.append("</svg>")
    return Markup("\n".join(out))


def _threshold_line(threshold: Sequence[Point], x_of, y_of, x0: float, x1: float) -> str:
    """A constant threshold spans the whole plot; a changing one steps from check to check."""
    if not threshold:
        return ""
    if len({p.value for p in threshold}) == 1:
        y = _c(y_of(threshold[0].value))
        return f"{_c(x0)},{y} {_c(x1)},{y}"
    out = []
    for i, p in enumerate(threshold):
        if i:
            out.append(f"{_c(x_of(p.at))},{_c(y_of(threshold[i - 1].value))}")
        out.append(f"{_c(x_of(p.at))},{_c(y_of(p.value))}")
    return " ".join(out)
