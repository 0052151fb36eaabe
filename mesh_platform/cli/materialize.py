from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def materialize_command(
    select: list[str] = typer.Option([], "--select", "-s", help="DOMAIN or DOMAIN/PRODUCT; repeatable."),
    as_of: str | None = typer.Option(None, "--as-of", help="As-of date, YYYY-MM-DD (default: mesh.yaml as_of, else today UTC)."),
    partition: str | None = typer.Option(None, "--partition", "-p",
                                         help="Only this partition of partitioned products, e.g. 1998-07."),
    start: str | None = typer.Option(None, "--from", help="First partition of a range (a backfill in one run)."),
    end: str | None = typer.Option(None, "--to", help="Last partition of a range."),
) -> None:
    """Materialize products through Dagster (one run per domain, upstream domains first)."""
    from mesh_platform import runner
    from mesh_platform.spark import SparkUnavailable

    if partition and (start or end):
        console.print("[red]error:[/red] give --partition, or --from/--to, not both", soft_wrap=True)
        raise typer.Exit(2)
    try:
        with console.status("starting") as status:
            results = runner.materialize(
                select, as_of=as_of, partitions=runner.PartitionChoice(partition, start, end),
                on_domain=lambda d, ps: status.update(f"materializing {d}: {', '.join(ps)}"),
            )
    except (ValueError, SparkUnavailable) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)  # one line, however narrow the terminal
        raise typer.Exit(2) from None
    table = Table(title="Products")
    table.add_column("product", no_wrap=True)
    for column in ("status", "partitions", "delta version", "rows", "checks", "failed"):
        table.add_column(column)
    for r in results:
        passed = sum(r.checks.values())
        failed = [name for name, ok in r.checks.items() if not ok]
        style = "green" if r.ok else "red"
        table.add_row(
            r.product, f"[{style}]{r.status}[/{style}]", _partitions(r.partitions),
            "" if r.delta_version is None else str(r.delta_version),
            "" if r.row_count is None else f"{r.row_count:,}",
            f"{passed}/{len(r.checks)} passed", ", ".join(failed),
        )
    console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _partitions(keys: list[str]) -> str:
    if not keys:
        return ""
    ordered = sorted(keys)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]}..{ordered[-1]} ({len(ordered)})"
