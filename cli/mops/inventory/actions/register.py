"""Creating an inventory (``init``, ``init --github``) and registering model versions."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mops import git
from mops.errors import MopsError, UsageError
from mops.inventory import layout, records, yamlio
from mops.inventory.actions import Done
from mops.inventory.actions.change import Change, locked, repository_lock
from mops.inventory.digest import sha256_file
from mops.inventory.layout import MODELS_DIR, SETTINGS_FILE
from mops.inventory.names import validate_model, validate_version
from mops.inventory.store import Inventory, WorktreeSource

HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Initialised(Done):
    path: Path
    name: str


@dataclass(frozen=True)
class Registered(Done):
    record: records.VersionRecord
    #: Whether the model was new (its card written by this registration).
    new_model: bool


@dataclass(frozen=True)
class WorkflowAdded(Done):
    path: Path
    #: The branch whose pushes the workflow gates.
    branch: str


# ----------------------------------------------------------------------------- init


def settings_yaml(name: str, packs: Sequence[str],
                  roles: Mapping[str, Sequence[str]] | None = None) -> str:
    """The first ``mops.yaml``: ``roles`` (role -> e-mail addresses) beside the empty
    validator and risk-officer roles a new inventory lists."""
    people: dict[str, list[str]] = {"validator": [], "risk-officer": [],
                                     **{r: list(p) for r, p in (roles or {}).items()}}
    lines = "".join(f"  {role}: [{', '.join(emails)}]\n" for role, emails in people.items())
    return (
        f"# mops inventory settings: see `mops --help` and the README.\n"
        f"inventory: {yamlio.dump_yaml(name).strip()}\n"
        f"policies: [{', '.join(packs)}]   # built-in packs as NAME@VERSION, or paths to your own\n"
        f"stages: [development, validation, production, retired]\n"
        f"roles:                           # who may sign off in which role\n"
        f"{lines}"
        f"signing: optional                # or: required (SSH-signed sign-offs)\n"
    )


def init(path: Path, *, name: str | None, packs: Sequence[str], known_packs: Sequence[str],
         extra_files: Mapping[str, str] | None = None,
         roles: Mapping[str, Sequence[str]] | None = None,
         env: Mapping[str, str] | None = None) -> Initialised:
    """Create ``mops.yaml`` (listing ``roles``) and ``models/`` in ``path`` (a git repo is made
    if needed)."""
    for pack in packs:
        if pack not in known_packs and not pack.endswith((".yaml", ".yml")):
            raise UsageError(f"unknown policy pack {pack!r} (--pack): built-in packs are "
                             f"{', '.join(known_packs)}; your own packs are given as paths "
                             f"ending in .yaml")
    path = path.resolve()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: exists and is not a directory")
    if (path / SETTINGS_FILE).exists():
        raise UsageError(f"{path / SETTINGS_FILE} already exists: this is already a mops "
                         f"inventory")
    created_dir = not path.exists()
    created_repo = False
    if created_dir:
        path.mkdir(parents=True)
    try:
        if git.toplevel(path) is None:
            git.init(path)
            created_repo = True
        top = git.toplevel(path)
        assert top is not None
        git.identity(top, env)  # fail early, before anything is written, if git has no identity
        name = name or path.name
        text = settings_yaml(name, packs, roles)
        records.load_settings(SETTINGS_FILE, text.encode())  # what we write must read back
        with repository_lock(top):
            inv = Inventory(path, top.resolve(), WorktreeSource(path), None, git_env=env)
            actor = inv.identity()
            change = Change(inv, "init", actor=actor.email, summary=name)
            change.write(SETTINGS_FILE, text)
            change.write(f"{MODELS_DIR}/.gitkeep", "")
            for rel, content in (extra_files or {}).items():
                change.write(rel, content)
            commit = change.commit()
        return Initialised(commit, tuple(change.files), path=path, name=name)
    except BaseException:
        if created_repo:
            shutil.rmtree(path / ".git", ignore_errors=True)
        if created_dir:
            shutil.rmtree(path, ignore_errors=True)
        raise


# ----------------------------------------------------------------------------- register


CARD_TEMPLATE = """\
# {name}

<!-- Sections after Mitchell et al. (2019), "Model Cards for Model Reporting". -->

## Model details
<!-- Who developed the model, when, which version, what type of model. -->

## Intended use
<!-- Primary intended uses and users; uses that are out of scope. -->

## Factors
<!-- Groups, instrumentation and environments the model's performance depends on. -->

## Metrics
<!-- Performance measures, decision thresholds, variation approaches. -->

## Evaluation data
<!-- Data sets, why they were chosen, preprocessing. -->

## Training data

## Quantitative analyses

## Ethical considerations

## Caveats and recommendations
"""


def generated_card(model: str, owner: str, tier: int) -> str:
    front = {
        "id": model,
        "name": model,
        "owner": owner,
        "developers": [],
        "tier": tier,
        "intended_use": None,
        "out_of_scope": None,
        "limitations": [],
        "inputs": [],
        "outputs": None,
        "data_sources": [],
        "dependencies": [],
        "vendor": False,
    }
    return f"---\n{yamlio.dump_yaml(front)}---\n\n{CARD_TEMPLATE.format(name=model)}"


def parse_metrics(items: Sequence[str], option: str = "--metric") -> dict[str, Any]:
    """``NAME=VALUE`` pairs; numbers become numbers."""
    metrics: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name or not re.fullmatch(r"[A-Za-z0-9_.@/-]{1,64}", name):
            raise UsageError(f"{option} {item!r}: write NAME=VALUE, e.g. {option} auc=0.81")
        try:
            number = float(value)
            metrics[name] = int(number) if number.is_integer() and "." not in value else number
        except ValueError:
            metrics[name] = value.strip()
    return metrics


def parse_roles(items: Sequence[str], option: str = "--role") -> dict[str, list[str]]:
    """``ROLE=EMAIL`` pairs (repeatable; one role may be given several times) as role -> emails."""
    from mops.inventory.names import validate_role

    roles: dict[str, list[str]] = {}
    for item in items:
        role, sep, email = (part.strip() for part in item.partition("="))
        if not sep or not role or not records.EMAIL_RE.fullmatch(email):
            raise UsageError(f"{option} {item!r}: write ROLE=EMAIL, e.g. {option} "
                             f"validator=carol@acme.test")
        try:
            validate_role(role)
        except MopsError as exc:
            raise UsageError(f"{option} {item!r}: {exc.message}") from None
        people = roles.setdefault(role, [])
        if email.lower() not in people:
            people.append(email.lower())
    return roles


def _artifact(inv: Inventory, artifact: str | None, sha256: str | None) -> records.Artifact | None:
    if sha256 is not None and not HEX64.fullmatch(sha256):
        raise UsageError(f"--sha256 {sha256!r}: expected 64 hexadecimal digits")
    sha256 = sha256.lower() if sha256 else None
    if artifact is None:
        return records.Artifact(sha256=sha256) if sha256 else None
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", artifact):
        if sha256 is None:
            raise UsageError(f"--artifact {artifact}: a URI cannot be hashed here; give its digest "
                             f"with --sha256")
        return records.Artifact(sha256=sha256, uri=artifact)
    path = Path(artifact).expanduser()
    if not path.exists():
        raise UsageError(f"--artifact {artifact}: no such file")
    if not path.is_file():
        raise UsageError(f"--artifact {artifact}: is not a file")
    digest, size = sha256_file(path)
    if sha256 is not None and sha256 != digest:
        raise UsageError(f"--artifact {artifact}: its sha256 is {digest}, not the --sha256 given")
    resolved = path.resolve()
    try:
        shown = resolved.relative_to(inv.root.resolve()).as_posix()
    except ValueError:
        shown = str(resolved)
    return records.Artifact(sha256=digest, size=size, path=shown)


def register(start: Path, model: str, version: str, *, card: Path | None = None,
             artifact: str | None = None, sha256: str | None = None, owner: str | None = None,
             tier: int | None = None, message: str | None = None,
             metrics: Mapping[str, Any] | None = None,
             notify: Callable[[str], None] | None = None,
             env: Mapping[str, str] | None = None) -> Registered:
    """Register ``model@version``, creating or updating the model card."""
    validate_model(model)
    validate_version(version)
    card_bytes: bytes | None = None
    if card is not None:
        if owner is not None or tier is not None:
            raise UsageError("--owner and --tier fill in a generated card; with --card, set "
                             "'owner' and 'tier' in the card itself")
        if not card.exists():
            raise UsageError(f"--card {card}: no such file")
        if not card.is_file():
            raise UsageError(f"--card {card}: is not a file")
        card_bytes = card.read_bytes()
        records.load_card(str(card), card_bytes, expected_id=model)
    if owner is not None and not records.EMAIL_RE.fullmatch(owner):
        raise UsageError(f"--owner {owner!r}: expected an e-mail address")
    if tier is not None and not 1 <= tier <= 9:
        raise UsageError(f"--tier {tier}: expected a whole number from 1 (most material) to 9")

    with locked(start, notify, env=env) as inv:
        settings = inv.settings
        actor = inv.identity()
        exists = inv.has_model(model)
        if exists:
            current = inv.model(model)
            if any(v.version == version for v in current.versions):
                raise UsageError(f"{model}@{version} is already registered, and a registered "
                                 f"version is immutable: register a new version instead")
            if card_bytes is None and (owner is not None or tier is not None):
                raise UsageError(f"model {model!r} already has a card: to change its owner or "
                                 f"tier, edit the card and pass it with --card")
        elif card_bytes is None:
            if owner is None or tier is None:
                raise UsageError(f"{model!r} is a new model: give its card with --card FILE, or "
                                 f"--owner EMAIL and --tier N to generate one")
            card_bytes = generated_card(model, owner.lower(), tier).encode()
        art = _artifact(inv, artifact, sha256)
        record = records.VersionRecord.new(
            layout.version_file(model, version), model=model, version=version,
            stage=settings.stages[0], by=actor.email, at=actor.timestamp, artifact=art,
            metrics=metrics or {})
        change = Change(inv, "register", model=model, version=version, actor=actor.email,
                        summary=f"{model}@{version}", body=message or "")
        if card_bytes is not None:
            change.write(layout.card_path(model), card_bytes)
        change.write(record.path, record.dump())
        commit = change.commit()
        return Registered(commit, tuple(change.files), record=record, new_model=not exists)


# ----------------------------------------------------------------------------- init --github


def default_branch(path: Path) -> str:
    """The branch a push-triggered workflow should watch.

    The remote's default branch when known, else the current branch, else the one
    ``git init`` would create.
    """
    top = git.toplevel(path) if path.is_dir() else None
    if top is not None:
        remote = git.symbolic_ref(top, "refs/remotes/origin/HEAD")
        if remote.startswith("origin/"):
            return remote.removeprefix("origin/")
        current = git.symbolic_ref(top, "HEAD")
        if current:
            return current
    return git.config_get(Path.cwd(), "init.defaultBranch") or "master"


def github_workflow_files(path: Path, render: Callable[[str, str], str], rel: str) -> dict[str, str]:
    """``extra_files`` for :func:`init` when the new inventory is its repository's top.

    Empty when ``path`` is a folder inside another repository: the workflow belongs at
    that repository's top, and :func:`add_github_workflow` writes it there.
    """
    path = path.resolve()
    existing = next(p for p in (path, *path.parents) if p.is_dir())
    top = git.toplevel(existing)
    if top is not None and top.resolve() != path:
        if (top / rel).exists():
            raise UsageError(f"{top / rel} already exists; edit it instead (mops never "
                             f"overwrites a workflow)")
        return {}
    return {rel: render(default_branch(path), ".")}


def add_github_workflow(start: Path, render: Callable[[str, str], str], rel: str,
                        notify: Callable[[str], None] | None = None,
                        env: Mapping[str, str] | None = None) -> WorkflowAdded:
    """Write the GitHub workflow ``rel`` at the repository's top, in one commit.

    ``render(branch, inventory_dir)`` gives its text. Refuses if the file exists.
    """
    with locked(start, notify, env=env) as inv:
        target = inv.top / rel
        if target.exists() or target.is_symlink():
            raise UsageError(f"{rel} already exists; edit it instead (mops never overwrites a "
                             f"workflow)")
        actor = inv.identity()
        branch = default_branch(inv.top)
        text = render(branch, inv.prefix or ".")
        # The workflow lives at the repository's top, even when the inventory is a subfolder.
        at_top = Inventory(inv.top, inv.top, inv.source, None, git_env=env)
        change = Change(at_top, "init-github", actor=actor.email, summary=rel)
        change.write(rel, text)
        commit = change.commit()
        return WorkflowAdded(commit, (rel,), path=target, branch=branch)
