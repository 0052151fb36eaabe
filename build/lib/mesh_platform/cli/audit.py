"""`mesh audit`: the platform's care of the read audit (compaction; verification is `mesh usage --verify`)."""

from __future__ import annotations

import typer
from rich.console import Console

from mesh_platform import settings
from mesh_platform.access.audit import chain_legacy, compact
from mesh_platform.access.audit_chain import AuditUnreadable
from mesh_platform.cli.output import BAD_INPUT, fail

app = typer.Typer(help="Operate the read audit: compact it (readers never do).", no_args_is_help=True)


@app.command("compact")
def compact_command() -> None:
    """Rewrite the audit's small files into few, under the appenders' lock: no row lost or duplicated, chain kept."""
    try:
        removed = compact(settings.lake_root())
    except AuditUnreadable as exc:
        raise fail(str(exc), BAD_INPUT) from None
    Console().print(f"read audit compacted: {removed} files rewritten" if removed else "read audit already compact")


@app.command("verify")
def verify_command() -> None:
    """The same as `mesh usage --verify`."""
    from mesh_platform.cli.read import verify_command as verify

    verify()


@app.command("chain-legacy")
def chain_legacy_command() -> None:
    """Chain, once, the entries a platform older than the hash chain wrote (the old table is kept beside)."""
    try:
        chained = chain_legacy(settings.lake_root())
    except (AuditUnreadable, ValueError) as exc:
        raise fail(str(exc), BAD_INPUT) from None
    Console().print(f"read audit: {chained} older entries chained" if chained else "read audit: nothing to chain")
