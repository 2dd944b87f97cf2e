"""The latest monitoring result's task figures for the report: calibration per grade (a chart),
AUC with its interval, regression and multiclass metrics, fairness and segment tables.

Read defensively from the record (``mops drift --record``): a missing or odd value
leaves a dash, never a failed report. The calibration chart is inline SVG built here
(every text escaped), like :mod:`mops.report.charts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from mops import clock
from mops.inventory.records import Monitoring
from mops.report.charts import fmt, number

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 48, 12, 18, 60


def _text(value: Any) -> str:
    n = number(value)
    if n is not None:
        return fmt(n) if abs(n) < 1e6 else f"{n:.6g}"
    return "—" if value is None else str(value)


def _count(value: Any) -> str:
    n = number(value)
    return f"{int(n):,}" if n is not None and n == int(n) else "—"


def _map(d: Any, key: str) -> Mapping[str, Any]:
    value = d.get(key) if isinstance(d, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _list(d: Any, key: str) -> list[Any]:
    value = d.get(key) if isinstance(d, Mapping) else None
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _changes(part: Mapping[str, Any], keys: Sequence[str]) -> list[dict[str, str]]:
    ref, cur, change = _map(part, "reference"), _map(part, "current"), _map(part, "change")
    return [{"metric": k, "reference": _text(ref.get(k)), "current": _text(cur.get(k)),
             "change": _text(change.get(k))} for k in keys]


def monitoring_detail(records: Sequence[Monitoring], anchor: str = "drift") -> dict[str, Any] | None:
    """The task figures of the latest drift record that has any, for ``_monitoring_detail.html``."""
    dated = [(t, m) for m in records if m.kind == "drift" and (t := clock.parse_timestamp(m.at)) is not None]
    for _, m in sorted(dated, key=lambda r: (r[0], r[1].id), reverse=True):
        body = m.data.get("result") if isinstance(m.data, Mapping) else None
        if isinstance(body, Mapping) and body.get("task"):
            return _detail(m, body, anchor)
    return None


def _detail(m: Monitoring, body: Mapping[str, Any], anchor: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": m.id, "at": m.at, "task": str(body.get("task")), "regression": None,
                           "multiclass": None, "calibration": None, "discrimination": None}
    regression = _map(body, "regression")
    if regression:
        drift = _map(regression, "error_drift")
        out["regression"] = {
            "rows": _changes(regression, ("mae", "rmse", "mape", "r2", "mean_error")),
            "zero_labels": _count(_map(regression, "current").get("zero_labels")),
            "error_drift": None if not drift else
            f"{drift.get('method')} {_text(drift.get('statistic'))} (threshold {_text(drift.get('threshold'))}): "
            f"{'drift' if drift.get('drifted') is True else 'no drift'}"}
    multiclass = _map(body, "multiclass")
    if multiclass:
        out["multiclass"] = {
            "rows": _changes(multiclass, ("accuracy", "macro_f1", "weighted_f1")),
            "classes": [{"label": str(c.get("label")), "support": _count(c.get("support")),
                         "precision": _text(c.get("precision")), "recall": _text(c.get("recall")),
                         "f1": _text(c.get("f1"))} for c in _list(_map(multiclass, "current"), "classes")]}
    calibration = _map(body, "calibration")
    if calibration:
        current = _map(calibration, "current")
        grades = _list(current, "grades")
        grading = str(calibration.get("grading") or "")
        out["calibration"] = {
            "grading": "the reference's score deciles" if grading == "decile" else f"column {grading}",
            "grades": [{"grade": str(g.get("grade")), "n": _count(g.get("n")), "defaults": _count(g.get("defaults")),
                        "observed": _text(g.get("observed_rate")), "predicted": _text(g.get("mean_predicted")),
                        "interval": f"{_text(g.get('jeffreys_low'))} – {_text(g.get('jeffreys_high'))}",
                        "jeffreys": _text(g.get("jeffreys_pvalue")), "binomial": _text(g.get("binomial_pvalue"))}
                       for g in grades],
            "hosmer_lemeshow": _text(current.get("hosmer_lemeshow")),
            "df": _count(current.get("hosmer_lemeshow_df")),
            "pvalue": _text(current.get("hosmer_lemeshow_pvalue")),
            "brier": _text(current.get("brier")),
            "brier_reference": _text(_map(calibration, "reference").get("brier")),
            "chart": calibration_chart(grades, f"{anchor}-calibration"),
        }
    discrimination = _map(body, "discrimination")
    if discrimination:
        out["discrimination"] = {
            side: {k: _text(_map(discrimination, side).get(k)) for k in ("auc", "low", "high", "se")}
            for side in ("reference", "current")}
        out["discrimination"].update(change=_text(discrimination.get("change")),
                                     z=_text(discrimination.get("z")), pvalue=_text(discrimination.get("pvalue")))
    out["fairness"] = [{
        "column": str(f.get("column")),
        "groups": [{"group": str(g.get("group")), "rows": _count(g.get("rows")),
                    "selection": _text(g.get("selection_rate")), "tpr": _text(g.get("true_positive_rate")),
                    "fpr": _text(g.get("false_positive_rate"))} for g in _list(_map(f, "current"), "groups")],
        "dp_difference": _text(_map(f, "current").get("demographic_parity_difference")),
        "dp_ratio": _text(_map(f, "current").get("demographic_parity_ratio")),
        "eo_difference": _text(_map(f, "current").get("equalized_odds_difference")),
    } for f in _list(body, "fairness")]
    out["segments"] = [{
        "segment": f"{s.get('column')}={s.get('value')}", "status": str(s.get("status", "")).replace("_", " "),
        "rows_reference": _count(_map(s, "rows").get("reference")),
        "rows_current": _count(_map(s, "rows").get("current")),
        "drifted": _text(_map(s, "drift").get("drifted_share")) if _map(s, "drift") else "—",
        "breaches": "; ".join(str(b.get("message")) for b in _list(_map(s, "drift"), "breaches")) or "—",
    } for s in _list(body, "segments")]
    return out


def calibration_chart(grades: Sequence[Mapping[str, Any]], chart_id: str) -> Markup | None:
    """Observed rate per grade with its Jeffreys 95% interval (a bar), and the mean predicted rate
    (a diamond): a grade whose diamond lies below its bar is under-predicted."""
    points = [(str(g.get("grade")), number(g.get("observed_rate")), number(g.get("mean_predicted")),
               number(g.get("jeffreys_low")), number(g.get("jeffreys_high"))) for g in grades]
    points = [p for p in points if p[1] is not None and p[2] is not None]
    if not points:
        return None
    top = max(max(v for v in (p[1], p[2], p[4]) if v is not None) for p in points) or 1.0
    top = min(1.0, top * 1.1) if top <= 1 else top * 1.1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(points)

    def y(v: float) -> str:
        return f"{TOP + plot_h * (1 - v / top):.1f}"

    e = escape
    cid = e(chart_id)
    summary = (f"{len(points)} grades; observed default rate with its Jeffreys 95% interval, and the mean "
               f"predicted rate")
    out = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
           f'aria-labelledby="{cid}-t {cid}-d">',
           f'<title id="{cid}-t">Calibration per grade</title><desc id="{cid}-d">{e(summary)}</desc>',
           f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>']
    for k in range(5):
        v = top * k / 4
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(v)}" y2="{y(v)}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{y(v)}" text-anchor="end" '
                   f'dominant-baseline="middle">{e(fmt(v))}</text>')
    for i, (name, observed, predicted, low, high) in enumerate(points):
        x = LEFT + step * (i + 0.5)
        assert observed is not None and predicted is not None
        tip = e(f"grade {name}: observed {fmt(observed)}, predicted {fmt(predicted)}"
                + (f", Jeffreys 95% {fmt(low)} to {fmt(high)}" if low is not None and high is not None else ""))
        if low is not None and high is not None:
            out.append(f'<line class="series" x1="{x:.1f}" x2="{x:.1f}" y1="{y(low)}" y2="{y(high)}"/>')
        out.append(f'<circle class="marker" cx="{x:.1f}" cy="{y(observed)}" r="3"><title>{tip}</title></circle>')
        py = float(y(predicted))
        out.append(f'<path class="marker flagged" d="M{x:.1f},{py - 5:.1f} l5,5 l-5,5 l-5,-5 z">'
                   f'<title>{tip}</title></path>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{TOP + plot_h + 14}" text-anchor="end" '
                   f'transform="rotate(-30 {x:.1f} {TOP + plot_h + 14})">{e(name)}</text>')
    out.append("</svg>")
    return Markup("\n".join(out))
