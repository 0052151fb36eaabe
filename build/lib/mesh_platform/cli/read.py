"""`mesh read` (a product as one consumer sees it) and `mesh usage` (who reads what)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mesh_platform import settings
from mesh_platform.access.audit import DENIED as DENIED_READ
from mesh_platform.access.audit import reads, usage, verify
from mesh_platform.access.audit_chain import AuditUnreadable
from mesh_platform.access.credentials import domain_principals
from mesh_platform.access.policy import AccessDenied
from mesh_platform.cli.identity import acting_as
from mesh_platform.cli.output import BAD_INPUT, DENIED, fail
from mesh_platform.contracts.lifecycle import deprecation_notice
from mesh_platform.mesh import find_contract
from mesh_platform.storage.delta import TableMissing

console = Console()


def read_command(
    product: str = typer.Argument(..., help="DOMAIN.PRODUCT"),
    as_domain: str = typer.Option(..., "--as", help="The consumer domain reading."),
    limit: int = typer.Option(20, "--limit", "-n", min=0, help="Rows to print."),
    version: int | None = typer.Option(None, "--version", help="A Delta version (default: current)."),
    columns: str | None = typer.Option(None, "--columns", "-c", help="Comma-separated columns."),
    output: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Print a product's rows as consumer domain --as sees them (masked, filtered); exit 3 if denied."""
    from mesh_platform.access.reader import open_product
    from mesh_platform.access.recording import authorize
    from mesh_platform.instance import get_instance
    from mesh_platform.spark import SparkResource, SparkUnavailable

    lake_root = settings.lake_root()
    identity = acting_as(lake_root, domain_principals(as_domain))  # who is asking, before what they may see
    try:
        contract = find_contract(product)
        # refuse (and record it) before starting an engine
        authorize(contract, as_domain, lake_root, via="cli", credential=identity.credential_id)
        spark = SparkResource.from_env()
        spark.preflight()
        read = open_product(spark.spark_session, contract, as_domain, lake_root, version,
                            columns.split(",") if columns else None, via="cli", limit=limit,
                            credential=identity.credential_id)
        rows = read.df.collect()
    except AccessDenied as exc:
        raise fail(str(exc), DENIED) from None
    except (LookupError, ValueError, TableMissing, SparkUnavailable, AuditUnreadable) as exc:
        raise fail(str(exc), BAD_INPUT) from None
    get_instance().report_runless_asset_event(read.observation)
    notice = deprecation_notice(contract)
    if notice:
        Console(stderr=True).print(f"[yellow]warning:[/yellow] {escape(notice)}")
    if output == "json":
        print(json.dumps([r.asDict() for r in rows], default=str, indent=2))
        return
    table = Table(title=f"{contract.key} v{read.version} as {as_domain}")
    for name in read.df.columns:
        rule = read.policy.masking.get(name)
        table.add_column(f"{name}\n({rule})" if rule else name, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else escape(str(v)) for v in row])
    console.print(table)
    notes = [f"{len(rows)} rows shown"]
    if read.policy.row_filter:
        notes.append(f"row filter: {read.policy.row_filter}")
    if read.policy.masking:
        notes.append("masked: " + ", ".join(f"{c} ({r})" for c, r in read.policy.masking.items()))
    console.print(escape("; ".join(notes)))


def usage_command(
    product: str | None = typer.Option(None, "--product", "-p", help="Only this DOMAIN.PRODUCT."),
    last: int = typer.Option(0, "--reads", help="Also list the latest N reads."),
    output: str = typer.Option("table", "--format", "-f", help="table or json."),
    check: bool = typer.Option(False, "--verify", help="Verify the audit's hash chain; exit 1 at the first break."),
) -> None:
    """Reads per product from the audit log: count, distinct consumers, last read; denied reads."""
    if check:
        return verify_command()
    try:
        events = reads(settings.lake_root(), product)
        denied = reads(settings.lake_root(), product, outcome=DENIED_READ)
    except AuditUnreadable as exc:
        raise fail(str(exc), BAD_INPUT) from None
    summary = usage(events)
    if output == "json":
        print(json.dumps({
            "usage": [{**vars(u), "last_read_at": u.last_read_at.isoformat()} for u in summary.values()],
            "reads": [{**vars(e), "read_at": e.read_at.isoformat()} for e in events[-last:]] if last else [],
            "denied": [{**vars(e), "read_at": e.read_at.isoformat()} for e in denied],
        }, indent=2))
        return
    table = Table(title="Product usage (reads through the platform)")
    for column in ("product", "reads", "consumers", "last read (UTC)", "last consumer", "last version"):
        table.add_column(column)
    for u in summary.values():
        table.add_row(u.product, str(u.read_count), ", ".join(u.consumers),
                      u.last_read_at.strftime("%Y-%m-%d %H:%M:%S"), u.last_consumer, str(u.last_version))
    console.print(table if summary else "no reads recorded yet")
    deprecated = [u for u in summary.values() if u.deprecation]
    if deprecated:
        warned = Table(title="Deprecated versions still read", title_style="yellow")
        for column in ("product", "deprecated reads", "read by", "notice"):
            warned.add_column(column, overflow="fold")
        for u in deprecated:
            warned.add_row(u.product, str(u.deprecated_reads), ", ".join(u.deprecated_readers), escape(u.deprecation))
        console.print(warned)
    if last:
        log = Table(title=f"Latest {last} reads")
        for column in ("at (UTC)", "product", "version", "consumer", "via", "read by", "rows", "masked", "row filter"):
            log.add_column(column, overflow="fold")
        for e in events[-last:]:
            log.add_row(e.read_at.strftime("%H:%M:%S"), e.product, str(e.version), e.consumer, e.via,
                        e.read_by or "", str(e.rows), ", ".join(e.masked), escape(e.row_filter or ""))
        console.print(log)
    if denied:
        refused = Table(title="Denied reads", title_style="red")
        for column in ("at (UTC)", "product", "consumer", "via", "reason"):
            refused.add_column(column, overflow="fold")
        for e in denied[-(last or 20):]:
            refused.add_row(e.read_at.strftime("%Y-%m-%d %H:%M:%S"), e.product, e.consumer, e.via, escape(e.reason or ""))
        console.print(refused)


def verify_command() -> None:
    """Exit 0 with the count of entries when the chain is intact; exit 1 naming the first break."""
    result = verify(settings.lake_root())
    if result.problems:
        shown = result.problems[:10]
        more = [f"and {len(result.problems) - len(shown)} more"] if len(result.problems) > len(shown) else []
        for problem in shown + more:
            Console(stderr=True).print(f"[red]broken:[/red] {escape(problem)}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"read audit intact: {result.entries} entries, hash chain verified")
