"""`mesh release`: start a new major version of a product, side by side with the current one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from mesh_platform.cli.output import fail
from mesh_platform.contracts import ContractError
from mesh_platform.contracts.release import release_major
from mesh_platform.mesh import contract_file
from mesh_platform.mesh import domains_dir as mesh_domains_dir

console = Console()


def release_command(
    product: str = typer.Argument(..., help="DOMAIN.PRODUCT, its current major"),
    sunset: str = typer.Option(..., "--sunset", help="Last day the current major is built (YYYY-MM-DD)."),
    note: str = typer.Option("", "--note", help="What consumers should know, shown with every warning."),
    domains_dir: Path | None = typer.Option(None, "--domains-dir",
                                            help="Folder holding the domain folders (default: the mesh's)."),
) -> None:
    """Supersede a product's major: the current contract is kept, deprecated until --sunset, and the
    contract file becomes the next major for you to edit with the breaking change."""
    domains_dir = domains_dir or mesh_domains_dir()
    try:
        when = date.fromisoformat(sunset)
    except ValueError:
        raise fail(f"--sunset {sunset!r} is not a date; write YYYY-MM-DD") from None
    try:
        release = release_major(contract_file(product, domains_dir), when, note)
    except (LookupError, ContractError) as exc:
        raise fail(str(exc)) from None
    domain = product.split(".", 1)[0]
    console.print(escape(
        f"{release.previous} is deprecated until {when} ({release.previous_file.name}); "
        f"{release.successor} starts at {release.current_file.name}.\n"
        "Next:\n"
        f"  1. edit {release.current_file} with the breaking change (`mesh diff --base HEAD` lists it)\n"
        f"  2. add `def {release.transform}(ctx)` to domains/{domain}/transforms.py; "
        f"the existing one keeps building {release.previous}\n"
        f"  3. consumers move by changing `product: {release.previous}` to `product: {release.successor}`; "
        f"until {when} they get a warning in their runs, `mesh lint` and `mesh usage`"
    ))
