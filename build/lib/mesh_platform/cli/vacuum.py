"""`mesh vacuum`: remove files no Delta commit references (killed writers' staging, expired versions)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from mesh_platform import settings
from mesh_platform.cli.output import fail
from mesh_platform.mesh import all_contracts


def vacuum_command(
    product: list[str] = typer.Option(
        [], "--product", "-p", help="DOMAIN or DOMAIN.PRODUCT; repeatable (default: all)."),
    retention_hours: float = typer.Option(
        settings.VACUUM_RETENTION_HOURS, "--retention-hours", min=0,
        help="Keep unreferenced files younger than this: writes in progress stage their files here.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed; remove nothing."),
    output: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Remove what no version in a product's Delta log references, after the retention."""
    from mesh_platform.runner import parse_selection
    from mesh_platform.storage.vacuum import product_tables, vacuum_tables

    contracts = all_contracts()
    try:
        chosen = parse_selection(product, contracts) if product else sorted(contracts)
    except ValueError as exc:
        raise fail(str(exc)) from None
    tables = product_tables(settings.lake_root(), {k: contracts[k] for k in chosen})
    reports = vacuum_tables(tables, retention_hours, dry_run)
    if output == "json":
        print(json.dumps({"retention_hours": retention_hours, "dry_run": dry_run,
                          "tables": [r.as_dict() for r in reports]}, indent=2))
        return
    verb = "would remove" if dry_run else "removed"
    table = Table(title=f"Vacuum (retention {retention_hours:g} h{', dry run' if dry_run else ''})")
    for column in ("product", f"files {verb}", "bytes", "recent staging kept"):
        table.add_column(column, no_wrap=column == "product")
    for r in reports:
        table.add_row(r.table, str(len(r.removed)), f"{r.removed_bytes:,}", str(len(r.kept_recent)))
    console = Console()
    console.print(table)
    for r in reports:
        for path in r.removed:
            console.print(f"{verb} {r.table}: {path}", soft_wrap=True, markup=False)
    total = sum(len(r.removed) for r in reports), sum(r.removed_bytes for r in reports)
    console.print(f"{verb} {total[0]} files, {total[1]:,} bytes", markup=False)
