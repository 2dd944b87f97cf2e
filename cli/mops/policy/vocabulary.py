"""The names a policy pack may use: card fields and evidence kinds, each with what it means.

A pack that names a card field or an evidence kind outside this vocabulary (and
outside the pack's own ``declares:``) is refused when it is loaded: a typo in a
selector would silently make a rule *n/a*, and a typo in a requirement would
make it fail forever. Packs extend the vocabulary for themselves::

    declares:
      card_fields: {business_line: "Line of business the model serves"}
      evidence_kinds: {acme-review: "Acme's annual model review memo"}

Card fields may be dotted (``review.last``). A dotted name is known when it is
listed, or when a parent is listed whose sub-fields are not enumerated
(``monitoring.thresholds`` is known because ``monitoring`` is, and no
``monitoring.*`` is listed; ``review.lst`` is not, because ``review.last`` and
``review.next`` are).
"""

from __future__ import annotations

from collections.abc import Mapping

#: The governance fields of a model card (DESIGN.md), and those the built-in packs read.
CARD_FIELDS: dict[str, str] = {
    "id": "The model id (the folder's name)",
    "name": "The model's name",
    "owner": "E-mail of the person accountable for the model",
    "developers": "E-mails of the people who developed it",
    "tier": "Materiality / risk rating, 1 = most material",
    "intended_use": "What the model is for, and its approved uses",
    "out_of_scope": "Uses the model is not for",
    "limitations": "Known limitations and restrictions on use",
    "inputs": "Input variables (input data specification)",
    "outputs": "What the model produces (expected output)",
    "data_sources": "Where the development and input data come from (provenance, lineage)",
    "dependencies": "Other models, systems and software the model depends on",
    "vendor": "true when the model comes from a vendor or other third party (origin)",
    "vendor_name": "The vendor or third party a vendor model comes from",
    "review": "Review dates",
    "review.last": "Date of the last review (YYYY-MM-DD)",
    "review.next": "Date of the next scheduled review (YYYY-MM-DD)",
    "approver": "Who approved the model for use (a person or a committee), as the inventory records it",
    "reviewer": "Who reviewed (validated) the model, as the inventory records it",
    "generative_ai": "true for generative or agentic AI (outside SR 26-2's scope, footnote 3)",
    "monitoring": "The monitoring plan `mops drift` reads (reference, features, prediction, label, "
                  "task, grade, segments, protected, thresholds)",
    "logging": "How events are logged over the lifetime (events, retention)",
    "human_oversight": "Human oversight: measures, and the people assigned",
}

#: Hugging Face model-card metadata keys (hub-docs modelcard.md), kept as they are.
HUGGING_FACE_KEYS: dict[str, str] = {
    key: "Hugging Face model-card metadata" for key in (
        "language", "license", "license_name", "license_link", "library_name", "tags", "datasets",
        "metrics", "base_model", "model-index", "model_name", "pipeline_tag", "thumbnail",
        "new_version", "widget", "inference", "co2_eq_emissions")
}

#: Standard evidence kinds (DESIGN.md, and those the built-in packs need).
EVIDENCE_KINDS: dict[str, str] = {
    "validation-report": "Report of an independent validation or review",
    "conceptual-soundness": "Review of design, construction and developmental testing",
    "outcomes-analysis": "Model outputs compared with actual outcomes (back-testing, outlier analysis)",
    "benchmarking": "Comparison with other models or data",
    "data-quality": "Data quality and suitability assessment",
    "fairness": "Bias / fairness / discriminatory-impact testing",
    "robustness": "Robustness testing",
    "performance-metrics": "Test sets, metrics and results",
    "monitoring-plan": "Plan for monitoring the model in use",
    "risk-assessment": "Risks identified, evaluated and mitigated",
    "human-oversight": "Assessment of the human-oversight measures",
    "instructions-for-use": "Instructions for use for deployers or users",
    "declaration-of-conformity": "EU declaration of conformity (AI Act Art. 47)",
    "fundamental-rights-impact-assessment": "Fundamental-rights impact assessment (AI Act Art. 27)",
    "development-documentation": "Documentation of the model's development (design, data, methods, "
                                 "testing)",
    "process-verification": "Verification that the implemented model and its data feeds work as "
                            "designed",
    "impact-assessment": "AI system impact assessment (effects on individuals, groups and society)",
    "third-party-due-diligence": "Due diligence on a third-party model, system or data",
    "change-explanation": "What changed in this version, and whether the change is material",
}


def is_known_field(name: str, extra: Mapping[str, str] = {}) -> bool:  # noqa: B006 - read only
    """Whether ``name`` is a standard card field, a Hugging Face key, or declared in ``extra``."""
    known = {**CARD_FIELDS, **HUGGING_FACE_KEYS, **extra}
    if name in known:
        return True
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:i])
        if parent in known:
            # Known parent: its sub-fields are free unless some are listed.
            return not any(k.startswith(parent + ".") for k in known)
    return False


def is_known_kind(kind: str, extra: Mapping[str, str] = {}) -> bool:  # noqa: B006 - read only
    return kind in EVIDENCE_KINDS or kind in extra
