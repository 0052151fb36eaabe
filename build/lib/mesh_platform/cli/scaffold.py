"""`mesh init DIR` and `mesh new domain|product`: start a mesh of one's own, and grow it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from mesh_platform.cli.output import fail
from mesh_platform.config import current_mesh
from mesh_platform.scaffold import ScaffoldError

app = typer.Typer(help="Add a domain or a product to the mesh of the current folder.", no_args_is_help=True)
console = Console(soft_wrap=True)  # paths and commands on one line each, whatever the width


def _relative(paths: list[Path], root: Path) -> str:
    return ", ".join(str(p.relative_to(root)) for p in paths)


def init_command(
    folder: Path = typer.Argument(..., help="The new mesh's folder (created if missing; must be empty)."),
    name: str | None = typer.Option(None, "--name", help="The mesh's name (default: the folder's name)."),
    domains: str = typer.Option("domains", "--domains", help="The folder of domain folders."),
) -> None:
    """Start a mesh repository: mesh.yaml, the council's default policies, workspace.yaml, dagster.yaml, CI."""
    from mesh_platform.scaffold.init import init_mesh

    try:
        written = init_mesh(folder, name, domains)
    except ScaffoldError as exc:
        raise fail(str(exc)) from None
    root = written[0].parent
    console.print(f"[green]mesh {root.name} created in {root}[/green]: {_relative(written, root)}")
    console.print(f"next: cd {folder} && mesh new domain NAME (then declare its sources and `mesh new product`)")


@app.command("domain")
def new_domain_command(name: str = typer.Argument(..., help="lower_snake_case, e.g. billing")) -> None:
    """Add a domain: its folder (definitions, transforms, contracts/, policies, sources) and workspace.yaml entry."""
    from mesh_platform.scaffold.domain import new_domain

    mesh = current_mesh()
    try:
        written = new_domain(mesh, name)
    except ScaffoldError as exc:
        raise fail(str(exc)) from None
    folder = mesh.domains_dir / name
    console.print(f"[green]domain {name} created[/green]: {_relative(written, mesh.root)}")
    console.print(f"next: declare its sources in {folder.relative_to(mesh.root) / 'sources.yaml'}, then "
                  f"`mesh new product {name}.PRODUCT --from-source SOURCE`")


@app.command("product")
def new_product_command(
    product: str = typer.Argument(..., help="DOMAIN.NAME, e.g. billing.invoices"),
    from_source: str | None = typer.Option(
        None, "--from-source", help="A source of the domain (sources.yaml) to take the columns from."),
) -> None:
    """Add a product: a contract skeleton that complies with the policies, and its transform stub."""
    from mesh_platform.scaffold.product import new_product

    mesh = current_mesh()
    try:
        made = new_product(mesh, product, from_source)
    except ScaffoldError as exc:
        raise fail(str(exc)) from None
    contract, transforms = (p.relative_to(mesh.root) for p in (made.contract_file, made.transforms_file))
    name = made.key.split(".", 1)[1]
    console.print(f"[green]product {made.key} created[/green]: {contract}, def {name} in {transforms}")
    console.print(f"next: edit {contract} (description, column descriptions, SLA, quality rules, consumers) and "
                  f"def {name} in {transforms}; then `mesh lint` and "
                  f"`mesh materialize --select {made.key.replace('.', '/')}`")
