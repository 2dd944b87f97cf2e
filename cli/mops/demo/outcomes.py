"""The demo's outcome monitoring: a regression, a multiclass and a binary model with segments and
a protected attribute, each with a reference set and a month of labelled production logs.

* ``claims-severity`` 2.1 (the vendor's Gamma GLM): a regression of the claim cost; in the
  latest month repair costs rose, so the errors drift and the plan's MAE limit is breached;
* ``claims-triage`` 1.0: routes new claims to fast track, standard handling or investigation
  (three classes);
* ``card-approval`` 1.0: approves credit-card applications (binary), monitored per sales
  channel (segments), per rating grade (calibration) and for demographic parity by sex (the
  protected attribute), where the latest month shows a gap.

Their cards are in ``cards/``. Synthetic data with fixed seeds (the demo runs without
scikit-learn), written to ``data/<model>/reference.parquet`` (committed) and ``logs/<model>/``
(not kept in git).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mops import git

if TYPE_CHECKING:  # pragma: no cover
    from mops.demo.story import Story

#: How long ago each card's last review was, as the demo tells it (a year's cycle).
REVIEWED_DAYS_AGO = {"claims-severity": 220, "claims-triage": 320, "card-approval": 300}

SEVERITY_PLAN = """monitoring:
  reference: data/claims-severity/reference.parquet
  features: [vehicle_age, vehicle_group, claim_type, region]
  prediction: expected_cost
  label: paid_cost
  task: regression
  segments: [claim_type]
  min_segment_rows: 300
  thresholds: {mae_increase: 150, bias: 400}
"""


def severity_log(rows: int, *, seed: int, inflation: float = 1.0):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    vehicle_age = rng.integers(0, 20, rows).astype("float64")
    vehicle_group = rng.choice(["A", "B", "C", "D"], rows, p=[0.3, 0.35, 0.25, 0.1])
    claim_type = rng.choice(["collision", "glass", "theft"], rows, p=[0.6, 0.3, 0.1])
    region = rng.choice(["north", "south", "east", "west", "capital"], rows)
    mean = (np.where(claim_type == "glass", 600.0, np.where(claim_type == "theft", 9000.0, 3500.0))
            * np.where(vehicle_group == "D", 1.6, 1.0) * np.exp(-0.03 * vehicle_age))
    paid = rng.gamma(2.0, mean * inflation / 2.0)
    return pa.table({"vehicle_age": vehicle_age, "vehicle_group": vehicle_group, "claim_type": claim_type,
                     "region": region, "expected_cost": mean, "paid_cost": paid})


def triage_log(rows: int, *, seed: int, shifted: bool = False):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    amount = rng.lognormal(7.5 + (0.3 if shifted else 0.0), 1.0, rows)
    vehicle_age = rng.integers(0, 20, rows).astype("float64")
    days = rng.gamma(1.5, 4.0, rows).round()
    claim_type = rng.choice(["collision", "glass", "theft"], rows, p=[0.6, 0.3, 0.1])
    risk = np.log(amount) / 3 + days / 20 + (claim_type == "theft") * 1.5 + rng.normal(0, 0.6, rows)
    truth = np.where(risk < 2.7, "fast_track", np.where(risk < 3.9, "standard", "investigate"))
    noisy = risk + rng.normal(0, 0.45 if shifted else 0.3, rows)
    route = np.where(noisy < 2.7, "fast_track", np.where(noisy < 3.9, "standard", "investigate"))
    return pa.table({"claim_amount": amount, "vehicle_age": vehicle_age, "days_to_report": days,
                     "claim_type": claim_type, "route": route, "handled_as": truth})


def approval_log(rows: int, *, seed: int, gap: float = 0.0):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], rows)
    channel = rng.choice(["branch", "online", "partner"], rows, p=[0.3, 0.6, 0.1])
    income = rng.lognormal(10.3 - np.where(sex == "female", gap, 0.0), 0.5, rows)
    utilisation = rng.beta(2.0, 5.0, rows)
    age = rng.integers(18, 80, rows).astype("float64")
    logit = -2.6 - 0.8 * (np.log(income) - 10.3) + 3.0 * (utilisation - 0.3) - 0.01 * (age - 45)
    pd = 1 / (1 + np.exp(-logit))
    defaulted = (rng.random(rows) < pd).astype("int8")
    rating = np.searchsorted([0.02, 0.04, 0.07, 0.11, 0.16, 0.25], pd) + 1
    return pa.table({"income": income, "utilisation": utilisation, "age": age, "channel": channel,
                     "sex": sex, "rating": rating.astype("int64"), "pd": pd, "defaulted": defaulted})


#: The bank's own monitoring standard, which the risk officer adopts when the inventory opens: it
#: reads the latest drift record's calibration, AUC change and fairness figures (and, for every
#: model with a task in its plan, a recent result without breach).
MONITORING_PACK_PATH = "policies/acme-model-monitoring.yaml"
MONITORING_PACK = """pack: acme-model-monitoring
version: 1
title: Acme model monitoring standard
sources: ["Acme Model Monitoring Standard, 2026 edition (in-house)"]
settings:
  max_age_days: {default: 35, note: "Acme practice: a monthly result, with a few days' grace"}
  min_pvalue: {default: 0.01, note: "Acme practice: tests at the 1% level; no text sets a figure"}
  max_auc_drop: {default: 0.05, note: "Acme practice; no text sets a figure"}
  min_parity_ratio:
    default: 0.8
    note: "The four-fifths rule: US employment-selection practice, not a credit or AI text's figure"
rules:
  - id: ACME-MON-RESULT
    title: A recent monitoring result without breach for every model with a monitoring plan
    cite: "OSFI E-23 P3.6 (monitoring thresholds); Acme Model Monitoring Standard"
    basis:
      - {demand: models in use monitored against thresholds, text: "OSFI E-23 P3.6"}
      - {demand: "a result recorded within max_age_days (35 days by default), before production too",
         practice: "Acme's schedule; P3.6 sets no frequency"}
    severity: medium
    when: {stage: [development, validation, production], monitoring.task: [binary, regression, multiclass]}
    require:
      monitoring: {within_days: $max_age_days}
  - id: ACME-MON-CALIBRATION
    title: Tier-1 binary models stay calibrated on their outcomes
    cite: "SR 26-2 section V (outcomes analysis); Acme Model Monitoring Standard"
    basis:
      - {demand: model outputs compared with actual outcomes, text: "SR 26-2 section V (outcomes analysis)"}
      - {demand: "Hosmer-Lemeshow p and every rating grade's Jeffreys p at least min_pvalue (0.01)",
         practice: "common calibration tests for probability-of-default models; the limit is Acme's"}
    severity: high
    when: {stage: [development, validation, production], tier: 1, monitoring.task: binary}
    require:
      calibration: {min_pvalue: $min_pvalue, min_grade_pvalue: $min_pvalue, within_days: $max_age_days}
  - id: ACME-MON-AUC
    title: No significant fall in a tier-1 binary model's AUC
    cite: "Acme Model Monitoring Standard"
    basis:
      - {demand: "no AUC fall significant by DeLong's test at 5%, nor larger than max_auc_drop (0.05)",
         practice: "Acme's discrimination check; no text names a test or a figure"}
    severity: high
    when: {stage: [development, validation, production], tier: 1, monitoring.task: binary}
    require:
      auc_change: {alpha: 0.05, max_drop: $max_auc_drop, within_days: $max_age_days}
  - id: ACME-MON-FAIRNESS
    title: Outcomes fair across the protected groups the monitoring plan names
    cite: "EU AI Act Art. 10(2)(f) and Annex IV point 3; NAIC AI model bulletin section 3 (bias analysis, insurers)"
    basis:
      - {demand: examination for possible biases, text: "EU AI Act Art. 10(2)(f); NAIC AI model bulletin section 3"}
      - {demand: "results for specific groups of persons documented (the drift record's per-group rates)",
         text: "EU AI Act Annex IV point 3"}
      - {demand: "on each monitored month, per protected column",
         practice: "Acme's schedule; the texts ask for examination, not a frequency"}
      - {demand: "approval-rate ratio between groups at least min_parity_ratio (0.8)",
         practice: "the four-fifths rule of US employment-selection practice"}
    severity: high
    when: {stage: [development, validation, production], monitoring.protected: {not: null}}
    require:
      fairness: {min_ratio: $min_parity_ratio, within_days: $max_age_days}
"""


def write_monitoring_pack(path: Path) -> str:
    """Write the bank's monitoring pack into the inventory at ``path`` and name it in ``mops.yaml``
    (the risk officer commits both with the roles, in the inventory's first governance change)."""
    import re

    (path / "policies").mkdir(exist_ok=True)
    (path / MONITORING_PACK_PATH).write_text(MONITORING_PACK)
    settings = path / "mops.yaml"
    settings.write_text(re.sub(r"^(policies: \[[^\]]*)\]", rf"\1, {MONITORING_PACK_PATH}]",
                               settings.read_text(), count=1, flags=re.M))
    return MONITORING_PACK_PATH


def monitor_outcomes(story: Story) -> None:
    """Three more models, registered two days ago and monitored yesterday on their latest month."""
    import pyarrow.parquet as pq

    p = story.path
    plans: dict[str, tuple[Callable[..., Any], dict[str, Any], str]] = {
        "claims-severity": (severity_log, {"inflation": 1.18}, "2.1"),
        "claims-triage": (triage_log, {"shifted": True}, "1.0"),
        "card-approval": (approval_log, {"gap": 0.35}, "1.0"),
    }
    month = story.clock.month(1)
    references = []
    for seed, (model, (make, current, _)) in enumerate(plans.items(), start=40):
        folder = p / "data" / model
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(make(20_000, seed=seed), folder / "reference.parquet")
        logs = p / "logs" / model
        logs.mkdir(parents=True, exist_ok=True)
        pq.write_table(make(30_000, seed=seed + 10, **current), logs / f"predictions-{month}.parquet")
        references.append(f"data/{model}/reference.parquet")
    git.commit_paths(p, references, "Reference samples for the claims and card-approval models",
                     env=story.env("bob", 2))
    for model, (_, _, version) in plans.items():
        card = story.card(model, REVIEWED_DAYS_AGO[model])  # dated from today: the same story any day
        if model == "claims-severity":  # the vendor card of the earlier chapters, with a monitoring plan
            card.write_text(card.read_text().replace("\n---\n", f"\n{SEVERITY_PLAN}---\n", 1))
        story.register("bob", 2, model, version, card=card, sha256=f"{len(model):064d}")
    verdicts = []
    for model, (_, _, version) in plans.items():
        doc = story.drift("carol", 1, f"{model}@{version}", p / "logs" / model / f"predictions-{month}.parquet",
                          month)
        verdicts.append(f"{model} ({doc['task']}): {len(doc['breaches'])} breach"
                        f"{'' if len(doc['breaches']) == 1 else 'es'}")
    story.step(f"outcome monitoring for {month}: " + "; ".join(verdicts))
