"""The demo's story: a year of governance of four models, played through mops's own actions.

Several people act in turn (git's committer identity is set per step) and the
commits are dated over the ten months before today, so `mops log`, `--as-of`
reports, age limits and drift history look like a real year of governance,
whenever the demo is run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mops import git
from mops.errors import PolicyError, UsageError

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


@dataclass
class DemoResult:
    path: Path
    steps: list[str] = field(default_factory=list)
    report: Path | None = None


class _Clock:
    """Days before today, as the ISO date-times git takes in GIT_*_DATE."""

    def __init__(self) -> None:
        self.today = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)

    def ago(self, days: int, minutes: int = 0) -> str:
        return (self.today - dt.timedelta(days=days) + dt.timedelta(minutes=minutes)).isoformat()

    def date(self, days_from_today: int) -> dt.date:
        return (self.today + dt.timedelta(days=days_from_today)).date()

    def month(self, months_back: int) -> str:
        year, month = self.today.year, self.today.month - months_back
        while month <= 0:
            month, year = month + 12, year - 1
        return f"{year:04d}-{month:02d}"


@contextlib.contextmanager
def acting(person: str, when: str) -> Iterator[None]:
    """Act as ``person`` at ``when``: git's committer identity and commit dates."""
    name, email = PEOPLE[person]
    values = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
              "GIT_COMMITTER_EMAIL": email, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def build(path: Path, notify: Callable[[str], None] = lambda _m: None) -> DemoResult:
    """Build the demo inventory in ``path`` (which must not exist, or be empty)."""
    path = path.resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"{path}: exists and is not an empty folder; give a new folder for the demo")
    with tempfile.TemporaryDirectory(prefix="mops-demo-") as scratch:
        return _Demo(path, Path(scratch), notify).run()


class _Demo:
    def __init__(self, path: Path, scratch: Path, notify: Callable[[str], None]) -> None:
        from mops.policy.engine import independence_conflicts, promotion_gate, rule_ids

        self.path = path
        self.scratch = scratch
        self.notify = notify
        self.clock = _Clock()
        self.result = DemoResult(path)
        self._independence = independence_conflicts
        self._gate = promotion_gate
        self._rule_ids = rule_ids

    def step(self, text: str) -> None:
        self.result.steps.append(text)
        self.notify(text)

    # -------------------------------------------------------------- actions

    def register(self, who: str, days: int, model: str, version: str, **kw) -> None:
        from mops.inventory.actions import register as actions

        with acting(who, self.clock.ago(days)):
            actions.register(self.path, model, version, **kw)

    def evidence(self, who: str, days: int, ref: str, kind: str, title: str, **fmt) -> None:
        from mops.inventory.actions.governance import add_evidence
        from mops.inventory.names import parse_ref

        doc = self.scratch / f"{ref.replace('@', '-')}-{kind}.md"
        doc.write_text(f"# {title}\n\n{EVIDENCE_TEXT[kind].format(**fmt)}")
        with acting(who, self.clock.ago(days)):
            add_evidence(self.path, parse_ref(ref), [doc], kind=kind, title=title,
                         metrics={k: v for k, v in fmt.items() if isinstance(v, float)})

    def approve(self, who: str, days: int, ref: str, role: str, comment: str) -> None:
        from mops.inventory.actions.governance import approve
        from mops.inventory.names import parse_ref
        from mops.trust.signing import should_sign

        with acting(who, self.clock.ago(days)):
            approve(self.path, parse_ref(ref), role=role, comment=comment,
                    today=self.clock.date(-days), independence=self._independence, sign=should_sign)

    def promote(self, who: str, days: int, ref: str, to: str) -> str | None:
        """Promote; returns the refusal (with every unmet rule) instead of raising."""
        from mops.inventory.actions.governance import promote
        from mops.inventory.names import parse_ref

        now = self.clock.today - dt.timedelta(days=days)
        with acting(who, self.clock.ago(days)):
            try:
                promote(self.path, parse_ref(ref), to=to, gate=self._gate(now))
            except PolicyError as exc:
                return "\n".join([exc.message, *(f"  {d}" for d in exc.details)])
        return None

    def drift(self, who: str, days: int, ref: str, log: Path, window: str) -> dict:
        from mops.drift.run import run_drift
        from mops.inventory.names import parse_ref

        with acting(who, self.clock.ago(days)):
            return run_drift(self.path, parse_ref(ref), [log], window=window, record=True).document

    # -------------------------------------------------------------- the story

    def run(self) -> DemoResult:
        from mops.demo.data import write_credit_logs
        from mops.inventory.actions import register as actions
        from mops.inventory.actions.governance import add_finding, retire, waive
        from mops.inventory.names import parse_ref
        from mops.policy.packs import builtin_ref

        p, c = self.path, self.clock
        packs = [builtin_ref(name, default_latest=True).text for name in PACKS]
        # Its own repository, even inside another checkout (e.g. `make demo` in mops's own).
        p.mkdir(parents=True, exist_ok=True)
        git.init(p)
        with acting("dana", c.ago(320)):
            actions.init(p, name="Acme Bank model inventory (demo)", packs=packs, known_packs=packs)
            settings = p / "mops.yaml"
            settings.write_text(settings.read_text()
                                .replace("  validator: []", "  validator: [carol@acme.test]")
                                .replace("  risk-officer: []", "  risk-officer: [dana@acme.test]"))
            (p / ".gitignore").write_text("# not kept in git: production prediction logs, local "
                                          "model artifacts, rendered reports\nlogs/\nartifacts/\n"
                                          "reports/\n")
            git.commit_paths(p, ["mops.yaml", ".gitignore"], "Name the validator and the risk officer")
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
        with acting("bob", c.ago(315)):
            git.commit_paths(p, ["data/credit-pd/reference.parquet"],
                             "credit-pd: reference sample for monitoring")
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
            with acting("dana", c.ago(194)):
                waive(p, parse_ref("fraud-detect@2.3.0"), rule=rule,
                      expires=c.date(45), reason="Streaming monitoring pipeline not built yet",
                      controls="Weekly manual review of alert precision by the fraud operations lead",
                      today=c.date(-194), rule_ids=self._rule_ids)
        refused = self.promote("erin", 193, "fraud-detect@2.3.0", "production")
        if refused:
            raise RuntimeError(f"demo: promotion of fraud-detect@2.3.0 was refused:\n{refused}")
        self.step("fraud-detect@2.3.0: in production under exceptions for SR26-ONGOING-MONITORING "
                  f"and PRA-4.4-MONITORING (expire {c.date(45).isoformat()})")

        with acting("dana", c.ago(190)):
            retire(p, parse_ref("legacy-scorecard"), reason="Replaced by credit-pd 1.0.0")
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
        with acting("carol", c.ago(4)):
            add_finding(p, parse_ref("credit-pd@1.0.0"), severity="high",
                        title=f"Income, utilisation and region drift in {drifted_month}; "
                              "recalibrate before next quarter", due=c.date(40))
        self.step("carol opened a high-severity finding on credit-pd@1.0.0: its production gate "
                  "is now red")
        blocked = self.promote("bob", 3, "credit-pd@1.1.0", "production")
        self.step("tried to promote credit-pd@1.1.0 to production: refused\n" + (blocked or ""))

        self.result.report = self._report()
        return self.result

    def _report(self) -> Path | None:
        from mops.inventory.store import Inventory
        from mops.report import write_report

        inv = Inventory.open(self.path)
        out = self.path / "reports" / "audit-report.html"
        report = write_report(inv, out)
        self.step(f"rendered the audit report of commit {report.commit[:12]}")
        return report.path


def _verdict(doc: dict) -> str:
    if doc["dataset_drift"] or doc["breaches"]:
        return f"DRIFT ({len(doc['breaches'])} threshold breaches)"
    return "stable"


def _out_of_time_sample(path: Path) -> None:
    import pyarrow.parquet as pq

    from mops.demo.data import credit_log

    pq.write_table(credit_log(20_000, seed=5), path)
