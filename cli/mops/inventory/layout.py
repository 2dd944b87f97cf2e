"""Where everything is: the paths of an inventory, and mops's files in the git directory.

Paths are relative to the inventory's root (the folder holding ``mops.yaml``), with
``/`` separators, as records and messages name them; ``Inventory.git_path`` turns one
into the path git uses. Names are validated (:mod:`mops.inventory.names`) before they
are joined here.
"""

from __future__ import annotations

import re

SETTINGS_FILE = "mops.yaml"
MODELS_DIR = "models"
POLICIES_DIR = "policies"
TEMPLATES_DIR = "report_templates"
#: Optional SSH allowed-signers file (who may sign sign-offs).
ALLOWED_SIGNERS = ".mops/allowed_signers"

#: Everything of the inventory that its audit trail covers.
INVENTORY_PATHS = (SETTINGS_FILE, MODELS_DIR, POLICIES_DIR, ".mops", TEMPLATES_DIR)
#: Folders whose change (besides mops.yaml) puts every model in question.
GLOBAL_DIRS = (f"{POLICIES_DIR}/", ".mops/")
#: What mops's signing checks read from history: the models, settings and signers.
GOVERNED_PATHS = (MODELS_DIR, SETTINGS_FILE, ALLOWED_SIGNERS)

CARD_FILE = "card.md"
VERSION_FILE = "version.yaml"
FINDINGS = "findings"
VERSIONS = "versions"
EVIDENCE = "evidence"
APPROVALS = "approvals"
MONITORING = "monitoring"


def model_dir(model: str) -> str:
    return f"{MODELS_DIR}/{model}"


def card_path(model: str) -> str:
    return f"{MODELS_DIR}/{model}/{CARD_FILE}"


def versions_dir(model: str) -> str:
    return f"{MODELS_DIR}/{model}/{VERSIONS}"


def version_dir(model: str, version: str) -> str:
    return f"{MODELS_DIR}/{model}/{VERSIONS}/{version}"


def version_file(model: str, version: str) -> str:
    return f"{version_dir(model, version)}/{VERSION_FILE}"


def findings_dir(model: str) -> str:
    return f"{MODELS_DIR}/{model}/{FINDINGS}"


def finding_path(model: str, finding_id: str) -> str:
    return f"{findings_dir(model)}/{finding_id}.yaml"


def evidence_path(vdir: str, evidence_id: str) -> str:
    """The evidence record ``evidence_id`` of the version folder ``vdir``."""
    return f"{vdir}/{EVIDENCE}/{evidence_id}.yaml"


def evidence_file(evidence_id: str, name: str) -> str:
    """Where an evidence file is kept, relative to its version folder (as records name it)."""
    return f"{EVIDENCE}/files/{evidence_id}/{name}"


def approval_path(vdir: str, approval_id: str) -> str:
    return f"{vdir}/{APPROVALS}/{approval_id}.yaml"


def monitoring_path(vdir: str, record_id: str) -> str:
    return f"{vdir}/{MONITORING}/{record_id}.json"


def card_of_version(vdir: str) -> str:
    """The card of the model a version folder belongs to."""
    return f"{vdir.rsplit(f'/{VERSIONS}/', 1)[0]}/{CARD_FILE}"


def version_of_evidence(evidence_record: str) -> str:
    """The version folder an evidence record is in."""
    return evidence_record.rsplit(f"/{EVIDENCE}/", 1)[0]


#: Sign-off records, evidence records and evidence files: written once, never changed.
APPROVAL_RE = re.compile(rf"{MODELS_DIR}/[^/]+/{VERSIONS}/[^/]+/{APPROVALS}/[^/]+\.yaml")
EVIDENCE_RE = re.compile(rf"{MODELS_DIR}/[^/]+/{VERSIONS}/[^/]+/{EVIDENCE}/[^/]+\.yaml")
EVIDENCE_FILE_RE = re.compile(rf"{MODELS_DIR}/[^/]+/{VERSIONS}/[^/]+/{EVIDENCE}/files/.+")

# ----------------------------------------------------------------------------- the git directory

#: The write lock, in the git directory (``.git/mops.lock``).
LOCK_FILE = "mops.lock"
#: mops's caches, in the git directory (``.git/mops/``): each only saves time.
CACHE_DIR = "mops"
#: Parsed records by blob id, in sealed shards (:class:`mops.inventory.yamlio.ParseCache`).
RECORD_CACHE = "records"
DIGEST_CACHE = "digests.json"
#: The commit git's commit-graph was last brought up to (:func:`mops.git.index_history`).
GRAPH_STATE = "commit-graph.head"
TEMPLATE_CACHE = "templates"
