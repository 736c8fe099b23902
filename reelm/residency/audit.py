"""``reelm realm audit``: where the data of a running deployment actually lies, realm by realm.

It reads every realm's database and store and reports each thing that is not where the declarations say it may
be: a protected row of an account that lives elsewhere, a replica carrying a protected field, a video that may not
leave its realm held as a replica, an object in a store whose account lives elsewhere, a session of another realm,
a directory entry pointing at a realm that does not hold the account. A clean audit finds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.sessions.models import Session

from reelm.accounts.models import User
from reelm.core import realms
from reelm.core.models import OwnedModel
from reelm.core.scopes import Scope, classification
from reelm.directory.models import Entry
from reelm.relations.models import Follow
from reelm.social.models import Comment
from reelm.storage.registry import media_store
from reelm.videos.models import Video, Visibility
from reelm.videos.states import VideoState

#: At most this many examples are kept per kind of finding and table.
EXAMPLES = 5


@dataclass
class Finding:
    realm: str
    kind: str  # protected-outside | row-outside | object-outside | directory
    where: str
    detail: str
    count: int = 1


@dataclass
class RealmScan:
    realm: str
    rows: int = 0
    objects: int = 0
    findings: list[Finding] = field(default_factory=list)

    def add(self, kind: str, where: str, detail: str, count: int = 1) -> None:
        self.findings.append(Finding(self.realm, kind, where, detail, count))


Progress = Callable[[str], None]


def audit(progress: Progress | None = None) -> list[RealmScan]:
    """Scan every realm; returns what each scan counted and found."""
    say = progress or (lambda _text: None)
    homes = _directory_homes()
    scans = []
    for realm in realms.realm_names():
        scan = RealmScan(realm)
        with realms.working_for(realm):
            say(f"{realm}: accounts")
            local = _accounts(scan, homes)
            say(f"{realm}: protected rows")
            _protected_rows(scan, local)
            _sessions(scan, local)
            say(f"{realm}: replicas")
            _public_rows(scan)
            say(f"{realm}: store")
            _store(scan, local, homes)
        scans.append(scan)
    say("directory")
    _directory(scans, homes)
    return scans


def _directory_homes() -> dict[uuid.UUID, str]:
    return dict(Entry.objects.values_list("account_id", "realm"))


def _accounts(scan: RealmScan, homes: dict[uuid.UUID, str]) -> set[uuid.UUID]:
    """The accounts at home here; a replica must carry nothing protected, and every account must be where the
    directory says."""
    local: set[uuid.UUID] = set()
    roles = set(User.groups.through.objects.values_list("user_id", flat=True))
    roles |= set(User.user_permissions.through.objects.values_list("user_id", flat=True))
    for user in User.objects.all().iterator(chunk_size=2000):
        scan.rows += 1
        listed = homes.get(user.id)
        if user.home_realm == scan.realm:
            local.add(user.id)
            if realms.configured() and listed != scan.realm:
                scan.add("directory", f"accounts_user @{user.username}", f"lives here, the directory says {listed!r}")
            continue
        if listed != user.home_realm:
            scan.add(
                "directory", f"accounts_user @{user.username}", f"a replica of {user.home_realm!r}, listed {listed!r}"
            )
        carried = [
            name
            for name, present in (
                ("email", bool(user.email)),
                ("password", user.has_usable_password()),
                ("last_login", user.last_login is not None),
                ("first_name", bool(user.first_name)),
                ("last_name", bool(user.last_name)),
                ("is_staff", user.is_staff),
                ("is_superuser", user.is_superuser),
            )
            if present
        ]
        if user.id in roles:
            carried.append("staff roles")
        if carried:
            scan.add(
                "protected-outside",
                f"accounts_user @{user.username}",
                f"the replica of an account of {user.home_realm!r} holds {', '.join(carried)}",
            )
    return local


def _protected_rows(scan: RealmScan, local: set[uuid.UUID]) -> None:
    """Every row of a protected model that belongs to an account must belong to one at home here."""
    for label, found, model in classification():
        if found.scope is not Scope.PROTECTED or not issubclass(model, OwnedModel) or found.derived:
            continue
        rows = model._default_manager.all()
        scan.rows += rows.count()
        outside = rows.exclude(owner__home_realm=scan.realm)
        count = outside.count()
        if count:
            ids = ", ".join(str(i) for i in outside.values_list("id", flat=True)[:EXAMPLES])
            scan.add(
                "protected-outside",
                model._meta.db_table,
                f"{count} {label} rows of other realms' accounts: {ids}",
                count,
            )


def _sessions(scan: RealmScan, local: set[uuid.UUID]) -> None:
    for session in Session.objects.all().iterator(chunk_size=2000):
        scan.rows += 1
        if realms.configured() and not session.session_key.startswith(f"{scan.realm}-"):
            scan.add("protected-outside", "django_session", f"a session of another realm ({session.session_key[:12]}…)")
            continue
        user_id = session.get_decoded().get("_auth_user_id")
        if user_id and uuid.UUID(str(user_id)) not in local:
            scan.add("protected-outside", "django_session", f"a session of account {user_id}, who lives elsewhere")


def _public_rows(scan: RealmScan) -> None:
    """Replicas must be of what may leave its realm, without what may not."""
    replicas = Video.objects.exclude(owner__home_realm=scan.realm).select_related("owner")
    for video in replicas.iterator(chunk_size=2000):
        scan.rows += 1
        if video.visibility != Visibility.PUBLIC or video.state != VideoState.READY or video.owner.is_private:
            scan.add(
                "protected-outside",
                "videos_video",
                f"video {video.id} of {video.owner.home_realm!r} is {video.visibility}, {video.state}"
                f"{', by a private account' if video.owner.is_private else ''}: it may not leave its realm",
            )
        if video.source_key or video.source_sha256 or video.source_size or video.attempt_prefix:
            scan.add("protected-outside", "videos_video", f"the replica of video {video.id} holds its upload's details")
    strays = Follow.objects.exclude(owner__home_realm=scan.realm).exclude(followee__home_realm=scan.realm)
    if strays.exists():
        scan.add("row-outside", "social_follow", f"{strays.count()} follows between accounts of other realms")
    # Another realm's comment may be here only with a public video: a replica, or one of ours that is replicated.
    comments = Comment.objects.exclude(owner__home_realm=scan.realm).filter(
        video__owner__home_realm=scan.realm, video__replicated=False
    )
    if comments.exists():
        scan.add(
            "protected-outside",
            "social_comment",
            f"{comments.count()} comments of other realms on a video here that is not public",
        )


def _store(scan: RealmScan, local: set[uuid.UUID], homes: dict[uuid.UUID, str]) -> None:
    """Every object of the realm's store belongs to an account at home here (by the id in its key)."""
    video_owner = dict(Video.objects.values_list("id", "owner_id"))
    for info in media_store(scan.realm).list(""):
        scan.objects += 1
        top, _slash, rest = info.key.partition("/")
        try:
            key_id = uuid.UUID(rest.partition("/")[0])
        except ValueError:
            continue  # not an account's (a health check's probe)
        if top in ("videos", "originals"):
            owner = video_owner.get(key_id)
            if owner is not None and owner in local:
                continue
            home = homes.get(owner) if owner is not None else _home_of_video(key_id)
            if home is None:
                continue  # a deleted video's leftover: nobody's data to misplace
            scan.add("object-outside", info.key, f"media of a video of {home!r}")
        elif top == "avatars" and key_id not in local and key_id in homes:
            scan.add("object-outside", info.key, f"the avatar of an account of {homes[key_id]!r}")


def _home_of_video(video_id: uuid.UUID) -> str | None:
    """The realm whose account owns ``video_id``, looked for in every other realm."""
    here = realms.current_realm()
    for realm in realms.realm_names():
        if realm == here:
            continue
        with realms.working_for(realm):
            owner = Video.objects.filter(id=video_id).values_list("owner__home_realm", flat=True).first()
            if owner == realm:
                return realm
    return None


def _directory(scans: list[RealmScan], homes: dict[uuid.UUID, str]) -> None:
    if not realms.configured():
        return
    held: dict[str, set[uuid.UUID]] = {}
    for realm in realms.realm_names():
        with realms.working_for(realm):
            held[realm] = set(User.objects.filter(home_realm=realm).values_list("id", flat=True))
    first = scans[0]
    for account_id, realm in homes.items():
        if account_id not in held.get(realm, set()):
            first.add("directory", "directory_entry", f"account {account_id} is listed in {realm!r}, which lacks it")


def findings_json(scans: list[RealmScan]) -> dict[str, Any]:
    findings = [asdict(f) for scan in scans for f in scan.findings]
    return {
        "clean": not findings,
        "realms": [
            {"realm": s.realm, "rows": s.rows, "objects": s.objects, "findings": len(s.findings)} for s in scans
        ],
        "findings": findings,
    }
