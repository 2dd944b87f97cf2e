"""Test helpers for reports: a small HTML tree, and an inventory built commit by commit.

Records that other commands write (evidence, sign-offs, findings, monitoring) are
written here as files and committed with git at pinned dates, so these tests do
not depend on those commands and every commit has a known time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import AUTHOR, Mops, git, write_card

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)
    parent: Node | None = None

    def text(self) -> str:
        if self.tag == "br":
            return " "
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        out = []
        for n in self.iter():
            if tag is not None and n.tag != tag:
                continue
            if all(n.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items()):
                out.append(n)
        return out

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]

    def by_id(self, id_: str) -> Node:
        return self.find(None, id=id_)

    def rows(self) -> list[list[str]]:
        """A table's rows as lists of whitespace-normalised cell texts."""
        return [[" ".join(c.text().split()) for c in tr.children
                 if isinstance(c, Node) and c.tag in ("th", "td")]
                for tr in self.find_all("tr")]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.cur = self.root
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), parent=self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, dict(attrs), parent=self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None and node.parent is not None, f"stray </{tag}>"
        self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(html: str) -> Node:
    b = _Builder()
    b.feed(html)
    b.close()
    assert b.cur is b.root, f"unclosed <{b.cur.tag}>"
    return b.root


def section(doc: Node, model: str) -> Node:
    return doc.by_id(f"model-{model}")


def squash(text: str) -> str:
    return " ".join(text.split())


# ----------------------------------------------------------------------------- self-containment

FETCHING_ATTRS = ("src", "srcset", "poster", "data", "action", "formaction", "background",
                  "xlink:href", "ping", "manifest", "icon", "longdesc", "cite")
FORBIDDEN_TAGS = ("script", "link", "iframe", "frame", "object", "embed", "base", "audio", "video",
                  "source", "track", "portal", "applet")


def external_references(html: str) -> list[str]:
    """Every way the document could load something, except data: URIs and #fragments.

    ``<a href>`` may point anywhere (following a link is the reader's choice, not a
    load); every other ``href``/``src``-like attribute, ``url(...)`` and
    ``@import`` in CSS, and elements that load or run things are reported.
    """
    import re

    doc = parse(html)
    found = []
    url_re = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.I)
    for n in doc.iter():
        if n.tag in FORBIDDEN_TAGS:
            found.append(f"<{n.tag}>")
        for name, value in n.attrs.items():
            value = (value or "").strip()
            if name.startswith("on"):
                found.append(f"<{n.tag} {name}>")
            if name in FETCHING_ATTRS or (name == "href" and n.tag != "a"):
                if not (value.startswith("#") or value.startswith("data:")):
                    found.append(f"<{n.tag} {name}={value!r}>")
            if name == "href" and n.tag == "a" and value.lower().startswith(("javascript:", "vbscript:")):
                found.append(f"<a href={value!r}>")
            if name == "style":
                found += [f"style url({u})" for u in url_re.findall(value) if not u.startswith("data:")]
        if n.tag == "style":
            css = n.text()
            found += [f"css url({u})" for u in url_re.findall(css) if not u.startswith("data:")]
            if "@import" in css:
                found.append("css @import")
        if n.tag == "meta" and (n.attrs.get("http-equiv") or "").lower() == "refresh":
            found.append("<meta refresh>")
    return found


# ----------------------------------------------------------------------------- building an inventory


def at(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    """Make the next commits (mops's and ours) happen at ``when`` (UTC)."""
    monkeypatch.setenv("GIT_AUTHOR_DATE", when)
    monkeypatch.setenv("GIT_COMMITTER_DATE", when)


def commit_files(repo: Path, files: dict[str, str | bytes], message: str,
                 trailers: dict[str, str] | None = None) -> str:
    for rel, content in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    git(repo, "add", "--", *files)
    body = message
    if trailers:
        body += "\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers.items())
    subprocess.run(["git", "commit", "-q", "-F", "-", "--", *files], cwd=repo, input=body,
                   text=True, check=True, capture_output=True, env=os.environ.copy())
    return git(repo, "rev-parse", "HEAD").strip()


def vdir(model: str, version: str) -> str:
    return f"models/{model}/versions/{version}"


def add_evidence(repo: Path, model: str, version: str, rid: str, kind: str, when: str,
                 files: dict[str, bytes], *, by: str = "bob@acme.test", title: str = "") -> str:
    entries = "".join(f"  - path: evidence/{rid}/{name}\n    sha256: "
                      f"{hashlib.sha256(data).hexdigest()}\n    size: {len(data)}\n"
                      for name, data in sorted(files.items()))
    record = (f"id: {rid}\nkind: {kind}\ntitle: {json.dumps(title or kind)}\n"
              f"added_by: {by}\nadded_at: '{when}'\nmetrics: {{auc: 0.81}}\nfiles:\n{entries}")
    out = {f"{vdir(model, version)}/evidence/{rid}.yaml": record}
    out.update({f"{vdir(model, version)}/evidence/{rid}/{name}": data
                for name, data in files.items()})
    return commit_files(repo, out, f"evidence: {model}@{version} {kind}",
                        {"Mops-Action": "evidence", "Mops-Model": model, "Mops-Version": version,
                         "Mops-Actor": by})


def add_approval(repo: Path, model: str, version: str, rid: str, role: str, by: str, when: str,
                 *, decision: str = "approve", comment: str = "Reviewed") -> str:
    from mops.inventory.digest import DigestCache, combine, subject_parts
    from mops.inventory.store import Inventory

    inv = Inventory.open(repo)
    parts = subject_parts(inv, inv.model(model).version(version), DigestCache(inv))
    record = (f"id: {rid}\nrole: {role}\ndecision: {decision}\nby: {by}\nat: '{when}'\n"
              f"digest: {combine(parts)}\ncomment: {json.dumps(comment)}\ndigest_parts:\n"
              + "".join(f"  {k}: {v}\n" for k, v in sorted(parts.items())))
    return commit_files(repo, {f"{vdir(model, version)}/approvals/{rid}.yaml": record},
                        f"approve: {model}@{version} as {role}",
                        {"Mops-Action": "approve", "Mops-Model": model, "Mops-Version": version,
                         "Mops-Actor": by})


def add_finding(repo: Path, model: str, rid: str, text: str) -> str:
    return commit_files(repo, {f"models/{model}/findings/{rid}.yaml": f"id: {rid}\n{text}"},
                        f"finding: {model} {rid}",
                        {"Mops-Action": "finding", "Mops-Model": model})


def drift_record(when: str, stats: dict[str, float], *, threshold: float = 0.1,
                 drifted: tuple[str, ...] = ()) -> dict:
    """A monitoring record shaped like the ones `mops drift --record` writes (nested result)."""
    columns = [{"column": c, "kind": "numeric", "method": "wasserstein", "statistic": v,
                "threshold": threshold, "drifted": c in drifted, "psi": v * 2}
               for c, v in sorted(stats.items())]
    share = len(drifted) / max(len(stats), 1)
    breaches = [{"threshold": "psi", "column": c, "value": stats[c] * 2, "limit": 0.25,
                 "message": f"psi of column {c!r} is high"} for c in drifted]
    return {"id": "x", "kind": "drift", "at": when, "model": "credit-pd", "version": "1.0.0",
            "plan": {"features": sorted(stats), "thresholds": {"psi": 0.25}},
            "result": {"dataset_drift": share >= 0.5, "drifted_share": share,
                       "drift_share_threshold": 0.5, "rows": {"reference": 1000, "current": 800},
                       "columns": columns,
                       "performance": {"reference": {"auc": 0.81}, "current": {"auc": 0.78},
                                       "change": {"auc": -0.03}},
                       "breaches": breaches},
            "verdict": {"dataset_drift": share >= 0.5, "drifted_share": share,
                        "breaches": [b["message"] for b in breaches]}}


def add_monitoring(repo: Path, model: str, version: str, rid: str, record: dict) -> str:
    return commit_files(repo, {f"{vdir(model, version)}/monitoring/{rid}.json":
                               json.dumps(record, indent=2)},
                        f"drift: {model}@{version}",
                        {"Mops-Action": "drift", "Mops-Model": model, "Mops-Version": version,
                         "Mops-Actor": "ci@acme.test"})


@dataclass
class History:
    """The commits of :func:`build_history`, by name."""

    repo: Path
    commits: dict[str, str]


CARD_BODY_EXTRA = ""


def build_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *,
                  card_extra: str = "") -> History:
    """An inventory with a year of dated history: two models, evidence, a sign-off, drift."""
    commits: dict[str, str] = {}
    at(monkeypatch, "2026-01-05T09:00:00Z")
    repo = tmp_path / "inv"
    Mops(tmp_path)("init", str(repo), "--name", "Acme test inventory")
    settings = repo / "mops.yaml"
    settings.write_text(settings.read_text()
                        .replace("  validator: []", "  validator: [carol@acme.test]")
                        .replace("  risk-officer: []", "  risk-officer: [dana@acme.test]"))
    git(repo, "commit", "-qam", "roles")
    commits["roles"] = git(repo, "rev-parse", "HEAD").strip()
    mops = Mops(repo)

    at(monkeypatch, "2026-01-10T10:00:00Z")
    card = write_card(tmp_path / "card.md", "credit-pd", extra=card_extra)
    mops("register", "credit-pd", "--version", "1.0.0", "--card", str(card),
         "--artifact", "s3://models/credit-pd/1.0.0.pkl", "--sha256", "ab" * 32,
         "--metric", "auc=0.81")
    commits["register"] = git(repo, "rev-parse", "HEAD").strip()

    at(monkeypatch, "2026-02-01T11:00:00Z")
    commits["evidence"] = add_evidence(repo, "credit-pd", "1.0.0", "ev-val", "validation-report",
                                       "2026-02-01T11:00:00Z",
                                       {"report.pdf": b"%PDF validation report"},
                                       title="Independent validation 2026")

    at(monkeypatch, "2026-03-01T12:00:00Z")
    commits["approval"] = add_approval(repo, "credit-pd", "1.0.0", "ap-carol", "validator",
                                       "carol@acme.test", "2026-03-01T12:00:00Z",
                                       comment="Fit for use within the stated limits")

    checks = (("m-2026-03", "2026-03-15T06:00:00Z", {"income": 0.02, "utilisation": 0.04}, ()),
              ("m-2026-04", "2026-04-15T06:00:00Z", {"income": 0.05, "utilisation": 0.16},
               ("utilisation",)),
              ("m-2026-05", "2026-05-15T06:00:00Z", {"income": 0.03, "utilisation": 0.07}, ()))
    for i, (rid, when, stats, drifted) in enumerate(checks):
        if i == 1:  # a second model, registered between two checks
            at(monkeypatch, "2026-04-01T09:00:00Z")
            card2 = write_card(tmp_path / "card2.md", "fraud-detect", tier=2)
            mops("register", "fraud-detect", "--version", "2.0.0", "--card", str(card2))
            commits["fraud"] = git(repo, "rev-parse", "HEAD").strip()
        at(monkeypatch, when)
        commits[rid] = add_monitoring(repo, "credit-pd", "1.0.0", rid,
                                      drift_record(when, stats, drifted=drifted))

    at(monkeypatch, "2026-05-20T09:00:00Z")
    commits["finding"] = add_finding(
        repo, "credit-pd", "f-001",
        "kind: finding\nseverity: high\ntitle: Thin-file applicants under-predicted\n"
        "status: open\nopened_by: carol@acme.test\nopened_at: '2026-05-20T09:00:00Z'\n"
        "due: 2026-05-31\nversion: 1.0.0\n")
    commits["waiver"] = add_finding(
        repo, "credit-pd", "x-001",
        "kind: exception\nrule: BASE-REVIEW\ntitle: Annual review postponed\n"
        "reason: Validator capacity\ncontrols: Monthly monitoring\nstatus: open\n"
        "opened_by: dana@acme.test\nopened_at: '2026-05-20T09:00:00Z'\nexpires: 2026-09-30\n")
    return History(repo, commits)


@contextmanager
def isolated_git_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pytest.MonkeyPatch]:
    """Git isolated like ``conftest.isolated_git``, for module-scoped fixtures: a home of
    its own, no system config, the test author as author and committer."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "MOPS_NOW"):
            mp.delenv(var, raising=False)
        for role in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{role}_NAME", AUTHOR["name"])
            mp.setenv(f"GIT_{role}_EMAIL", AUTHOR["email"])
        yield mp
