"""``mops export cyclonedx``: a version as a CycloneDX 1.6 ML-BOM.

The BOM's subject (``metadata.component``) is a ``machine-learning-model`` component:
the model id and version, the artifact's sha256 (a folder artifact's digest is its
manifest digest, see :mod:`mops.inventory.artifacts`), the card's owner and
developers as authors, its licence, and ``mops:*`` properties (stage, tier,
evidence, sign-offs, the commit). Its ``modelCard`` comes from the card (intended
use, limitations, out-of-scope use, inputs, outputs), the version's metrics and the
evidence's metrics (performance metrics, sliced by evidence record), and the
datasets: each one the version's ``data`` names (an MLflow import records the run's
data inputs there) or the card's ``datasets`` and ``data_sources`` list is a ``data``
component the model depends on, referenced from the model card.

The document is built with ``cyclonedx-python-lib``. That library does not model
``modelCard`` yet, so the model card is added to the serialised JSON, and the whole
document is then checked with the library's own JSON-schema validator: an export that
does not validate is a bug, never written.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import math
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from mops import __version__
from mops.errors import UsageError
from mops.inventory import records
from mops.inventory.store import Inventory, Model, Version

EXTRA = "pip install 'mops[cyclonedx]'"
SPEC_VERSION = "1.6"
#: The library's modules, by the name this module uses for each. Imported by name, so that
#: type-checking mops needs no optional extra installed.
_MODULES = {"model": "cyclonedx.model", "component": "cyclonedx.model.component",
            "contact": "cyclonedx.model.contact", "bom": "cyclonedx.model.bom",
            "lifecycle": "cyclonedx.model.lifecycle", "tool": "cyclonedx.model.tool",
            "output": "cyclonedx.output.json", "schema": "cyclonedx.schema",
            "validation": "cyclonedx.validation.json"}


def _library() -> Any:
    """cyclonedx-python-lib's modules, or exit 2 naming the extra to install."""
    try:
        lib = SimpleNamespace(**{k: importlib.import_module(v) for k, v in _MODULES.items()})
        try:
            lib.licenses = importlib.import_module("cyclonedx.contrib.license.factories")
        except ImportError:  # pragma: no cover - cyclonedx-python-lib before 11.12
            lib.licenses = importlib.import_module("cyclonedx.factory.license")
    except ImportError as exc:
        raise UsageError(f"`mops export cyclonedx` needs cyclonedx-python-lib, an optional extra: "
                         f"{EXTRA} ({exc})") from None
    return lib


def _texts(value: Any) -> list[str]:
    """A card field that is text or a list of texts, as a list of non-empty texts."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return []


def _value(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _datasets(card: records.Card, version: Version) -> list[dict[str, Any]]:
    """Each dataset once: the version's ``data.datasets`` first, then the card's."""
    found: dict[str, dict[str, Any]] = {}
    data = version.record.data
    listed = data.get("datasets") if isinstance(data, dict) else None
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip():
            found.setdefault(item["name"].strip(), dict(item, origin="version"))
        elif isinstance(item, str) and item.strip():
            found.setdefault(item.strip(), {"name": item.strip(), "origin": "version"})
    for key in ("datasets", "data_sources"):
        for name in _texts(card.front.get(key)):
            found.setdefault(name, {"name": name, "origin": f"card {key}"})
    return list(found.values())


def _properties(lib: Any, pairs: Iterable[tuple[str, Any]]) -> list[Any]:
    return [lib.model.Property(name=name, value=str(value)) for name, value in pairs
            if value is not None and str(value) != ""]


def _model_card(model: Model, version: Version, datasets: list[tuple[str, dict[str, Any]]]
                ) -> dict[str, Any]:
    """CycloneDX's ``modelCard`` from the card, the metrics and the datasets."""
    front = model.card.front
    metrics = [{"type": str(k), "value": _value(v)} for k, v in version.record.metrics.items()]
    for ev in version.evidence:
        metrics.extend({"type": str(k), "value": _value(v), "slice": f"evidence {ev.id} ({ev.kind})"}
                       for k, v in ev.metrics.items())
    considerations: dict[str, Any] = {}
    if _texts(front.get("intended_use")):
        considerations["useCases"] = _texts(front.get("intended_use"))
    limits = _texts(front.get("limitations")) + [f"Out of scope: {t}" for t in
                                                 _texts(front.get("out_of_scope"))]
    if limits:
        considerations["technicalLimitations"] = limits
    users = _texts(front.get("users"))
    if users:
        considerations["users"] = users
    parameters: dict[str, Any] = {}
    if datasets:
        parameters["datasets"] = [{"ref": ref} for ref, _ in datasets]
    for key, field in (("task", "task"), ("pipeline_tag", "task"),
                       ("architecture", "modelArchitecture"), ("model_type", "architectureFamily")):
        if isinstance(front.get(key), str) and front[key].strip() and field not in parameters:
            parameters[field] = front[key].strip()
    card: dict[str, Any] = {"bom-ref": f"model-card:{version.ref}"}
    if parameters:
        card["modelParameters"] = parameters
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    if considerations:
        card["considerations"] = considerations
    extra = [("mops:inputs", ", ".join(_texts(front.get("inputs")))),
             ("mops:outputs", ", ".join(_texts(front.get("outputs"))))]
    props = [{"name": n, "value": v} for n, v in extra if v]
    if props:
        card["properties"] = props
    return card


def _component(lib: Any, inv: Inventory, model: Model, version: Version) -> Any:
    m = lib.model
    card = model.card
    record = version.record
    art = record.artifact
    hashes = [m.HashType(alg=m.HashAlgorithm.SHA_256, content=art.sha256)] if art else []
    refs = []
    if art is not None and art.uri:
        refs.append(m.ExternalReference(type=m.ExternalReferenceType.DISTRIBUTION,
                                        url=m.XsUri(art.uri), comment="the artifact",
                                        hashes=hashes))
    authors = [lib.contact.OrganizationalContact(email=e) for e in dict.fromkeys(
        [*([card.owner] if card.owner else []), *card.developers])]
    factory = lib.licenses.LicenseFactory()
    licenses = [factory.make_from_string(t) for t in _texts(card.front.get("license"))]
    props: list[tuple[str, Any]] = [
        ("mops:inventory", inv.settings.inventory), ("mops:commit", inv.head),
        ("mops:stage", record.stage), ("mops:tier", card.tier), ("mops:owner", card.owner),
        ("mops:registered_by", record.registered_by), ("mops:registered_at", record.registered_at),
        ("mops:artifact:path", art.path if art else None),
        ("mops:artifact:size", art.size if art else None)]
    for ev in version.evidence:
        props.append(("mops:evidence", f"{ev.id} {ev.kind}: {ev.title} ({ev.added_by}, "
                                       f"{ev.added_at})"))
    for a in records.effective_signoffs(version.approvals):
        props.append(("mops:signoff", f"{a.role} {a.decision} by {a.by} at {a.at} ({a.digest})"))
    return lib.component.Component(
        type=lib.component.ComponentType.MACHINE_LEARNING_MODEL, bom_ref=f"model:{version.ref}",
        name=model.id, version=version.version,
        description=card.name if card.name != model.id else None, hashes=hashes,
        external_references=refs, authors=authors, licenses=licenses,
        properties=_properties(lib, props))


def _dataset_component(lib: Any, ref: str, item: dict[str, Any]) -> Any:
    m = lib.model
    refs = []
    uri = item.get("uri")
    if isinstance(uri, str) and uri.strip():
        refs.append(m.ExternalReference(type=m.ExternalReferenceType.DISTRIBUTION,
                                        url=m.XsUri(uri.strip())))
    pairs = [(f"mops:dataset:{k}", item.get(k)) for k in ("digest", "source_type", "context")]
    pairs.append(("mops:dataset:origin", item.get("origin")))
    return lib.component.Component(type=lib.component.ComponentType.DATA, bom_ref=ref,
                                   name=item["name"], external_references=refs,
                                   properties=_properties(lib, pairs))


def validate(text: str) -> str | None:
    """The library's verdict on a CycloneDX 1.6 JSON document (None: valid)."""
    lib = _library()
    error = lib.validation.JsonStrictValidator(lib.schema.SchemaVersion.V1_6).validate_str(text)
    return None if error is None else str(error)


def ml_bom(inv: Inventory, model: Model, version: Version, *, now: dt.datetime) -> str:
    """The ML-BOM of ``version`` as CycloneDX 1.6 JSON, validated (see the module doc)."""
    lib = _library()
    datasets = [(f"data:{i}:{item['name']}", item)
                for i, item in enumerate(_datasets(model.card, version), 1)]
    subject = _component(lib, inv, model, version)
    tool = lib.component.Component(type=lib.component.ComponentType.APPLICATION, name="mops",
                                   version=__version__)
    data_components = [_dataset_component(lib, ref, item) for ref, item in datasets]
    bom = lib.bom.Bom(
        components=data_components,
        metadata=lib.bom.BomMetaData(
            component=subject, timestamp=now, tools=lib.tool.ToolRepository(components=[tool]),
            lifecycles=[lib.lifecycle.NamedLifecycle(name=f"mops:{version.stage}")]))
    bom.register_dependency(subject, data_components)
    for component in data_components:
        bom.register_dependency(component)
    document = json.loads(lib.output.JsonV1Dot6(bom).output_as_string())
    component = document["metadata"]["component"]
    if component.get("bom-ref") != f"model:{version.ref}":  # pragma: no cover - a library change
        raise RuntimeError("the model component is not where the ML-BOM expects it")
    component["modelCard"] = _model_card(model, version, datasets)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    error = validate(text)
    if error is not None:
        raise RuntimeError(f"the ML-BOM of {version.ref} does not validate against CycloneDX "
                           f"{SPEC_VERSION}: {error}")
    return text
