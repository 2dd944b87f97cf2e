"""The mops-gate action's shell steps, run locally on a real inventory with a failing rule."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.ci.actions import decoy_path, installed, run_action
from tests.conftest import Mops, git, write_card

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / ".github/actions/mops-gate/action.yml"


@pytest.fixture
def repo(inventory: Path, mops: Mops) -> Path:
    """Two compliant models, then a pull request that breaks one of them."""
    for model in ("fraud", "credit-pd"):
        mops("register", model, "--version", "1.0.0",
             "--card", str(write_card(inventory.parent / f"{model}.md", model)))
    git(inventory, "tag", "base")
    git(inventory, "checkout", "-q", "-b", "pr")
    card = inventory / "models/credit-pd/card.md"
    card.write_text(card.read_text().replace("limitations: [Trained on 2019-2024 data only]\n", ""))
    git(inventory, "commit", "-qam", "drop the limitations")
    return inventory


def _gate(repo: Path, tmp: Path, event_name: str = "pull_request", event: dict | None = None,
          **kw):
    """Run the gate's steps, mops from the (stubbed) install step's venv, decoys first on PATH."""
    base = git(repo, "rev-parse", "base").strip()
    if event is None:
        event = {"pull_request": {"base": {"sha": base}}} if event_name == "pull_request" else {}
    env, marker = decoy_path(tmp)
    run = run_action(ACTION, workspace=repo, tmp=tmp, event_name=event_name, event=event,
                     env=env, stubs=installed(), **kw)
    assert not marker.exists(), f"a mops, python or pip from PATH ran: {marker.read_text()}"
    return run


def _errors(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("::error")]


def test_pull_request_breaking_policy(repo: Path, tmp_path: Path):
    run = _gate(repo, tmp_path)
    check = run.step("check")
    assert check.outputs["code"] == "1", check.stdout + check.stderr
    errors = _errors(check.stdout)
    assert errors, check.stdout
    # Only the model the pull request changed, annotated on its card, with the citation.
    assert all(e.startswith("::error file=models/credit-pd/card.md,title=") for e in errors), errors
    assert any(",title=BL-LIMITATIONS::credit-pd@1.0.0: " in e and "Mitchell et al. (2019)" in e
               for e in errors), errors
    assert "fraud" not in check.stdout
    # The job summary: a table for the changed model.
    assert check.summary.startswith("## ❌ mops check failed")
    assert "### credit-pd" in check.summary and "### fraud" not in check.summary
    assert "| 1.0.0 | **BL-LIMITATIONS**" in check.summary
    assert check.outputs["ok"] == "false"
    # The gate fails the job, after the report was rendered, and says why in its outputs.
    gate = run.step("gate")
    assert run.failed is gate and gate.code == 1
    assert run.outputs["ok"] == "false"
    report = Path(run.outputs["report"])
    assert report.is_file() and report == repo / "mops-audit-report.html"
    upload = run.uses("actions/upload-artifact")
    assert upload.reached
    assert upload.with_ == {"name": "mops-audit-report", "path": str(report), "if-no-files-found": "warn"}


def test_push_checks_every_model(repo: Path, tmp_path: Path):
    git(repo, "checkout", "-q", "main")
    card = repo / "models/fraud/card.md"
    card.write_text(card.read_text().replace("owner: alice@acme.test\n", ""))
    run = _gate(repo, tmp_path, event_name="push", inputs={"report-path": ""})
    check = run.step("check")
    files = {e.split(",title=")[0] for e in _errors(check.stdout)}
    assert files == {"::error file=models/fraud/card.md"}
    assert "### fraud" in check.summary and "### credit-pd" in check.summary
    assert run.outputs == {"ok": "false", "report": ""}
    assert not run.uses("actions/upload-artifact").reached


def test_a_settings_change_checks_every_model(repo: Path, tmp_path: Path):
    settings = repo / "mops.yaml"
    settings.write_text(settings.read_text() + "# reviewed\n")
    run = _gate(repo, tmp_path, inputs={"report-path": ""})
    summary = run.step("check").summary
    assert "### fraud" in summary and "### credit-pd" in summary


def test_compliant_pull_request_passes(repo: Path, mops: Mops, tmp_path: Path):
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "pr2")
    # A card changes through mops (a new version with it), as the provenance rules demand:
    # a card edited by hand is a verify problem (tests/trust).
    card = tmp_path / "fraud-1.1.md"
    card.write_text((repo / "models/fraud/card.md").read_text() + "\nMore evaluation detail.\n")
    mops("register", "fraud", "--version", "1.1.0", "--card", str(card))
    run = _gate(repo, tmp_path, inputs={"report-path": "out/report.html",
                                        "artifact-name": "governance"})
    assert run.failed is None, [(s.name, s.stdout, s.stderr) for s in run.steps if s.ran]
    assert run.outputs == {"ok": "true", "report": str(repo / "out/report.html")}
    assert _errors(run.stdout) == []
    assert run.step("check").summary.startswith("## ✅ mops check passed")
    verify = run.step("verify")
    assert verify.outputs["code"] == "0" and verify.outputs["ok"] == "true"
    assert verify.summary.startswith("## ✅ mops verify passed")


def test_inputs_reach_the_shell_as_data(repo: Path, tmp_path: Path):
    """An input is never code: `$(...)` and `;` in args stay arguments for mops."""
    marker = tmp_path / "pwned"
    run = _gate(repo, tmp_path, inputs={"args": f"fraud;touch$IFS{marker} $(touch {marker})",
                                        "report-path": ""})
    assert not marker.exists()
    assert run.step("check").outputs["code"] == "2"   # unknown model names: a usage error
    assert run.outputs["ok"] == "false"


def test_unknown_base_is_a_usage_error_that_fails_the_gate(repo: Path, tmp_path: Path):
    event = {"pull_request": {"base": {"sha": "0" * 40}}}
    run = _gate(repo, tmp_path, event=event, inputs={"report-path": ""})
    check = run.step("check")
    assert check.outputs["code"] == "2"
    assert "fetch-depth: 0" in check.stderr
    # ... and an annotation, so that it shows on the pull request, not only in the log.
    assert _errors(check.stdout) == [
        f"::error title=mops check::--changed-since '{'0' * 40}': not a commit in this repository "
        f"(in GitHub Actions, check out with `fetch-depth: 0` so the base commit is there)"]
    assert run.step("gate").code == 2


def test_merge_queue_checks_the_models_changed_since_the_queue_base(repo: Path, tmp_path: Path):
    base = git(repo, "rev-parse", "base").strip()
    run = _gate(repo, tmp_path, event_name="merge_group",
                event={"merge_group": {"base_sha": base}}, inputs={"report-path": ""})
    check = run.step("check")
    assert check.outputs["code"] == "1"
    files = {e.split(",title=")[0] for e in _errors(check.stdout)}
    assert files == {"::error file=models/credit-pd/card.md"}
    assert f"Only the models changed since {base}: 1." in check.summary
    assert run.step("gate").code == 1


def test_merge_queue_without_its_base_is_refused_not_waved_through(repo: Path, tmp_path: Path):
    run = _gate(repo, tmp_path, event_name="merge_group",
                event={"merge_group": {"base_sha": "f" * 40}}, inputs={"report-path": ""})
    assert run.step("check").outputs["code"] == "2"
    assert run.outputs["ok"] == "false" and run.step("gate").code == 2


def test_verify_problems_are_annotated_on_their_files(repo: Path, mops: Mops, tmp_path: Path):
    report = tmp_path / "dq.txt"
    report.write_text("all good\n")
    mops("evidence", "add", "fraud@1.0.0", str(report), "--kind", "data-quality")
    (stored,) = (repo / "models/fraud/versions/1.0.0/evidence/files").rglob("dq.txt")
    stored.write_text("all good, and then some\n")   # swapped after it was recorded
    git(repo, "commit", "-qam", "edit the evidence")
    run = _gate(repo, tmp_path, inputs={"report-path": ""})
    verify = run.step("verify")
    assert verify.outputs["code"] == "1"
    rel = stored.relative_to(repo).as_posix()
    errors = [e for e in _errors(verify.stdout) if e.startswith(f"::error file={rel},title=mops verify::")]
    assert any("its sha256 is" in e for e in errors), verify.stdout
    assert verify.summary.startswith("## ❌ mops verify failed") and rel in verify.summary
    assert verify.outputs["ok"] == "false"
    assert run.step("gate").code == 1 and run.outputs["ok"] == "false"


def test_install_uses_its_own_venv_and_only_the_hashed_lock(repo: Path, tmp_path: Path):
    """The install step, with a stand-in interpreter that records what it is asked to do."""
    log = tmp_path / "calls.log"
    fake = tmp_path / "fake-python"
    fake.write_text(f"""#!/bin/sh
echo "$0 $* cache=$PIP_CACHE_DIR" >> '{log}'
if [ "$1 $2" = "-m venv" ]; then
  for dir; do :; done
  mkdir -p "$dir/bin" && cp "$0" "$dir/bin/python"
  printf '#!/bin/sh\necho mops 0.0.fake\n' > "$dir/bin/mops" && chmod +x "$dir/bin/mops"
fi
""")
    fake.chmod(0o755)
    stubs = {"python": {"python-path": str(fake), "python-version": "3.12.9"}}
    env, marker = decoy_path(tmp_path)
    run = run_action(ACTION, workspace=repo, tmp=tmp_path, event_name="push", env=env,
                     stubs=stubs, skip=frozenset({"check", "verify", "report", "gate"}))
    assert run.failed is None, [(s.name, s.stderr) for s in run.steps if s.ran]
    assert not marker.exists()
    setup = run.uses("actions/setup-python")
    # The job's own PATH and Python stay as they were (YAML's false reads as "False" here).
    assert setup.with_["python-version"] == "3.12"
    assert setup.with_["update-environment"].lower() == "false"
    venv = tmp_path / "mops-venv"
    assert run.step("install").outputs == {"bin": f"{venv}/bin"}
    assert run.step("install").stdout == "mops 0.0.fake\n"
    source = f"{ACTION.parent}/../../.."
    cache = f"{tmp_path}/mops-pip-cache"
    assert log.read_text().splitlines() == [
        f"{fake} -m venv --clear {venv} cache={cache}",
        f"{venv}/bin/python -m pip install --quiet --require-hashes --no-deps -r "
        f"{source}/requirements/runtime.txt cache={cache}",
        f"{venv}/bin/python -m pip install --quiet --no-deps --no-build-isolation {source} "
        f"cache={cache}",
    ]
    # pip's cache is keyed on the lock's own digest (hashFiles() cannot see the action's files).
    lock = hashlib.sha256((ROOT / "requirements/runtime.txt").read_bytes()).hexdigest()
    assert run.uses("actions/cache").with_ == {
        "path": cache, "key": f"mops-pip-Linux-X64-py3.12.9-{lock}"}


def test_check_passing_on_a_forged_exception_does_not_pass_the_gate(repo: Path, tmp_path: Path):
    """`check` reads no history: an exception written by hand, naming a risk officer who may
    grant it, makes the failing rule *waived* there. The gate also runs `verify`, which
    names the forgery, so the pull request still fails."""
    import datetime as dt

    import yaml

    today = dt.datetime.now(dt.UTC).date()
    rel = "models/credit-pd/findings/W-0e0e0e.yaml"
    (repo / rel).parent.mkdir(parents=True, exist_ok=True)
    (repo / rel).write_text(yaml.safe_dump({
        "id": "W-0e0e0e", "kind": "exception", "model": "credit-pd", "version": None,
        "rule": "BL-LIMITATIONS", "title": "Exception to BL-LIMITATIONS", "reason": "urgent",
        "controls": None, "approved_by": "dana@acme.test", "status": "open",
        "opened_by": "dana@acme.test", "opened_at": f"{today - dt.timedelta(days=1)}T00:00:00Z",
        "expires": str(today + dt.timedelta(days=30))}, sort_keys=False))
    git(repo, "add", rel)
    git(repo, "commit", "-qm", "waive: credit-pd\n\nMops-Action: waive\nMops-Model: credit-pd\n"
                               "Mops-Actor: dana@acme.test\n")
    run = _gate(repo, tmp_path, inputs={"report-path": ""})
    assert run.step("check").outputs["code"] == "0", run.step("check").stdout
    verify = run.step("verify")
    assert verify.outputs["code"] == "1"
    assert any(e.startswith(f"::error file={rel},") for e in _errors(verify.stdout)), verify.stdout
    assert run.step("gate").code == 1 and run.outputs["ok"] == "false"
