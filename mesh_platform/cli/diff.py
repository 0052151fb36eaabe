"""`mesh diff`: what changed in each contract since a git revision and since its published version."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mesh_platform import settings
from mesh_platform.cli.output import fail
from mesh_platform.contracts import ContractError, load_domain_contracts
from mesh_platform.contracts.diff import diff, version_problems
from mesh_platform.contracts.revisions import git_revision, published_table
from mesh_platform.mesh import domain_names
from mesh_platform.mesh import domains_dir as mesh_domains_dir

console = Console()


def _comparisons(path: Path, base: str, lake_root: Path) -> list[dict]:
    found = []
    for contract in load_domain_contracts(path):
        previous = {f"git {base}": git_revision(path / "contracts" / contract.file_name, base)}
        published = published_table(lake_root, contract)
        if published is not None:
            previous[f"published v{published.version}"] = published.contract
        for against, old in previous.items():
            if old is None:
                continue
            changes = diff(old, contract)
            found.append({
                "product": contract.key, "against": against, "from": old.version, "to": contract.version,
                "changes": [c.as_dict() for c in changes],
                "version_problems": version_problems(old, contract, changes),
            })
    return found


def diff_command(
    base: str = typer.Option("HEAD", "--base", help="Git revision to compare with (e.g. main)."),
    output: str = typer.Option("human", "--format", "-f", help="human or json."),
    path: Path | None = typer.Option(None, "--path", help="Folder holding the domain folders (default: the mesh's)."),
) -> None:
    """Classify every contract change (breaking or compatible); exit 1 if a version does not fit."""
    path = path or mesh_domains_dir()
    try:
        report = [c for d in domain_names(path) for c in _comparisons(path / d, base, settings.lake_root())]
    except ContractError as exc:
        raise fail(str(exc)) from None
    changed = [r for r in report if r["changes"] or r["version_problems"]]
    if output == "json":
        print(json.dumps({"comparisons": report}, indent=2))
    elif not changed:
        console.print(f"no contract changes against git {base} or the published versions")
    else:
        table = Table(title="Contract changes")
        for column in ("product", "against", "version", "class", "change", "field", "detail"):
            table.add_column(column, overflow="fold")
        for r in changed:
            for c in r["changes"]:
                label = "[red]BREAKING[/red]" if c["breaking"] else "compatible"
                table.add_row(r["product"], r["against"], f"{r['from']} -> {r['to']}", label, c["kind"],
                              c["field"], escape(c["detail"]))
            for problem in r["version_problems"]:
                table.add_row(r["product"], r["against"], f"{r['from']} -> {r['to']}", "[red]VERSION-001[/red]",
                              "version", "version", escape(problem))
        console.print(table)
    if any(r["version_problems"] for r in report):
        raise typer.Exit(1)
