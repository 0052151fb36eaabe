"""`mesh health`: the mesh health scorecard by domain (also the governance/mesh_health asset)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from mesh_platform.mesh import all_contracts

console = Console()


def health_command(output: str = typer.Option("table", "--format", "-f", help="table or json.")) -> None:
    """Per domain: cross-domain dependency ratio, discoverability, governance and freshness compliance."""
    from mesh_platform.instance import get_instance
    from mesh_platform.monitoring.health import CDR_TARGET, mesh_health

    rows = mesh_health(all_contracts(), get_instance())
    if output == "json":
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    table = Table(title="Mesh health")
    for column in ("domain", "products", f"CDR (target < {CDR_TARGET:g})", "discoverability", "governance", "freshness"):
        table.add_column(column)
    for r in rows:
        cdr = f"{r.cross_domain_dependency_ratio:.2f}"
        table.add_row(r.domain, str(r.products), cdr if r.cdr_within_target else f"[red]{cdr}[/red]",
                      f"{r.discoverability:.2f}", f"{r.governance_compliance:.0%}", f"{r.freshness_compliance:.0%}")
    console.print(table)
