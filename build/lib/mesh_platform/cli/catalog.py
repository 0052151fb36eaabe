"""`mesh catalog`: find products; `mesh catalog show`: one product's full data dictionary."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from mesh_platform import settings
from mesh_platform.cli.output import fail
from mesh_platform.mesh import all_contracts, find_contract

app = typer.Typer(help="List, search and describe the mesh's products.", invoke_without_command=True)
console = Console()


def _when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M") if timestamp else ""


def _data_age(entry) -> str:
    if entry.data_time is None:
        return ""
    return f"{entry.sla_state}: data {entry.data_age_hours:.1f} h old, as of {_when(entry.data_time)}; "


@app.callback()
def catalog_command(
    context: typer.Context,
    text: str | None = typer.Option(None, "--search", "-q", help="Words to find in names, descriptions, tags, columns."),
    domain: str | None = typer.Option(None, "--domain", "-d"),
    owner: str | None = typer.Option(None, "--owner", help="team:x or x"),
    tag: str | None = typer.Option(None, "--tag"),
    column: str | None = typer.Option(None, "--column", help="Products with this column."),
    pii: bool = typer.Option(False, "--pii", help="Only products holding PII."),
    output: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """List products (all, or those matching every filter) with version, SLA, freshness, checks and usage."""
    if context.invoked_subcommand:
        return
    from mesh_platform.catalog import catalog_entries, search
    from mesh_platform.instance import get_instance

    entries = search(catalog_entries(all_contracts(), get_instance(), settings.lake_root()),
                     text, domain, owner, tag, column, pii)
    if output == "json":
        print(json.dumps([e.as_dict() for e in entries], indent=2))
        return
    table = Table(title=f"{len(entries)} products")
    for name in ("product", "version", "owner", "SLA", "freshness (data age)", "data time (UTC)",
                 "last published (UTC)", "checks", "reads", "consumes", "consumed by"):
        table.add_column(name, overflow="fold")
    for e in entries:
        failed = e.checks_failed
        checks = f"[red]{len(failed)} failed[/red]" if failed else (f"{len(e.checks)} passed" if e.checks else "")
        style = {"passing": "green", "failing": "red"}.get(e.sla_state, "yellow")
        age = f" ({e.data_age_hours:.1f} h)" if e.data_age_hours is not None else ""
        version = e.version if e.lifecycle == "active" else f"{e.version} [yellow]({e.lifecycle})[/yellow]"
        table.add_row(e.product, version, e.owner, f"{e.sla_hours:g} h", f"[{style}]{e.sla_state}[/{style}]{age}",
                      _when(e.data_time), _when(e.last_published_at), checks, str(e.reads), ", ".join(e.depends_on),
                      ", ".join(e.used_by))
    console.print(table)


@app.command("show")
def show_command(product: str = typer.Argument(..., help="DOMAIN.PRODUCT")) -> None:
    """The product's data dictionary: contract, columns, checks, access, state and lineage."""
    from mesh_platform.catalog import catalog_entries
    from mesh_platform.instance import get_instance
    from mesh_platform.product.docs import product_markdown

    try:
        contract = find_contract(product)
    except LookupError as exc:
        raise fail(str(exc)) from None
    (entry,) = catalog_entries(all_contracts(), get_instance(), settings.lake_root(), only={product})
    console.print(Markdown(f"# {product} v{contract.version}\n\n" + product_markdown(contract)))
    console.print(
        f"\nstate: {entry.freshness} ({_data_age(entry)}last published {_when(entry.last_published_at) or 'never'}, "
        f"SLA {entry.sla_hours:g} h); checks failed: {', '.join(entry.checks_failed) or 'none'}; "
        f"reads: {entry.reads}; consumed by: {', '.join(entry.used_by) or 'no product'}"
    )


docs_app = typer.Typer(help="The mesh's documentation site.", no_args_is_help=True)


@docs_app.command("build")
def docs_build_command(
    out: Path = typer.Option(Path("site"), "--out", "-o", help="Folder to write the site to."),
) -> None:
    """Write a static HTML site: a searchable index and one data-dictionary page per product."""
    from mesh_platform.catalog import catalog_entries
    from mesh_platform.catalog.site import build_site
    from mesh_platform.instance import get_instance

    contracts = all_contracts()
    written = build_site(contracts, catalog_entries(contracts, get_instance(), settings.lake_root()), out)
    console.print(f"wrote {len(written)} pages to {out}/ (open {out / 'index.html'})")
