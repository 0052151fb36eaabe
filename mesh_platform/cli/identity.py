"""`mesh identity`: turn enforcement on, issue, list and revoke credentials, and see who you are."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mesh_platform import settings
from mesh_platform.access import identity as registry
from mesh_platform.access.credentials import (
    Identity,
    authenticate,
    credentials_file,
    presented_tokens,
    save_token,
)
from mesh_platform.cli.output import DENIED, fail

app = typer.Typer(help="Credentials: who may act as which domain or owner team.", no_args_is_help=True)
console = Console(soft_wrap=True)  # paths and ids on one line, whatever the terminal's width
_stderr = Console(stderr=True, soft_wrap=True)

EXPIRES_HELP = "How long it is valid: 30d, 12h, 45m, 90s, or never."


def acting_as(lake_root: Path, accepted: tuple[str, ...]) -> Identity:
    """For commands that act as a domain or team: the verified identity, or exit 3 in one line.

    In local mode the claim is taken as given and one line on stderr says so.
    """
    try:
        identity = authenticate(lake_root, accepted)
    except registry.IdentityError as exc:
        raise fail(str(exc), DENIED) from None
    if identity.notice():
        _stderr.print(identity.notice(), markup=False, highlight=False)
    return identity


def _admin(lake_root: Path) -> registry.Credential:
    try:
        return registry.require_admin(lake_root, presented_tokens())
    except registry.IdentityError as exc:
        raise fail(str(exc), DENIED) from None


def _expiry(text: str):
    try:
        return registry.parse_expiry(text)
    except ValueError as exc:
        raise fail(str(exc)) from None


def _hand_over(record: registry.Credential, token: str, save: bool) -> None:
    """The secret leaves the platform here, once: printed, or appended to the credentials file."""
    expires = record.expires_at or "never"
    if save:
        try:
            path = save_token(token)
        except registry.IdentityError as exc:
            raise fail(str(exc)) from None
        console.print(f"credential {record.id} for {record.principal} (expires {expires}) saved to {path}")
        return
    console.print(f"credential {record.id} for {record.principal} (expires {expires}); shown once, keep it secret:")
    print(token)
    console.print(f"use it: export MESH_TOKEN=... or add it to {credentials_file()} (mode 0600)")


@app.command("init")
def init_command(
    expires: str = typer.Option(registry.DEFAULT_EXPIRY, "--expires", help=EXPIRES_HELP),
    save: bool = typer.Option(False, "--save", help="Append the credential to the credentials file, not stdout."),
    recover: bool = typer.Option(False, "--recover", help="Registry owner only: a new admin credential."),
) -> None:
    """Turn enforcement on: create the identity registry and the first admin credential (lake owner only)."""
    lake_root = settings.lake_root()
    try:
        record, token = registry.init(lake_root, _expiry(expires), recover)
    except registry.IdentityError as exc:
        raise fail(str(exc), DENIED) from None
    console.print(f"identity registry {registry.registry_path(lake_root)}: enforcement is on")
    _hand_over(record, token, save)


@app.command("issue")
def issue_command(
    principal: str = typer.Option(..., "--principal", help="domain:<d> (a consumer), team:<d> (an owner) or admin."),
    expires: str = typer.Option(registry.DEFAULT_EXPIRY, "--expires", help=EXPIRES_HELP),
    save: bool = typer.Option(False, "--save", help="Append the credential to the credentials file, not stdout."),
) -> None:
    """Issue a credential for a principal (admin only); its secret is shown once."""
    lake_root = settings.lake_root()
    admin = _admin(lake_root)
    try:
        record, token = registry.issue(lake_root, principal, _expiry(expires), admin)
    except (ValueError, registry.IdentityError) as exc:
        raise fail(str(exc)) from None
    _hand_over(record, token, save)


@app.command("list")
def list_command(
    output: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Every credential issued in this lake, with its state (admin only; never shows secrets)."""
    lake_root = settings.lake_root()
    _admin(lake_root)
    now = datetime.now(UTC)
    rows = [{"id": c.id, "principal": c.principal, "state": c.state(now), "issued_at": c.issued_at,
             "issued_by": c.issued_by, "expires_at": c.expires_at, "revoked_at": c.revoked_at}
            for c in registry.credentials(lake_root)]
    if output == "json":
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Credentials of {lake_root}")
    for column in ("id", "principal", "state", "issued_at", "issued_by", "expires_at", "revoked_at"):
        table.add_column(column, no_wrap=column in {"id", "principal", "state"}, overflow="fold")
    for row in rows:
        table.add_row(*[row[k] or "" for k in ("id", "principal", "state", "issued_at", "issued_by",
                                               "expires_at", "revoked_at")])
    console.print(table)


@app.command("revoke")
def revoke_command(credential_id: str = typer.Argument(..., help="The credential's id (mesh identity list).")) -> None:
    """Revoke a credential at once (an admin, or a holder of the same principal)."""
    lake_root = settings.lake_root()
    if not registry.registry_exists(lake_root):
        raise fail(f"no identity registry in {registry.registry_path(lake_root).parent}: nothing to revoke")
    try:
        tokens = presented_tokens()
        holders = []
        for token in tokens:
            try:
                holders.append(registry.verify(lake_root, token))
            except registry.IdentityError:
                continue
        if not holders:
            raise registry.IdentityError("revoking needs an admin credential or one of the same principal "
                                         "(MESH_TOKEN or the credentials file)")
        target = next((c for c in registry.credentials(lake_root) if c.id == credential_id), None)
        by = next((h for h in holders if h.principal == registry.ADMIN), None) or next(
            (h for h in holders if target and h.principal == target.principal), holders[0])
        revoked = registry.revoke(lake_root, credential_id, by)
    except registry.IdentityError as exc:
        raise fail(str(exc), DENIED) from None
    console.print(f"revoked credential {revoked.id} of {revoked.principal}")


@app.command("whoami")
def whoami_command() -> None:
    """The principals your credentials verify as in this lake (or that it runs in local mode)."""
    lake_root = settings.lake_root()
    if not registry.registry_exists(lake_root):
        console.print(f"local mode: no identity registry in {registry.registry_path(lake_root).parent}; "
                      "--as and --by are taken as given (run mesh identity init to enforce)")
        return
    try:
        tokens = presented_tokens()
    except registry.IdentityError as exc:
        raise fail(str(exc), DENIED) from None
    if not tokens:
        raise fail(f"no credential presented: set MESH_TOKEN or add one to {credentials_file()}", DENIED)
    verified = 0
    for token in tokens:
        try:
            record = registry.verify(lake_root, token)
        except registry.IdentityError as exc:
            _stderr.print(f"not verified: {exc}", markup=False, highlight=False)
            continue
        verified += 1
        console.print(f"{record.principal} (credential {record.id}, expires {record.expires_at or 'never'})")
    if not verified:
        raise typer.Exit(DENIED)
