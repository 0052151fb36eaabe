from __future__ import annotations

import importlib

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mesh_platform import settings
from mesh_platform.config import current_mesh
from mesh_platform.sources.postgres import SourceUnavailable

console = Console()


def seed_command(
    scale: float = typer.Option(0.1, "--scale", "-s", help="Scale of the generated data (the sample: TPC-H SF)."),
    force: bool = typer.Option(False, "--force", help="Rewrite tables even if they are current."),
    domain: list[str] = typer.Option([], "--domain", "-d", help="Only these domains (repeatable)."),
    target: str = typer.Option("lake", "--target", help="Where to seed, as the mesh's seed understands it "
                               "(the sample: lake, or postgres for the jdbc tables of sources.postgres.yaml)."),
) -> None:
    """Generate or refresh the domains' sources with the mesh's own seed (mesh.yaml: seed), idempotently."""
    mesh = current_mesh()
    if mesh.seed is None:
        console.print(f"[yellow]{mesh.file}: this mesh declares no `seed`; its sources are its own systems[/yellow]")
        raise typer.Exit(1)
    module, function = mesh.seed.split(":")
    try:
        hook = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError) as exc:
        console.print(f"[red]{mesh.file}: seed: {mesh.seed} does not import ({exc})[/red]")
        raise typer.Exit(1) from None
    root = settings.lake_root()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("starting")
        try:
            results = hook(root, scale=scale, target=target, force=force, domains=set(domain) or None,
                           on_step=lambda s: bar.update(task, description=s))
        except (SourceUnavailable, ValueError) as exc:
            bar.stop()
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
    table = Table(title=f"Sources of {mesh.name} at scale {scale:g} in {root}")
    for column in ("table", "rows", "version", "action"):
        table.add_column(column)
    for r in results:
        table.add_row(r.name, f"{r.rows:,}", "-" if r.version is None else str(r.version), r.action)
    console.print(table)
