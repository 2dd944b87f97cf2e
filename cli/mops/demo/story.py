"""The demo's story: a year of governance, played through :mod:`mops.api`.

Several people act in turn (each step gives git that person's identity and date
through an explicit environment, never ``os.environ``) and the commits are dated
over the eleven months up to today (:func:`mops.clock.now`, never after it), so
`mops log`, `--as-of` reports, age limits and drift history look like a real year
of governance, whenever the demo is run.

:meth:`Story.run` tells it in chapters, one method each: the inventory opens; the
legacy scorecard goes development → validation → production and is retired when
credit-pd replaces it; fraud-detect reaches production under exceptions;
credit-pd's monitoring finds drift; today's work. A module that adds models to
the demo gives :meth:`Story.run` one call, in the place marked there, using the
actions of :class:`Story` (``register``, ``evidence``, ``approve``, ``promote``,
``drift``, ``env``, ``clock``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from mops import api, clock, git
from mops.demo.outcomes import monitor_outcomes, write_monitoring_pack
from mops.errors import PolicyError
from mops.inventory.names import parse_ref

CARDS = Path(__file__).resolve().parent / "cards"

PEOPLE = {
    "alice": ("Alice Owner", "alice@acme.test"),
    "bob": ("Bob Developer", "bob@acme.test"),
    "carol": ("Carol Validator", "carol@acme.test"),
    "dana": ("Dana Risk", "dana@acme.test"),
    "erin": ("Erin Owner", "erin@acme.test"),
}

EVIDENCE_TEXT = {
    "conceptual-soundness": "Conceptual soundness review\n\nModel design, variable selection and "
                            "monotonicity constraints reviewed against the development data.\n",
    "outcomes-analysis": "Outcomes analysis\n\nBack-test on out-of-time data not used in "
                         "development: Gini {gini}, default rate by score decile within tolerance.\n",
    "benchmarking": "Benchmarking\n\nChallenger gradient-boosting model: Gini {challenger}; the "
                    "scorecard is retained for explainability.\n",
    "validation-report": "Independent validation report\n\nScope: conceptual soundness, data, "
                         "implementation, outcomes. Conclusion: fit for use with conditions.\n",
    "performance-metrics": "Performance metrics on the latest quarter\n\nAUC {auc}.\n",
    "development-documentation": "Development documentation\n\nData, sample design, variable "
                                 "selection, estimation and developmental testing.\n",
    "process-verification": "Process verification\n\nProduction scores reproduced from the "
                            "development code on a sample; data feeds reconciled to source.\n",
    "data-quality": "Data suitability assessment\n\nCompleteness, accuracy and representativeness "
                    "of the development sample checked against the source systems.\n",
    "change-explanation": "Change record\n\n{change}\n",
}

#: The packs of the demo inventory: a bank with US and Canadian operations, which adopted
#: OSFI E-23 ahead of its effective date (versions as mops.yaml records them).
PACKS = ("baseline", "us-sr26-2", "osfi-e23")


class _Clock:
    """The story's times: days before today, never after the demo's clock (:func:`mops.clock.now`).

    Past days happen from 09:00 UTC; today's events from 09:00 too, or, before 10:00 UTC,
    in the hour before now, so that nothing is dated after the moment the demo runs.
    """

    def __init__(self) -> None:
        self.now = clock.now().replace(second=0, microsecond=0)
        nine = self.now.replace(hour=9, minute=0)
        #: The anchor of today's events (minutes are added to it, at most 59).
        self.today = nine if self.now >= nine + dt.timedelta(hours=1) else self.now - dt.timedelta(hours=1)
        self._nine = nine

    def at(self, days_ago: int) -> dt.datetime:
        return (self.today if days_ago == 0 else self._nine - dt.timedelta(days=days_ago))

    def ago(self, days: int, minutes: int = 0) -> str:
        return (self.at(days) + dt.timedelta(minutes=minutes)).isoformat()

    def date(self, days_from_today: int) -> dt.date:
        return (self.now + dt.timedelta(days=days_from_today)).date()

    def month(self, months_back: int) -> str:
        year, month = self.now.year, self.now.month - months_back
        while month <= 0:
            month, year = month + 12, year - 1
        return f"{year:04d}-{month:02d}"


def acting(person: str, when: str) -> dict[str, str]:
    """The git environment of ``person`` acting at ``when``: identity and commit dates."""
    name, email = PEOPLE[person]
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}


class Story:
    """The demo's year, told in ``path`` (``scratch`` holds the documents it attaches)."""

    def __init__(self, path: Path, scratch: Path, step: Callable[[str], None]) -> None:
        self.path = path
        self.scratch = scratch
        self.step = step
        self.clock = _Clock()

    def env(self, who: str, days: int) -> dict[str, str]:
        return acting(who, self.clock.ago(days))

    # -------------------------------------------------------------- actions

    def register(self, who: str, days: int, model: str, version: str, **kw) -> None:
        api.register(self.path, model, version, env=self.env(who, days), **kw)

    def evidence(self, who: str, days: int, ref: str, kind: str, title: str, **fmt) -> None:
        doc = self.scratch / f"{ref.replace('@', '-')}-{kind}.md"
        doc.write_text(f"# {title}\n\n{EVIDENCE_TEXT[kind].format(**fmt)}")
        api.add_evidence(self.path, parse_ref(ref), [doc], kind=kind, title=title,
                         metrics={k: v for k, v in fmt.items() if isinstance(v, float)},
                         env=self.env(who, days))

    def approve(self, who: str, days: int, ref: str, role: str, comment: str) -> None:
        api.approve(self.path, parse_ref(ref), role=role, comment=comment,
                    now=self.clock.at(days), env=self.env(who, days))

    def promote(self, who: str, days: int, ref: str, to: str) -> str | None:
        """Promote; returns the refusal (with every unmet rule) instead of raising."""
        try:
            api.promote(self.path, parse_ref(ref), to=to, now=self.clock.at(days),
                        env=self.env(who, days))
        except PolicyError as exc:
            return "\n".join([exc.message, *(f"  {d}" for d in exc.details)])
        return None

    def drift(self, who: str, days: int, ref: str, log: Path, window: str) -> dict:
        return api.drift(self.path, parse_ref(ref), [log], window=window, record=True,
                         env=self.env(who, days)).document

    # -------------------------------------------------------------- the story

    def run(self) -> None:
        """The year, chapter by chapter, in the order it happened."""
        self.open_inventory()
        self.legacy_scorecard()
        self.credit_pd_to_production()
        self.fraud_detect_under_exceptions()
        self.retire_legacy_scorecard()
        self.credit_pd_refit_and_churn()
        self.credit_pd_monitoring()
        # Further models join the story here: a chapter each, in a module of its own,
        # dated between 150 and 1 days ago.
        monitor_outcomes(self)
        self.today()

    def card(self, name: str, reviewed_days_ago: int) -> Path:
        """The demo card ``name`` with its review dated relative to today (last review, next
        review a year later), so that the story reads the same whenever it is run."""
        import re

        last = self.clock.date(-reviewed_days_ago)
        text = re.sub(r"^review: .*$", f"review: {{last: {last.isoformat()}, next: "
                      f"{(last + dt.timedelta(days=365)).isoformat()}}}",
                      (CARDS / f"{name}.md").read_text(), count=1, flags=re.M)
        path = self.scratch / f"{name}.md"
        path.write_text(text)
        return path

    def open_inventory(self) -> None:
        """The risk officer creates the inventory and names who may sign off; the reference
        sets, production logs and model artifacts the story uses are made."""
        from mops.demo.data import write_credit_logs
        from mops.policy.packs import builtin_ref

        p, c = self.path, self.clock
        packs = [builtin_ref(name, default_latest=True).text for name in PACKS]
        # Its own repository, even inside another checkout (e.g. `make demo` in mops's own).
        p.mkdir(parents=True, exist_ok=True)
        git.init(p)
        dana = self.env("dana", 340)
        api.init(p, name="Acme Bank model inventory (demo)", packs=packs, env=dana)
        settings = p / "mops.yaml"
        settings.write_text(settings.read_text()
                            .replace("  validator: []", "  validator: [carol@acme.test]")
                            .replace("  risk-officer: []", "  risk-officer: [dana@acme.test]"))
        (p / ".gitignore").write_text("# not kept in git: production prediction logs, local "
                                      "model artifacts, rendered reports\nlogs/\nartifacts/\n"
                                      "reports/\n")
        own_pack = write_monitoring_pack(p)
        git.commit_paths(p, ["mops.yaml", ".gitignore", own_pack],
                         "Name the validator and the risk officer; adopt the in-house monitoring pack",
                         env=dana)
        self.step(f"created the inventory in {p} (packs: {', '.join([*packs, own_pack])}; the "
                  "in-house pack reads calibration, AUC change and fairness from drift records)")

        stable_month, drifted_month = c.month(2), c.month(1)
        logs = write_credit_logs(p / "data" / "credit-pd", months=(stable_month, drifted_month))
        (p / "logs" / "credit-pd").mkdir(parents=True)
        for key in (stable_month, drifted_month):
            target = p / "logs" / "credit-pd" / logs[key].name
            logs[key].rename(target)
            logs[key] = target
        self.logs = {"stable": (stable_month, logs[stable_month]),
                     "drifted": (drifted_month, logs[drifted_month])}
        self.out_of_time = {}
        for model, seeds in (("credit-pd", (None, 5)), ("legacy-scorecard", (3, 4))):
            reference_seed, sample_seed = seeds
            if reference_seed is not None:
                _credit_sample(p / "data" / model / "reference.parquet", seed=reference_seed)
            self.out_of_time[model] = p / "logs" / model / "out-of-time-sample.parquet"
            _credit_sample(self.out_of_time[model], seed=sample_seed)
        git.commit_paths(p, ["data/legacy-scorecard/reference.parquet"],
                         "legacy-scorecard: reference sample for monitoring",
                         env=self.env("bob", 336))
        self.step("generated reference sets and production prediction logs for "
                  f"{stable_month} (stable) and {drifted_month} (drifted)")

        self.artifacts = p / "artifacts"
        self.artifacts.mkdir()
        for name in ("credit-pd-1.0.0.pkl", "credit-pd-1.1.0.pkl", "credit-pd-1.2.0.pkl",
                     "fraud-detect-2.3.0.txt", "churn-propensity-0.3.0.pkl",
                     "legacy-scorecard-3.2.pkl"):
            (self.artifacts / name).write_bytes(f"demo model weights for {name}\n".encode() * 64)

    def artifact(self, name: str) -> str:
        return str(self.artifacts / name)

    def legacy_scorecard(self) -> None:
        """The whole path of a model through the stages: development, independent
        validation, production (and, later, retirement)."""
        v = "legacy-scorecard@3.2"
        self.register("bob", 330, "legacy-scorecard", "3.2", card=self.card("legacy-scorecard", 335),
                      artifact=self.artifact("legacy-scorecard-3.2.pkl"), metrics={"gini": 0.33})
        self.evidence("bob", 329, v, "conceptual-soundness", "Scorecard design and characteristic analysis")
        self.evidence("bob", 328, v, "development-documentation", "Development documentation")
        self.evidence("bob", 328, v, "data-quality", "Development sample assessment")
        self.evidence("bob", 327, v, "change-explanation", "Change record",
                      change="First version recorded in the inventory; points re-scaled from the "
                             "2019 build.")
        self.promote("bob", 326, v, "validation")
        self.evidence("carol", 318, v, "outcomes-analysis", "Out-of-time back-test", gini=0.31)
        self.evidence("carol", 316, v, "validation-report", "Independent validation report")
        self.drift("carol", 315, v, self.out_of_time["legacy-scorecard"], "out-of-time sample")
        self.approve("carol", 313, v, "validator", "Fit for use until its replacement is ready.")
        self.approve("dana", 312, v, "risk-officer", "Accepted for production.")
        self._promote_or_fail("alice", 310, v, "production")
        self.step(f"{v}: development, independent validation (evidence, a monitoring check, sign-offs "
                  "by validator and risk officer), promoted to production")

    def credit_pd_to_production(self) -> None:
        """credit-pd 1.0.0: a refused shortcut, then the full path to production."""
        v = "credit-pd@1.0.0"
        git.commit_paths(self.path, ["data/credit-pd/reference.parquet"],
                         "credit-pd: reference sample for monitoring", env=self.env("bob", 302))
        self.register("bob", 300, "credit-pd", "1.0.0", card=self.card("credit-pd", 240),
                      artifact=self.artifact("credit-pd-1.0.0.pkl"), metrics={"auc": 0.69, "gini": 0.38})
        self.evidence("bob", 290, v, "conceptual-soundness",
                      "Development documentation and conceptual soundness")
        self.evidence("bob", 288, v, "benchmarking", "Challenger benchmark", challenger=0.41)
        self.evidence("bob", 287, v, "development-documentation", "Development documentation")
        self.evidence("bob", 287, v, "data-quality", "Development sample assessment")
        self.evidence("bob", 287, v, "change-explanation", "Change record",
                      change="New model: replaces the legacy application scorecard; adds personal "
                             "loans and a calibrated probability of default.")
        blocked = self.promote("bob", 286, v, "production")
        self.step(f"tried to promote {v} straight to production: refused, as it "
                  "should be:\n" + (blocked or "(unexpectedly allowed)"))
        self.promote("bob", 285, v, "validation")
        self.evidence("carol", 260, v, "outcomes-analysis", "Out-of-time back-test", gini=0.37)
        self.evidence("carol", 255, v, "validation-report", "Independent validation report")
        self.evidence("carol", 254, v, "process-verification", "Process verification")
        self.drift("carol", 254, v, self.out_of_time["credit-pd"], "out-of-time sample")
        self.approve("carol", 250, v, "validator",
                     "Fit for use; recalibrate if the default rate moves by 1 point.")
        self.approve("dana", 248, v, "risk-officer", "Accepted for production.")
        self._promote_or_fail("alice", 245, v, "production")
        self.step(f"{v}: evidence, independent validation, sign-offs by validator and "
                  "risk officer, promoted to production")

    def fraud_detect_under_exceptions(self) -> None:
        """fraud-detect 2.3.0: production under time-limited exceptions (no monitoring yet)."""
        p, c, v = self.path, self.clock, "fraud-detect@2.3.0"
        self.register("bob", 230, "fraud-detect", "2.3.0", card=self.card("fraud-detect", 235),
                      artifact=self.artifact("fraud-detect-2.3.0.txt"), metrics={"auc": 0.93})
        self.evidence("bob", 225, v, "conceptual-soundness", "Design review")
        self.evidence("bob", 224, v, "benchmarking", "Rules-engine benchmark", challenger=0.8)
        self.evidence("bob", 223, v, "development-documentation", "Development documentation")
        self.evidence("bob", 223, v, "data-quality", "Training data assessment")
        self.evidence("bob", 223, v, "change-explanation", "Change record",
                      change="Retrained on 2025 authorisations; velocity features added.")
        self.promote("bob", 220, v, "validation")
        self.evidence("carol", 200, v, "outcomes-analysis", "Confirmed-fraud back-test", gini=0.86)
        self.evidence("carol", 198, v, "validation-report", "Independent validation report")
        self.evidence("carol", 197, v, "process-verification", "Process verification")
        self.approve("carol", 195, v, "validator", "Approved.")
        self.approve("dana", 195, v, "risk-officer", "Approved, under the monitoring exceptions.")
        waived = ("SR26-ONGOING-MONITORING", "OSFI-P3.6-MONITORING", "OSFI-P3.6-THRESHOLDS")
        for rule in waived:
            api.waive(p, parse_ref(v), rule=rule,
                      expires=c.date(45), reason="Streaming monitoring pipeline not built yet",
                      controls="Weekly manual review of alert precision by the fraud operations lead",
                      now=c.at(194), env=self.env("dana", 194))
        self._promote_or_fail("erin", 193, v, "production")
        self.step(f"{v}: in production under exceptions for {', '.join(waived)} "
                  f"(expire {c.date(45).isoformat()})")

    def retire_legacy_scorecard(self) -> None:
        api.retire(self.path, parse_ref("legacy-scorecard@3.2"),
                   reason="Replaced by credit-pd 1.0.0", env=self.env("dana", 190))
        self.step("retired legacy-scorecard@3.2 from production (kept in the inventory with the "
                  "reason)")

    def credit_pd_refit_and_churn(self) -> None:
        """credit-pd 1.1.0 goes to validation; churn-propensity starts development."""
        v = "credit-pd@1.1.0"
        self.register("bob", 60, "credit-pd", "1.1.0", artifact=self.artifact("credit-pd-1.1.0.pkl"),
                      metrics={"auc": 0.7, "gini": 0.4})
        self.evidence("bob", 55, v, "conceptual-soundness", "Change memo: refit on 2025 data")
        self.evidence("bob", 54, v, "development-documentation", "Development documentation of the refit")
        self.evidence("bob", 54, v, "data-quality", "Refit sample assessment")
        self.promote("bob", 50, v, "validation")
        self.register("bob", 40, "churn-propensity", "0.3.0", card=CARDS / "churn-propensity.md",
                      artifact=self.artifact("churn-propensity-0.3.0.pkl"))
        self.step("registered churn-propensity@0.3.0 (development; its card lacks limitations)")

    def credit_pd_monitoring(self) -> None:
        """A stable month, a sign-off that goes stale, a drifted month, a finding, a refusal."""
        (stable_month, stable_log), (drifted_month, drifted_log) = self.logs["stable"], self.logs["drifted"]
        stable = self.drift("bob", 35, "credit-pd@1.0.0", stable_log, stable_month)

        self.approve("carol", 30, "credit-pd@1.1.0", "validator", "Approved for production.")
        self.evidence("bob", 20, "credit-pd@1.1.0", "performance-metrics", "Refit metrics", auc=0.71)
        self.step("credit-pd@1.1.0: carol's sign-off is now STALE (evidence was added after it)")

        drifted = self.drift("bob", 5, "credit-pd@1.0.0", drifted_log, drifted_month)
        self.step(f"drift checks on credit-pd@1.0.0: {stable_month} {_verdict(stable)}, "
                  f"{drifted_month} {_verdict(drifted)}")
        api.add_finding(self.path, parse_ref("credit-pd@1.0.0"), severity="high",
                        title=f"Income, utilisation and region drift in {drifted_month}; "
                              "recalibrate before next quarter", due=self.clock.date(40),
                        env=self.env("carol", 4))
        self.step("carol opened a high-severity finding on credit-pd@1.0.0: its production gate "
                  "is now red")
        blocked = self.promote("bob", 3, "credit-pd@1.1.0", "production")
        self.step("tried to promote credit-pd@1.1.0 to production: refused\n" + (blocked or ""))

    def today(self) -> None:
        """Today: the recalibration the finding asks for is registered."""
        self.register("bob", 0, "credit-pd", "1.2.0", artifact=self.artifact("credit-pd-1.2.0.pkl"),
                      metrics={"auc": 0.7, "gini": 0.41},
                      message="Recalibrated on the drifted months (finding on 1.0.0)")
        self.step("today: bob registered credit-pd@1.2.0, the recalibration the finding asks for")

    def _promote_or_fail(self, who: str, days: int, ref: str, to: str) -> None:
        refused = self.promote(who, days, ref, to)
        if refused:
            raise RuntimeError(f"demo: promotion of {ref} to {to} was refused:\n{refused}")


def _verdict(doc: dict) -> str:
    if doc["dataset_drift"] or doc["breaches"]:
        return f"DRIFT ({len(doc['breaches'])} threshold breaches)"
    return "stable"


def _credit_sample(path: Path, *, seed: int, rows: int = 20_000) -> None:
    """A sample of credit applications with scores and outcomes (a reference set, or an
    out-of-time sample for validation)."""
    import pyarrow.parquet as pq

    from mops.demo.data import credit_log

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(credit_log(rows, seed=seed), path)
