"""Identities the platform issues and verifies: credentials bound to a principal, kept as hashes.

A credential is `mesh_<id>_<secret>`: the id finds its record, the secret (256 random bits) proves it.
The registry (`<lake>/_platform/identities.json`, mode 0600, rewritten atomically under a lock) keeps
only the SHA-256 of each credential: a random secret of that size needs no salt or slow hash, and a
copy of the registry lets no one present a credential. Principals are `domain:<d>` (a consumer
domain), `team:<d>` (the team owning domain d's products) and `admin` (issues and revokes).

With no registry the lake is in local mode (see credentials.py): `mesh identity init` turns
enforcement on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mesh_platform.storage.layout import platform_path
from mesh_platform.storage.permissions import exclusive_lock, replace_private

ADMIN = "admin"
PRINCIPAL = re.compile(r"^(admin|(domain|team):[A-Za-z][A-Za-z0-9_]*)$")  # a contract's domain identifier
TOKEN = re.compile(r"^mesh_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
DEFAULT_EXPIRY = "90d"
FORMAT = 1


class IdentityError(PermissionError):
    """A credential that is missing, unknown, expired, revoked or not for the claimed principal."""

    def __init__(self, message: str, principal: str | None = None):
        super().__init__(message)
        self.principal = principal  # whose credential failed, when known (an expired or revoked one)


@dataclass(frozen=True)
class Credential:
    """A registry record: everything about a credential except its secret."""

    id: str
    principal: str
    sha256: str
    issued_at: str
    issued_by: str
    expires_at: str | None = None
    revoked_at: str | None = None
    revoked_by: str | None = None

    def state(self, now: datetime) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and datetime.fromisoformat(self.expires_at) <= now:
            return "expired"
        return "active"


def registry_path(lake_root: Path) -> Path:
    return platform_path(lake_root, "identities.json")


def registry_exists(lake_root: Path) -> bool:
    """Fails closed: a registry this process cannot even see is an error, not local mode."""
    path = registry_path(lake_root)
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise IdentityError(f"cannot check for an identity registry at {path} ({exc.strerror})") from None
    return True


def check_principal(principal: str) -> str:
    if not PRINCIPAL.match(principal):
        raise ValueError(f"principal {principal!r}: expected admin, domain:<domain> or team:<domain> "
                         "(e.g. domain:marketing)")
    return principal


def parse_expiry(text: str) -> timedelta | None:
    """`30d`, `12h`, `45m`, `90s`, or `never`."""
    if text == "never":
        return None
    match = DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--expires {text!r}: expected a duration such as 30d, 12h, 45m, 90s, or never")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_id(token: str) -> str | None:
    """The id of a well-formed credential, None for anything else (without echoing it)."""
    match = TOKEN.match(token.strip())
    return match.group(1) if match else None


def _now() -> datetime:
    return datetime.now(UTC)


# --- the registry file ----------------------------------------------------------------------------------

def _refuse_loose_mode(path: Path) -> None:
    """A registry others can write would let them add credentials: refuse it instead of trusting it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        raise IdentityError(f"{path} is writable by others (mode {mode:04o}): run chmod 600 {path}")


def _read(path: Path) -> list[Credential]:
    _refuse_loose_mode(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise IdentityError(f"cannot read {path} ({exc.strerror}): credentials are verified by the process "
                            "that acts, so it must be able to read the registry") from None
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        return [Credential(**record) for record in data["credentials"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise IdentityError(f"{path} is not a mesh identity registry ({exc}); restore it from a backup") from None


def _write(path: Path, credentials: list[Credential]) -> None:
    """Atomically: readers see the previous registry or the new one, never half a file."""
    replace_private(path, json.dumps({"format": FORMAT, "credentials": [asdict(c) for c in credentials]}, indent=2))


@contextmanager
def _locked(lake_root: Path) -> Iterator[Path]:
    """Serialises read-modify-write of the registry (two admins issuing at once both keep theirs)."""
    path = registry_path(lake_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(path.with_name("identities.lock")):
        yield path


def credentials(lake_root: Path) -> list[Credential]:
    """Every credential ever issued in this lake, oldest first (empty in local mode)."""
    return _read(registry_path(lake_root)) if registry_exists(lake_root) else []


# --- issue, verify, revoke -----------------------------------------------------------------------------

def _new(principal: str, expires: timedelta | None, issued_by: str, taken: set[str]) -> tuple[Credential, str]:
    while True:
        new_id = secrets.token_hex(6)
        if new_id not in taken:
            break
    token = f"mesh_{new_id}_{secrets.token_urlsafe(32)}"
    now = _now()
    record = Credential(
        id=new_id, principal=check_principal(principal), sha256=digest(token),
        issued_at=now.isoformat(timespec="seconds"), issued_by=issued_by,
        expires_at=(now + expires).isoformat(timespec="seconds") if expires else None,
    )
    return record, token


def _owns(path: Path) -> bool:
    return os.geteuid() in {0, path.stat().st_uid}


def init(lake_root: Path, expires: timedelta | None, recover: bool = False) -> tuple[Credential, str]:
    """The first admin credential, which turns enforcement on; only the lake folder's owner may do it.

    `recover` adds an admin credential to an existing registry, for its file's owner who lost theirs
    (that owner can edit the file anyway, so this grants nothing new).
    """
    lake_root = Path(lake_root)
    lake_root.mkdir(parents=True, exist_ok=True)
    if not _owns(lake_root):
        raise IdentityError(f"only the owner of {lake_root} (uid {lake_root.stat().st_uid}) may run mesh identity init")
    with _locked(lake_root) as path:
        existing = _read(path) if path.exists() else None
        if existing is not None and not recover:
            raise IdentityError(f"{path} exists: enforcement is on already; an admin issues credentials "
                                "(mesh identity issue), or its owner runs mesh identity init --recover")
        if existing is not None and not _owns(path):
            raise IdentityError(f"only the owner of {path} may recover an admin credential")
        record, token = _new(ADMIN, expires, "init" if existing is None else "init --recover",
                             {c.id for c in existing or []})
        _write(path, [*(existing or []), record])
    return record, token


def verify(lake_root: Path, token: str) -> Credential:
    """The active credential `token` is; IdentityError naming why not (never quoting the secret)."""
    found_id = token_id(token)
    if found_id is None:
        raise IdentityError("the credential presented is not a mesh credential (expected mesh_<id>_<secret>)")
    record = next((c for c in credentials(lake_root) if c.id == found_id), None)
    # Compare digests in constant time: timing must not tell how much of a guessed secret was right.
    if record is None or not hmac.compare_digest(record.sha256, digest(token.strip())):
        raise IdentityError(f"credential {found_id} is not known to {registry_path(lake_root)} "
                            "(wrong secret, or issued for another lake)")
    state = record.state(_now())
    if state == "revoked":
        raise IdentityError(f"credential {record.id} for {record.principal} was revoked at {record.revoked_at} "
                            f"by {record.revoked_by}; ask an admin for a new one", record.principal)
    if state == "expired":
        raise IdentityError(f"credential {record.id} for {record.principal} expired at {record.expires_at}; "
                            f"ask an admin for a new one (mesh identity issue --principal {record.principal})",
                            record.principal)
    return record


def require_admin(lake_root: Path, tokens: list[str]) -> Credential:
    if not registry_exists(lake_root):
        raise IdentityError(f"no identity registry in {registry_path(lake_root).parent}: "
                            "run mesh identity init first (it creates the first admin credential)")
    failures = []
    for token in tokens:
        try:
            record = verify(lake_root, token)
        except IdentityError as exc:
            failures.append(str(exc))
            continue
        if record.principal == ADMIN:
            return record
    raise IdentityError("this needs an admin credential (MESH_TOKEN or the credentials file)"
                        + (f"; {'; '.join(failures)}" if failures else ""))


def issue(lake_root: Path, principal: str, expires: timedelta | None, admin: Credential) -> tuple[Credential, str]:
    """A new credential for `principal`; the token is returned once and never stored."""
    check_principal(principal)
    with _locked(lake_root) as path:
        existing = _read(path)
        record, token = _new(principal, expires, f"admin {admin.id}", {c.id for c in existing})
        _write(path, [*existing, record])
    return record, token


def revoke(lake_root: Path, credential_id: str, by: Credential) -> Credential:
    """Revokes a credential: by an admin, or by a holder of the same principal (e.g. a leaked token)."""
    with _locked(lake_root) as path:
        existing = _read(path)
        record = next((c for c in existing if c.id == credential_id), None)
        if record is None:
            raise IdentityError(f"no credential {credential_id!r} in {path} (see mesh identity list)")
        if by.principal not in {ADMIN, record.principal}:
            raise IdentityError(f"{by.principal} may not revoke credential {credential_id} of {record.principal}: "
                                "only an admin or a holder of the same principal")
        if record.revoked_at:
            raise IdentityError(f"credential {credential_id} is already revoked (at {record.revoked_at})")
        revoked = replace(record, revoked_at=_now().isoformat(timespec="seconds"), revoked_by=by.principal)
        _write(path, [revoked if c.id == credential_id else c for c in existing])
    return revoked
