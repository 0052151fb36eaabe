"""`mesh access`: request read access to a product; its owner grants (a contract change) or denies."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mesh_platform import settings
from mesh_platform.access import requests as access_requests
from mesh_platform.access.change import propose_consumer
from mesh_platform.access.credentials import domain_principals
from mesh_platform.cli.identity import acting_as
from mesh_platform.cli.output import fail
from mesh_platform.mesh import contract_file, find_contract
from mesh_platform.mesh import domains_dir as mesh_domains_dir

app = typer.Typer(help="Request, grant and deny read access to products.", no_args_is_help=True)
console = Console()


@app.command("request")
def request_command(
    product: str = typer.Argument(..., help="DOMAIN.PRODUCT"),
    as_domain: str = typer.Option(..., "--as", help="The domain that needs to read it."),
    reason: str = typer.Option(..., "--reason", help="What the data is for."),
) -> None:
    """Ask a product's owner for read access (needs a credential for --as once enforcement is on)."""
    identity = acting_as(settings.lake_root(), domain_principals(as_domain))
    try:
        request = access_requests.request_access(settings.lake_root(), find_contract(product), as_domain, reason,
                                                 identity)
    except (LookupError, access_requests.RequestError) as exc:
        raise fail(str(exc)) from None
    console.print(f"request {request.request_id}: {as_domain} asks {request.owner} to read {product}")


@app.command("list")
def list_command(
    owner: str | None = typer.Option(None, "--owner", help="Only requests to this team, e.g. team:sales."),
    status: str = typer.Option("pending", "--status", help="pending, granted, denied or all."),
) -> None:
    """Access requests per owner team (pending ones by default)."""
    found = [
        r for r in access_requests.requests(settings.lake_root())
        if (owner is None or r.owner == owner) and status in {"all", r.status}
    ]
    if not found:
        console.print(f"no {'' if status == 'all' else status + ' '}access requests")
        return
    table = Table(title=f"Access requests ({status})")
    for column in ("owner", "id", "product", "consumer", "reason", "status", "decision"):
        table.add_column(column, overflow="fold")
    for r in sorted(found, key=lambda r: (r.owner, r.at)):
        table.add_row(r.owner, r.request_id, r.product, r.consumer, escape(r.reason), r.status, escape(r.note or ""))
    console.print(table)


@app.command("grant")
def grant_command(
    request_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--by", help="The owner team deciding, e.g. team:sales."),
    domains_dir: Path | None = typer.Option(None, "--domains-dir",
                                            help="Folder holding the domain folders (default: the mesh's)."),
) -> None:
    """Grant a request: proposes the contract change (a git branch) for review and merge.

    Needs the credential of the --by team once enforcement is on; the request says which team decides.
    """
    domains_dir = domains_dir or mesh_domains_dir()
    identity = acting_as(settings.lake_root(), (by,))

    def propose(request: access_requests.AccessRequest) -> str:
        return propose_consumer(contract_file(request.product, domains_dir), request.consumer,
                                request.request_id, by)

    try:
        request = access_requests.grant(settings.lake_root(), request_id, identity, propose)
    except access_requests.RequestError as exc:
        raise fail(str(exc)) from None
    console.print(f"granted {request.request_id} ({request.consumer} -> {request.product}); {escape(request.note)}")


@app.command("deny")
def deny_command(
    request_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--by", help="The owner team deciding, e.g. team:sales."),
    reason: str = typer.Option(..., "--reason", help="Why, for the requester."),
) -> None:
    """Deny a request, with the reason the requester will see (needs the --by team's credential)."""
    identity = acting_as(settings.lake_root(), (by,))
    try:
        request = access_requests.deny(settings.lake_root(), request_id, identity, reason)
    except access_requests.RequestError as exc:
        raise fail(str(exc)) from None
    console.print(f"denied {request.request_id} ({request.consumer} -> {request.product})")
