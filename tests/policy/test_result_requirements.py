"""The calibration, auc_change and fairness requirements, on drift results computed from real logs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from mops.drift.comparison import compare
from mops.drift.engines import local
from mops.drift.plan import DriftPlan
from mops.policy.requirements import REQUIREMENTS, SpecError
from tests.drift.helpers import write
from tests.policy.lab import Lab
from tests.policy.test_engine import one_rule


@pytest.fixture
def lab(inventory: Path) -> Lab:
    return Lab(inventory)


def log(rng: np.random.Generator, n: int, *, miscalibrated: float = 0.0, weak: bool = False,
        biased: bool = False) -> pa.Table:
    x = rng.normal(0, 1, n)
    group = rng.choice(["a", "b"], n)
    score = 1 / (1 + np.exp(-x))
    truth = x if not weak else x * 0.1 + rng.normal(0, 1, n)
    defaulted = (rng.random(n) < np.clip(1 / (1 + np.exp(-truth)) + miscalibrated, 0, 1)).astype(int)
    if biased:
        score = np.where(group == "b", score * 0.5, score)
    return pa.table({"x": x, "score": score, "defaulted": defaulted, "group": group})


def record(lab: Lab, tmp_path: Path, current: pa.Table, at: str = "2026-05-30T00:00:00Z") -> str:
    rng = np.random.default_rng(2)
    ref = write(log(rng, 4000), tmp_path / "ref.parquet")
    cur = write(current, tmp_path / f"cur-{at[:10]}.parquet")
    plan = DriftPlan(features=["x"], prediction="score", label="defaulted", protected=["group"])
    r, c = local.profile_windows([ref], [cur], plan)
    with r, c:
        body = compare(r, c, plan).to_json()
    mid = lab._id("M")
    folder = lab.vdir("m@1") / "monitoring"
    folder.mkdir(exist_ok=True)
    verdict = {"dataset_drift": False, "breaches": []}
    (folder / f"{mid}.json").write_text(json.dumps({"at": at, "kind": "drift", "verdict": verdict,
                                                    "result": body}))
    return mid


def test_calibration_requirement(lab: Lab, tmp_path: Path):
    lab.pack(one_rule("{calibration: {min_pvalue: 0.01, min_grade_pvalue: 0.001, within_days: 30}}"))
    lab.version("m@1")
    assert "no drift result recorded" in lab.result("T-1").message
    rng = np.random.default_rng(3)
    good = record(lab, tmp_path, log(rng, 4000), at="2026-05-20T00:00:00Z")
    r = lab.result("T-1")
    assert r.status == "pass" and good in r.message
    bad = record(lab, tmp_path, log(rng, 4000, miscalibrated=0.15))
    r = lab.result("T-1")
    assert r.status == "fail" and "Hosmer-Lemeshow" in r.message and "Jeffreys" in r.message
    assert r.file == f"models/m/versions/1/monitoring/{bad}.json"


@pytest.mark.parametrize("spec,seed,worse,says", [
    ("{auc_change: {alpha: 0.05, max_drop: 0.2}}", 4, {"weak": True},
     ("significant by DeLong's test", "at most 0.2")),
    ("{fairness: {min_ratio: 0.8, max_equalized_odds: 0.2}}", 5, {"biased": True},
     ("group: demographic_parity_ratio",)),
], ids=["auc_change", "fairness"])
def test_a_requirement_passes_a_good_log_and_fails_a_worse_one(
        lab: Lab, tmp_path: Path, spec: str, seed: int, worse: dict, says: tuple[str, ...]):
    lab.pack(one_rule(spec))
    lab.version("m@1")
    rng = np.random.default_rng(seed)
    record(lab, tmp_path, log(rng, 4000), at="2026-05-20T00:00:00Z")
    assert lab.result("T-1").status == "pass"
    record(lab, tmp_path, log(rng, 4000, **worse))
    r = lab.result("T-1")
    assert r.status == "fail" and all(s in r.message for s in says)


def test_a_result_without_the_part_fails_and_says_what_the_plan_needs(lab: Lab):
    lab.pack(one_rule("{fairness: {min_ratio: 0.8}}"))
    lab.version("m@1")
    lab.drift("m@1", "2026-05-30T00:00:00Z")
    r = lab.result("T-1")
    assert r.status == "fail" and "protected columns" in r.message


@pytest.mark.parametrize("name,params", [
    ("calibration", {}), ("calibration", {"min_pvalue": 5}), ("auc_change", {"alpha": True}),
    ("fairness", {"min_ratio": 0.8, "ratio": 0.8}), ("fairness", "0.8"),
])
def test_malformed_parameters_are_refused(name: str, params: object):
    with pytest.raises(SpecError, match=name):
        REQUIREMENTS[name].parse(params)


def test_a_figure_that_cannot_be_judged_fails(lab: Lab, tmp_path: Path):
    lab.pack(one_rule("{fairness: {max_difference: 0.5}}"))
    lab.version("m@1")
    rng = np.random.default_rng(6)
    one_group = log(rng, 3000)
    one_group = one_group.set_column(3, "group", pa.array(["a"] * 3000))
    record(lab, tmp_path, one_group)
    r = lab.result("T-1")
    assert r.status == "fail" and "1 group with labelled rows" in r.message
    lab.pack(one_rule("{auc_change: {alpha: 0.05}}"))
    single = log(rng, 3000).slice(0, 1)  # one row: no DeLong variance
    record(lab, tmp_path, single, at="2026-05-31T00:00:00Z")
    r = lab.result("T-1")
    assert r.status == "fail" and "not computable" in r.message
