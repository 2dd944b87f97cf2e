"""Registering a version brought in from another registry (``mops import``), in one commit.

An import is a registration and its evidence together: the version record (the
artifact digest, metrics and training data the source reports), the card when the
model is new, and one evidence record with its files. Everything is fetched and
hashed *before* this action runs (no network under the write lock); the action
validates, refuses an already registered version like ``register`` does, and
makes the one commit, with ``Mops-Action: import`` and a ``Mops-Source`` trailer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mops.errors import UsageError
from mops.inventory import layout, records, yamlio
from mops.inventory.actions import Done
from mops.inventory.actions.change import Change, locked, new_id
from mops.inventory.actions.register import CARD_TEMPLATE, generated_card
from mops.inventory.digest import sha256_bytes
from mops.inventory.names import KIND_RE, validate_model, validate_version
from mops.inventory.store import Inventory

Notify = Callable[[str], None] | None


@dataclass(frozen=True)
class NewEvidence:
    """An evidence record to add with the registration: its files as bytes, by name."""

    kind: str
    title: str
    files: Mapping[str, bytes]
    metrics: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportedVersion:
    """What the source says about one version, ready to register."""

    model: str
    version: str
    artifact: records.Artifact
    metrics: Mapping[str, Any]
    #: The version record's ``data`` (the data it was trained on), or None.
    data: Any
    evidence: NewEvidence
    #: For the ``Mops-Source`` trailer and the commit subject, e.g. ``mlflow``.
    source: str
    #: Where it came from (``models:/credit-pd/3``), for the commit message.
    origin: str
    #: The card's name and Markdown description, when the model is new.
    name: str | None = None
    description: str | None = None
    #: The card's owner and tier as the source suggests them (options override them).
    owner: str | None = None
    tier: int | None = None


@dataclass(frozen=True)
class Imported(Done):
    record: records.VersionRecord
    evidence: records.Evidence
    new_model: bool


def card_from_description(model: str, owner: str, tier: int, *, name: str | None,
                          description: str | None) -> str:
    """A generated card (as ``register --owner --tier`` writes) with the source's name and
    description as its first paragraph."""
    front_text, _, _ = records.split_front_matter("card.md", generated_card(model, owner, tier))
    front = yamlio.load_yaml("card.md", front_text)
    if name and name.strip():
        front["name"] = " ".join(name.split())
    title = front["name"]
    template = CARD_TEMPLATE.format(name=title)
    heading, _, rest = template.partition("\n\n")
    body = f"{heading}\n\n{description.strip()}\n\n{rest}" if description and description.strip() \
        else template
    return f"---\n{yamlio.dump_yaml(front)}---\n\n{body}"


def existing_version_problem(start: Path, model: str, version: str) -> str | None:
    """Why ``model@version`` cannot be imported here, read without the lock (to refuse
    before anything is downloaded); the action checks again under the lock."""
    return _registered(Inventory.open(start), model, version)


def _registered(inv: Inventory, model: str, version: str) -> str | None:
    if inv.has_model(model) and any(v.version == version for v in inv.model(model).versions):
        return (f"{model}@{version} is already registered, and a registered version is "
                f"immutable: import a new version instead (or give another one with --version)")
    return None


def import_version(start: Path, item: ImportedVersion, *, owner: str | None, tier: int | None,
                   notify: Notify = None, env: Mapping[str, str] | None = None) -> Imported:
    """Register ``item`` with its evidence in one commit; a new model gets a card generated
    from the source's description (``owner`` and ``tier``, else the source's, are then
    required)."""
    owner = owner or item.owner
    tier = tier if tier is not None else item.tier
    validate_model(item.model)
    validate_version(item.version)
    if not KIND_RE.fullmatch(item.evidence.kind):
        raise UsageError(f"evidence kind {item.evidence.kind!r} is not valid")
    if owner is not None and not records.EMAIL_RE.fullmatch(owner):
        raise UsageError(f"--owner {owner!r}: expected an e-mail address")
    if tier is not None and not 1 <= tier <= 9:
        raise UsageError(f"--tier {tier}: expected a whole number from 1 (most material) to 9")
    for name in item.evidence.files:
        if not name or name.startswith(".") or "/" in name or any(ord(c) < 32 for c in name):
            raise UsageError(f"evidence file name {name!r} is not valid")

    with locked(start, notify, env=env) as inv:
        actor = inv.identity()
        problem = _registered(inv, item.model, item.version)
        if problem:
            raise UsageError(problem)
        new_model = not inv.has_model(item.model)
        card: str | None = None
        if new_model:
            if owner is None or tier is None:
                missing = " and ".join(o for o, v in (("--owner EMAIL", owner), ("--tier N", tier))
                                       if v is None)
                raise UsageError(f"{item.model!r} is a new model: its card is generated from the "
                                 f"{item.source} description and needs {missing} (or the "
                                 f"registered model's tags 'owner' and 'tier')")
            card = card_from_description(item.model, owner.lower(), tier, name=item.name,
                                         description=item.description)
            records.load_card(layout.card_path(item.model), card.encode(), expected_id=item.model)

        path = layout.version_file(item.model, item.version)
        record = records.VersionRecord.new(
            path, model=item.model, version=item.version, stage=inv.settings.stages[0],
            by=actor.email, at=actor.timestamp, artifact=item.artifact, metrics=item.metrics)
        if item.data is not None:
            # Read back like every record: what is written must load.
            raw = {**record.raw, "data": item.data}
            record = records.load_version(path, yamlio.dump_yaml(raw).encode(),
                                          model=item.model, version=item.version)

        vdir = layout.version_dir(item.model, item.version)
        eid = new_id("E", lambda _: False)  # a new version has no evidence yet
        files = []
        change = Change(inv, "import", model=item.model, version=item.version, actor=actor.email,
                        summary=f"{item.model}@{item.version} from {item.source} {item.origin}",
                        trailers={"Mops-Source": item.source})
        for name, data in item.evidence.files.items():
            rel = layout.evidence_file(eid, name)
            files.append(records.EvidenceFile(path=rel, sha256=sha256_bytes(data), size=len(data)))
            change.write(f"{vdir}/{rel}", data)
        evidence = records.Evidence.new(
            layout.evidence_path(vdir, eid), id=eid, kind=item.evidence.kind,
            title=item.evidence.title, files=files, metrics=item.evidence.metrics,
            by=actor.email, at=actor.timestamp)
        if card is not None:
            change.write(layout.card_path(item.model), card)
        change.write(record.path, record.dump())
        change.write(evidence.path, evidence.dump())
        commit = change.commit()
        return Imported(commit, tuple(change.files), record=record, evidence=evidence,
                        new_model=new_model)
