"""The release as PyPI and a packager see it: sdist and wheel metadata, licence, lock files."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import mops

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sdist and wheel, built with the locked backend and no network."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
                           "--outdir", str(out), str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (sdist,) = out.glob("mops-*.tar.gz")
    (wheel,) = out.glob("mops-*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.mark.slow
def test_twine_check_strict_passes(dists: dict[str, Path]):
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                           str(dists["sdist"]), str(dists["wheel"])], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_licence_ships_in_the_sdist_and_the_wheel(dists: dict[str, Path]):
    licence = (ROOT / "LICENSE").read_bytes()
    assert b"Apache License" in licence and b"Version 2.0" in licence
    with tarfile.open(dists["sdist"]) as tar:
        names = tar.getnames()
        (member,) = [n for n in names if n.endswith("/LICENSE")]
        assert tar.extractfile(member).read() == licence  # type: ignore[union-attr]
        # The lock files travel with the source, so `make test` works from an sdist too.
        assert any(n.endswith("/requirements/test.txt") for n in names)
    with zipfile.ZipFile(dists["wheel"]) as whl:
        (member,) = [n for n in whl.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert whl.read(member) == licence
        (meta,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = whl.read(meta).decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert f"Version: {mops.__version__}" in metadata
    for python in ("3.11", "3.12", "3.13"):
        assert f"Classifier: Programming Language :: Python :: {python}" in metadata
    assert "Classifier: Development Status ::" in metadata
    assert "Classifier: Operating System ::" in metadata
    assert re.search(r"^Project-URL: Source, https://", metadata, re.M)


def _locked(lock: str) -> dict[str, str]:
    """name -> pinned version(s) in a lock file (several when markers split them)."""
    found: dict[str, str] = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if m:
            found.setdefault(m.group(1).lower().replace("_", "-"), m.group(2))
    return found


def test_every_locked_requirement_is_pinned_with_hashes():
    for lock in ("runtime.txt", "test.txt"):
        text = (ROOT / "requirements" / lock).read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1])
        reqs = [e for e in entries if re.match(r"^[A-Za-z0-9]", e)]
        assert reqs, lock
        for entry in reqs:
            assert "==" in entry.split()[0], f"{lock}: not pinned: {entry.splitlines()[0]}"
            assert "--hash=sha256:" in entry, f"{lock}: no hash: {entry.splitlines()[0]}"


def test_the_locks_cover_pyproject_and_agree_with_each_other():
    """Every dependency pyproject names is in the lock (`make lock` was run after editing it),
    and the runtime lock pins the same versions as the test lock."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, test = _locked("runtime.txt"), _locked("test.txt")

    def name(req: str) -> str:
        return re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower().replace("_", "-")

    for req in project["dependencies"]:
        assert name(req) in runtime, f"{name(req)} missing from requirements/runtime.txt: run make lock"
    extras = project["optional-dependencies"]
    for req in [r for group in extras.values() for r in group if name(r) != "mops"]:
        assert name(req) in test, f"{name(req)} missing from requirements/test.txt: run make lock"
    # The test environment installs every extra, so their code is tested.
    (self_ref,) = [r for r in extras["test"] if name(r) == "mops"]
    assert set(re.findall(r"[\w-]+", self_ref.split("[", 1)[1])) == set(extras) - {"test"}
    for pkg, version in runtime.items():
        assert test.get(pkg) == version, f"{pkg}: runtime lock {version}, test lock {test.get(pkg)}"


def test_runtime_dependencies_stay_ranges():
    """mops is installed beside other tools: pyproject gives ranges, the lock gives pins."""
    for req in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        assert "==" not in req, req
        assert ">=" in req, f"{req}: give a lower bound"


def test_release_references_follow_the_one_version():
    """The README, the pre-commit hooks file and the actions' headers name the release that
    `__version__` says: actions by the major tag, pre-commit by the exact tag."""
    from mops.resources.workflow import github_workflow

    texts = {name: (ROOT / name).read_text() for name in
             ("README.md", ".pre-commit-hooks.yaml", ".github/actions/mops-gate/action.yml",
              ".github/actions/mops-drift/action.yml")}
    texts["generated workflow"] = github_workflow("main")
    refs = {(name, m) for name, text in texts.items()
            for m in re.findall(r"mops-dev/mops/\.github/actions/mops-(?:gate|drift)@(\S+?)[`\s]", text)}
    revs = {(name, m) for name, text in texts.items() for m in re.findall(r"\brev: (\S+)", text)}
    assert {name for name, _ in refs} >= {"README.md", "generated workflow"}
    assert {name for name, _ in revs} >= {"README.md", ".pre-commit-hooks.yaml"}
    assert {ref for _, ref in refs} == {mops.ACTIONS_REF}, refs
    assert {rev for _, rev in revs} == {mops.PRE_COMMIT_REV}, revs
    assert mops.ACTIONS_REF == "v" + mops.__version__.split(".")[0]
