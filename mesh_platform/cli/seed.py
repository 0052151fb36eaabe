from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mesh_platform import settings
from mesh_platform.seed.bronze import seed

console = Console()


def seed_command(
    scale: float = typer.Option(0.1, "--scale", "-s", help="TPC-H scale factor (1 = 6M order lines)."),
    force: bool = typer.Option(False, "--force", help="Rewrite tables even if they are current."),
    domain: list[str] = typer.Option([], "--domain", "-d", help="Only these domains (repeatable)."),
    target: str = typer.Option("lake", "--target", help="lake, or postgres: also load the jdbc tables of "
                               "sources.postgres.yaml into the PostgreSQL its environment variables name."),
) -> None:
    """Generate or refresh every domain's bronze sources (idempotent)."""
    if target not in ("lake", "postgres"):
        raise typer.BadParameter(f"{target!r}: expected lake or postgres", param_hint="--target")
    root = settings.lake_root()
    chosen = set(domain) or None
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("starting")
        results = seed(root, scale, force=force, domains=chosen, on_step=lambda s: bar.update(task, description=s))
        loaded = []
        if target == "postgres":
            from mesh_platform.seed.postgres import seed_postgres
            from mesh_platform.sources.postgres import SourceUnavailable

            try:
                loaded = seed_postgres(root, scale, "postgres", force=force, domains=chosen,
                                       on_step=lambda s: bar.update(task, description=s))
            except SourceUnavailable as exc:
                bar.stop()
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(1) from None
    table = Table(title=f"Bronze sources at SF {scale:g} in {root}")
    for column in ("table", "rows", "delta version", "action"):
        table.add_column(column)
    for r in results:
        table.add_row(f"{r.domain}/bronze/{r.table}", f"{r.rows:,}", str(r.version),
                      "written" if r.written else "up to date")
    for r in loaded:
        table.add_row(f"{r.domain}.{r.table} (PostgreSQL)", f"{r.rows:,}", "-", "loaded" if r.written else "up to date")
    console.print(table)
