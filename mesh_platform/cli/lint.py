from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from mesh_platform.config import current_mesh
from mesh_platform.dg import dg_config_errors
from mesh_platform.governance import critical, lint_domain
from mesh_platform.mesh import domain_names
from mesh_platform.mesh import domains_dir as mesh_domains_dir

console = Console()


def lint_command(
    domain: list[str] = typer.Option([], "--domain", "-d", help="Only these domains (repeatable)."),
    output: str = typer.Option("human", "--format", "-f", help="human or json."),
    path: Path | None = typer.Option(None, "--path", help="Folder holding the domain folders (default: the mesh's)."),
    base: str | None = typer.Option(None, "--base", help="Also judge versions against this git revision."),
) -> None:
    """Check every contract against the governance policies, without Spark. Exit 1 on any CRITICAL."""
    mesh = None if path else current_mesh()
    path = path or mesh_domains_dir()
    names = domain or domain_names(path)
    violations = [v for d in names for v in lint_domain(path / d, base=base)]
    # A mesh that is also a dg workspace: every code location of workspace.yaml must be a dg project.
    layout = dg_config_errors(mesh.root) if mesh is not None and (mesh.root / "dg.toml").exists() else []
    if output == "json":
        print(json.dumps({"violations": [v.as_dict() for v in violations], "critical": len(critical(violations)),
                          **({"layout": layout} if layout else {})}, indent=2))
    elif violations:
        # one line per violation, never wrapped or folded: the file and field stay greppable and clickable
        console.print(f"{len(violations)} policy violations ({len(critical(violations))} critical)")
        for v in violations:
            style = "red" if v.severity == "CRITICAL" else "yellow"
            console.print(f"[{style}]{v.severity}[/{style}] {escape(v.line().split(' ', 1)[1])}", soft_wrap=True)
    else:
        console.print(f"[green]{len(names)} domains comply with every policy[/green]")
    if output != "json":
        for line in layout:
            console.print(f"[red]LAYOUT[/red] {escape(line)}", soft_wrap=True)
    if critical(violations) or layout:
        raise typer.Exit(1)
