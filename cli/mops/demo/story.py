"""The demo's story: a year of governance of four models, played through :mod:`mops.api`.

Several people act in turn (each step gives git that person's identity and date
through an explicit environment, never ``os.environ``) and the commits are dated
over the ten months before today (:func:`mops.clock.now`), so `mops log`,
`--as-of` reports, age limits and drift history look like a real year of
governance, whenever the demo is run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from mops import api, clock, git
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
}

#: The packs of the demo inventory: a bank with US and UK operations (versions as mops.yaml
#: records them).
PACKS = ("baseline", "us-sr26-2", "pra-ss1-23")


class _Clock:
    """Days before today: the story's times, and the ISO date-times git takes in GIT_*_DATE."""

    def __init__(self) -> None:
        self.today = clock.now().replace(hour=9, minute=0, second=0, microsecond=0)

    def at(self, days_ago: int) -> dt.datetime:
        return self.today - dt.timedelta(days=days_ago)

    def ago(self, days: int, minutes: int = 0) -> str:
        return (self.at(days) + dt.timedelta(minutes=minutes)).isoformat()

    def date(self, days_from_today: int) -> dt.date:
        return (self.today + dt.timedelta(days=days_from_today)).date()

    def month(self, months_back: int) -> str:
        year, month = self.today.year, self.today.month - months_back
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
        from mops.demo.data import write_credit_logs
        from mops.policy.packs import builtin_ref

        p, c = self.path, self.clock
        packs = [builtin_ref(name, default_latest=True).text for name in PACKS]
        # Its own repository, even inside another checkout (e.g. `make demo` in mops's own).
        p.mkdir(parents=True, exist_ok=True)
        git.init(p)
        dana = self.env("dana", 320)
        api.init(p, name="Acme Bank model inventory (demo)", packs=packs, env=dana)
        settings = p / "mops.yaml"
        settings.write_text(settings.read_text()
                            .replace("  validator: []", "  validator: [carol@acme.test]")
                            .replace("  risk-officer: []", "  risk-officer: [dana@acme.test]"))
        (p / ".gitignore").write_text("# not kept in git: production prediction logs, local "
                                      "model artifacts, rendered reports\nlogs/\nartifacts/\n"
                                      "reports/\n")
        git.commit_paths(p, ["mops.yaml", ".gitignore"], "Name the validator and the risk officer",
                         env=dana)
        self.step(f"created the inventory in {p} (packs: {', '.join(packs)})")

        stable_month, drifted_month = c.month(2), c.month(1)
        logs = write_credit_logs(p / "data" / "credit-pd", months=(stable_month, drifted_month))
        (p / "logs" / "credit-pd").mkdir(parents=True)
        for key in (stable_month, drifted_month):
            target = p / "logs" / "credit-pd" / logs[key].name
            logs[key].rename(target)
            logs[key] = target
        validation_sample = p / "logs" / "credit-pd" / "out-of-time-sample.parquet"
        _out_of_time_sample(validation_sample)
        git.commit_paths(p, ["data/credit-pd/reference.parquet"],
                         "credit-pd: reference sample for monitoring", env=self.env("bob", 315))
        self.step("generated a reference set and production prediction logs for "
                  f"{stable_month} (stable) and {drifted_month} (drifted)")

        artifacts = p / "artifacts"
        artifacts.mkdir()
        for name in ("credit-pd-1.0.0.pkl", "credit-pd-1.1.0.pkl", "fraud-detect-2.3.0.txt",
                     "churn-propensity-0.3.0.pkl", "legacy-scorecard-3.2.pkl"):
            (artifacts / name).write_bytes(f"demo model weights for {name}\n".encode() * 64)

        # A model registered long ago and retired: kept, with the reason.
        self.register("bob", 310, "legacy-scorecard", "3.2", owner="alice@acme.test", tier=2,
                      artifact=str(artifacts / "legacy-scorecard-3.2.pkl"))

        # credit-pd 1.0.0: the full path to production.
        card = self.scratch / "credit-pd.md"
        card.write_text((CARDS / "credit-pd.md").read_text()
                        .replace("review: {last: 2026-02-10}",
                                 f"review: {{last: {c.date(-240).isoformat()}}}"))
        self.register("bob", 300, "credit-pd", "1.0.0", card=card,
                      artifact=str(artifacts / "credit-pd-1.0.0.pkl"), metrics={"auc": 0.69, "gini": 0.38})
        self.evidence("bob", 290, "credit-pd@1.0.0", "conceptual-soundness",
                      "Development documentation and conceptual soundness")
        self.evidence("bob", 288, "credit-pd@1.0.0", "benchmarking", "Challenger benchmark",
                      challenger=0.41)
        self.evidence("bob", 287, "credit-pd@1.0.0", "development-documentation",
                      "Development documentation")
        blocked = self.promote("bob", 286, "credit-pd@1.0.0", "production")
        self.step("tried to promote credit-pd@1.0.0 straight to production: refused, as it "
                  "should be:\n" + (blocked or "(unexpectedly allowed)"))
        self.promote("bob", 285, "credit-pd@1.0.0", "validation")
        self.evidence("carol", 260, "credit-pd@1.0.0", "outcomes-analysis",
                      "Out-of-time back-test", gini=0.37)
        self.evidence("carol", 255, "credit-pd@1.0.0", "validation-report",
                      "Independent validation report")
        self.evidence("carol", 254, "credit-pd@1.0.0", "process-verification",
                      "Process verification")
        self.drift("carol", 254, "credit-pd@1.0.0", validation_sample, "out-of-time sample")
        self.approve("carol", 250, "credit-pd@1.0.0", "validator",
                     "Fit for use; recalibrate if the default rate moves by 1 point.")
        self.approve("dana", 248, "credit-pd@1.0.0", "risk-officer", "Accepted for production.")
        refused = self.promote("alice", 245, "credit-pd@1.0.0", "production")
        if refused:
            raise RuntimeError(f"demo: promotion of credit-pd@1.0.0 was refused:\n{refused}")
        self.step("credit-pd@1.0.0: evidence, independent validation, sign-offs by validator and "
                  "risk officer, promoted to production")

        # fraud-detect 2.3.0: production under a time-limited exception (no monitoring yet).
        self.register("bob", 230, "fraud-detect", "2.3.0", card=CARDS / "fraud-detect.md",
                      artifact=str(artifacts / "fraud-detect-2.3.0.txt"), metrics={"auc": 0.93})
        self.evidence("bob", 225, "fraud-detect@2.3.0", "conceptual-soundness", "Design review")
        self.evidence("bob", 224, "fraud-detect@2.3.0", "benchmarking", "Rules-engine benchmark",
                      challenger=0.8)
        self.evidence("bob", 223, "fraud-detect@2.3.0", "development-documentation",
                      "Development documentation")
        self.promote("bob", 220, "fraud-detect@2.3.0", "validation")
        self.evidence("carol", 200, "fraud-detect@2.3.0", "outcomes-analysis",
                      "Confirmed-fraud back-test", gini=0.86)
        self.evidence("carol", 198, "fraud-detect@2.3.0", "validation-report",
                      "Independent validation report")
        self.evidence("carol", 197, "fraud-detect@2.3.0", "process-verification",
                      "Process verification")
        self.approve("carol", 195, "fraud-detect@2.3.0", "validator", "Approved.")
        for rule in ("SR26-ONGOING-MONITORING", "PRA-4.4-MONITORING"):
            api.waive(p, parse_ref("fraud-detect@2.3.0"), rule=rule,
                      expires=c.date(45), reason="Streaming monitoring pipeline not built yet",
                      controls="Weekly manual review of alert precision by the fraud operations lead",
                      now=c.at(194), env=self.env("dana", 194))
        refused = self.promote("erin", 193, "fraud-detect@2.3.0", "production")
        if refused:
            raise RuntimeError(f"demo: promotion of fraud-detect@2.3.0 was refused:\n{refused}")
        self.step("fraud-detect@2.3.0: in production under exceptions for SR26-ONGOING-MONITORING "
                  f"and PRA-4.4-MONITORING (expire {c.date(45).isoformat()})")

        api.retire(p, parse_ref("legacy-scorecard"), reason="Replaced by credit-pd 1.0.0",
                   env=self.env("dana", 190))
        self.step("retired legacy-scorecard@3.2 (kept in the inventory with the reason)")

        # credit-pd 1.1.0 goes to validation; churn-propensity starts development.
        self.register("bob", 60, "credit-pd", "1.1.0", artifact=str(artifacts / "credit-pd-1.1.0.pkl"),
                      metrics={"auc": 0.7, "gini": 0.4})
        self.evidence("bob", 55, "credit-pd@1.1.0", "conceptual-soundness", "Change memo: refit on 2025 data")
        self.evidence("bob", 54, "credit-pd@1.1.0", "development-documentation",
                      "Development documentation of the refit")
        self.promote("bob", 50, "credit-pd@1.1.0", "validation")
        self.register("bob", 40, "churn-propensity", "0.3.0", card=CARDS / "churn-propensity.md",
                      artifact=str(artifacts / "churn-propensity-0.3.0.pkl"))
        self.step("registered churn-propensity@0.3.0 (development; its card lacks limitations)")

        # Monitoring credit-pd in production: a stable month...
        stable = self.drift("bob", 35, "credit-pd@1.0.0", logs[stable_month], stable_month)

        # ... a sign-off on 1.1.0 that goes stale when evidence is added after it ...
        self.approve("carol", 30, "credit-pd@1.1.0", "validator", "Approved for production.")
        self.evidence("bob", 20, "credit-pd@1.1.0", "performance-metrics", "Refit metrics", auc=0.71)
        self.step("credit-pd@1.1.0: carol's sign-off is now STALE (evidence was added after it)")

        # ... then a drifted month, and a finding.
        drifted = self.drift("bob", 5, "credit-pd@1.0.0", logs[drifted_month], drifted_month)
        self.step(f"drift checks on credit-pd@1.0.0: {stable_month} {_verdict(stable)}, "
                  f"{drifted_month} {_verdict(drifted)}")
        api.add_finding(p, parse_ref("credit-pd@1.0.0"), severity="high",
                        title=f"Income, utilisation and region drift in {drifted_month}; "
                              "recalibrate before next quarter", due=c.date(40),
                        env=self.env("carol", 4))
        self.step("carol opened a high-severity finding on credit-pd@1.0.0: its production gate "
                  "is now red")
        blocked = self.promote("bob", 3, "credit-pd@1.1.0", "production")
        self.step("tried to promote credit-pd@1.1.0 to production: refused\n" + (blocked or ""))


def _verdict(doc: dict) -> str:
    if doc["dataset_drift"] or doc["breaches"]:
        return f"DRIFT ({len(doc['breaches'])} threshold breaches)"
    return "stable"


def _out_of_time_sample(path: Path) -> None:
    import pyarrow.parquet as pq

    from mops.demo.data import credit_log

    pq.write_table(credit_log(20_000, seed=5), path)
