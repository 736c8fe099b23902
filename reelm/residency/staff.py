"""Staff are bound to their realm: the router gives them that realm's database only. Emergency access to another
realm ("break-glass") needs a written reason, lasts a set time, and is logged in the realm whose data it reaches,
with every request made under it; every refused attempt is logged there too."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from reelm.accounts.models import User
from reelm.core import realms
from reelm.core.errors import Forbidden, InvalidInput
from reelm.residency.models import AccessKind, StaffAccess

#: Where the session remembers the realm a staff member is working in under emergency access.
SESSION_KEY = "reelm_staff_realm"
REASON_MIN = 20
MINUTES_MAX = 240


def access_grant(*, staff: User, realm: str, reason: str, minutes: int) -> StaffAccess:
    """Open emergency access to ``realm`` for ``staff``, logged there with its reason."""
    if not staff.is_staff:
        raise Forbidden("Only staff may ask for emergency access.")
    if realm not in realms.realm_names() or realm == staff.home_realm:
        raise InvalidInput("Choose another realm of this deployment.")
    reason = reason.strip()
    if len(reason) < REASON_MIN:
        raise InvalidInput(
            f"Write why you need it, in {REASON_MIN} characters or more: it is kept in that realm's log."
        )
    if not 1 <= minutes <= MINUTES_MAX:
        raise InvalidInput(f"Emergency access lasts from 1 to {MINUTES_MAX} minutes.")
    with realms.working_for(realm):
        return StaffAccess.objects.create(
            kind=AccessKind.GRANT,
            staff_id=staff.id,
            staff_username=staff.username,
            staff_realm=staff.home_realm,
            reason=reason,
            expires_at=timezone.now() + timedelta(minutes=minutes),
        )


def access_active(*, staff: User, realm: str) -> StaffAccess | None:
    """The grant that lets ``staff`` into ``realm`` now, if any."""
    with realms.working_for(realm):
        grants = StaffAccess.objects.filter(
            kind=AccessKind.GRANT, staff_id=staff.id, expires_at__gt=timezone.now()
        ).order_by("-expires_at")
        return grants.first()


def access_log(*, staff: User, realm: str, kind: str, method: str = "", path: str = "", reason: str = "") -> None:
    with realms.working_for(realm):
        StaffAccess.objects.create(
            kind=kind,
            staff_id=staff.id,
            staff_username=staff.username,
            staff_realm=staff.home_realm,
            method=method[:10],
            path=path[:500],
            reason=reason,
        )
