"""Who is asking: the credentials a client presents (MESH_TOKEN or a credentials file), checked
against the principal it claims to act as.

Reading as domain d needs a credential for `domain:d` or `team:d` (the owning team reads its own
domain's products); deciding for a team needs that team's. A lake without an identity registry is in
local mode: claims are taken as given and every caller is told so, so a fresh sample works without
ceremony until `mesh identity init` turns enforcement on (MESH_IDENTITY=enforce refuses local mode).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from mesh_platform import settings
from mesh_platform.access.identity import IdentityError, registry_exists, registry_path, verify

DEFAULT_CREDENTIALS_FILE = Path("~/.config/mesh/credentials")


class LocalIdentityWarning(UserWarning):
    """A read in local mode: the consumer it claims to be is not verified."""


@dataclass(frozen=True)
class Identity:
    principal: str
    credential_id: str | None  # None in local mode: the principal is claimed, not proven
    lake_root: Path

    @property
    def verified(self) -> bool:
        return self.credential_id is not None

    def notice(self) -> str | None:
        """The one line that says an identity was not verified, or None when it was."""
        if self.verified:
            return None
        return (f"identity: local mode (no registry in {registry_path(self.lake_root).parent}): acting as "
                f"{self.principal} unverified; run mesh identity init to enforce")


def domain_principals(domain: str) -> tuple[str, ...]:
    """Who may act as consumer domain `domain`: its consumer credential or its owning team's."""
    return f"domain:{domain}", f"team:{domain}"


def credentials_file() -> Path:
    return (settings.credentials_file() or DEFAULT_CREDENTIALS_FILE).expanduser()


def presented_tokens() -> list[str]:
    """MESH_TOKEN if set, else each credential line of the credentials file (if any)."""
    token = settings.token()
    if token:
        return [token.strip()]
    path = credentials_file()
    if not path.exists():
        if settings.credentials_file():
            raise IdentityError(f"MESH_CREDENTIALS_FILE={path}: no such file")
        return []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:  # like ssh with a private key: a credential others can read is no longer secret
        raise IdentityError(f"{path} is accessible by others (mode {mode:04o}): its credentials are refused; "
                            f"run chmod 600 {path}")
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def save_token(token: str) -> Path:
    """Appends `token` to the credentials file, created with mode 0600."""
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise IdentityError(f"{path} is accessible by others (mode {mode:04o}): run chmod 600 {path} first")
    with path.open("a") as out:
        out.write(token + "\n")
    return path


def authenticate(lake_root: Path, accepted: tuple[str, ...], token: str | None = None) -> Identity:
    """The verified identity acting as one of `accepted` (the first is the one claimed).

    `token` is a credential given directly (the read API's `credential=`); else the presented ones.
    IdentityError, in one line naming why, when none of them is an active credential for `accepted`.
    """
    if not registry_exists(lake_root):
        if settings.identity_mode() == "enforce":
            raise IdentityError(f"MESH_IDENTITY=enforce, but {registry_path(lake_root).parent} has no identity "
                                "registry: run mesh identity init")
        return Identity(accepted[0], None, lake_root)
    tokens = [token] if token else presented_tokens()
    wanted = " or ".join(accepted)
    if not tokens:
        raise IdentityError(
            f"acting as {accepted[0]} needs a credential for {wanted}: set MESH_TOKEN or add it to "
            f"{credentials_file()} (an admin issues one: mesh identity issue --principal {accepted[0]})"
        )
    for_others, failures = [], []
    for presented in tokens:
        try:
            record = verify(lake_root, presented)
        except IdentityError as exc:
            failures.append(exc)
            continue
        if record.principal in accepted:
            return Identity(record.principal, record.id, lake_root)
        for_others.append(f"{record.principal} ({record.id})")
    # The most useful reason first: a credential for the claim that expired or was revoked.
    relevant = [str(f) for f in failures if f.principal in accepted]
    if relevant:
        raise IdentityError(relevant[0])
    if for_others:
        raise IdentityError(f"the credentials presented are for {', '.join(for_others)}, not {wanted}: "
                            f"acting as {accepted[0]} needs a credential issued for it")
    raise IdentityError("; ".join(str(f) for f in failures))
