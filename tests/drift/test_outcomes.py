"""Regression, multiclass, calibration, discrimination, segments and fairness against independent oracles.

Real data that ships with scikit-learn and statsmodels (no download): the diabetes
progression (regression), the wines (three classes), and the affairs survey of
statsmodels (binary, with the respondents' religiousness as a real grouping). Every
figure is checked against scikit-learn, scipy or fairlearn on the raw rows, within
1e-9; DeLong against the paper's formulas written out here, and a bootstrap.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps
from sklearn import metrics

from mops.drift.comparison import compare
from mops.drift.engines import local
from mops.drift.plan import DriftPlan, infer_task
from mops.errors import UsageError
from tests.conftest import Mops, git
from tests.drift.helpers import write

TOL = 1e-9


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


def run(tmp_path: Path, reference: pa.Table, current: pa.Table, plan: DriftPlan, *, splits: int = 1) -> dict:
    ref = write(reference, tmp_path / "ref.parquet")
    cur = []
    bounds = np.linspace(0, current.num_rows, splits + 1).astype(int)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        cur.append(write(current.slice(a, b - a), tmp_path / f"cur{splits}-{i}.parquet"))
    r, c = local.profile_windows([ref], cur, plan)
    with r, c:
        return compare(r, c, plan).to_json()


# -- regression: diabetes ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def diabetes() -> tuple[pa.Table, pa.Table]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression

    x, y = load_diabetes(return_X_y=True)
    model = LinearRegression().fit(x[:200], y[:200])
    prediction = model.predict(x)
    y = y.copy()
    y[[210, 300, 301]] = 0.0  # zero labels: left out of MAPE and counted
    table = pa.table({"bmi": x[:, 2], "bp": x[:, 3], "progression_hat": prediction, "progression": y,
                      "sex": np.where(x[:, 1] > 0, "m", "f")})
    return table.slice(0, 200), table.slice(200)


def test_regression_metrics_equal_scikit_learn(tmp_path: Path, diabetes):
    reference, current = diabetes
    plan = DriftPlan(features=["bmi", "bp"], prediction="progression_hat", label="progression")
    doc = run(tmp_path, reference, current, plan)
    assert doc["task"] == "regression" and plan.task == "regression"
    for side, table in (("reference", reference), ("current", current)):
        y, p = table["progression"].to_numpy(), table["progression_hat"].to_numpy()
        got = doc["regression"][side]
        nonzero = y != 0
        assert close(got["mae"], metrics.mean_absolute_error(y, p))
        assert close(got["rmse"], metrics.root_mean_squared_error(y, p))
        assert close(got["r2"], metrics.r2_score(y, p))
        assert close(got["mape"], metrics.mean_absolute_percentage_error(y[nonzero], p[nonzero]))
        assert close(got["mean_error"], float(np.mean(p - y)))
        assert got["zero_labels"] == int((~nonzero).sum()) and got["rows"] == len(y)
    assert doc["regression"]["current"]["zero_labels"] == 3
    errors = [(t["progression_hat"].to_numpy() - t["progression"].to_numpy()) for t in diabetes]
    drift = doc["regression"]["error_drift"]
    assert drift["method"] == "ks"  # 200 reference errors: Evidently's rule picks KS
    assert close(drift["statistic"], sps.ks_2samp(errors[0], errors[1]).pvalue)
    change = doc["regression"]["change"]
    assert close(change["mae"], doc["regression"]["current"]["mae"] - doc["regression"]["reference"]["mae"])


def test_regression_threshold_breaches(tmp_path: Path, diabetes):
    reference, current = diabetes
    worse = current.set_column(2, "progression_hat", pa.array(current["progression_hat"].to_numpy() + 30.0))
    plan = DriftPlan(features=["bmi"], prediction="progression_hat", label="progression",
                     thresholds={"mae_increase": 5.0, "bias": 20.0, "r2_drop": 0.05})
    doc = run(tmp_path, reference, worse, plan)
    assert doc["status"] == "drift"
    assert {b["threshold"] for b in doc["breaches"]} == {"mae_increase", "bias", "r2_drop"}
    calm = run(tmp_path, reference, current, DriftPlan(features=["bmi"], prediction="progression_hat",
                                                       label="progression", thresholds={"bias": 50.0}))
    assert not calm["breaches"]


# -- multiclass: wines ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wines() -> tuple[pa.Table, pa.Table]:
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_wine(return_X_y=True)
    rng = np.random.default_rng(5)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x[:40, :3], y[:40])
    names = np.array(["barolo", "grignolino", "barbera"])
    table = pa.table({"alcohol": x[:, 0], "malic_acid": x[:, 1], "cultivar_hat": names[model.predict(x[:, :3])],
                      "cultivar": names[y]})
    return table.slice(0, 90), table.slice(90)


def test_multiclass_metrics_equal_scikit_learn(tmp_path: Path, wines):
    reference, current = wines
    plan = DriftPlan(features=["alcohol", "malic_acid"], prediction="cultivar_hat", label="cultivar",
                     thresholds={"macro_f1_drop": 0.5})
    doc = run(tmp_path, reference, current, plan)
    assert doc["task"] == "multiclass"
    labels = doc["multiclass"]["current"]["labels"]
    assert labels == sorted(set(reference["cultivar"].to_pylist()) | set(current["cultivar"].to_pylist())
                            | set(reference["cultivar_hat"].to_pylist()) | set(current["cultivar_hat"].to_pylist()))
    for side, table in (("reference", reference), ("current", current)):
        y, p = table["cultivar"].to_pylist(), table["cultivar_hat"].to_pylist()
        got = doc["multiclass"][side]
        assert close(got["accuracy"], metrics.accuracy_score(y, p))
        assert close(got["macro_f1"], metrics.f1_score(y, p, average="macro", zero_division=0))
        assert close(got["weighted_f1"], metrics.f1_score(y, p, average="weighted", zero_division=0))
        assert got["confusion"] == metrics.confusion_matrix(y, p, labels=labels).tolist()
        precision = metrics.precision_score(y, p, labels=labels, average=None, zero_division=0)
        recall = metrics.recall_score(y, p, labels=labels, average=None, zero_division=0)
        for k, c in enumerate(got["classes"]):
            assert c["label"] == labels[k]
            assert close(c["precision"], precision[k]) and close(c["recall"], recall[k])
    # The prediction is a class column: its drift is a categorical column's.
    prediction = next(c for c in doc["columns"] if c["column"] == "cultivar_hat")
    assert prediction["kind"] == "categorical" and prediction["status"] in ("ok", "drift")


# -- binary: the affairs survey -------------------------------------------------------------------


@pytest.fixture(scope="module")
def affairs() -> tuple[pa.Table, pa.Table]:
    import statsmodels.api as sm
    from sklearn.linear_model import LogisticRegression

    data = sm.datasets.fair.load_pandas().data
    data = data.iloc[np.random.default_rng(11).permutation(len(data))]  # it is sorted by the outcome
    features = ["rate_marriage", "age", "yrs_married", "children", "educ"]
    x = data[features].to_numpy()
    y = (data["affairs"] > 0).to_numpy().astype(np.int64)
    model = LogisticRegression(max_iter=1000).fit(x[:2000], y[:2000])
    score = model.predict_proba(x)[:, 1]
    religious = np.array(["none", "slightly", "fairly", "strongly"])[data["religious"].to_numpy().astype(int) - 1]
    occupation = data["occupation"].to_numpy().astype(np.int64)
    table = pa.table({"rate_marriage": x[:, 0], "age": x[:, 1], "yrs_married": x[:, 2], "score": score,
                      "affair": y, "religious": religious, "occupation": occupation})
    return table.slice(0, 3000), table.slice(3000)


def delong_by_the_paper(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """AUC and its variance from DeLong, DeLong & Clarke-Pearson (1988), written out directly."""
    x, y = scores[labels == 1], scores[labels == 0]
    psi = (x[:, None] > y[None, :]).astype(float) + 0.5 * (x[:, None] == y[None, :])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    s10 = np.sum((v10 - auc) ** 2) / (len(x) - 1)
    s01 = np.sum((v01 - auc) ** 2) / (len(y) - 1)
    return float(auc), float(s10 / len(x) + s01 / len(y))


def test_calibration_and_discrimination_equal_the_oracles(tmp_path: Path, affairs):
    reference, current = affairs
    plan = DriftPlan(features=["rate_marriage", "age"], prediction="score", label="affair")
    doc = run(tmp_path, reference, current, plan)
    assert doc["task"] == "binary"
    cuts = np.unique(np.quantile(reference["score"].to_numpy(), np.arange(1, 10) / 10))
    variances = {}
    for side, table in (("reference", reference), ("current", current)):
        s, y = table["score"].to_numpy(), table["affair"].to_numpy()
        got = doc["calibration"][side]
        assert close(got["brier"], metrics.brier_score_loss(y, s))
        grade = np.searchsorted(cuts, s, side="left")  # (c[i-1], c[i]]: the cuts strictly below
        statistic = 0.0
        assert len(got["grades"]) == len(cuts) + 1
        for i, g in enumerate(got["grades"]):
            inside = grade == i
            n, d, pd = int(inside.sum()), int(y[inside].sum()), float(s[inside].mean())
            assert (g["n"], g["defaults"]) == (n, d)
            assert close(g["mean_predicted"], pd) and close(g["observed_rate"], d / n)
            a, b = d + 0.5, n - d + 0.5
            assert close(g["jeffreys_pvalue"], sps.beta.cdf(pd, a, b))
            assert close(g["jeffreys_low"], sps.beta.ppf(0.025, a, b))
            assert close(g["jeffreys_high"], sps.beta.ppf(0.975, a, b))
            assert close(g["binomial_pvalue"], sps.binomtest(d, n, pd, alternative="greater").pvalue)
            statistic += (d - n * pd) ** 2 / (n * pd * (1 - pd))
        assert close(got["hosmer_lemeshow"], statistic)
        assert close(got["hosmer_lemeshow_pvalue"], sps.chi2.sf(statistic, len(cuts) + 1 - 2))
        auc, variance = delong_by_the_paper(s, y)
        variances[side] = variance
        disc = doc["discrimination"][side]
        assert close(disc["auc"], metrics.roc_auc_score(y, s)) and close(disc["auc"], auc)
        assert close(disc["se"], math.sqrt(variance))
        assert close(disc["low"], auc - sps.norm.ppf(0.975) * math.sqrt(variance))
        assert close(disc["high"], auc + sps.norm.ppf(0.975) * math.sqrt(variance))
        assert close(doc["performance"][side]["auc"], disc["auc"])
    z = (doc["discrimination"]["current"]["auc"] - doc["discrimination"]["reference"]["auc"]) / math.sqrt(
        variances["reference"] + variances["current"])
    assert close(doc["discrimination"]["z"], z)
    assert close(doc["discrimination"]["pvalue"], 2 * sps.norm.sf(abs(z)))


def test_delong_standard_error_is_near_the_bootstrap(affairs):
    reference, _ = affairs
    s, y = reference["score"].to_numpy(), reference["affair"].to_numpy()
    from mops.drift import outcomes

    positives, negatives = np.sort(s[y == 1]), np.sort(s[y == 0])
    found = outcomes.delong(positives.size, negatives.size, *outcomes.placement_sums(positives, negatives))
    rng = np.random.default_rng(7)
    aucs = []
    for _ in range(300):
        pick = rng.integers(0, len(s), len(s))
        aucs.append(metrics.roc_auc_score(y[pick], s[pick]))
    # A bootstrap of 300 estimates the standard error within about 10% (its own sampling error ~4%).
    assert 0.85 < found.se / np.std(aucs) < 1.15


def test_grade_column_and_fairness_equal_fairlearn(tmp_path: Path, affairs):
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    reference, current = affairs
    plan = DriftPlan(features=["age"], prediction="score", label="affair", grade="occupation",
                     protected=["religious"], decision_threshold=0.35,
                     thresholds={"demographic_parity_ratio": 0.99, "equalized_odds_difference": 0.9})
    doc = run(tmp_path, reference, current, plan)
    assert doc["calibration"]["grading"] == "occupation"
    y, s = current["affair"].to_numpy(), current["score"].to_numpy()
    occupation = current["occupation"].to_numpy()
    got = {g["grade"]: g for g in doc["calibration"]["current"]["grades"]}
    for value in np.unique(occupation):
        inside = occupation == value
        g = got[str(value)]
        assert g["n"] == int(inside.sum()) and g["defaults"] == int(y[inside].sum())
        assert close(g["mean_predicted"], float(s[inside].mean()))
    predicted = (s >= 0.35).astype(int)
    group = current["religious"].to_numpy(zero_copy_only=False)
    frame = MetricFrame(metrics={"selection_rate": selection_rate, "tpr": true_positive_rate,
                                 "fpr": false_positive_rate}, y_true=y, y_pred=predicted, sensitive_features=group)
    fair = doc["fairness"][0]
    assert fair["column"] == "religious"
    for g in fair["current"]["groups"]:
        row = frame.by_group.loc[g["group"]]
        assert close(g["selection_rate"], row["selection_rate"])
        assert close(g["true_positive_rate"], row["tpr"]) and close(g["false_positive_rate"], row["fpr"])
    assert close(fair["current"]["demographic_parity_difference"],
                 demographic_parity_difference(y, predicted, sensitive_features=group))
    assert close(fair["current"]["demographic_parity_ratio"],
                 demographic_parity_ratio(y, predicted, sensitive_features=group))
    assert close(fair["current"]["equalized_odds_difference"],
                 equalized_odds_difference(y, predicted, sensitive_features=group))
    breached = {b["threshold"] for b in doc["breaches"]}
    assert "demographic_parity_ratio" in breached and "equalized_odds_difference" not in breached
    assert doc["status"] == "drift"


def test_segments_are_whole_comparisons_of_their_rows(tmp_path: Path, affairs):
    reference, current = affairs
    plan = DriftPlan(features=["age"], prediction="score", label="affair", segments=["religious"],
                     min_segment_rows=400, thresholds={"auc_drop": 0.5})
    doc = run(tmp_path, reference, current, plan)
    segments = {s["value"]: s for s in doc["segments"]}
    assert set(segments) == {"none", "slightly", "fairly", "strongly"}
    for value, seg in segments.items():
        ref_rows = int(np.sum(reference["religious"].to_numpy(zero_copy_only=False) == value))
        cur_mask = current["religious"].to_numpy(zero_copy_only=False) == value
        assert seg["rows"] == {"reference": ref_rows, "current": int(cur_mask.sum())}
        if min(ref_rows, int(cur_mask.sum())) < 400:
            assert seg["status"] == "too_small" and seg["drift"] is None
            continue
        y, s = current["affair"].to_numpy()[cur_mask], current["score"].to_numpy()[cur_mask]
        assert close(seg["drift"]["performance"]["current"]["auc"], metrics.roc_auc_score(y, s))
        assert close(seg["drift"]["calibration"]["current"]["brier"], metrics.brier_score_loss(y, s))
    assert any(s["status"] == "too_small" for s in segments.values())
    assert any(w["warning"] == "small_segment" for w in doc["warnings"])


def test_a_window_split_any_way_gives_the_same_document(tmp_path: Path, affairs, diabetes, wines):
    cases = [
        (affairs, DriftPlan(features=["age"], prediction="score", label="affair", segments=["religious"],
                            protected=["religious"], min_segment_rows=50)),
        (affairs, DriftPlan(features=["age"], prediction="score", label="affair", grade="occupation")),
        (diabetes, DriftPlan(features=["bmi"], prediction="progression_hat", label="progression",
                             segments=["sex"], min_segment_rows=10)),
        (wines, DriftPlan(features=["alcohol"], prediction="cultivar_hat", label="cultivar")),
    ]
    for (reference, current), plan in cases:
        one = run(tmp_path, reference, current, plan, splits=1)
        for splits in (2, 5):
            assert json.dumps(run(tmp_path, reference, current, plan, splits=splits), sort_keys=True) == \
                json.dumps(one, sort_keys=True)


# -- the task ---------------------------------------------------------------------------------------


def test_the_task_is_inferred_or_asked_for():
    assert infer_task("string", "string", label_values=9, label_binary=False, label_whole=False,
                      prediction_whole=False) == "multiclass"
    assert infer_task("boolean", "float", label_values=9, label_binary=False, label_whole=False,
                      prediction_whole=False) == "binary"
    assert infer_task("integer", "float", label_values=9, label_binary=True, label_whole=True,
                      prediction_whole=False) == "binary"
    assert infer_task("float", "float", label_values=9, label_binary=False, label_whole=False,
                      prediction_whole=False) == "regression"
    assert infer_task("integer", "float", label_values=9, label_binary=False, label_whole=True,
                      prediction_whole=False) == "regression"
    with pytest.raises(UsageError, match="monitoring.task"):
        infer_task("integer", "integer", label_values=9, label_binary=False, label_whole=True,
                   prediction_whole=True)
    with pytest.raises(UsageError, match="monitoring.task"):
        infer_task("null", "float", label_values=0, label_binary=True, label_whole=True, prediction_whole=True)


def test_plan_keys_are_checked():
    with pytest.raises(UsageError, match="monitoring.task"):
        DriftPlan.from_monitoring({"features": ["a"], "prediction": "p", "label": "y", "task": "ranking"})
    with pytest.raises(UsageError, match="does not apply to a regression"):
        DriftPlan.from_monitoring({"features": ["a"], "prediction": "p", "label": "y", "task": "regression",
                                   "thresholds": {"auc_drop": 0.1}})
    with pytest.raises(UsageError, match="protected"):
        DriftPlan.from_monitoring({"features": ["a"], "prediction": "p", "label": "y",
                                   "thresholds": {"demographic_parity_ratio": 0.8}})
    with pytest.raises(UsageError, match="binary"):
        DriftPlan.from_monitoring({"features": ["a"], "prediction": "p", "label": "y", "task": "multiclass",
                                   "protected": ["sex"]})
    plan = DriftPlan.from_monitoring({"features": ["a"], "prediction": "p", "label": "y", "segments": ["r"],
                                      "protected": ["sex"], "grade": "g", "min_segment_rows": 50})
    assert plan.read_columns() == ["a", "p", "y", "r", "sex", "g"]


def test_integer_counts_need_a_task(tmp_path: Path):
    rng = np.random.default_rng(3)
    table = pa.table({"x": rng.normal(size=300), "claims_hat": rng.integers(0, 5, 300),
                      "claims": rng.integers(0, 5, 300)})
    plan = DriftPlan(features=["x"], prediction="claims_hat", label="claims")
    with pytest.raises(UsageError, match="set monitoring.task"):
        run(tmp_path, table, table, plan)
    plan = DriftPlan(features=["x"], prediction="claims_hat", label="claims", task="regression")
    assert run(tmp_path, table, table, plan)["regression"]["current"]["rows"] == 300


# -- the command ------------------------------------------------------------------------------------


CARD = """---
id: claims-severity
name: Claims severity
owner: alice@acme.test
tier: 2
monitoring:
  reference: data/reference.parquet
  features: [bmi, bp]
  prediction: progression_hat
  label: progression
  segments: [sex]
  min_segment_rows: 20
  thresholds: {mae_increase: 10.0}
---
# Claims severity
"""


def test_command_exits_1_on_a_regression_breach_and_records_it(inventory: Path, mops: Mops, diabetes):
    reference, current = diabetes
    (inventory / "data").mkdir()
    write(reference, inventory / "data" / "reference.parquet")
    (inventory / "card.md").write_text(CARD)
    git(inventory, "add", "data", "card.md")
    git(inventory, "commit", "-qm", "data")
    mops("register", "claims-severity", "--version", "1.0.0", "--card", "card.md", "--sha256", "c" * 64)
    ok = write(current, inventory / "ok.parquet")
    doc = mops.json("drift", "claims-severity", "--current", ok, "--json")
    assert doc["task"] == "regression" and doc["status"] == "ok"
    worse = current.set_column(2, "progression_hat", pa.array(current["progression_hat"].to_numpy() + 30.0))
    bad = write(worse, inventory / "bad.parquet")
    result = mops("drift", "claims-severity", "--current", bad, "--record", code=1)
    assert "mae_increase" in result.stdout and "regression" in result.stdout.lower()
    record = next((inventory / "models" / "claims-severity").rglob("monitoring/*"))
    text = record.read_text()
    assert "mae_increase" in text and "error_drift" in text


def test_integer_classes_with_task_multiclass(tmp_path: Path):
    rng = np.random.default_rng(12)
    truth = rng.integers(0, 4, 2000)
    guess = np.where(rng.random(2000) < 0.6, truth, rng.integers(0, 4, 2000))
    table = pa.table({"x": rng.normal(size=2000), "band_hat": guess, "band": truth})
    plan = DriftPlan(features=["x"], prediction="band_hat", label="band", task="multiclass")
    doc = run(tmp_path, table.slice(0, 1000), table.slice(1000), plan)
    assert doc["multiclass"]["current"]["labels"] == ["0", "1", "2", "3"]
    y, p = truth[1000:], guess[1000:]
    assert close(doc["multiclass"]["current"]["macro_f1"], metrics.f1_score(y, p, average="macro"))
    assert doc["multiclass"]["current"]["confusion"] == metrics.confusion_matrix(y, p).tolist()


def test_a_segment_column_of_identifiers_is_refused_naming_the_file(tmp_path: Path):
    rng = np.random.default_rng(13)
    table = pa.table({"x": rng.normal(size=500), "score": rng.random(500), "y": rng.integers(0, 2, 500),
                      "customer": [f"C{i}" for i in range(500)]})
    plan = DriftPlan(features=["x"], prediction="score", label="y", segments=["customer"])
    with pytest.raises(UsageError, match=r"(ref|cur1-0)\.parquet: column 'customer' has more than 200 distinct values"):
        run(tmp_path, table, table, plan)


def test_profiles_from_worker_processes_merge_to_the_same_document(tmp_path: Path, affairs):
    reference, current = affairs
    plan = DriftPlan(features=["age"], prediction="score", label="affair", segments=["religious"],
                     protected=["religious"], min_segment_rows=50)
    one = run(tmp_path, reference, current, plan, splits=1)
    ref = write(reference, tmp_path / "ref.parquet")
    cur = [write(current.slice(a, 700), tmp_path / f"part{a}.parquet") for a in range(0, current.num_rows, 700)]
    r, c = local.profile_windows([ref], cur, plan, jobs=2)
    with r, c:
        assert json.dumps(compare(r, c, plan).to_json(), sort_keys=True) == json.dumps(one, sort_keys=True)
