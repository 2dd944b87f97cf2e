"""Who may grant a policy exception, for how long, and who may close a finding.

``mops.yaml`` says, with these defaults::

    exceptions:
      granted_by: [risk-officer]            # roles whose members may grant exceptions
      max_days: 365                         # the longest an exception may run (practice)
    findings:
      closed_by: [validator, risk-officer]  # roles whose members may close anyone's finding
    attestations:
      signed_by: [validator, risk-officer]  # roles whose members may sign attestations

- An exception is granted by someone listed for a ``granted_by`` role who is
  independent of the model: not its owner, not one of its developers, and not the
  registrant of the version it covers (of any version, for a model-wide one). It runs
  from the day it is granted to its expiry, at most ``max_days``.
- A finding is closed by the person who raised it, or by someone listed for a
  ``closed_by`` role who is independent of the model in the same way. An exception
  is withdrawn by its grantor or by anyone who may grant exceptions (withdrawing only
  makes the gate stricter).

- An attestation (``mops attest``) is signed by someone listed for a ``signed_by`` role
  who is independent of the model in the same way (for the version it attests).

``mops waive`` and ``mops finding close`` refuse what this forbids; ``mops check``
does not count an exception or a closure it forbids (a record written by hand), as it
does not count a sign-off by someone no longer listed for the role. Each function
returns the reason, naming the setting, or None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from mops import clock
from mops.inventory.records import Finding, Settings
from mops.inventory.store import Model, Version


def ties(model: Model, person: str, versions: Sequence[Version]) -> list[str]:
    """How ``person`` is tied to the model (its owner, a developer, a registrant of ``versions``)."""
    person = person.lower()
    card = model.card
    out = []
    if card.owner and card.owner.lower() == person:
        out.append("the model's owner")
    if person in (d.lower() for d in card.developers):
        out.append("a developer of the model")
    registered = [v.version for v in versions if v.record.registered_by.lower() == person]
    if registered:
        out.append(f"the person who registered version {', '.join(registered)}")
    return out


def _roles_of(settings: Settings, person: str, roles: Sequence[str]) -> list[str]:
    return [role for role in roles if person.lower() in settings.people_for(role)]


def _words(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return items[0] if items else "no role"
    return ", ".join(items[:-1]) + " and " + items[-1]


def may_grant(settings: Settings, person: str) -> bool:
    return bool(_roles_of(settings, person, settings.exception_granters))


def grant_problem(settings: Settings, model: Model, version: Version | None, person: str, *,
                  granted: dt.date, expires: dt.date) -> str | None:
    """Why ``person`` may not grant an exception on ``model`` (``version``, or all of them)
    from ``granted`` to ``expires``; None when they may."""
    roles = settings.exception_granters
    if not may_grant(settings, person):
        listed = sorted({p for r in roles for p in settings.people_for(r)})
        return (f"{person} may not grant exceptions: only people listed for "
                f"{_words(list(roles))} in mops.yaml may (exceptions.granted_by; listed: "
                f"{', '.join(listed) or 'no one'})")
    tied = ties(model, person, [version] if version is not None else model.versions)
    if tied:
        return (f"{person} may not grant an exception on {model.id}: whoever grants one must be "
                f"independent of the model, and {person} is {_words(tied)}")
    days = (expires - granted).days
    if days > settings.max_exception_days:
        latest = granted + dt.timedelta(days=settings.max_exception_days)
        return (f"an exception may run at most {settings.max_exception_days} days "
                f"(exceptions.max_days in mops.yaml); from {granted.isoformat()} to "
                f"{expires.isoformat()} is {days} days: the latest expiry allowed is "
                f"{latest.isoformat()}")
    return None


def exception_problem(settings: Settings, model: Model, version: Version,
                      exception: Finding, today: dt.date) -> str | None:
    """Why an open exception does not count for ``version`` (None when it does)."""
    granter = exception.approved_by or exception.opened_by
    opened = clock.parse_timestamp(exception.opened_at)
    if not granter or opened is None or exception.expires is None:
        return "it does not say who granted it and when"
    if opened.date() > today + dt.timedelta(days=1):  # a day for clocks that differ
        return f"it is dated {opened.date().isoformat()}, in the future"
    return grant_problem(settings, model, version if exception.version else None, granter,
                         granted=opened.date(), expires=exception.expires)


def close_problem(settings: Settings, model: Model, finding: Finding, person: str) -> str | None:
    """Why ``person`` may not close ``finding`` (or withdraw an exception); None when they may."""
    person = person.lower()
    if finding.kind == "exception":
        granter = (finding.approved_by or finding.opened_by or "").lower()
        if person == granter or may_grant(settings, person):
            return None
        return (f"{person} may not withdraw exception {finding.id}: only its grantor "
                f"({granter or 'not recorded'}) or someone who may grant exceptions "
                f"(exceptions.granted_by in mops.yaml) may")
    if person == finding.opened_by.lower():
        return None
    roles = settings.finding_closers
    if not _roles_of(settings, person, roles):
        return (f"{person} may not close {finding.id}: only the person who raised it "
                f"({finding.opened_by or 'not recorded'}) or someone listed for "
                f"{_words(list(roles))} in mops.yaml may (findings.closed_by)")
    versions = [v for v in model.versions if v.version == finding.version]
    tied = ties(model, person, versions)
    if tied:
        return (f"{person} may not close {finding.id}, raised by {finding.opened_by or 'someone'}: "
                f"whoever closes another person's finding must be independent of the model, and "
                f"{person} is {_words(tied)}")
    return None


def attest_problem(settings: Settings, model: Model, version: Version, person: str) -> str | None:
    """Why ``person`` may not sign an attestation for ``version``; None when they may."""
    roles = settings.attesters
    if not _roles_of(settings, person, roles):
        listed = sorted({p for r in roles for p in settings.people_for(r)})
        return (f"{person} may not sign attestations: only people listed for "
                f"{_words(list(roles))} in mops.yaml may (attestations.signed_by; listed: "
                f"{', '.join(listed) or 'no one'})")
    tied = ties(model, person, [version])
    if tied:
        return (f"{person} may not attest {version.ref}: whoever signs an attestation must be "
                f"independent of the model, and {person} is {_words(tied)}")
    return None
