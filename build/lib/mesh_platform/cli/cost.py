"""`mesh cost`: compute and storage per product and per domain (also the governance/cost asset)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from mesh_platform.mesh import all_contracts
from mesh_platform.settings import COST_WINDOW_DAYS

if TYPE_CHECKING:
    from mesh_platform.monitoring.cost import Cost

def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f}"


def _row(table: Table, name: str, cost: Cost, style: str = "") -> None:
    table.add_row(name, str(cost.publishes), f"{cost.cpu_seconds:,.1f}", f"{cost.wall_seconds:,.1f}",
                  _mib(cost.bytes_read), _mib(cost.bytes_written), _mib(cost.storage_bytes), style=style)


def cost_command(
    days: float = typer.Option(COST_WINDOW_DAYS, "--days", help="Sum the publishes of the last DAYS days."),
    output: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Spark CPU and wall time, bytes read and written per product and domain; storage held now."""
    from mesh_platform.instance import get_instance
    from mesh_platform.monitoring.cost import mesh_cost

    products, domains = mesh_cost(all_contracts(), get_instance(), days)
    if output == "json":
        print(json.dumps({"days": days, "products": [p.as_dict() for p in products],
                          "domains": {d: vars(c) for d, c in domains.items()}}, indent=2))
        return
    table = Table(title=f"Mesh cost, last {days:g} days")
    for column in ("product", "publishes", "CPU s", "wall s", "read MiB", "written MiB", "storage MiB"):
        table.add_column(column, justify="left" if column == "product" else "right")
    for domain, total in domains.items():
        for p in (p for p in products if p.domain == domain):
            _row(table, p.product, p.cost)
        _row(table, f"{domain} (total)", total, style="bold")
    Console().print(table)  # sized to the terminal when called
