"""The report's task figures: calibration chart per grade, AUC interval, fairness and segment tables,
regression metrics - from records ``mops drift --record`` wrote, parsed as HTML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from mops.report.monitoring import calibration_chart, monitoring_detail
from tests.conftest import Mops, git
from tests.drift.helpers import write
from tests.report.helpers import parse

CARD = """---
id: {id}
name: {id}
owner: alice@acme.test
tier: 2
monitoring:
  reference: data/{id}.parquet
  features: [x]
  prediction: score
  label: outcome
{extra}
---
# {id}
"""


def binary(rng: np.random.Generator, n: int) -> pa.Table:
    x = rng.normal(0, 1, n)
    score = 1 / (1 + np.exp(-x))
    return pa.table({"x": x, "score": score, "outcome": (rng.random(n) < score).astype(int),
                     "region": rng.choice(["north", "south", "islands"], n, p=[0.5, 0.47, 0.03]),
                     "sex": rng.choice(["<f>", "m"], n)})


def regression(rng: np.random.Generator, n: int) -> pa.Table:
    x = rng.normal(0, 1, n)
    return pa.table({"x": x, "score": 3 * x + 10, "outcome": 3 * x + 10 + rng.normal(0, 1, n)})


def test_audit_shows_the_task_figures_of_the_latest_check(inventory: Path, mops: Mops, tmp_path: Path):
    rng = np.random.default_rng(8)
    (inventory / "data").mkdir()
    models = {"pd": (binary, "  segments: [region]\n  protected: [sex]\n  min_segment_rows: 200"),
              "severity": (regression, "")}
    for name, (make, extra) in models.items():
        write(make(rng, 3000), inventory / "data" / f"{name}.parquet")
        (inventory / f"{name}.md").write_text(CARD.format(id=name, extra=extra))
    git(inventory, "add", ".")
    git(inventory, "commit", "-qm", "data")
    for name, (make, _) in models.items():
        mops("register", name, "--version", "1.0.0", "--card", f"{name}.md", "--sha256", "d" * 64)
        log = write(make(rng, 3000), tmp_path / f"{name}-log.parquet")
        run = mops("drift", name, "--current", log, "--record", code=None)
        assert run.exit_code in (0, 1), run.stdout + run.stderr
    out = tmp_path / "audit.html"
    result = mops("audit", "--out", str(out), code=None)
    assert out.exists(), result.stdout + result.stderr
    root = parse(out.read_text())
    pd_section = root.by_id(next(n.attrs["id"] for n in root.find_all("h5")
                                 if (n.attrs.get("id") or "").endswith("-outcomes") and "binary" in n.text()))
    assert "binary" in pd_section.text()
    captions = [c.text() for c in root.find_all("caption")]
    assert any(c.startswith("Calibration per grade, current window: Hosmer–Lemeshow") for c in captions)
    assert any(c.startswith("Fairness by sex") and "four-fifths" in c for c in captions)
    assert any(c.startswith("Regression metrics against the reference") for c in captions)
    segments = next(t for t in root.find_all("table") if t.find("caption").text().startswith("Segments"))
    rows = {tr.find("th").text(): [td.text() for td in tr.find_all("td")]
            for tr in segments.find("tbody").find_all("tr")}
    assert set(rows) == {"region=north", "region=south", "region=islands"}
    assert rows["region=islands"][2] == "too small"
    fairness = next(t for t in root.find_all("table") if t.find("caption").text().startswith("Fairness by sex"))
    assert {tr.find("th").text() for tr in fairness.find("tbody").find_all("tr")} == {"<f>", "m"}
    svg = next(s for s in root.find_all("svg") if "Calibration per grade" in s.find("title").text())
    assert len(svg.find_all("circle")) == 10  # one observed rate per decile grade
    assert any("AUC" in p.text() and "DeLong 95% interval" in p.text() for p in root.find_all("p"))


def test_odd_values_leave_gaps_and_text_is_escaped():
    assert calibration_chart([{"observed_rate": None}], "c") is None
    chart = calibration_chart([{"grade": "<b>", "observed_rate": 0.2, "mean_predicted": 0.1}], "c")
    assert chart is not None and "<b>" not in str(chart) and "&lt;b&gt;" in str(chart)
    assert monitoring_detail([]) is None
